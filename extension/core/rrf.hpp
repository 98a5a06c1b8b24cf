// Reciprocal rank fusion (Cormack, Clarke and Büttcher, SIGIR 2009).
//
// score(id) = sum over lists i of weight_i / (k + rank_i), where rank_i is the
// id's first 1-based position in list i. Ids missing from a list get nothing
// there. Output is ordered by descending score, then by the best single-list
// rank, then by ascending id.
#include "cpp_only.hpp" // outside the guard: checked at every inclusion
#ifndef AGENTGRES_CORE_RRF_HPP
#define AGENTGRES_CORE_RRF_HPP

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

namespace agentgres::core::rrf {

// One input list. A null list (the SQL argument was NULL) contributes nothing;
// a null element keeps its position but contributes nothing.
struct RankedList {
	bool is_null = false;
	std::span<const std::int64_t> ids;
	std::span<const bool> element_is_null; // empty, or one flag per id
};

// One list's rank of an id: 1-based position of its first occurrence.
struct ListRankEntry {
	std::uint32_t list;
	std::int32_t rank;
};

// The ranks are kept sparse (only the lists an id appears in), so the result
// takes memory proportional to the input, not ids x lists.
struct FusedRows {
	std::size_t list_count = 0;
	std::vector<std::int64_t> ids;           // in output order
	std::vector<double> scores;              // parallel to ids
	std::vector<std::size_t> rank_begin;     // row r: entries [rank_begin[r], rank_begin[r + 1])
	std::vector<ListRankEntry> rank_entries; // per row, by ascending list
	std::span<const ListRankEntry>
	RowRanks(std::size_t row) const
	{
		return {rank_entries.data() + rank_begin[row], rank_begin[row + 1] - rank_begin[row]};
	}
	// The rank of ids[row] in list (0 = absent).
	std::int32_t ListRank(std::size_t row, std::size_t list) const;
};

inline constexpr int kDefaultK = 60;

// Throws Error (22023) when k < 1, when the weight count differs from the
// list count, or a weight is negative or not finite.
// check_interrupts, when set, is called every few thousand ids and may throw.
// Time and memory are O(total ids of the input) (plus a sort of the distinct
// ids), whatever the number of lists.
FusedRows Fuse(std::span<const RankedList> lists, std::span<const double> weights, int k,
               const std::function<void()> &check_interrupts = {});

} // namespace agentgres::core::rrf

#endif // AGENTGRES_CORE_RRF_HPP
