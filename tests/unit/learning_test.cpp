// Logistic and ridge regression, model serialization, and the simulator's
// ground truth as seen by the trained model.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/learning.hpp"
#include "core/simulator.hpp"

namespace agentgres::core::learning {
namespace {

TrainingData
Simulated(std::size_t n, std::uint64_t seed)
{
	TrainingData data;
	simulator::Simulator sim(seed);
	std::vector<std::string_view> names;
	for (std::size_t i = 0; i < n; ++i) {
		const auto e = sim.Next();
		names.assign(e.agents.begin(), e.agents.end());
		data.Add(i + 1, "code_change", names, e.complexity, e.success, e.duration_s);
	}
	return data;
}

double
Predict(const Model &m, std::vector<std::string_view> agents, double complexity = 5.0)
{
	return m.PredictSuccess({"code_change", agents, complexity});
}

TEST(Train, RecoversThePlantedEffects)
{
	const TrainingData data = Simulated(20000, 42);
	const TrainResult result = Train(data);
	const auto report = nlohmann::json::parse(result.report_json);
	EXPECT_EQ(report["n"], 20000);
	EXPECT_GT(report["auc"].get<double>(), 0.75);
	EXPECT_LT(report["brier"].get<double>(), 0.2);
	const Model &m = result.model;
	const double best = Predict(m, {"planner", "coder", "reviewer"});
	const double bad = Predict(m, {"coder", "deployer"});
	const double plain = Predict(m, {"writer", "critic"});
	EXPECT_GT(best, 0.9);
	EXPECT_LT(bad, 0.3);
	EXPECT_GT(best, plain);
	EXPECT_GT(plain, bad);
	// Harder tasks are predicted to fail more often.
	EXPECT_GT(Predict(m, {"writer", "critic"}, 2.0), Predict(m, {"writer", "critic"}, 9.0));
	// Researchers make tasks about four times longer.
	const double slow = m.EstimateDuration({"code_change", std::vector<std::string_view>{"researcher", "writer"}, 5.0});
	const double quick = m.EstimateDuration({"code_change", std::vector<std::string_view>{"critic", "writer"}, 5.0});
	EXPECT_GT(slow / quick, 3.0);
	EXPECT_LT(slow / quick, 5.5);
	EXPECT_NEAR(quick, 60.0 * std::exp(0.045), 12.0); // 30 s (1 + 5/5), log-normal mean
}

// Against a known solution: one binary feature, no regularisation to speak
// of, so the fitted probabilities equal the empirical rates per group.
TEST(Train, MatchesTheClosedFormForTwoGroups)
{
	TrainingData data;
	std::vector<std::string_view> a{"alpha"}, b{"beta"};
	for (int i = 0; i < 1000; ++i) {
		data.Add(static_cast<std::uint64_t>(2 * i), "t", a, std::nullopt, i % 10 < 8, 10.0);     // 80%
		data.Add(static_cast<std::uint64_t>(2 * i + 1), "t", b, std::nullopt, i % 10 < 3, 10.0); // 30%
	}
	TrainOptions options;
	options.l2 = 1e-6;
	const Model m = Train(data, options).model;
	EXPECT_NEAR(m.PredictSuccess({"t", a, std::nullopt}), 0.8, 1e-3);
	EXPECT_NEAR(m.PredictSuccess({"t", b, std::nullopt}), 0.3, 1e-3);
	EXPECT_NEAR(m.EstimateDuration({"t", a, std::nullopt}), 10.0, 1e-3);
}

TEST(Train, RejectsTooLittleOrOneSidedHistory)
{
	TrainingData small;
	std::vector<std::string_view> a{"alpha"};
	for (int i = 0; i < 5; ++i)
		small.Add(static_cast<std::uint64_t>(i), "t", a, 1.0, i % 2 == 0, 1.0);
	EXPECT_THROW(Train(small), Error);
	TrainingData all_good;
	for (int i = 0; i < 100; ++i)
		all_good.Add(static_cast<std::uint64_t>(i), "t", a, 1.0, true, 1.0);
	EXPECT_THROW(Train(all_good), Error);
}

// Rows stored before the input bounds (any finite value) must neither hang
// training nor store weights that cannot be read back.
TEST(Train, OutliersGiveAFiniteModel)
{
	for (const auto &[complexity, duration] :
	     std::vector<std::pair<double, double>>{{1e155, 10.0}, {-1e308, 10.0}, {5.0, 1e308}, {1e6, 1e7}}) {
		TrainingData data = Simulated(2000, 42);
		const std::vector<std::string_view> coder{"coder"};
		data.Add(100000, "code_change", coder, complexity, true, duration);
		const TrainResult result = Train(data);
		const auto report = nlohmann::json::parse(result.report_json);
		EXPECT_GT(report["auc"].get<double>(), 0.6) << complexity << " " << duration;
		const Model back = Model::FromJson(result.model.ToJson());
		const double p = Predict(back, {"planner", "coder", "reviewer"});
		EXPECT_TRUE(p > 0 && p < 1) << p;
		const double seconds = back.EstimateDuration({"code_change", coder, 5.0});
		EXPECT_TRUE(std::isfinite(seconds) && seconds > 0) << seconds;
	}
}

TEST(Model, ExtrapolatesFlatBeyondTenStandardDeviations)
{
	const Model m = Train(Simulated(2000, 3)).model;
	const std::vector<std::string_view> team{"planner", "coder"};
	for (double c : {1e6, -1e6}) {
		const auto far = m.Predict({"code_change", team, c});
		const auto farther = m.Predict({"code_change", team, c * 1e300});
		EXPECT_TRUE(far.p_success > 0 && far.p_success < 1) << c;
		EXPECT_TRUE(std::isfinite(far.duration_s) && far.duration_s > 0) << c;
		EXPECT_EQ(far.p_success, farther.p_success);
	}
}

TEST(Model, RejectsMoreAgentsThanAnExecutionHolds)
{
	// The pair features are quadratic in the agents: 10000 names were 50
	// million features (800 MB, seconds) before the limit.
	const Model m = Train(Simulated(500, 3)).model;
	const std::vector<std::string> names(kMaxAgents + 1, "coder");
	const std::vector<std::string_view> too_many(names.begin(), names.end());
	const std::vector<std::string_view> most(names.begin(), names.end() - 1);
	EXPECT_TRUE(std::isfinite(m.PredictSuccess({"code_change", most, 5.0})));
	try {
		(void)m.PredictSuccess({"code_change", too_many, 5.0});
		FAIL() << "no error";
	} catch (const Error &e) {
		EXPECT_EQ(e.code(), ErrorCode::kInvalidParameterValue);
	}
	EXPECT_THROW((void)m.EstimateDuration({"code_change", too_many, 5.0}), Error);
}

TEST(Train, ChecksForInterrupts)
{
	const TrainingData data = Simulated(3000, 7);
	TrainOptions options;
	int calls = 0;
	options.check_interrupts = [&] { ++calls; };
	Train(data, options);
	EXPECT_GT(calls, 50); // per iteration and every few hundred rows
	struct Cancelled {};
	int until = 0;
	options.check_interrupts = [&] {
		if (++until == 10)
			throw Cancelled{};
	};
	EXPECT_THROW(Train(data, options), Cancelled);
}

TEST(Model, RoundTripsThroughJson)
{
	const Model m = Train(Simulated(2000, 3)).model;
	const Model again = Model::FromJson(m.ToJson());
	std::vector<std::string_view> team{"planner", "tester"};
	EXPECT_DOUBLE_EQ(m.PredictSuccess({"code_change", team, 4.0}), again.PredictSuccess({"code_change", team, 4.0}));
	EXPECT_DOUBLE_EQ(m.EstimateDuration({"code_change", team, 4.0}),
	                 again.EstimateDuration({"code_change", team, 4.0}));
	// Unknown names and missing complexity still predict.
	std::vector<std::string_view> unknown{"nobody"};
	const double p = again.PredictSuccess({"never_seen", unknown, std::nullopt});
	EXPECT_GT(p, 0.0);
	EXPECT_LT(p, 1.0);
}

TEST(Model, RejectsDocumentsThatAreNotModels)
{
	for (const char *bad : {"", "[]", "{}", "{\"format\": 2}", "not json", "{\"format\": 1, \"task_types\": 3}"})
		EXPECT_THROW(Model::FromJson(bad), Error) << bad;
	nlohmann::json j = nlohmann::json::parse(Train(Simulated(500, 5)).model.ToJson());
	j["success_weights"].erase(0);
	EXPECT_THROW(Model::FromJson(j.dump()), Error);
}

// Numbers that do not fit the integer fields are rejected, not cast (a
// double-to-int cast out of range is undefined behaviour: UBSan aborted on
// fuzz/corpus/model_json/crash_format_1e308).
TEST(Model, RejectsIntegerFieldsThatAreNotIntegers)
{
	const std::string good = Train(Simulated(500, 5)).model.ToJson();
	for (const char *field : {"format", "pair_buckets", "type_agent_buckets"}) {
		for (const char *value : {"1e308", "-1e308", "1.0", "1.5", "\"1\"", "18446744073709551616"}) {
			nlohmann::json j = nlohmann::json::parse(good);
			j[field] = nlohmann::json::parse(value);
			try {
				Model::FromJson(j.dump());
				ADD_FAILURE() << field << " = " << value;
			} catch (const Error &e) {
				EXPECT_EQ(e.code(), ErrorCode::kInvalidParameterValue) << field << " = " << value;
			}
		}
	}
	EXPECT_THROW(Model::FromJson(R"({"format":1e308,"complexittd":2.0,"dure_agent_buckets":26})"), Error);
}

TEST(Sigmoid, IsStableAtTheExtremes)
{
	EXPECT_DOUBLE_EQ(Sigmoid(0), 0.5);
	EXPECT_EQ(Sigmoid(1000), 1.0);
	EXPECT_EQ(Sigmoid(-1000), 0.0);
	EXPECT_FALSE(std::isnan(Sigmoid(-1e308)));
}

} // namespace
} // namespace agentgres::core::learning
