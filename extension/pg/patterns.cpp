// The pattern_summary aggregate (transition, combine, serialize, deserialize)
// and pattern_rows, which turns a summary into agent_patterns rows.
//
// The state is a C++ core::patterns::Accumulator created with new in the
// aggregate's memory context; a reset callback on that context deletes it, so
// the state is freed when the aggregate finishes, errors or is cancelled.
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/patterns.hpp"
#include "boundary.hpp"
#include "text.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
}

namespace core = agentgres::core;
using agentgres::pg::PgCall;
using Accumulator = agentgres::core::patterns::Accumulator;

namespace {

struct StateOwner {
	MemoryContextCallback callback;
	Accumulator *state;
};

void
DeleteState(void *arg)
{
	delete static_cast<StateOwner *>(arg)->state;
}

MemoryContext
AggregateContext(FunctionCallInfo fcinfo)
{
	MemoryContext context = nullptr;
	if (!AggCheckCallContext(fcinfo, &context))
		ereport(ERROR, errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
		        errmsg("pattern_summary support functions can only be called by the aggregate"));
	return context;
}

// The memory a state may hold: work_mem * hash_mem_multiplier, as for a hash
// aggregate (the state is a hash table of agent sets). No error is raised.
std::size_t
MemoryLimit()
{
	return get_hash_memory_limit();
}

void
CheckInterrupts()
{
	PgCall([] { CHECK_FOR_INTERRUPTS(); });
}

// A new state owned by the aggregate context, with the limits above. The
// owner record is allocated first, so nothing leaks if the C++ allocation
// throws.
Accumulator *
NewState(MemoryContext context, Accumulator &&initial)
{
	auto *owner = static_cast<StateOwner *>(
	    PgCall([&] { return MemoryContextAllocZero(context, sizeof(StateOwner)); }));
	owner->state = new Accumulator(std::move(initial));
	owner->state->SetLimits(MemoryLimit(), CheckInterrupts);
	owner->callback.func = DeleteState;
	owner->callback.arg = owner;
	MemoryContextRegisterResetCallback(context, &owner->callback);
	return owner->state;
}

} // namespace

// pattern_transition(state, task_type, agents, success, duration_s, error, max_size)
AGENTGRES_FUNCTION(agentgres_pattern_transition)
{
	// fetch (PostgreSQL): the arguments, agent names detoasted in place
	MemoryContext context = AggregateContext(fcinfo);
	Accumulator *state = PG_ARGISNULL(0) ? nullptr : reinterpret_cast<Accumulator *>(PG_GETARG_POINTER(0));
	const int max_size = PG_ARGISNULL(6) ? 3 : PG_GETARG_INT32(6);
	// Rows without a task type, agents or outcome carry no pattern.
	const bool skip = PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3);
	text *task_type = skip ? nullptr : PG_GETARG_TEXT_PP(1);
	Datum *elements = nullptr;
	bool *nulls = nullptr;
	int count = 0;
	if (!skip) {
		ArrayType *agents = PG_GETARG_ARRAYTYPE_P(2);
		deconstruct_array_builtin(agents, TEXTOID, &elements, &nulls, &count);
		for (int i = 0; i < count; ++i)
			if (!nulls[i])
				elements[i] = PointerGetDatum(PG_DETOAST_DATUM_PACKED(elements[i]));
	}
	text *error = PG_ARGISNULL(5) || skip ? nullptr : PG_GETARG_TEXT_PP(5);
	const std::optional<double> duration = PG_ARGISNULL(4) ? std::nullopt : std::optional<double>(PG_GETARG_FLOAT8(4));
	const bool success = skip ? false : PG_GETARG_BOOL(3);

	// compute (C++): the state is created in the aggregate context (its
	// registration under PgCall) and updated
	Accumulator::ValidateMaxSize(max_size);
	if (state == nullptr)
		state = NewState(context, Accumulator());
	if (skip)
		PG_RETURN_POINTER(state);
	// Reused across rows: no allocation per row once it has grown.
	static thread_local std::vector<std::string_view> names;
	names.clear();
	for (int i = 0; i < count; ++i)
		if (!nulls[i])
			names.push_back(agentgres::pg::VarlenaView(reinterpret_cast<text *>(DatumGetPointer(elements[i]))));
	if (!names.empty())
		state->Add(agentgres::pg::VarlenaView(task_type), names, success, duration,
		           error ? std::optional<std::string_view>(agentgres::pg::VarlenaView(error)) : std::nullopt, max_size);

	// emit (PostgreSQL)
	PG_RETURN_POINTER(state);
}

