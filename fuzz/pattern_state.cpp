// The agent_patterns aggregate's serialised state (its serialfunc and
// deserialfunc). Even first bytes: the rest is a state to deserialise, which
// either fails with core::Error (22000) or gives a state that serialises and
// deserialises to the same patterns. Odd first bytes: the rest describes
// executions that are added to a fresh state, which must survive
// deserialise(serialise(x)) unchanged and merge with its copy into doubled
// counts.
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/patterns.hpp"
#include "fuzz.hpp"

using agentgres::core::Error;
using agentgres::core::ErrorCode;
using agentgres::core::patterns::Accumulator;
using agentgres::core::patterns::kMaxSetSize;
using agentgres::core::patterns::PatternRow;

namespace {

bool
Same(double a, double b)
{
	return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b) || (std::isnan(a) && std::isnan(b));
}

bool
SameRows(const std::vector<PatternRow> &a, const std::vector<PatternRow> &b)
{
	if (a.size() != b.size())
		return false;
	for (std::size_t i = 0; i < a.size(); ++i) {
		const PatternRow &x = a[i], &y = b[i];
		if (x.task_type != y.task_type || x.agents != y.agents || x.n != y.n || x.successes != y.successes ||
		    !Same(x.success_rate, y.success_rate) || !Same(x.wilson_low, y.wilson_low) ||
		    !Same(x.wilson_high, y.wilson_high) || !Same(x.mean_duration_s, y.mean_duration_s) ||
		    !Same(x.p95_duration_s, y.p95_duration_s) || x.top_error != y.top_error ||
		    x.top_error_count != y.top_error_count)
			return false;
	}
	return true;
}

void
CheckRows(const std::vector<PatternRow> &rows)
{
	for (const PatternRow &r : rows) {
		FUZZ_CHECK(r.successes <= r.n);
		FUZZ_CHECK(!r.agents.empty() && r.agents.size() <= static_cast<std::size_t>(kMaxSetSize));
		FUZZ_CHECK(r.success_rate >= 0 && r.success_rate <= 1);
		FUZZ_CHECK(r.wilson_low >= 0 && r.wilson_low <= r.wilson_high && r.wilson_high <= 1);
	}
}

// The state's patterns, the same after a serialisation round trip.
std::vector<PatternRow>
CheckRoundTrip(const Accumulator &state)
{
	const std::vector<PatternRow> rows = state.Rows(0);
	CheckRows(rows);
	const std::string bytes = state.Serialize();
	const Accumulator copy = Accumulator::Deserialize(bytes);
	FUZZ_CHECK(copy.size() == state.size());
	FUZZ_CHECK(SameRows(copy.Rows(0), rows));
	return rows;
}

// Executions from bytes: a small vocabulary, so that subsets repeat, and at
// most 24 executions of at most 6 agents, so that a run stays fast (an
// execution of 16 agents alone adds thousands of subsets).
Accumulator
Build(const std::uint8_t *data, std::size_t size)
{
	static const char *const kErrors[] = {
	    "timeout after 30 s",
	    "connection refused to db-3:5432",
	    "timeout after 45 s",
	    "out of memory allocating 512 MB",
	    "permission denied for table t",
	    "é ü 名前 error 7"};
	Accumulator state;
	std::size_t i = 0;
	const auto next = [&]() -> std::uint8_t { return i < size ? data[i++] : 0; };
	const int max_size = 1 + next() % kMaxSetSize;
	for (int executions = 0; i < size && executions < 24; ++executions) {
		const std::uint8_t head = next();
		const std::string task_type = "type" + std::to_string(head & 3);
		std::vector<std::string> names;
		for (int a = 0, n = 1 + ((head >> 2) & 7) % 6; a < n; ++a)
			names.push_back("agent" + std::to_string(next() & 31));
		std::vector<std::string_view> agents(names.begin(), names.end());
		const std::uint8_t outcome = next();
		std::optional<double> duration;
		if (outcome & 2)
			duration = std::ldexp(1.0 + next(), static_cast<int>(next() % 40) - 20);
		std::optional<std::string_view> error;
		if (outcome & 4)
			error = kErrors[next() % std::size(kErrors)];
		state.Add(task_type, agents, (outcome & 1) != 0, duration, error, max_size);
	}
	return state;
}

} // namespace

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] % 2 == 0) {
		std::optional<Accumulator> state;
		try {
			state.emplace(
			    Accumulator::Deserialize(std::string_view(reinterpret_cast<const char *>(data + 1), size - 1)));
		} catch (const Error &e) {
			FUZZ_CHECK(e.code() == ErrorCode::kDataException);
			return 0;
		}
		CheckRoundTrip(*state);
		return 0;
	}
	const Accumulator state = Build(data + 1, size - 1);
	const std::vector<PatternRow> once = CheckRoundTrip(state);
	Accumulator doubled = Accumulator::Deserialize(state.Serialize());
	doubled.Merge(state);
	const std::vector<PatternRow> twice = doubled.Rows(0);
	FUZZ_CHECK(once.size() == twice.size());
	for (std::size_t r = 0; r < once.size(); ++r) {
		FUZZ_CHECK(once[r].agents == twice[r].agents && once[r].task_type == twice[r].task_type);
		FUZZ_CHECK(twice[r].n == 2 * once[r].n && twice[r].successes == 2 * once[r].successes);
	}
	return 0;
}
