#include "stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace agentgres::core::stats {
namespace {

constexpr double kGamma = 1.02;
const double kLogGamma = std::log(kGamma);

} // namespace

Interval
Wilson(std::uint64_t successes, std::uint64_t n, double z)
{
	if (n == 0)
		return {0.0, 1.0};
	const double nn = static_cast<double>(n);
	const double p = static_cast<double>(successes) / nn;
	const double z2 = z * z;
	const double denominator = 1.0 + z2 / nn;
	const double center = (p + z2 / (2.0 * nn)) / denominator;
	const double half = z * std::sqrt(p * (1.0 - p) / nn + z2 / (4.0 * nn * nn)) / denominator;
	return {std::max(0.0, center - half), std::min(1.0, center + half)};
}

double
NormalCdf(double x)
{
	return 0.5 * std::erfc(-x / std::sqrt(2.0));
}

ZTest
TwoProportionZTest(std::uint64_t s1, std::uint64_t n1, std::uint64_t s2, std::uint64_t n2)
{
	if (n1 == 0 || n2 == 0)
		return {std::nan(""), std::nan("")};
	const double p1 = static_cast<double>(s1) / static_cast<double>(n1);
	const double p2 = static_cast<double>(s2) / static_cast<double>(n2);
	const double pooled = static_cast<double>(s1 + s2) / static_cast<double>(n1 + n2);
	const double se = std::sqrt(
	    pooled * (1.0 - pooled) * (1.0 / static_cast<double>(n1) + 1.0 / static_cast<double>(n2)));
	if (se == 0.0)
		return {std::nan(""), std::nan("")};
	const double z = (p2 - p1) / se;
	return {z, 2.0 * NormalCdf(-std::fabs(z))};
}

double
Auc(std::span<const double> scores, std::span<const std::uint8_t> labels)
{
	const std::size_t n = scores.size();
	std::vector<std::size_t> order(n);
	std::iota(order.begin(), order.end(), std::size_t{0});
	// NaN first (lowest ranks, tied): a model that cannot score a row earns no
	// credit for it, and the order stays a strict weak order.
	std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
		const double x = scores[a], y = scores[b];
		return std::isnan(x) ? !std::isnan(y) : !std::isnan(y) && x < y;
	});
	// Sum of the (tie-averaged) ranks of the positives.
	double positive_rank_sum = 0;
	std::uint64_t positives = 0;
	for (std::size_t i = 0; i < n;) {
		std::size_t j = i;
		while (j < n && SameNanLast(scores[order[j]], scores[order[i]]))
			++j;
		const double average_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
		for (std::size_t t = i; t < j; ++t)
			if (labels[order[t]]) {
				positive_rank_sum += average_rank;
				++positives;
			}
		i = j;
	}
	const std::uint64_t negatives = n - positives;
	if (positives == 0 || negatives == 0)
		return std::nan("");
	const double p = static_cast<double>(positives);
	return (positive_rank_sum - p * (p + 1.0) / 2.0) / (p * static_cast<double>(negatives));
}

double
LogLoss(std::span<const double> probabilities, std::span<const std::uint8_t> labels)
{
	if (probabilities.empty())
		return std::nan("");
	double sum = 0;
	for (std::size_t i = 0; i < probabilities.size(); ++i) {
		const double p = std::clamp(probabilities[i], 1e-15, 1.0 - 1e-15);
		sum -= labels[i] ? std::log(p) : std::log(1.0 - p);
	}
	return sum / static_cast<double>(probabilities.size());
}

double
Brier(std::span<const double> probabilities, std::span<const std::uint8_t> labels)
{
	if (probabilities.empty())
		return std::nan("");
	double sum = 0;
	for (std::size_t i = 0; i < probabilities.size(); ++i) {
		const double d = probabilities[i] - (labels[i] ? 1.0 : 0.0);
		sum += d * d;
	}
	return sum / static_cast<double>(probabilities.size());
}

void
DurationSketch::Add(double value, std::uint64_t count)
{
	if (!(value >= 0.0) || !std::isfinite(value) || count == 0)
		return;
	count_ += count;
	if (value == 0.0) {
		zeros_ += count;
		return;
	}
	const auto index = static_cast<std::int32_t>(std::ceil(std::log(value) / kLogGamma));
	const auto it = std::lower_bound(buckets_.begin(), buckets_.end(), index, [](const auto &bucket, std::int32_t i) {
		return bucket.first < i;
	});
	if (it != buckets_.end() && it->first == index)
		it->second += count;
	else
		buckets_.emplace(it, index, count);
}

void
DurationSketch::Merge(const DurationSketch &other)
{
	count_ += other.count_;
	zeros_ += other.zeros_;
	std::vector<std::pair<std::int32_t, std::uint64_t>> merged;
	merged.reserve(buckets_.size() + other.buckets_.size());
	auto a = buckets_.begin();
	auto b = other.buckets_.begin();
	while (a != buckets_.end() || b != other.buckets_.end()) {
		if (b == other.buckets_.end() || (a != buckets_.end() && a->first < b->first))
			merged.push_back(*a++);
		else if (a == buckets_.end() || b->first < a->first)
			merged.push_back(*b++);
		else {
			merged.emplace_back(a->first, a->second + b->second);
			++a;
			++b;
		}
	}
	merged.shrink_to_fit();
	buckets_ = std::move(merged);
}

void
DurationSketch::SetRaw(std::uint64_t zeros, std::map<std::int32_t, std::uint64_t> buckets)
{
	zeros_ = zeros;
	buckets_.assign(buckets.begin(), buckets.end());
	count_ = zeros_;
	for (const auto &[index, count] : buckets_)
		count_ += count;
}

double
DurationSketch::Quantile(double q) const
{
	if (count_ == 0)
		return std::nan("");
	// The rank of the q-quantile among count_ values (nearest rank).
	const auto rank = static_cast<std::uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(count_)));
	std::uint64_t seen = zeros_;
	if (rank <= seen)
		return 0.0;
	for (const auto &[index, count] : buckets_) {
		seen += count;
		if (seen >= rank) // midpoint of (gamma^(i-1), gamma^i], in relative terms
			return 2.0 * std::pow(kGamma, index) / (kGamma + 1.0);
	}
	return 2.0 * std::pow(kGamma, buckets_.rbegin()->first) / (kGamma + 1.0);
}

} // namespace agentgres::core::stats
