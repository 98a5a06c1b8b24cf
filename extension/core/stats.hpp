// Small statistics the learning system reports: confidence intervals,
// significance tests, classifier quality, and a mergeable quantile sketch.
#include "cpp_only.hpp" // outside the guard: checked at every inclusion
#ifndef AGENTGRES_CORE_STATS_HPP
#define AGENTGRES_CORE_STATS_HPP

#include <cmath>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace agentgres::core::stats {

struct Interval {
	double low;
	double high;
};

// Wilson score interval for a binomial proportion (z = 1.96 gives 95%).
// n = 0 gives [0, 1]: no evidence either way.
Interval Wilson(std::uint64_t successes, std::uint64_t n, double z = 1.959963984540054);

// Standard normal cumulative distribution function.
double NormalCdf(double x);

struct ZTest {
	double z;
	double p_value; // two-sided
};

// Two-proportion z-test with the pooled standard error: is s1/n1 different
// from s2/n2? Undefined (NaN) when either n is 0 or the pooled rate is 0 or 1.
ZTest TwoProportionZTest(std::uint64_t s1, std::uint64_t n1, std::uint64_t s2, std::uint64_t n2);

// A strict weak order on doubles that puts NaN after every number (NaNs are
// equivalent to each other): sorting data that may hold NaN with plain < is
// undefined behaviour and can loop.
inline bool
LessNanLast(double a, double b)
{
	return !std::isnan(a) && (std::isnan(b) || a < b);
}
// Equivalence under LessNanLast.
inline bool
SameNanLast(double a, double b)
{
	return a == b || (std::isnan(a) && std::isnan(b));
}

// Area under the ROC curve (Mann-Whitney, ties count one half). NaN when one
// class is absent. NaN scores rank below every number (they tie each other).
double Auc(std::span<const double> scores, std::span<const std::uint8_t> labels);
// Mean negative log-likelihood, probabilities clipped to [1e-15, 1 - 1e-15].
double LogLoss(std::span<const double> probabilities, std::span<const std::uint8_t> labels);
// Mean squared error of the probabilities.
double Brier(std::span<const double> probabilities, std::span<const std::uint8_t> labels);

// A mergeable quantile sketch for positive durations with 1% relative error:
// values fall into logarithmic buckets of ratio 1.02 (zero has its own
// count). Memory grows with the log of the value range, not with the count.
class DurationSketch {
public:
	void Add(double value, std::uint64_t count = 1);
	void Merge(const DurationSketch &other);
	// The q-quantile (0 <= q <= 1); NaN when empty.
	double Quantile(double q) const;
	std::uint64_t
	count() const noexcept
	{
		return count_;
	}
	// (bucket index, count), by ascending index.
	const std::vector<std::pair<std::int32_t, std::uint64_t>> &
	buckets() const noexcept
	{
		return buckets_;
	}
	std::uint64_t
	zeros() const noexcept
	{
		return zeros_;
	}
	void SetRaw(std::uint64_t zeros, std::map<std::int32_t, std::uint64_t> buckets);

private:
	std::uint64_t count_ = 0;
	std::uint64_t zeros_ = 0;
	// A sorted vector, not a std::map: a pattern state holds one sketch per
	// agent set, and a node per bucket cost 4x the memory and an allocation
	// each (slow to build and to free).
	std::vector<std::pair<std::int32_t, std::uint64_t>> buckets_;
};

} // namespace agentgres::core::stats

#endif // AGENTGRES_CORE_STATS_HPP