// pattern_combine(state, state): merges the second into the first (never
// modifying the second).
AGENTGRES_FUNCTION(agentgres_pattern_combine)
{
	// fetch (PostgreSQL)
	MemoryContext context = AggregateContext(fcinfo);
	Accumulator *a = PG_ARGISNULL(0) ? nullptr : reinterpret_cast<Accumulator *>(PG_GETARG_POINTER(0));
	Accumulator *b = PG_ARGISNULL(1) ? nullptr : reinterpret_cast<Accumulator *>(PG_GETARG_POINTER(1));
	if (b == nullptr) {
		if (a == nullptr)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(a);
	}

	// compute (C++)
	if (a == nullptr)
		a = NewState(context, Accumulator());
	a->Merge(*b);

	// emit (PostgreSQL)
	PG_RETURN_POINTER(a);
}

// pattern_serialize(state) -> bytea; also the final function (a NULL state,
// from no rows at all, becomes an empty summary).
AGENTGRES_FUNCTION(agentgres_pattern_serialize)
{
	// fetch (PostgreSQL)
	const auto *state = PG_ARGISNULL(0) ? nullptr : reinterpret_cast<const Accumulator *>(PG_GETARG_POINTER(0));

	// compute (C++), copied into a bytea allocated without a longjmp
	bytea *bytes = agentgres::pg::NewVarlena(state == nullptr ? Accumulator().Serialize() : state->Serialize());

	// emit (PostgreSQL)
	PG_RETURN_BYTEA_P(bytes);
}

// pattern_deserialize(bytea, internal) -> state
AGENTGRES_FUNCTION(agentgres_pattern_deserialize)
{
	// fetch (PostgreSQL)
	MemoryContext context = AggregateContext(fcinfo);
	bytea *bytes = PG_GETARG_BYTEA_PP(0);

	// compute (C++)
	Accumulator *state =
	    NewState(context, Accumulator::Deserialize(agentgres::pg::VarlenaView(bytes), MemoryLimit(), CheckInterrupts));

	// emit (PostgreSQL)
	PG_RETURN_POINTER(state);
}

// pattern_rows(summary bytea, min_support integer, max_size integer): the
// patterns of at most max_size agents (validated here too, so that a bad
// max_size is an error even when there are no executions to aggregate).
AGENTGRES_FUNCTION(agentgres_pattern_rows)
{
	// fetch (PostgreSQL): arguments and the result set
	bytea *bytes = PG_GETARG_BYTEA_PP(0);
	const int32 min_support = PG_GETARG_INT32(1);
	const int32 max_size = PG_GETARG_INT32(2);
	InitMaterializedSRF(fcinfo, 0);
	auto *result = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);

	// compute (C++)
	if (min_support < 1)
		throw core::Error(core::ErrorCode::kInvalidParameterValue, "min_support must be at least 1",
		                  "min_support was " + std::to_string(min_support) + ".");
	Accumulator::ValidateMaxSize(max_size);
	const Accumulator state =
	    Accumulator::Deserialize(agentgres::pg::VarlenaView(bytes), MemoryLimit(), CheckInterrupts);
	const std::vector<core::patterns::PatternRow> rows =
	    state.Rows(static_cast<std::uint64_t>(min_support), max_size, CheckInterrupts);

	// emit (PostgreSQL)
	PgCall([&] {
		MemoryContext row_context =
		    AllocSetContextCreate(CurrentMemoryContext, "agentgres pattern row", ALLOCSET_SMALL_SIZES);
		for (const core::patterns::PatternRow &row : rows) {
			CHECK_FOR_INTERRUPTS();
			MemoryContext caller = MemoryContextSwitchTo(row_context);
			Datum values[11] = {
			    row.task_type ? agentgres::pg::TextDatum(*row.task_type) : static_cast<Datum>(0),
			    agentgres::pg::TextArrayDatum(row.agents),
			    Int64GetDatum(static_cast<int64>(row.n)),
			    Int64GetDatum(static_cast<int64>(row.successes)),
			    Float8GetDatum(row.success_rate),
			    Float8GetDatum(row.wilson_low),
			    Float8GetDatum(row.wilson_high),
			    Float8GetDatum(row.mean_duration_s),
			    Float8GetDatum(row.p95_duration_s),
			    row.top_error ? agentgres::pg::TextDatum(*row.top_error) : static_cast<Datum>(0),
			    Int64GetDatum(static_cast<int64>(row.top_error_count))};
			bool nulls[11] = {!row.task_type.has_value(),
			                  false,
			                  false,
			                  false,
			                  false,
			                  false,
			                  false,
			                  std::isnan(row.mean_duration_s),
			                  std::isnan(row.p95_duration_s),
			                  !row.top_error.has_value(),
			                  !row.top_error.has_value()};
			tuplestore_putvalues(result->setResult, result->setDesc, values, nulls);
			MemoryContextSwitchTo(caller);
			MemoryContextReset(row_context);
		}
	});
	return static_cast<Datum>(0);
}
