#include "rrf.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <string>
#include <unordered_map>

#include "error.hpp"

namespace agentgres::core::rrf {

FusedRows
Fuse(std::span<const RankedList> lists, std::span<const double> weights, int k,
     const std::function<void()> &check_interrupts)
{
	constexpr std::size_t kInterruptInterval = 4096;
	std::size_t work = 0;
	const auto tick = [&] {
		if (check_interrupts && ++work % kInterruptInterval == 0)
			check_interrupts();
	};
	if (k < 1)
		throw Error(ErrorCode::kInvalidParameterValue, "rrf constant k must be positive",
		            "k was " + std::to_string(k) + ".");
	if (weights.size() != lists.size())
		throw Error(ErrorCode::kInvalidParameterValue,
		            "number of weights (" + std::to_string(weights.size()) + ") does not match number of lists (" +
		                std::to_string(lists.size()) + ")");
	for (double w : weights)
		if (!std::isfinite(w) || w < 0.0)
			throw Error(ErrorCode::kInvalidParameterValue, "rrf weights must be finite and not negative");

	const std::size_t list_count = lists.size();
	FusedRows out;
	out.list_count = list_count;

	std::unordered_map<std::int64_t, std::size_t> row_of;
	std::vector<std::int64_t> ids;
	std::vector<std::int32_t> ranks;
	for (std::size_t l = 0; l < list_count; ++l) {
		const RankedList &list = lists[l];
		if (list.is_null)
			continue;
		for (std::size_t pos = 0; pos < list.ids.size(); ++pos) {
			tick();
			if (!list.element_is_null.empty() && list.element_is_null[pos])
				continue;
			const std::int64_t id = list.ids[pos];
			auto [it, inserted] = row_of.try_emplace(id, ids.size());
			if (inserted) {
				ids.push_back(id);
				ranks.resize(ranks.size() + list_count, 0);
			}
			std::int32_t &rank = ranks[it->second * list_count + l];
			if (rank == 0) // first position wins when an id repeats
				rank = static_cast<std::int32_t>(std::min<std::size_t>(pos + 1, INT32_MAX));
		}
	}

	const std::size_t n = ids.size();
	std::vector<double> scores(n);
	std::vector<std::int32_t> best_rank(n, INT32_MAX);
	std::vector<double> terms;
	terms.reserve(list_count);
	for (std::size_t r = 0; r < n; ++r) {
		tick();
		terms.clear();
		for (std::size_t l = 0; l < list_count; ++l) {
			const std::int32_t rank = ranks[r * list_count + l];
			if (rank == 0)
				continue;
			terms.push_back(weights[l] / (static_cast<double>(k) + rank));
			best_rank[r] = std::min(best_rank[r], rank);
		}
		// Summing in a canonical order makes the score of an id depend only on
		// the multiset of its terms, so ids placed symmetrically tie exactly
		// and the documented tie-break decides, not rounding.
		std::sort(terms.begin(), terms.end(), std::greater<>());
		scores[r] = std::accumulate(terms.begin(), terms.end(), 0.0);
	}

	std::vector<std::size_t> order(n);
	std::iota(order.begin(), order.end(), std::size_t{0});
	std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
		if (scores[a] != scores[b])
			return scores[a] > scores[b];
		if (best_rank[a] != best_rank[b])
			return best_rank[a] < best_rank[b];
		return ids[a] < ids[b];
	});

	out.ids.reserve(n);
	out.scores.reserve(n);
	out.ranks.reserve(n * list_count);
	for (std::size_t r : order) {
		tick();
		out.ids.push_back(ids[r]);
		out.scores.push_back(scores[r]);
		out.ranks.insert(out.ranks.end(), ranks.begin() + static_cast<std::ptrdiff_t>(r * list_count),
		                 ranks.begin() + static_cast<std::ptrdiff_t>((r + 1) * list_count));
	}
	return out;
}

} // namespace agentgres::core::rrf
