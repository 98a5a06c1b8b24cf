// Statistics against published values and the pattern
// aggregate's state: subsets, combine == sequential, serialization.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/patterns.hpp"
#include "core/simulator.hpp"
#include "core/stats.hpp"

namespace agentgres::core {
namespace {

TEST(Wilson, PublishedValues)
{
	// 5 of 10 and 0 of 10 at 95%: the textbook intervals [0.2366, 0.7634] and [0, 0.2775].
	const auto half = stats::Wilson(5, 10);
	EXPECT_NEAR(half.low, 0.2366, 1e-4);
	EXPECT_NEAR(half.high, 0.7634, 1e-4);
	const auto none = stats::Wilson(0, 10);
	EXPECT_NEAR(none.low, 0.0, 1e-12);
	EXPECT_NEAR(none.high, 0.2775, 1e-4);
	const auto all = stats::Wilson(10, 10);
	EXPECT_NEAR(all.low, 0.7225, 1e-4);
	EXPECT_NEAR(all.high, 1.0, 1e-12);
	const auto empty = stats::Wilson(0, 0);
	EXPECT_EQ(empty.low, 0.0);
	EXPECT_EQ(empty.high, 1.0);
}

TEST(ZTest, KnownValues)
{
	// 45/100 against 56/100: pooled p = 0.505, z = 1.5557, two-sided p = 0.1198.
	const auto t = stats::TwoProportionZTest(45, 100, 56, 100);
	EXPECT_NEAR(t.z, 1.5557, 1e-4);
	EXPECT_NEAR(t.p_value, 0.1198, 1e-4);
	EXPECT_TRUE(std::isnan(stats::TwoProportionZTest(0, 0, 1, 2).z));
	EXPECT_TRUE(std::isnan(stats::TwoProportionZTest(5, 5, 7, 7).p_value));
	EXPECT_NEAR(stats::NormalCdf(1.959963984540054), 0.975, 1e-12);
	EXPECT_NEAR(stats::NormalCdf(0), 0.5, 1e-15);
}

TEST(Classifier, AucLogLossBrier)
{
	const std::vector<double> p{0.1, 0.4, 0.35, 0.8};
	const std::vector<std::uint8_t> y{0, 0, 1, 1};
	EXPECT_DOUBLE_EQ(stats::Auc(p, y), 0.75); // the sklearn documentation example
	const std::vector<double> tied{0.5, 0.5};
	const std::vector<std::uint8_t> both{0, 1};
	EXPECT_DOUBLE_EQ(stats::Auc(tied, both), 0.5);
	EXPECT_TRUE(std::isnan(stats::Auc(p, std::vector<std::uint8_t>{1, 1, 1, 1})));
	EXPECT_NEAR(stats::LogLoss(std::vector<double>{0.9, 0.2}, std::vector<std::uint8_t>{1, 0}),
	            -(std::log(0.9) + std::log(0.8)) / 2, 1e-12);
	EXPECT_NEAR(stats::Brier(std::vector<double>{0.9, 0.2}, std::vector<std::uint8_t>{1, 0}), (0.01 + 0.04) / 2, 1e-12);
}

TEST(Classifier, AucTerminatesAndRanksNaNLowest)
{
	// NaN == NaN is false: a tie loop keyed on == never advanced here, and
	// sorting NaN with < is undefined behaviour.
	const double nan = std::nan("");
	const std::vector<double> p{nan, 0.2, nan, 0.8, nan};
	const std::vector<std::uint8_t> y{0, 0, 1, 1, 0};
	// NaNs share the lowest ranks 1..3 (2 each); 0.2 has rank 4, 0.8 rank 5.
	// Positives' rank sum 2 + 5 = 7; AUC = (7 - 3) / (2 * 3) = 2/3.
	EXPECT_DOUBLE_EQ(stats::Auc(p, y), 2.0 / 3.0);
	std::vector<double> all_nan(1000, nan);
	std::vector<std::uint8_t> half(1000);
	for (std::size_t i = 0; i < half.size(); i += 2)
		half[i] = 1;
	EXPECT_DOUBLE_EQ(stats::Auc(all_nan, half), 0.5);
	EXPECT_TRUE(stats::LessNanLast(1, nan));
	EXPECT_FALSE(stats::LessNanLast(nan, 1));
	EXPECT_FALSE(stats::LessNanLast(nan, nan));
	EXPECT_TRUE(stats::SameNanLast(nan, nan));
}

TEST(DurationSketch, QuantilesWithinOnePercent)
{
	std::mt19937 rng(11);
	std::lognormal_distribution<double> d(3.0, 1.0);
	std::vector<double> values;
	stats::DurationSketch a, b;
	for (int i = 0; i < 100000; ++i) {
		const double v = d(rng);
		values.push_back(v);
		(i % 2 ? a : b).Add(v);
	}
	a.Merge(b);
	std::sort(values.begin(), values.end());
	for (double q : {0.5, 0.9, 0.95, 0.99}) {
		const double exact = values[static_cast<std::size_t>(std::ceil(q * values.size())) - 1];
		EXPECT_NEAR(a.Quantile(q) / exact, 1.0, 0.011) << q;
	}
	stats::DurationSketch zeros;
	zeros.Add(0);
	zeros.Add(0);
	zeros.Add(5);
	EXPECT_EQ(zeros.Quantile(0.5), 0.0);
	EXPECT_NEAR(zeros.Quantile(1.0), 5.0, 0.06);
	EXPECT_TRUE(std::isnan(stats::DurationSketch().Quantile(0.5)));
}

using patterns::Accumulator;

Accumulator
FromSimulation(std::size_t n, std::uint64_t seed, std::size_t parts, std::size_t part)
{
	Accumulator a;
	simulator::Simulator sim(seed);
	for (std::size_t i = 0; i < n; ++i) {
		const auto e = sim.Next();
		if (i % parts != part)
			continue;
		std::vector<std::string_view> names(e.agents.begin(), e.agents.end());
		a.Add(i % 3 ? "code" : "docs", names, e.success, e.duration_s,
		      e.error ? std::optional<std::string_view>(*e.error) : std::nullopt, 3);
	}
	return a;
}

void
ExpectSameRows(const Accumulator &x, const Accumulator &y)
{
	const auto a = x.Rows(1), b = y.Rows(1);
	ASSERT_EQ(a.size(), b.size());
	for (std::size_t i = 0; i < a.size(); ++i) {
		EXPECT_EQ(a[i].task_type, b[i].task_type);
		EXPECT_EQ(a[i].agents, b[i].agents);
		EXPECT_EQ(a[i].n, b[i].n);
		EXPECT_EQ(a[i].successes, b[i].successes);
		EXPECT_NEAR(a[i].mean_duration_s, b[i].mean_duration_s, 1e-9 * a[i].mean_duration_s);
		EXPECT_EQ(a[i].p95_duration_s, b[i].p95_duration_s);
		EXPECT_EQ(a[i].top_error, b[i].top_error);
		EXPECT_EQ(a[i].top_error_count, b[i].top_error_count);
	}
}

TEST(Patterns, CombineEqualsSequential)
{
	const Accumulator whole = FromSimulation(5000, 9, 1, 0);
	Accumulator merged = FromSimulation(5000, 9, 3, 0);
	merged.Merge(FromSimulation(5000, 9, 3, 1));
	merged.Merge(FromSimulation(5000, 9, 3, 2));
	ExpectSameRows(whole, merged);
	// Merging into an empty state, and merging an empty one.
	Accumulator empty;
	empty.Merge(whole);
	empty.Merge(Accumulator());
	ExpectSameRows(whole, empty);
}

TEST(Patterns, SerializationRoundTrips)
{
	const Accumulator a = FromSimulation(3000, 4, 1, 0);
	ExpectSameRows(a, Accumulator::Deserialize(a.Serialize()));
	ExpectSameRows(Accumulator(), Accumulator::Deserialize(Accumulator().Serialize()));
}

TEST(Patterns, CorruptStatesAreRejected)
{
	const std::string good = FromSimulation(200, 4, 1, 0).Serialize();
	EXPECT_THROW(Accumulator::Deserialize(""), Error);
	EXPECT_THROW(Accumulator::Deserialize(std::string(1, '\x07')), Error);
	for (std::size_t cut = 1; cut < good.size(); cut += 97)
		EXPECT_THROW(Accumulator::Deserialize(good.substr(0, cut)), Error) << cut;
	EXPECT_THROW(Accumulator::Deserialize(good + "x"), Error);
	// Random byte flips either fail cleanly or decode; never crash (ASan build).
	std::mt19937 rng(2);
	for (int i = 0; i < 2000; ++i) {
		std::string bad = good;
		bad[rng() % bad.size()] = static_cast<char>(rng());
		try {
			(void)Accumulator::Deserialize(bad).Rows(1);
		} catch (const Error &) {
		}
	}
}

TEST(Patterns, SubsetsStatisticsAndErrors)
{
	Accumulator a;
	const std::vector<std::string_view> team{"b", "a", "c", "a"}; // repeat ignored
	a.Add("t", team, true, 10.0, std::nullopt, 2);
	a.Add("t", team, false, 30.0, std::string_view("timeout after 5s"), 2);
	a.Add("t", team, false, 20.0, std::string_view("timeout after 9s"), 2);
	const auto rows = a.Rows(1);
	// {a},{b},{c},{a,b},{a,c},{b,c} for "t" and for all types: 12 rows.
	ASSERT_EQ(rows.size(), 12u);
	EXPECT_EQ(rows[0].task_type, std::optional<std::string>("t"));
	EXPECT_EQ(rows[0].agents, (std::vector<std::string>{"a"}));
	EXPECT_EQ(rows[0].n, 3u);
	EXPECT_EQ(rows[0].successes, 1u);
	EXPECT_NEAR(rows[0].mean_duration_s, 20.0, 1e-12);
	EXPECT_NEAR(rows[0].p95_duration_s, 30.0, 0.3);
	EXPECT_EQ(rows[0].top_error, std::optional<std::string>("timeout after <num>"));
	EXPECT_EQ(rows[0].top_error_count, 2u);
	EXPECT_FALSE(rows.back().task_type.has_value());
	EXPECT_EQ(rows.back().agents.size(), 2u);
	EXPECT_EQ(a.Rows(4).size(), 0u);
	EXPECT_THROW(Accumulator::ValidateMaxSize(0), Error);
	EXPECT_THROW(Accumulator::ValidateMaxSize(6), Error);
}

TEST(Patterns, LargeTeamsAreBounded)
{
	Accumulator a;
	std::vector<std::string> names;
	for (int i = 0; i < 40; ++i)
		names.push_back("agent" + std::to_string(i));
	std::vector<std::string_view> views(names.begin(), names.end());
	a.Add("t", views, true, 1.0, std::nullopt, 5);
	// Subsets of the first 16 agents up to size 5, for the type and for all types.
	const std::size_t per_scope = 16 + 120 + 560 + 1820 + 4368;
	EXPECT_EQ(a.size(), 2 * per_scope);
}

// Disjoint 16-agent teams: every execution brings 2 x 6884 new agent sets.
Accumulator
ManyTeams(int executions, std::size_t memory_limit, std::function<void()> check_interrupts = {})
{
	Accumulator a;
	a.SetLimits(memory_limit, std::move(check_interrupts));
	std::vector<std::string> names;
	for (int e = 0; e < executions; ++e) {
		names.clear();
		for (int i = 0; i < 16; ++i)
			names.push_back("agent" + std::to_string(e * 16 + i));
		const std::vector<std::string_view> views(names.begin(), names.end());
		a.Add("t", views, e % 2 == 0, 1.0 + e, "failed on node " + std::to_string(e), 5);
	}
	return a;
}

TEST(PatternLimits, EstimateGrowsWithTheSetsAndStopsAtTheLimit)
{
	const Accumulator one = ManyTeams(1, 0);
	const Accumulator two = ManyTeams(2, 0);
	// A set costs at least its node; the estimate is linear in the sets held.
	EXPECT_GE(one.memory_bytes(), one.size() * 64);
	EXPECT_NEAR(static_cast<double>(two.memory_bytes()), 2.0 * static_cast<double>(one.memory_bytes()),
	            0.05 * static_cast<double>(two.memory_bytes()));

	// Past the limit: 54000 naming work_mem and what to do, with the state
	// stopped near the limit (not after the whole input).
	const std::size_t limit = one.memory_bytes() * 3 / 2;
	try {
		(void)ManyTeams(100, limit);
		FAIL() << "no limit error";
	} catch (const Error &e) {
		EXPECT_EQ(e.code(), ErrorCode::kProgramLimitExceeded);
		EXPECT_STREQ(Sqlstate(e.code()), "54000");
		EXPECT_NE(std::string(e.what()).find("work_mem"), std::string::npos);
		EXPECT_NE(e.hint().find("max_size"), std::string::npos);
		EXPECT_NE(e.hint().find("work_mem"), std::string::npos);
		EXPECT_NE(e.detail().find(std::to_string(limit / 1024) + " kB"), std::string::npos);
	}
	EXPECT_NO_THROW((void)ManyTeams(1, limit));
}

TEST(PatternLimits, MergeDeserializeAndRowsAreHeldToTheLimit)
{
	const Accumulator whole = ManyTeams(2, 0);
	const std::size_t limit = whole.memory_bytes() * 3 / 4;
	// Merging two halves into a limited state.
	Accumulator merged;
	merged.SetLimits(limit, {});
	merged.Merge(ManyTeams(1, 0));
	EXPECT_THROW(
	    {
		    Accumulator other = ManyTeams(2, 0);
		    merged.Merge(other);
	    },
	    Error);
	// Reading back a state larger than the reader's limit.
	const std::string bytes = whole.Serialize();
	EXPECT_THROW((void)Accumulator::Deserialize(bytes, limit), Error);
	const Accumulator read = Accumulator::Deserialize(bytes, 2 * whole.memory_bytes());
	EXPECT_EQ(read.size(), whole.size());
	EXPECT_NEAR(static_cast<double>(read.memory_bytes()), static_cast<double>(whole.memory_bytes()),
	            0.1 * static_cast<double>(whole.memory_bytes()));
	// The rows of a state are held to its limit too.
	const Accumulator tight = Accumulator::Deserialize(bytes, whole.memory_bytes() + 1024);
	EXPECT_THROW((void)tight.Rows(1), Error);
	EXPECT_EQ(Accumulator::Deserialize(bytes).Rows(1).size(), whole.size());
}

TEST(PatternLimits, LongLoopsCheckForInterrupts)
{
	int calls = 0;
	const Accumulator a = ManyTeams(4, 0, [&] { ++calls; });
	EXPECT_GT(calls, 10); // 4 x 13768 updates
	struct Cancelled {};
	EXPECT_THROW((void)ManyTeams(4, 0, [] { throw Cancelled{}; }), Cancelled);
	const std::string bytes = a.Serialize();
	EXPECT_THROW((void)Accumulator::Deserialize(bytes, 0, [] { throw Cancelled{}; }), Cancelled);
	EXPECT_THROW((void)a.Rows(1, 5, [] { throw Cancelled{}; }), Cancelled);
	Accumulator target;
	target.SetLimits(0, [] { throw Cancelled{}; });
	EXPECT_THROW(target.Merge(a), Cancelled);
}

} // namespace
} // namespace agentgres::core
