// train_success_model, predict_success, estimate_duration, recommend_agents.
//
// Models live in agentgres.models as jsonb. Each backend parses a model once
// and keeps it in a cache, but a prediction first reads the model's row
// identity (xmin, ctid, version) with a prepared query: under the caller's
// snapshot, privileges and row-level security, and resolving the table anew
// after DROP / CREATE EXTENSION (the plan cache re-plans). The cached copy is
// used only while that identity is unchanged; any UPDATE or DELETE of the row,
// by any session, changes it. The identity read is reused for the rest of a
// statement (same snapshot, same user), so predicting per row of a query costs
// a hash lookup and a sparse dot product, and every call answers as a SELECT.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.hpp"
#include "core/learning.hpp"
#include "core/recommend.hpp"
#include "boundary.hpp"
#include "row_cache.hpp"
#include "spi.hpp"
#include "text.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "storage/itemptr.h" // ItemPointerCopy
#include "utils/array.h"
#include "utils/jsonb.h"
}

namespace core = agentgres::core;
namespace learning = agentgres::core::learning;
using agentgres::pg::ConnectSpi;
using agentgres::pg::PgCall;
using agentgres::pg::RowIdentity;
using agentgres::pg::SpiTextIn;
using agentgres::pg::TextArrayDatum;

