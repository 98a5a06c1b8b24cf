#include "rrf.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "error.hpp"
#include "hash.hpp"

namespace agentgres::core::rrf {
namespace {

// Row of each distinct id: open addressing over row numbers (4 bytes a slot,
// the keys are the ids vector itself), at most half full. An
// std::unordered_map took about 48 bytes per id.
class RowIndex {
public:
	explicit RowIndex(std::vector<std::int64_t> &ids) : ids_(ids) { Grow(1024); }
	// The row of id, appended to ids if new: {row, inserted}.
	std::pair<std::uint32_t, bool>
	Find(std::int64_t id)
	{
		std::size_t slot = Slot(id);
		for (; slots_[slot] != kEmpty; slot = (slot + 1) & mask_)
			if (ids_[slots_[slot]] == id)
				return {slots_[slot], false};
		if (ids_.size() >= kEmpty)
			throw Error(ErrorCode::kProgramLimitExceeded, "rrf takes at most 4294967294 distinct ids");
		const auto row = static_cast<std::uint32_t>(ids_.size());
		ids_.push_back(id);
		slots_[slot] = row;
		if (2 * ids_.size() > slots_.size())
			Grow(2 * slots_.size());
		return {row, true};
	}
	void
	Release()
	{
		slots_ = {};
	}

private:
	static constexpr std::uint32_t kEmpty = UINT32_MAX;
	std::size_t
	Slot(std::int64_t id) const
	{
		return static_cast<std::size_t>(Mix64(static_cast<std::uint64_t>(id))) & mask_;
	}
	void
	Grow(std::size_t capacity)
	{
		slots_.assign(capacity, kEmpty);
		mask_ = capacity - 1;
		for (std::size_t row = 0; row < ids_.size(); ++row) {
			std::size_t slot = Slot(ids_[row]);
			while (slots_[slot] != kEmpty)
				slot = (slot + 1) & mask_;
			slots_[slot] = static_cast<std::uint32_t>(row);
		}
	}
	std::vector<std::int64_t> &ids_;
	std::vector<std::uint32_t> slots_;
	std::size_t mask_ = 0;
};

} // namespace

std::int32_t
FusedRows::ListRank(std::size_t row, std::size_t list) const
{
	const std::span<const ListRankEntry> ranks = RowRanks(row);
	const auto it = std::lower_bound(ranks.begin(), ranks.end(), list, [](const ListRankEntry &e, std::size_t l) {
		return e.list < l;
	});
	return it != ranks.end() && it->list == list ? it->rank : 0;
}

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

	// Pass 1: a row per distinct id and a hit per (id, list), in input order,
	// hence by ascending list within each row.
	struct Hit {
		std::uint32_t row;
		ListRankEntry entry;
	};
	std::vector<std::int64_t> ids;
	std::vector<std::uint32_t> last_list; // per row: the last list that ranked it
	std::vector<Hit> hits;
	RowIndex row_of(ids);
	for (std::size_t l = 0; l < list_count; ++l) {
		const RankedList &list = lists[l];
		if (list.is_null)
			continue;
		for (std::size_t pos = 0; pos < list.ids.size(); ++pos) {
			tick();
			if (!list.element_is_null.empty() && list.element_is_null[pos])
				continue;
			const std::int64_t id = list.ids[pos];
			const auto [row, inserted] = row_of.Find(id);
			const auto list_index = static_cast<std::uint32_t>(l);
			if (inserted) {
				last_list.push_back(list_index);
			} else if (last_list[row] == list_index) {
				continue; // first position wins when an id repeats in a list
			} else {
				last_list[row] = list_index;
			}
			hits.push_back(
			    Hit{row, {list_index, static_cast<std::int32_t>(std::min<std::size_t>(pos + 1, INT32_MAX))}});
		}
	}
	row_of.Release();
	last_list = {};

	// Group the hits by row (a counting sort keeps them by list).
	const std::size_t n = ids.size();
	std::vector<std::size_t> begin(n + 1, 0);
	for (const Hit &h : hits)
		++begin[h.row + 1];
	for (std::size_t r = 0; r < n; ++r)
		begin[r + 1] += begin[r];
	std::vector<ListRankEntry> entries(hits.size());
	{
		std::vector<std::size_t> next(begin.begin(), begin.end() - 1);
		for (const Hit &h : hits) {
			tick();
			entries[next[h.row]++] = h.entry;
		}
	}
	hits = {};

	std::vector<double> scores(n);
	std::vector<std::int32_t> best_rank(n, INT32_MAX);
	std::vector<double> terms;
	for (std::size_t r = 0; r < n; ++r) {
		tick();
		terms.clear();
		for (std::size_t e = begin[r]; e < begin[r + 1]; ++e) {
			terms.push_back(weights[entries[e].list] / (static_cast<double>(k) + entries[e].rank));
			best_rank[r] = std::min(best_rank[r], entries[e].rank);
		}
		// Summing in a canonical order makes the score of an id depend only on
		// the multiset of its terms, so ids placed symmetrically tie exactly
		// and the documented tie-break decides, not rounding.
		std::sort(terms.begin(), terms.end(), std::greater<>());
		scores[r] = std::accumulate(terms.begin(), terms.end(), 0.0);
	}

	std::vector<std::size_t> order(n);
	std::iota(order.begin(), order.end(), std::size_t{0});
	if (check_interrupts)
		check_interrupts();
	std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
		if (scores[a] != scores[b])
			return scores[a] > scores[b];
		if (best_rank[a] != best_rank[b])
			return best_rank[a] < best_rank[b];
		return ids[a] < ids[b];
	});
	if (check_interrupts)
		check_interrupts();

	out.ids.reserve(n);
	out.scores.reserve(n);
	out.rank_begin.reserve(n + 1);
	out.rank_entries.reserve(entries.size());
	out.rank_begin.push_back(0);
	for (std::size_t r : order) {
		tick();
		out.ids.push_back(ids[r]);
		out.scores.push_back(scores[r]);
		out.rank_entries.insert(out.rank_entries.end(), entries.begin() + static_cast<std::ptrdiff_t>(begin[r]),
		                        entries.begin() + static_cast<std::ptrdiff_t>(begin[r + 1]));
		out.rank_begin.push_back(out.rank_entries.size());
	}
	return out;
}

} // namespace agentgres::core::rrf
