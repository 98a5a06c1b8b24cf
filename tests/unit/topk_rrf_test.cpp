// Bounded top-k selection against a full sort, and RRF against hand-computed
// cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "core/error.hpp"
#include "core/rrf.hpp"
#include "core/topk.hpp"

namespace agentgres::core {
namespace {

TEST(TopK, EqualsSortingForRandomInputWithTies)
{
	std::mt19937 rng(5);
	std::uniform_int_distribution<int> coarse(0, 50); // many equal distances
	for (std::size_t k : {1u, 2u, 10u, 100u, 999u, 1000u, 5000u}) {
		std::vector<Neighbor> all;
		TopK selector(k);
		for (std::int64_t id = 0; id < 1000; ++id) {
			const double d = coarse(rng) / 7.0;
			const std::int64_t shuffled_id = (id * 7919) % 1000;
			all.push_back({shuffled_id, d});
			selector.Offer(shuffled_id, d);
		}
		std::sort(all.begin(), all.end(), Closer);
		all.resize(std::min(k, all.size()));
		const auto got = selector.TakeSorted();
		ASSERT_EQ(got.size(), all.size()) << k;
		for (std::size_t i = 0; i < got.size(); ++i) {
			EXPECT_EQ(got[i].id, all[i].id) << "k=" << k << " i=" << i;
			EXPECT_EQ(got[i].distance, all[i].distance);
		}
	}
}

TEST(TopK, SkipsNaNAndHandlesZeroK)
{
	TopK selector(3);
	selector.Offer(1, std::nan(""));
	selector.Offer(2, 1.0);
	EXPECT_EQ(selector.size(), 1u);
	TopK none(0);
	none.Offer(1, 0.0);
	EXPECT_EQ(none.size(), 0u);
}

TEST(TopK, CountsLiveInstances)
{
	const long before = TopK::LiveInstances();
	{
		TopK a(1), b(2);
		EXPECT_EQ(TopK::LiveInstances(), before + 2);
	}
	EXPECT_EQ(TopK::LiveInstances(), before);
}

rrf::FusedRows
FuseLists(const std::vector<std::vector<std::int64_t>> &lists, std::vector<double> weights = {}, int k = 60)
{
	std::vector<rrf::RankedList> ranked;
	for (const auto &l : lists)
		ranked.push_back({false, l, {}});
	if (weights.empty())
		weights.assign(lists.size(), 1.0);
	return rrf::Fuse(ranked, weights, k);
}

TEST(Rrf, HandComputedScores)
{
	const auto fused = FuseLists({{1, 2, 3}, {3, 1}});
	ASSERT_EQ(fused.ids, (std::vector<std::int64_t>{1, 3, 2}));
	EXPECT_DOUBLE_EQ(fused.scores[0], 1.0 / 61 + 1.0 / 62);
	EXPECT_DOUBLE_EQ(fused.scores[1], 1.0 / 63 + 1.0 / 61);
	EXPECT_DOUBLE_EQ(fused.scores[2], 1.0 / 62);
	EXPECT_EQ(fused.ListRank(0, 0), 1);
	EXPECT_EQ(fused.ListRank(0, 1), 2);
	EXPECT_EQ(fused.ListRank(2, 1), 0); // absent
}

TEST(Rrf, TiesByBestRankThenId)
{
	// 100: 1/2, 102: 1/2 (both best rank 1), 5: 1/4 + 1/4 = 1/2 (best rank 3)
	const auto fused = FuseLists({{100, 101, 5}, {102, 103, 5}}, {1, 1}, 1);
	EXPECT_EQ(fused.ids, (std::vector<std::int64_t>{100, 102, 5, 101, 103}));
}

TEST(Rrf, SymmetricPlacementsTieExactly)
{
	const auto fused = FuseLists({{1, 2, 3}, {3, 2, 1}, {2, 3, 1}});
	// 2: ranks 2,2,1; 3: ranks 3,1,2; 1: ranks 1,3,3
	EXPECT_EQ(fused.ids[0], 2);
	EXPECT_EQ(fused.scores[0] == fused.scores[1], false);
	const auto swapped = FuseLists({{1, 2}, {2, 1}});
	EXPECT_EQ(swapped.scores[0], swapped.scores[1]);
	EXPECT_EQ(swapped.ids, (std::vector<std::int64_t>{1, 2}));
}

TEST(Rrf, NullsRepeatsAndNullLists)
{
	const std::vector<std::int64_t> ids{0, 7, 8, 7};
	const bool nulls[] = {true, false, false, false};
	const std::vector<std::int64_t> second{8};
	std::vector<rrf::RankedList> lists{{false, ids, nulls}, {true, {}, {}}, {false, second, {}}};
	const std::vector<double> weights{1, 1, 1};
	const auto fused = rrf::Fuse(lists, weights, 60);
	ASSERT_EQ(fused.ids, (std::vector<std::int64_t>{8, 7}));
	EXPECT_EQ(fused.ListRank(0, 0), 3);
	EXPECT_EQ(fused.ListRank(0, 2), 1);
	EXPECT_EQ(fused.ListRank(1, 0), 2); // first position of the repeated 7
	EXPECT_EQ(fused.ListRank(1, 1), 0);
}

TEST(Rrf, ChecksForInterrupts)
{
	std::vector<std::int64_t> ids(100000);
	std::iota(ids.begin(), ids.end(), 0);
	const rrf::RankedList list{false, ids, {}};
	const std::vector<rrf::RankedList> lists{list, list};
	const std::vector<double> weights{1, 1};
	int calls = 0;
	rrf::Fuse(lists, weights, 60, [&] { ++calls; });
	EXPECT_GT(calls, 10);
	struct Cancelled {};
	EXPECT_THROW(rrf::Fuse(lists, weights, 60, [] { throw Cancelled{}; }), Cancelled);
}

TEST(Rrf, RanksAreSparse)
{
	// 2000 lists of 50 distinct ids each: 100000 ids, each in one list. The
	// ranks held are one per (id, list) of the input, not ids x lists.
	std::vector<std::vector<std::int64_t>> storage(2000);
	std::vector<rrf::RankedList> lists;
	for (std::size_t l = 0; l < storage.size(); ++l) {
		for (std::int64_t i = 0; i < 50; ++i)
			storage[l].push_back(static_cast<std::int64_t>(l) * 50 + i);
		lists.push_back({false, storage[l], {}});
	}
	const std::vector<double> weights(lists.size(), 1.0);
	const auto fused = rrf::Fuse(lists, weights, 60);
	ASSERT_EQ(fused.ids.size(), 100000u);
	EXPECT_EQ(fused.rank_entries.size(), 100000u);
	EXPECT_EQ(fused.rank_begin.size(), 100001u);
	// Rank 1 of every list ties; ties go to the smaller id: list 0's first.
	EXPECT_EQ(fused.ids[0], 0);
	EXPECT_EQ(fused.ListRank(0, 0), 1);
	EXPECT_EQ(fused.ListRank(0, 1), 0);
	ASSERT_EQ(fused.RowRanks(1).size(), 1u);
	EXPECT_EQ(fused.RowRanks(1)[0].list, 1u); // id 50
	EXPECT_EQ(fused.ids[1], 50);
}

TEST(Rrf, RejectsBadParameters)
{
	EXPECT_THROW(FuseLists({{1}}, {1}, 0), Error);
	EXPECT_THROW(FuseLists({{1}}, {1, 1}), Error);
	EXPECT_THROW(FuseLists({{1}}, {-1}), Error);
	EXPECT_THROW(FuseLists({{1}}, {NAN}), Error);
	EXPECT_THROW(FuseLists({{1}}, {INFINITY}), Error);
	EXPECT_NO_THROW(FuseLists({{1}}, {0}));
}

} // namespace
} // namespace agentgres::core
