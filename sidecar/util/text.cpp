#include "util/text.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace agentgres::sidecar::text {

std::string
Number(double v)
{
	if (std::isinf(v))
		return v > 0 ? "+Inf" : "-Inf";
	if (std::isnan(v))
		return "NaN";
	// The shortest form that reads back exactly (0.0005, not
	// 0.00050000000000000001; 300, not 3e+02).
	// Whole numbers print in full (1048576, not 1.048576e+06: general
	// switches to an exponent past six digits).
	const auto format =
	    std::trunc(v) == v && std::fabs(v) < 1e15 ? std::chars_format::fixed : std::chars_format::general;
	char buffer[40];
	const auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, v, format);
	return std::string(buffer, error == std::errc() ? end : buffer);
}

std::string
Rounded(double v, int decimals)
{
	if (!std::isfinite(v))
		return Number(v);
	const double scale = std::pow(10.0, decimals);
	double r = std::round(v * scale) / scale;
	if (r == 0)
		r = 0; // no "-0"
	return Number(r);
}

std::string
Duration(double seconds)
{
	if (!std::isfinite(seconds) || seconds < 0)
		seconds = 0;
	auto total = static_cast<long long>(std::llround(seconds));
	struct Unit {
		long long size;
		const char *name;
	};
	static constexpr Unit kUnits[] = {{86400, "d"}, {3600, "h"}, {60, "min"}, {1, "s"}};
	std::string out;
	int parts = 0;
	for (const Unit &u : kUnits) {
		const long long n = total / u.size;
		if (parts == 0 && n == 0 && u.size > 1)
			continue;
		if (parts == 1 && n == 0)
			break; // "3 min", not "3 min 0 s"
		out += (parts ? " " : "") + std::to_string(n) + " " + u.name;
		total -= n * u.size;
		if (++parts == 2)
			break;
	}
	return out;
}

std::size_t
EditDistance(std::string_view a, std::string_view b)
{
	std::vector<std::size_t> row(b.size() + 1);
	for (std::size_t j = 0; j <= b.size(); ++j)
		row[j] = j;
	for (std::size_t i = 1; i <= a.size(); ++i) {
		std::size_t diagonal = row[0];
		row[0] = i;
		for (std::size_t j = 1; j <= b.size(); ++j) {
			const std::size_t up = row[j];
			row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
			diagonal = up;
		}
	}
	return row[b.size()];
}

std::string
Nearest(std::string_view word, const std::vector<std::string> &candidates)
{
	std::string best;
	std::size_t best_distance = 3;
	for (const std::string &c : candidates) {
		// The distance is at least the difference in length: a long word
		// (a key of a hostile file) costs nothing against short candidates.
		if (c.size() + 2 < word.size() || word.size() + 2 < c.size())
			continue;
		const std::size_t d = EditDistance(word, c);
		if (d < best_distance && d * 3 < std::max<std::size_t>(word.size(), 1)) {
			best = c;
			best_distance = d;
		}
	}
	return best;
}

} // namespace agentgres::sidecar::text
