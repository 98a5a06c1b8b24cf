#include "knowledge/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "util/text.hpp"

namespace agentgres::sidecar::knowledge {

std::string
FormatEta(double seconds)
{
	if (!(seconds >= 0) || seconds > 359999)
		return "--:--";
	const auto s = static_cast<long long>(std::llround(seconds));
	char buffer[32];
	if (s >= 3600)
		std::snprintf(buffer, sizeof buffer, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
	else
		std::snprintf(buffer, sizeof buffer, "%lld:%02lld", s / 60, s % 60);
	return buffer;
}

std::string
ProgressLine(const IndexCounts &c, double elapsed_s, int width)
{
	const double fraction =
	    c.total > 0 ? std::clamp(static_cast<double>(c.done) / static_cast<double>(c.total), 0.0, 1.0) : 1.0;
	const double rate = elapsed_s > 0 ? static_cast<double>(c.done) / elapsed_s : 0;
	const double eta = c.done >= c.total ? 0 : rate > 0 ? static_cast<double>(c.total - c.done) / rate : -1;
	std::string tail = "  " + std::to_string(c.done) + "/" + std::to_string(c.total) + " files  " +
	                   std::to_string(static_cast<int>(std::floor(fraction * 100))) + "%  " + std::to_string(c.chunks) +
	                   " chunks  " + text::Rounded(rate, rate < 10 ? 1 : 0) + " files/s  ETA " + FormatEta(eta);
	if (c.failed > 0)
		tail += "  " + std::to_string(c.failed) + " failed";
	// The bar takes what is left, between 10 and 30 columns; none if less.
	const int room = width - static_cast<int>(tail.size()) - 2;
	if (room < 10)
		return tail.substr(2, static_cast<std::size_t>(std::max(0, width)));
	const int bar = std::min(room, 30);
	const int filled = static_cast<int>(std::floor(fraction * bar));
	return "[" + std::string(static_cast<std::size_t>(filled), '#') +
	       std::string(static_cast<std::size_t>(bar - filled), '-') + "]" + tail;
}

std::string
SummaryLine(const IndexCounts &c, double elapsed_s)
{
	// An interrupted run says how far it got.
	const std::string files =
	    c.done < c.total ? std::to_string(c.done) + "/" + std::to_string(c.total) : std::to_string(c.total);
	return files + " files in " + text::Rounded(elapsed_s, elapsed_s < 10 ? 2 : 1) + " s: " + std::to_string(c.added) +
	       " added, " + std::to_string(c.changed) + " changed, " + std::to_string(c.unchanged) + " unchanged, " +
	       std::to_string(c.deleted) + " deleted, " + std::to_string(c.skipped) + " skipped, " +
	       std::to_string(c.failed) + " failed; " + std::to_string(c.chunks) + " chunks written";
}

TerminalProgress::TerminalProgress(std::FILE *out)
    : out_(out), tty_(isatty(fileno(out)) != 0), started_(std::chrono::steady_clock::now())
{
}

double
TerminalProgress::Elapsed() const
{
	return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
}

namespace {

int
TerminalWidth(std::FILE *out)
{
	winsize size{};
	if (ioctl(fileno(out), TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
		return size.ws_col - 1; // the last column would wrap on some terminals
	return 79;
}

} // namespace

void
TerminalProgress::Update(const IndexCounts &counts)
{
	if (!tty_)
		return;
	const auto now = std::chrono::steady_clock::now();
	if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100))
		return;
	last_draw_ = now;
	drawn_ = true;
	std::fprintf(out_, "\r\033[K%s", ProgressLine(counts, Elapsed(), TerminalWidth(out_)).c_str());
	std::fflush(out_);
}

void
TerminalProgress::Finish(const IndexCounts &counts)
{
	if (tty_ && drawn_)
		std::fprintf(out_, "\r\033[K");
	std::fprintf(out_, "indexed %s\n", SummaryLine(counts, Elapsed()).c_str());
	std::fflush(out_);
}

} // namespace agentgres::sidecar::knowledge
