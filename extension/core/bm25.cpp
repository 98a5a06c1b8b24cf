#include "bm25.hpp"

#include <algorithm>
#include <cmath>

#include "error.hpp"

namespace agentgres::core::bm25 {
namespace {

bool
IsAsciiLower(char c) noexcept
{
	return c >= 'a' && c <= 'z';
}
bool
IsAsciiUpper(char c) noexcept
{
	return c >= 'A' && c <= 'Z';
}
bool
IsAsciiDigit(char c) noexcept
{
	return c >= '0' && c <= '9';
}
bool
IsIdentifierChar(char c) noexcept
{
	return IsAsciiLower(c) || IsAsciiUpper(c) || IsAsciiDigit(c) || c == '_';
}
bool
IsSpace(char c) noexcept
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
char
Lower(char c) noexcept
{
	return IsAsciiUpper(c) ? static_cast<char>(c - 'A' + 'a') : c;
}

// Appends the parts of a camelCase word ("parseHTTPRequest": parse HTTP
// Request) when it has more than one; a boundary comes before an upper-case
// letter that follows a lower-case letter or digit, and before the last
// capital of a run that a lower-case letter follows.
void
AppendCamelParts(std::string_view word, std::string &out)
{
	std::size_t parts = 1;
	for (std::size_t i = 1; i < word.size(); ++i) {
		const bool after_lower = IsAsciiLower(word[i - 1]) || IsAsciiDigit(word[i - 1]);
		const bool acronym_end = IsAsciiUpper(word[i - 1]) && IsAsciiUpper(word[i]) && i + 1 < word.size() &&
		                         IsAsciiLower(word[i + 1]);
		if (IsAsciiUpper(word[i]) && (after_lower || acronym_end))
			++parts;
	}
	if (parts < 2)
		return;
	out += ' ';
	out += word[0];
	for (std::size_t i = 1; i < word.size(); ++i) {
		const bool after_lower = IsAsciiLower(word[i - 1]) || IsAsciiDigit(word[i - 1]);
		const bool acronym_end = IsAsciiUpper(word[i - 1]) && IsAsciiUpper(word[i]) && i + 1 < word.size() &&
		                         IsAsciiLower(word[i + 1]);
		if (IsAsciiUpper(word[i]) && (after_lower || acronym_end))
			out += ' ';
		out += word[i];
	}
}

// What an identifier adds: its joined lower-case form when `_` separates two
// or more segments, and the camelCase parts of each segment.
void
AppendIdentifierForms(std::string_view identifier, std::string &out)
{
	std::size_t segments = 0;
	std::string joined;
	std::size_t start = 0;
	while (start <= identifier.size()) {
		std::size_t end = identifier.find('_', start);
		if (end == std::string_view::npos)
			end = identifier.size();
		const std::string_view segment = identifier.substr(start, end - start);
		if (!segment.empty()) {
			++segments;
			for (char c : segment)
				joined += Lower(c);
			AppendCamelParts(segment, out);
		}
		start = end + 1;
	}
	if (segments >= 2) {
		out += ' ';
		out += joined;
	}
}

} // namespace

std::string
PrepareForTokenizer(std::string_view text)
{
	std::string out;
	out.reserve(text.size() + text.size() / 4);
	std::string extras;
	std::size_t i = 0;
	while (i < text.size()) {
		if (IsSpace(text[i])) {
			out += text[i++];
			continue;
		}
		std::size_t end = i;
		while (end < text.size() && !IsSpace(text[end]))
			++end;
		const std::string_view run = text.substr(i, end - i);
		i = end;
		if (run.size() > kMaxTokenBytes) {
			out += ' ';
			continue;
		}
		out += run;
		// The forms go after the whole run, so the parser still sees a URL,
		// a path or an e-mail address in the run as it was.
		extras.clear();
		for (std::size_t j = 0; j < run.size();) {
			if (!IsIdentifierChar(run[j])) {
				++j;
				continue;
			}
			std::size_t k = j;
			while (k < run.size() && IsIdentifierChar(run[k]))
				++k;
			AppendIdentifierForms(run.substr(j, k - j), extras);
			j = k;
		}
		if (!extras.empty()) {
			out += extras;
			out += ' ';
		}
	}
	return out;
}

double
Idf(double document_count, double document_frequency) noexcept
{
	return std::log(1.0 + (document_count - document_frequency + 0.5) / (document_frequency + 0.5));
}

double
TermScore(double idf, double tf, double document_length, double average_length, const Parameters &p) noexcept
{
	const double norm = p.k1 * (1.0 - p.b + p.b * document_length / average_length);
	return idf * tf / (tf + norm);
}

namespace {
// An unordered_map node with its bucket share, on a 64-bit libstdc++.
constexpr std::size_t kScoreEntryBytes = 48;
} // namespace

Accumulator::Accumulator(const Parameters &parameters, std::int64_t document_count, std::int64_t total_length,
                         std::size_t budget_bytes)
    : parameters_(parameters), document_count_(static_cast<double>(std::max<std::int64_t>(document_count, 0))),
      average_length_(document_count > 0 && total_length > 0
                          ? static_cast<double>(total_length) / static_cast<double>(document_count)
                          : 1.0),
      budget_bytes_(budget_bytes)
{
}

void
Accumulator::AddTerm(double query_weight, std::span<const Posting> postings,
                     const std::function<bool(std::int64_t)> &keep)
{
	if (postings.empty())
		return;
	const double idf = Idf(document_count_, static_cast<double>(postings.size()));
	for (const Posting &p : postings) {
		if (keep && !keep(p.chunk_id))
			continue;
		auto [it, inserted] = scores_.try_emplace(p.chunk_id, 0.0);
		if (inserted && scores_.size() * kScoreEntryBytes > budget_bytes_) {
			scores_.erase(it);
			throw Error(ErrorCode::kProgramLimitExceeded, "bm25 candidate set exceeds work_mem",
			            "The query's terms occur in more than " + std::to_string(scores_.size()) +
			                " chunks, which needs more than " + std::to_string(budget_bytes_ / 1024) + " kB.",
			            "Raise work_mem or hash_mem_multiplier, or search with more specific terms.");
		}
		it->second += query_weight * TermScore(idf, static_cast<double>(p.tf), static_cast<double>(p.document_length),
		                                       average_length_, parameters_);
	}
}

std::vector<Scored>
Accumulator::Top(std::size_t k) const
{
	std::vector<Scored> all;
	all.reserve(scores_.size());
	for (const auto &[id, score] : scores_)
		all.push_back({id, score});
	const auto better = [](const Scored &a, const Scored &b) {
		return a.score > b.score || (a.score == b.score && a.chunk_id < b.chunk_id);
	};
	const std::size_t n = std::min(k, all.size());
	std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(), better);
	all.resize(n);
	return all;
}

} // namespace agentgres::core::bm25
