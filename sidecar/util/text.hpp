// Small text helpers shared by the settings, the metrics and the messages:
// numbers in their shortest exact form, human durations, and did-you-mean.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace agentgres::sidecar::text {

// The shortest text that reads back as v: 4, 0.25, 0.0005, 1e+20, +Inf, NaN.
std::string Number(double v);
// v rounded to at most `decimals` decimals, trailing zeros dropped: 97.3, 95.
std::string Rounded(double v, int decimals);
// "45 s", "3 min 10 s", "2 h 5 min", "3 d 4 h": the two largest units.
std::string Duration(double seconds);
// Levenshtein distance (insertions, deletions, substitutions).
std::size_t EditDistance(std::string_view a, std::string_view b);
// The candidate nearest to `word` if it is near enough to be a typo
// (at most 2 edits, and fewer than a third of the word), else "".
std::string Nearest(std::string_view word, const std::vector<std::string> &candidates);

} // namespace agentgres::sidecar::text
