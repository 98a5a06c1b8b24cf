// SQL-callable statistics helpers, error templates, stable hashing and the
// execution simulator.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/error_template.hpp"
#include "core/hash.hpp"
#include "core/log_clusters.hpp"
#include "core/simulator.hpp"
#include "core/stats.hpp"
#include "boundary.hpp"
#include "text.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
}

namespace core = agentgres::core;
using agentgres::pg::PgCall;

namespace {

void
CheckCount(int64 value, const char *what)
{
	if (value < 0)
		throw core::Error(core::ErrorCode::kInvalidParameterValue, std::string(what) + " must not be negative");
}

// A two-column double precision record.
Datum
PairRecord(FunctionCallInfo fcinfo, double a, double b)
{
	TupleDesc desc;
	if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR, errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
		        errmsg("function returning record called in context that cannot accept type record"));
	desc = BlessTupleDesc(desc);
	Datum values[2] = {Float8GetDatum(a), Float8GetDatum(b)};
	bool nulls[2] = {std::isnan(a), std::isnan(b)};
	return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
}

} // namespace

AGENTGRES_FUNCTION(agentgres_wilson_interval)
{
	const int64 successes = PG_GETARG_INT64(0);
	const int64 n = PG_GETARG_INT64(1);
	const double z = PG_GETARG_FLOAT8(2);
	CheckCount(successes, "successes");
	CheckCount(n, "n");
	if (successes > n)
		throw core::Error(core::ErrorCode::kInvalidParameterValue, "successes must not exceed n");
	if (!std::isfinite(z) || z <= 0)
		throw core::Error(core::ErrorCode::kInvalidParameterValue, "z must be a positive number");
	const core::stats::Interval w =
	    core::stats::Wilson(static_cast<std::uint64_t>(successes), static_cast<std::uint64_t>(n), z);
	return PairRecord(fcinfo, w.low, w.high);
}

AGENTGRES_FUNCTION(agentgres_two_proportion_z_test)
{
	const int64 s1 = PG_GETARG_INT64(0), n1 = PG_GETARG_INT64(1), s2 = PG_GETARG_INT64(2), n2 = PG_GETARG_INT64(3);
	CheckCount(s1, "successes_a");
	CheckCount(n1, "n_a");
	CheckCount(s2, "successes_b");
	CheckCount(n2, "n_b");
	if (s1 > n1 || s2 > n2)
		throw core::Error(core::ErrorCode::kInvalidParameterValue, "successes must not exceed n");
	const core::stats::ZTest t =
	    core::stats::TwoProportionZTest(static_cast<std::uint64_t>(s1), static_cast<std::uint64_t>(n1),
	                                    static_cast<std::uint64_t>(s2), static_cast<std::uint64_t>(n2));
	return PairRecord(fcinfo, t.z, t.p_value);
}

AGENTGRES_FUNCTION(agentgres_normal_cdf)
{
	PG_RETURN_FLOAT8(core::stats::NormalCdf(PG_GETARG_FLOAT8(0)));
}

AGENTGRES_FUNCTION(agentgres_hash_bucket)
{
	text *key = PG_GETARG_TEXT_PP(0);
	const int32 buckets = PG_GETARG_INT32(1);
	if (buckets < 1)
		throw core::Error(core::ErrorCode::kInvalidParameterValue, "buckets must be at least 1");
	PG_RETURN_INT32(
	    static_cast<int32>(core::StableHash(agentgres::pg::VarlenaView(key)) % static_cast<std::uint64_t>(buckets)));
}

AGENTGRES_FUNCTION(agentgres_error_template)
{
	text *message = PG_GETARG_TEXT_PP(0);
	PG_RETURN_TEXT_P(agentgres::pg::NewVarlena(core::ErrorTemplate(agentgres::pg::VarlenaView(message))));
}

// error_templates(messages text[]): one template per element, grouped across
// the elements (NULL stays NULL); the result has the input's dimensions.
AGENTGRES_FUNCTION(agentgres_error_templates)
{
	ArrayType *array = PG_GETARG_ARRAYTYPE_P(0);
	Datum *elements = nullptr;
	bool *nulls = nullptr;
	int count = 0;
	deconstruct_array_builtin(array, TEXTOID, &elements, &nulls, &count);
	const int ndim = ARR_NDIM(array);
	int *dims = ARR_DIMS(array), *lbounds = ARR_LBOUND(array);

	std::vector<std::optional<std::string_view>> messages(static_cast<std::size_t>(count));
	for (int i = 0; i < count; ++i)
		if (!nulls[i])
			messages[static_cast<std::size_t>(i)] = agentgres::pg::VarlenaView(DatumGetTextPP(elements[i]));
	const std::vector<std::optional<std::string>> templates = core::ClusterMessages(messages, {}, [] {
		PgCall([] { CHECK_FOR_INTERRUPTS(); });
	});
	for (int i = 0; i < count; ++i)
		if (const auto &t = templates[static_cast<std::size_t>(i)])
			elements[i] = PointerGetDatum(agentgres::pg::NewVarlena(*t));
	return PgCall([&] {
		return PointerGetDatum(
		    construct_md_array(elements, nulls, ndim, dims, lbounds, TEXTOID, -1, false, TYPALIGN_INT));
	});
}

// generate_executions(n, seed): rows of the simulator's ground truth.
AGENTGRES_FUNCTION(agentgres_generate_executions)
{
	const int32 n = PG_GETARG_INT32(0);
	const int64 seed = PG_GETARG_INT64(1);
	InitMaterializedSRF(fcinfo, 0);
	auto *result = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	// Each row's texts and arrays live here until the tuplestore has copied them.
	MemoryContext row_context =
	    AllocSetContextCreate(CurrentMemoryContext, "agentgres generate_executions row", ALLOCSET_SMALL_SIZES);
	if (n < 0 || n > 10000000)
		throw core::Error(core::ErrorCode::kInvalidParameterValue, "n must be between 0 and 10000000");
	core::simulator::Simulator simulator(static_cast<std::uint64_t>(seed));
	for (int32 i = 0; i < n; ++i) {
		const core::simulator::SimulatedExecution e = simulator.Next();
		PgCall([&] {
			MemoryContext caller = MemoryContextSwitchTo(row_context);
			Datum values[6] = {agentgres::pg::TextArrayDatum(e.agents),
			                   Float8GetDatum(e.complexity),
			                   BoolGetDatum(e.success),
			                   Float8GetDatum(e.duration_s),
			                   e.error ? agentgres::pg::TextDatum(*e.error) : static_cast<Datum>(0),
			                   Float8GetDatum(e.age_s)};
			bool nulls[6] = {false, false, false, false, !e.error.has_value(), false};
			tuplestore_putvalues(result->setResult, result->setDesc, values, nulls);
			MemoryContextSwitchTo(caller);
			MemoryContextReset(row_context);
		});
	}
	return static_cast<Datum>(0);
}
