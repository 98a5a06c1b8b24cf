// Team recommendations (core/recommend.hpp): a team is a set, so every
// recommendation is a distinct set shown in name order, scored as shown.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/learning.hpp"
#include "core/recommend.hpp"
#include "core/simulator.hpp"

namespace agentgres::core::learning {
namespace {

// The simulator's history as the glue reads it: each recorded ordering with
// its count (the same set appears in several orders).
struct History {
	TrainingData data;
	std::vector<SeenTeam> seen;
};

History
Simulated(std::size_t n, std::uint64_t seed)
{
	History h;
	simulator::Simulator sim(seed);
	std::vector<std::string_view> names;
	for (std::size_t i = 0; i < n; ++i) {
		const auto e = sim.Next();
		names.assign(e.agents.begin(), e.agents.end());
		h.data.Add(i + 1, "code_change", names, e.complexity, e.success, e.duration_s);
		auto it = std::find_if(h.seen.begin(), h.seen.end(), [&](const SeenTeam &t) { return t.agents == e.agents; });
		if (it == h.seen.end())
			h.seen.push_back({e.agents, 1});
		else
			++it->executions;
	}
	return h;
}

const Model &
TrainedModel()
{
	static const Model model = Train(Simulated(20000, 42).data).model;
	return model;
}

TEST(CanonicalTeam, SortsByNameAndDropsRepeats)
{
	const std::vector<std::string> team{"reviewer", "coder", "planner", "coder"};
	EXPECT_EQ(CanonicalTeam(team), (std::vector<std::string>{"coder", "planner", "reviewer"}));
	EXPECT_TRUE(CanonicalTeam(std::vector<std::string>{}).empty());
}

// The user's report: k => 3 returned {planner,coder,reviewer},
// {planner,reviewer,coder} and {coder,planner,reviewer}, one team three times.
TEST(Recommend, ReturnsDistinctTeamsInNameOrder)
{
	const History h = Simulated(4000, 42);
	// The same set recorded in several orders is what produced the duplicates.
	std::set<std::vector<std::string>> orderings;
	for (const SeenTeam &t : h.seen)
		if (CanonicalTeam(t.agents) == std::vector<std::string>{"coder", "planner", "reviewer"})
			orderings.insert(t.agents);
	ASSERT_GT(orderings.size(), 1u);

	const RecommendRequest request{"code_change", 5.0, 3, 3};
	const std::vector<Recommendation> teams = Recommend(TrainedModel(), request, h.seen);
	ASSERT_EQ(teams.size(), 3u);
	std::set<std::vector<std::string>> distinct;
	for (const Recommendation &r : teams) {
		EXPECT_TRUE(std::is_sorted(r.agents.begin(), r.agents.end()));
		EXPECT_EQ(std::adjacent_find(r.agents.begin(), r.agents.end()), r.agents.end());
		EXPECT_LE(r.agents.size(), 3u);
		distinct.insert(r.agents);
	}
	EXPECT_EQ(distinct.size(), 3u);
	EXPECT_EQ(teams[0].agents, (std::vector<std::string>{"coder", "planner", "reviewer"}));
	EXPECT_GT(teams[0].p_success, 0.85);
}

TEST(Recommend, MergesTheSupportOfEveryOrderingAndScoresWhatItShows)
{
	const std::vector<SeenTeam> seen{{{"planner", "coder", "reviewer"}, 5},
	                                 {{"coder", "planner", "reviewer"}, 3},
	                                 {{"reviewer", "coder", "planner", "coder"}, 2},
	                                 {{"writer", "critic"}, 4}};
	const RecommendRequest request{"code_change", 5.0, 10, 3};
	const Model &model = TrainedModel();
	const std::vector<Recommendation> teams = Recommend(model, request, seen);
	bool found = false;
	for (const Recommendation &r : teams) {
		if (r.agents == std::vector<std::string>{"coder", "planner", "reviewer"}) {
			EXPECT_EQ(r.support, 10);
			found = true;
		}
		const std::vector<std::string_view> names(r.agents.begin(), r.agents.end());
		EXPECT_DOUBLE_EQ(r.p_success, model.PredictSuccess({"code_change", names, 5.0}));
	}
	EXPECT_TRUE(found);
	for (std::size_t i = 1; i < teams.size(); ++i)
		EXPECT_GE(teams[i - 1].p_success, teams[i].p_success);
}

TEST(Recommend, RespectsKAndMaxAgents)
{
	const History h = Simulated(4000, 7);
	const Model &model = TrainedModel();
	for (std::size_t max_agents : {1u, 2u, 4u}) {
		const std::vector<Recommendation> teams =
		    Recommend(model, {"code_change", std::nullopt, 50, max_agents}, h.seen);
		ASSERT_FALSE(teams.empty());
		std::set<std::vector<std::string>> distinct;
		for (const Recommendation &r : teams) {
			EXPECT_GE(r.agents.size(), 1u);
			EXPECT_LE(r.agents.size(), max_agents);
			distinct.insert(r.agents);
		}
		EXPECT_EQ(distinct.size(), teams.size());
	}
	EXPECT_EQ(Recommend(model, {"code_change", 5.0, 1, 4}, h.seen).size(), 1u);
	// With no history the greedy teams still answer, one per size.
	const std::vector<Recommendation> greedy = Recommend(model, {"code_change", 5.0, 10, 3}, {});
	ASSERT_FALSE(greedy.empty());
	for (const Recommendation &r : greedy)
		EXPECT_EQ(r.support, 0);
}

TEST(GreedyTeams, GrowsOneAgentAtATimeWhileSuccessRises)
{
	const Model &model = TrainedModel();
	const RecommendRequest request{"code_change", 5.0, 5, 4};
	const auto teams = GreedyTeams(model, request);
	ASSERT_FALSE(teams.empty());
	double previous = -1;
	for (std::size_t i = 0; i < teams.size(); ++i) {
		EXPECT_EQ(teams[i].size(), i + 1);
		EXPECT_TRUE(std::is_sorted(teams[i].begin(), teams[i].end()));
		if (i > 0) {
			EXPECT_TRUE(std::includes(teams[i].begin(), teams[i].end(), teams[i - 1].begin(), teams[i - 1].end()));
		}
		const std::vector<std::string_view> names(teams[i].begin(), teams[i].end());
		const double p = model.PredictSuccess({"code_change", names, 5.0});
		EXPECT_GT(p, previous);
		previous = p;
	}
}

// train_success_model(max_rows => 30) reported an auc of 0.3 as if it meant
// something: too few holdout rows of either outcome make the figures noise.
TEST(Train, SaysWhenTheHoldoutIsTooSmallToMeanAnything)
{
	const History small = Simulated(30, 42);
	const TrainResult few = Train(small.data);
	const auto report = nlohmann::json::parse(few.report_json);
	EXPECT_FALSE(few.meaningful);
	EXPECT_FALSE(report["meaningful"].get<bool>());
	EXPECT_EQ(report["warning"].get<std::string>(), few.warning);
	EXPECT_LT(std::min(report["holdout_successes"].get<std::size_t>(), report["holdout_failures"].get<std::size_t>()),
	          kMinHoldoutPerOutcome);

	const TrainResult many = Train(Simulated(4000, 42).data);
	const auto full = nlohmann::json::parse(many.report_json);
	EXPECT_TRUE(many.meaningful);
	EXPECT_TRUE(full["meaningful"].get<bool>());
	EXPECT_FALSE(full.contains("warning"));
	EXPECT_GE(full["holdout_successes"].get<std::size_t>(), kMinHoldoutPerOutcome);
	EXPECT_GE(full["holdout_failures"].get<std::size_t>(), kMinHoldoutPerOutcome);
}

} // namespace
} // namespace agentgres::core::learning