namespace {

// --- the per-backend model cache (row_cache.hpp) -------------------------------

agentgres::pg::RowCache<std::string, learning::Model> &
Cache()
{
	static agentgres::pg::RowCache<std::string, learning::Model> cache;
	return cache;
}

// The current row identity of a model, read like a SELECT; false if no row
// is visible.
bool
FetchModelIdentity(const char *name, RowIdentity &row)
{
	static SPIPlanPtr plan = nullptr;
	return agentgres::pg::FetchRowIdentity(plan,
	                                       "SELECT m.xmin, m.ctid, m.version FROM agentgres.models m WHERE m.name = $1",
	                                       TEXTOID, CStringGetTextDatum(name), row);
}

// Fetches a model's JSON text (palloc'd in the caller's context), or nullptr.
char *
FetchModelJson(const char *name)
{
	MemoryContext caller = CurrentMemoryContext;
	ConnectSpi();
	Oid types[1] = {TEXTOID};
	Datum values[1] = {CStringGetTextDatum(name)};
	SPI_execute_with_args("SELECT model::text FROM agentgres.models WHERE name = $1", 1, types, values, nullptr, true,
	                      1);
	char *json = SPI_processed == 1 ? SpiTextIn(0, 1, caller) : nullptr;
	SPI_finish();
	return json;
}

// The named model, from the cache while its row is unchanged, else loaded and
// parsed. When no row is visible: nullptr, or 42704 if it is required.
std::shared_ptr<const learning::Model>
LoadModel(const std::string &name, bool required = true)
{
	auto model = Cache().Get(
	    name, [&](RowIdentity &row) { return FetchModelIdentity(name.c_str(), row); },
	    [&]() -> std::shared_ptr<const learning::Model> {
		    const char *json = PgCall([&] { return FetchModelJson(name.c_str()); });
		    if (json == nullptr)
			    return nullptr;
		    return std::make_shared<const learning::Model>(learning::Model::FromJson(json));
	    });
	if (model == nullptr && required)
		throw core::Error(core::ErrorCode::kUndefinedObject, "model \"" + name + "\" does not exist", {},
		                  "Train it with SELECT agentgres.train_success_model('" + name + "').");
	return model;
}

// A text[] argument as palloc'd views: elements and their count. NULL
// elements are reported through has_null. PostgreSQL calls only.
struct TextArray {
	Datum *elements;
	bool *nulls;
	int count;
	bool has_null;
};

TextArray
ReadTextArray(ArrayType *array)
{
	TextArray out{nullptr, nullptr, 0, false};
	if (ARR_NDIM(array) > 1)
		ereport(ERROR, errcode(ERRCODE_DATA_EXCEPTION), errmsg("agents must be a one-dimensional array"));
	deconstruct_array_builtin(array, TEXTOID, &out.elements, &out.nulls, &out.count);
	for (int i = 0; i < out.count; ++i)
		out.has_null = out.has_null || out.nulls[i];
	return out;
}

// Replaces each element by its detoasted form, so that later views of it
// need no PostgreSQL call.
void
DetoastElements(TextArray &array)
{
	for (int i = 0; i < array.count; ++i)
		if (!array.nulls[i])
			array.elements[i] = PointerGetDatum(DatumGetTextPP(array.elements[i]));
}

// Complexity, when given, must be finite and on the scale training accepts;
// beyond it a prediction would be an extrapolation to 0 or 1. C++ only.
void
CheckComplexity(bool has_complexity, double complexity)
{
	if (!has_complexity)
		return;
	if (!std::isfinite(complexity))
		throw core::Error(core::ErrorCode::kInvalidParameterValue, "complexity must be finite");
	if (std::fabs(complexity) > learning::kMaxAbsComplexity)
		throw core::Error(core::ErrorCode::kNumericValueOutOfRange, "complexity is out of range", {},
		                  "Complexity must be between -1000000 and 1000000.");
}

std::vector<std::string_view>
Views(const TextArray &array)
{
	std::vector<std::string_view> views;
	views.reserve(static_cast<std::size_t>(array.count));
	for (int i = 0; i < array.count; ++i)
		if (!array.nulls[i])
			views.push_back(agentgres::pg::VarlenaView(reinterpret_cast<text *>(DatumGetPointer(array.elements[i]))));
	return views;
}

// --- prediction ------------------------------------------------------------------

enum class Prediction { kSuccess, kDuration };

Datum
Predict(FunctionCallInfo fcinfo, Prediction what)
{
	// fetch (PostgreSQL): arguments. NULL task type or agents: nothing to predict.
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	text *task_type = PG_GETARG_TEXT_PP(0);
	TextArray agents = ReadTextArray(PG_GETARG_ARRAYTYPE_P(1));
	const bool has_complexity = !PG_ARGISNULL(2);
	const double complexity = has_complexity ? PG_GETARG_FLOAT8(2) : 0.0;
	const char *model_name = PG_ARGISNULL(3) ? "default" : text_to_cstring(PG_GETARG_TEXT_PP(3));
	DetoastElements(agents); // now, before C++ objects exist

	if (agents.count == 0)
		throw core::Error(core::ErrorCode::kInvalidParameterValue, "agents must not be empty");
	if (agents.has_null)
		throw core::Error(core::ErrorCode::kNullValueNotAllowed, "agent names must not be null");
	CheckComplexity(has_complexity, complexity);

	// fetch through SPI (PostgreSQL under PgCall, on a cache miss): the model
	const auto model = LoadModel(model_name);

	// compute (C++)
	const std::vector<std::string_view> names = Views(agents);
	const learning::Query query{agentgres::pg::VarlenaView(task_type), names,
	                            has_complexity ? std::optional<double>(complexity) : std::nullopt};
	const double value = what == Prediction::kSuccess ? model->PredictSuccess(query) : model->EstimateDuration(query);

	// emit (PostgreSQL)
	PG_RETURN_FLOAT8(value);
}

// --- training --------------------------------------------------------------------

// Reads the most recent max_rows executions into data through a cursor.
void
LoadExecutions(learning::TrainingData &data, std::vector<std::string_view> &scratch, int32 max_rows)
{
	constexpr long kBatch = 10000;
	// Created before SPI_connect: a child of the SPI context would be gone
	// after SPI_finish.
	MemoryContext batch =
	    AllocSetContextCreate(CurrentMemoryContext, "agentgres training batch", ALLOCSET_DEFAULT_SIZES);
	ConnectSpi();
	Oid types[1] = {INT4OID};
	Datum values[1] = {Int32GetDatum(max_rows)};
	SPIPlanPtr plan = SPI_prepare("SELECT id, task_type, agents, complexity, success, duration_s "
	                              "FROM agentgres.executions ORDER BY id DESC LIMIT $1",
	                              1, types);
	if (plan == nullptr)
		ereport(ERROR, errcode(ERRCODE_INTERNAL_ERROR),
		        errmsg("could not prepare the training query: %s", SPI_result_code_string(SPI_result)));
	Portal portal = SPI_cursor_open(nullptr, plan, values, nullptr, true);
	for (;;) {
		SPI_cursor_fetch(portal, true, kBatch);
		if (SPI_processed == 0)
			break;
		MemoryContext previous = MemoryContextSwitchTo(batch);
		TupleDesc desc = SPI_tuptable->tupdesc;
		for (uint64 i = 0; i < SPI_processed; ++i) {
			HeapTuple tuple = SPI_tuptable->vals[i];
			bool null_id, null_type, null_agents, null_complexity, null_success, null_duration;
			const Datum id = SPI_getbinval(tuple, desc, 1, &null_id);
			const Datum type = SPI_getbinval(tuple, desc, 2, &null_type);
			const Datum agents = SPI_getbinval(tuple, desc, 3, &null_agents);
			const Datum complexity = SPI_getbinval(tuple, desc, 4, &null_complexity);
			const Datum success = SPI_getbinval(tuple, desc, 5, &null_success);
			const Datum duration = SPI_getbinval(tuple, desc, 6, &null_duration);
			if (null_type || null_agents || null_success || null_duration)
				continue;
			const TextArray array = ReadTextArray(DatumGetArrayTypeP(agents));
			scratch.clear();
			for (int a = 0; a < array.count; ++a)
				if (!array.nulls[a])
					scratch.push_back(agentgres::pg::VarlenaView(DatumGetTextPP(array.elements[a])));
			if (scratch.empty())
				continue;
			data.Add(static_cast<std::uint64_t>(DatumGetInt64(id)), agentgres::pg::VarlenaView(DatumGetTextPP(type)),
			         scratch, null_complexity ? std::nullopt : std::optional<double>(DatumGetFloat8(complexity)),
			         DatumGetBool(success), DatumGetFloat8(duration));
		}
		MemoryContextSwitchTo(previous);
		MemoryContextReset(batch);
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
	SPI_finish();
	MemoryContextDelete(batch);
}

// Upserts the model and returns its report with name and version, as jsonb.
Datum
StoreModel(const char *name, const char *model_json, const char *report_json)
{
	MemoryContext caller = CurrentMemoryContext;
	ConnectSpi();
	Oid types[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum values[3] = {CStringGetTextDatum(name), CStringGetTextDatum(model_json), CStringGetTextDatum(report_json)};
	const int rc = SPI_execute_with_args(
	    "INSERT INTO agentgres.models AS m (name, model, metrics) VALUES ($1, $2::jsonb, $3::jsonb) "
	    "ON CONFLICT (name) DO UPDATE SET model = excluded.model, metrics = excluded.metrics, "
	    "version = m.version + 1, trained_at = now() "
	    "RETURNING (m.metrics || jsonb_build_object('model', m.name, 'version', m.version))::text",
	    3, types, values, nullptr, false, 1);
	if (rc != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		ereport(ERROR, errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not store model \"%s\"", name));
	char *report = SpiTextIn(0, 1, caller);
	SPI_finish();
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(report));
}

// --- recommendation --------------------------------------------------------------

struct History {
	std::int64_t total;
	std::int32_t min_history;
	const char *mode;
};

History
ReadHistory(const char *task_type)
{
	MemoryContext caller = CurrentMemoryContext;
	ConnectSpi();
	Oid types[1] = {TEXTOID};
	Datum values[1] = {CStringGetTextDatum(task_type)};
	SPI_execute_with_args("SELECT s.mode, s.min_history, (SELECT count(*) FROM agentgres.executions e "
	                      "WHERE e.task_type = $1) FROM agentgres.learning_settings s",
	                      1, types, values, nullptr, true, 1);
	History h{0, 20, "recommend"};
	if (SPI_processed == 1) {
		bool is_null = false;
		HeapTuple t = SPI_tuptable->vals[0];
		h.mode = SpiTextIn(0, 1, caller);
		h.min_history = DatumGetInt32(SPI_getbinval(t, SPI_tuptable->tupdesc, 2, &is_null));
		h.total = DatumGetInt64(SPI_getbinval(t, SPI_tuptable->tupdesc, 3, &is_null));
	}
	SPI_finish();
	return h;
}

// Appends the teams seen for the task type, as sets (distinct agents in "C"
// order), most frequent first: the orderings are grouped first, so only the
// distinct orderings are sorted.
void
ReadSeenTeams(const char *task_type, int32 max_agents, std::vector<learning::SeenTeam> &out)
{
	ConnectSpi();
	Oid types[2] = {TEXTOID, INT4OID};
	Datum values[2] = {CStringGetTextDatum(task_type), Int32GetDatum(max_agents)};
	SPI_execute_with_args("WITH orderings AS (SELECT agents, count(*) AS n FROM agentgres.executions "
	                      "WHERE task_type = $1 GROUP BY agents), "
	                      "teams AS (SELECT ARRAY(SELECT DISTINCT a COLLATE \"C\" FROM unnest(agents) AS a "
	                      "WHERE a IS NOT NULL ORDER BY 1) AS team, n FROM orderings) "
	                      "SELECT team, sum(n)::bigint FROM teams WHERE cardinality(team) BETWEEN 1 AND $2 "
	                      "GROUP BY team ORDER BY 2 DESC, team LIMIT 200",
	                      2, types, values, nullptr, true, 0);
	for (uint64 i = 0; i < SPI_processed; ++i) {
		bool is_null = false;
		HeapTuple t = SPI_tuptable->vals[i];
		TextArray array = ReadTextArray(DatumGetArrayTypeP(SPI_getbinval(t, SPI_tuptable->tupdesc, 1, &is_null)));
		DetoastElements(array);
		const int64 executions = DatumGetInt64(SPI_getbinval(t, SPI_tuptable->tupdesc, 2, &is_null));
		// No PostgreSQL call from here to the end of the iteration: the team
		// is a C++ object.
		learning::SeenTeam team;
		for (const std::string_view name : Views(array))
			team.agents.emplace_back(name);
		team.executions = executions;
		out.push_back(std::move(team));
	}
	SPI_finish();
}

// One row per team into the materialized result set. PostgreSQL phase.
void
EmitRecommendations(ReturnSetInfo *result, const std::vector<learning::Recommendation> &teams)
{
	for (const learning::Recommendation &team : teams) {
		Datum values[4] = {TextArrayDatum(team.agents), Float8GetDatum(team.p_success), Float8GetDatum(team.duration_s),
		                   Int64GetDatum(team.support)};
		bool nulls[4] = {false, false, false, false};
		tuplestore_putvalues(result->setResult, result->setDesc, values, nulls);
	}
}

} // namespace

AGENTGRES_FUNCTION(agentgres_predict_success)
{
	return Predict(fcinfo, Prediction::kSuccess);
}

AGENTGRES_FUNCTION(agentgres_estimate_duration)
{
	return Predict(fcinfo, Prediction::kDuration);
}

// train_success_model(model_name, max_rows, l2) -> jsonb report
AGENTGRES_FUNCTION(agentgres_train_success_model)
{
	// fetch (PostgreSQL): arguments
	const char *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	const int32 max_rows = PG_GETARG_INT32(1);
	const double l2 = PG_GETARG_FLOAT8(2);
	if (name[0] == '\0')
		throw core::Error(core::ErrorCode::kInvalidParameterValue, "model name must not be empty");
	if (max_rows < 1)
		throw core::Error(core::ErrorCode::kInvalidParameterValue, "max_rows must be at least 1");
	if (!std::isfinite(l2) || l2 <= 0)
		throw core::Error(core::ErrorCode::kInvalidParameterValue, "l2 must be a positive number");

	// fetch through SPI (PostgreSQL under PgCall): the executions
	learning::TrainingData data;
	std::vector<std::string_view> scratch;
	PgCall([&] { LoadExecutions(data, scratch, max_rows); });

	// compute (C++)
	learning::TrainOptions options;
	options.l2 = l2;
	options.check_interrupts = [] { PgCall([] { CHECK_FOR_INTERRUPTS(); }); };
	const learning::TrainResult result = learning::Train(data, options);
	const std::string model_json = result.model.ToJson();

	// emit (PostgreSQL, SPI): store the model, say when its figures mean
	// nothing, return the report
	return PgCall([&] {
		const Datum report = StoreModel(name, model_json.c_str(), result.report_json.c_str());
		if (!result.meaningful)
			ereport(WARNING, errmsg("the quality figures of model \"%s\" are not meaningful", name),
			        errdetail_internal("%s", result.warning.c_str()),
			        errhint("Train on more executions, or with a larger max_rows."));
		return report;
	});
}

// recommend_agents(task_type, complexity, k, max_agents)
AGENTGRES_FUNCTION(agentgres_recommend_agents)
{
	// fetch (PostgreSQL): arguments and the result set
	InitMaterializedSRF(fcinfo, 0);
	auto *result = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	if (PG_ARGISNULL(0))
		return static_cast<Datum>(0);
	const char *task_type = text_to_cstring(PG_GETARG_TEXT_PP(0));
	const bool has_complexity = !PG_ARGISNULL(1);
	const double complexity = has_complexity ? PG_GETARG_FLOAT8(1) : 0.0;
	const int32 k = PG_ARGISNULL(2) ? 5 : PG_GETARG_INT32(2);
	const int32 max_agents = PG_ARGISNULL(3) ? 4 : PG_GETARG_INT32(3);
	if (k < 1 || k > 1000)
		throw core::Error(core::ErrorCode::kInvalidParameterValue, "k must be between 1 and 1000");
	if (max_agents < 1 || max_agents > 16)
		throw core::Error(core::ErrorCode::kInvalidParameterValue, "max_agents must be between 1 and 16");
	CheckComplexity(has_complexity, complexity);

	// fetch through SPI (PostgreSQL under PgCall): settings, model, seen teams
	const History history = PgCall([&] { return ReadHistory(task_type); });
	if (std::strcmp(history.mode, "recommend") != 0 && std::strcmp(history.mode, "adapt") != 0) {
		PgCall([&] {
			ereport(NOTICE, errmsg("no recommendations: the learning mode is \"%s\"", history.mode),
			        errhint("SELECT agentgres.set_learning_mode('recommend') turns them on."));
		});
		return static_cast<Datum>(0);
	}
	if (history.total < history.min_history) {
		PgCall([&] {
			ereport(NOTICE, errmsg("no recommendations: %lld executions of task type \"%s\" recorded, %d needed",
			                       static_cast<long long>(history.total), task_type, history.min_history));
		});
		return static_cast<Datum>(0);
	}
	const auto model = LoadModel("default", false);
	if (model == nullptr) {
		PgCall([] {
			ereport(NOTICE, errmsg("no recommendations: no model has been trained"),
			        errhint("Run SELECT agentgres.train_success_model()."));
		});
		return static_cast<Datum>(0);
	}
	std::vector<learning::SeenTeam> seen;
	PgCall([&] { ReadSeenTeams(task_type, max_agents, seen); });

	// compute (C++)
	const learning::RecommendRequest request{task_type,
	                                         has_complexity ? std::optional<double>(complexity) : std::nullopt,
	                                         static_cast<std::size_t>(k), static_cast<std::size_t>(max_agents)};
	const std::vector<learning::Recommendation> teams = learning::Recommend(*model, request, seen);

	// emit (PostgreSQL)
	PgCall([&] { EmitRecommendations(result, teams); });
	return static_cast<Datum>(0);
}
