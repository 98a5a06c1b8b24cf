// An index run's counts, and how they are shown: a progress bar redrawn on
// a terminal (files done/total, chunks, rate, ETA) and one summary line.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace agentgres::sidecar::knowledge {

struct IndexCounts {
	std::int64_t total = 0; // files listed for this run
	std::int64_t done = 0;  // of those, finished (any outcome)
	std::int64_t added = 0;
	std::int64_t changed = 0;
	std::int64_t unchanged = 0;
	std::int64_t deleted = 0;
	std::int64_t skipped = 0; // too big or binary
	std::int64_t failed = 0;
	std::int64_t chunks = 0; // chunks written by added and changed files
};

// "1:05", "12:00", "1:02:03"; "--:--" when unknown (negative, NaN, huge).
std::string FormatEta(double seconds);
// "[########------------]  120/456 files  26%  57 chunks  85.3 files/s  ETA 0:04",
// at most `width` columns (the bar shrinks, then goes).
std::string ProgressLine(const IndexCounts &counts, double elapsed_s, int width);
// "456 files in 1.2 s: 3 added, 1 changed, 450 unchanged, 0 deleted, 2 skipped, 0 failed; 57 chunks written"
// ("42/110 files in ..." when the run stopped early).
std::string SummaryLine(const IndexCounts &counts, double elapsed_s);

// Draws ProgressLine on `out` when it is a terminal, at most every 100 ms,
// and the summary line at the end in every case.
class TerminalProgress {
public:
	explicit TerminalProgress(std::FILE *out);
	void Update(const IndexCounts &counts);
	void Finish(const IndexCounts &counts);

private:
	double Elapsed() const;
	std::FILE *out_;
	bool tty_;
	bool drawn_ = false;
	std::chrono::steady_clock::time_point started_;
	std::chrono::steady_clock::time_point last_draw_;
};

} // namespace agentgres::sidecar::knowledge
