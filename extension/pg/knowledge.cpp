// The knowledge kernels as SQL functions: the chunker, the built-in symbol
// extractor and embedder, and the language a uri implies. They are the same
// C++ (extension/core) the daemon links, so SQL ingestion and daemon
// ingestion cut, name and embed a document identically.
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/chunker.hpp"
#include "core/distance.hpp"
#include "core/embedder.hpp"
#include "core/embedding.hpp"
#include "core/error.hpp"
#include "core/lsa.hpp"
#include "core/symbols.hpp"
#include "embedding.hpp"
#include "boundary.hpp"
#include "row_cache.hpp"
#include "spi.hpp"
#include "text.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "miscadmin.h"
#include "utils/builtins.h"
}

namespace core = agentgres::core;
using agentgres::pg::PgCall;

namespace {

// Checks for a cancel from inside a kernel loop.
void
CheckInterrupts()
{
	PgCall([] { CHECK_FOR_INTERRUPTS(); });
}

// Lines and ordinals are integers in SQL; a 64 MB document has far fewer.
int32
ToInt32(std::size_t value)
{
	if (value > static_cast<std::size_t>(PG_INT32_MAX))
		throw core::Error(core::ErrorCode::kProgramLimitExceeded, "a line number or chunk ordinal exceeds integer");
	return static_cast<int32>(value);
}

} // namespace

// language_of(uri text) RETURNS text
AGENTGRES_FUNCTION(agentgres_language_of)
{
	const std::string_view uri = agentgres::pg::VarlenaView(PG_GETARG_TEXT_PP(0));
	const std::string language = core::chunker::LanguageOf(uri);
	return PgCall([&] { return agentgres::pg::TextDatum(language); });
}

// chunk_text(content, language, chunk_size, chunk_overlap) RETURNS
// TABLE(ordinal integer, content text, line_start integer, line_end integer)
AGENTGRES_FUNCTION(agentgres_chunk_text)
{
	// fetch (PostgreSQL)
	const std::string_view content = agentgres::pg::VarlenaView(PG_GETARG_TEXT_PP(0));
	const std::string_view language = agentgres::pg::VarlenaView(PG_GETARG_TEXT_PP(1));
	const int32 chunk_size = PG_GETARG_INT32(2);
	const int32 chunk_overlap = PG_GETARG_INT32(3);
	InitMaterializedSRF(fcinfo, 0);
	auto *result_info = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);

	// compute (C++)
	const core::chunker::Options options = core::chunker::MakeOptions(chunk_size, chunk_overlap);
	// As create_collection: past half a chunk, the chunks would multiply the input.
	if (options.overlap * 2 > options.chunk_size)
		throw core::Error(core::ErrorCode::kInvalidParameterValue, "chunk overlap must not exceed half the chunk size",
		                  "chunk_size was " + std::to_string(chunk_size) + " and chunk_overlap " +
		                      std::to_string(chunk_overlap) + ".");
	const std::vector<core::chunker::Chunk> chunks =
	    core::chunker::Split(content, std::string(language), options, CheckInterrupts);

	// emit (PostgreSQL)
	for (std::size_t i = 0; i < chunks.size(); ++i) {
		const core::chunker::Chunk &c = chunks[i];
		const int32 ordinal = ToInt32(i + 1);
		const int32 line_start = ToInt32(c.line_start);
		const int32 line_end = ToInt32(c.line_end);
		PgCall([&] {
			Datum values[4] = {Int32GetDatum(ordinal),
			                   agentgres::pg::TextDatum(content.substr(c.begin, c.end - c.begin)),
			                   Int32GetDatum(line_start), Int32GetDatum(line_end)};
			bool nulls[4] = {false, false, false, false};
			tuplestore_putvalues(result_info->setResult, result_info->setDesc, values, nulls);
		});
	}
	return static_cast<Datum>(0);
}

// extract_symbols(content, language) RETURNS TABLE(name text, kind text, line integer)
AGENTGRES_FUNCTION(agentgres_extract_symbols)
{
	const std::string_view content = agentgres::pg::VarlenaView(PG_GETARG_TEXT_PP(0));
	const std::string_view language = agentgres::pg::VarlenaView(PG_GETARG_TEXT_PP(1));
	InitMaterializedSRF(fcinfo, 0);
	auto *result_info = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);

	const std::vector<core::symbols::Symbol> found = core::symbols::Extract(content, language, CheckInterrupts);

	for (const core::symbols::Symbol &s : found) {
		const int32 line = ToInt32(s.line);
		PgCall([&] {
			Datum values[3] = {agentgres::pg::TextDatum(s.name), agentgres::pg::TextDatum(s.kind), Int32GetDatum(line)};
			bool nulls[3] = {false, false, false};
			tuplestore_putvalues(result_info->setResult, result_info->setDesc, values, nulls);
		});
	}
	return static_cast<Datum>(0);
}

// embed(content text, embedder text) RETURNS embedding: the built-in
// embedder. The backend never calls the network: other embedders' vectors
// come from agentgresd (set_chunk_embeddings).
AGENTGRES_FUNCTION(agentgres_embed)
{
	const std::string_view content = agentgres::pg::VarlenaView(PG_GETARG_TEXT_PP(0));
	const std::string_view embedder = agentgres::pg::VarlenaView(PG_GETARG_TEXT_PP(1));

	if (embedder != "builtin")
		throw core::Error(core::ErrorCode::kInvalidParameterValue,
		                  "embedder \"" + std::string(embedder.substr(0, 200)) + "\" is not built in",
		                  "The database computes only the builtin embedder's vectors.",
		                  "agentgresd computes external embedders' vectors; pass them as query embeddings.");
	agentgres::pg::EmbeddingHeader *e = agentgres::pg::NewEmbedding(core::embedder::kBuiltinDimensions);
	core::embedder::EmbedBuiltin(content, {agentgres::pg::EmbeddingValues(e), core::embedder::kBuiltinDimensions},
	                             CheckInterrupts);
	return PointerGetDatum(e);
}

// rocchio(query embedding, feedback embedding[], beta double precision)
// RETURNS embedding: the unit vector of query + beta * mean(feedback), the
// query moved toward documents taken as relevant (Rocchio's relevance
// feedback; hybrid_search feeds it the best lexical hits). NULL elements are
// skipped; with no feedback it is the normalised query.
AGENTGRES_FUNCTION(agentgres_rocchio)
{
	// fetch (PostgreSQL): every vector detoasted and checked before C++ runs
	agentgres::pg::EmbeddingHeader *query = agentgres::pg::EmbeddingArg(fcinfo, 0);
	ArrayType *array = PG_GETARG_ARRAYTYPE_P(1);
	const double beta = PG_GETARG_FLOAT8(2);
	const Oid element_type = ARR_ELEMTYPE(array);
	int16 element_length;
	bool by_value;
	char alignment;
	get_typlenbyvalalign(element_type, &element_length, &by_value, &alignment);
	Datum *elements = nullptr;
	bool *nulls = nullptr;
	int count = 0;
	deconstruct_array(array, element_type, element_length, by_value, alignment, &elements, &nulls, &count);
	// A palloc'd array: no C++ object may be alive while detoasting.
	auto **feedback = static_cast<agentgres::pg::EmbeddingHeader **>(palloc(sizeof(void *) * (count + 1)));
	int feedback_count = 0;
	for (int i = 0; i < count; ++i)
		if (!nulls[i])
			feedback[feedback_count++] = reinterpret_cast<agentgres::pg::EmbeddingHeader *>(
			    PG_DETOAST_DATUM(elements[i]));

	// compute (C++)
	if (!std::isfinite(beta) || beta < 0 || beta > 1000)
		throw core::Error(core::ErrorCode::kInvalidParameterValue, "beta must be between 0 and 1000");
	const std::size_t dims = static_cast<std::size_t>(query->dims);
	std::vector<double> sum(dims);
	const std::span<const float> q = agentgres::pg::EmbeddingSpan(query);
	for (std::size_t d = 0; d < dims; ++d)
		sum[d] = q[d];
	const double weight = feedback_count == 0 ? 0.0 : beta / feedback_count;
	for (int i = 0; i < feedback_count; ++i) {
		const agentgres::pg::EmbeddingHeader *e = feedback[i];
		if (VARSIZE(e) != agentgres::pg::EmbeddingSize(static_cast<std::size_t>(e->dims < 0 ? 0 : e->dims)))
			agentgres::pg::CheckEmbeddingSize(e);
		core::embedding::CheckSameDimensions(dims, static_cast<std::size_t>(e->dims));
		const std::span<const float> f = agentgres::pg::EmbeddingSpan(e);
		for (std::size_t d = 0; d < dims; ++d)
			sum[d] += weight * f[d];
	}
	std::vector<float> mixed(dims);
	for (std::size_t d = 0; d < dims; ++d)
		mixed[d] = static_cast<float>(sum[d]);
	agentgres::pg::EmbeddingHeader *out = agentgres::pg::NewEmbedding(dims);
	core::distance::Normalize(mixed, {agentgres::pg::EmbeddingValues(out), dims});
	return PointerGetDatum(out);
}

// --- the collection-trained embedder (LSA, core/lsa.hpp) ----------------------

namespace {

namespace embedder = agentgres::core::embedder;

agentgres::pg::RowCache<int64, embedder::LsaModel> &
LsaCache()
{
	static agentgres::pg::RowCache<int64, embedder::LsaModel> cache;
	return cache;
}

// The identity of a collection's model row; false when it has none.
// PostgreSQL phase.
bool
FetchLsaIdentity(int64 collection_id, agentgres::pg::RowIdentity &row)
{
	static SPIPlanPtr plan = nullptr;
	return agentgres::pg::FetchRowIdentity(
	    plan, "SELECT m.xmin, m.ctid, m.version::bigint FROM agentgres.embedder_models m WHERE m.collection_id = $1",
	    INT8OID, Int64GetDatum(collection_id), row);
}

// The model's bytes, detoasted in the caller's context, or nullptr.
// PostgreSQL phase.
bytea *
FetchLsaModel(int64 collection_id)
{
	MemoryContext caller = CurrentMemoryContext;
	agentgres::pg::ConnectSpi();
	Oid types[1] = {INT8OID};
	Datum values[1] = {Int64GetDatum(collection_id)};
	SPI_execute_with_args("SELECT m.model FROM agentgres.embedder_models m WHERE m.collection_id = $1", 1, types,
	                      values, nullptr, true, 1);
	bytea *bytes = nullptr;
	if (SPI_processed == 1) {
		bool is_null = false;
		const Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &is_null);
		if (!is_null) {
			MemoryContext previous = MemoryContextSwitchTo(caller);
			bytes = DatumGetByteaPCopy(d);
			MemoryContextSwitchTo(previous);
		}
	}
	SPI_finish();
	return bytes;
}

std::shared_ptr<const embedder::LsaModel>
LoadLsaModel(int64 collection_id)
{
	return LsaCache().Get(
	    collection_id, [&](agentgres::pg::RowIdentity &row) { return FetchLsaIdentity(collection_id, row); },
	    [&]() -> std::shared_ptr<const embedder::LsaModel> {
		    const bytea *bytes = PgCall([&] { return FetchLsaModel(collection_id); });
		    if (bytes == nullptr)
			    return nullptr;
		    return std::make_shared<const embedder::LsaModel>(
		        embedder::LsaModel::Deserialize(agentgres::pg::VarlenaView(bytes)));
	    });
}

} // namespace

// lsa_embed(collection_id bigint, content text) RETURNS embedding: content
// projected with the collection's trained model; NULL while it has none.
AGENTGRES_FUNCTION(agentgres_lsa_embed)
{
	const int64 collection_id = PG_GETARG_INT64(0);
	const std::string_view content = agentgres::pg::VarlenaView(PG_GETARG_TEXT_PP(1));

	const std::shared_ptr<const embedder::LsaModel> model = LoadLsaModel(collection_id);
	if (model == nullptr)
		PG_RETURN_NULL();
	agentgres::pg::EmbeddingHeader *e = agentgres::pg::NewEmbedding(model->dimensions());
	model->Project(content, {agentgres::pg::EmbeddingValues(e), model->dimensions()}, CheckInterrupts);
	return PointerGetDatum(e);
}

// lsa_train(collection_id bigint, dims integer) RETURNS bytea: an LSA model
// trained on the collection's chunks, serialised. The chunks' text and the
// SVD's matrices are held in memory while training: at most
// maintenance_work_mem, as for an index build.
AGENTGRES_FUNCTION(agentgres_lsa_train)
{
	const int64 collection_id = PG_GETARG_INT64(0);
	const int32 dims = PG_GETARG_INT32(1);
	const std::size_t budget = static_cast<std::size_t>(maintenance_work_mem) * 1024;

	if (dims < 2 || dims > 2000)
		throw core::Error(core::ErrorCode::kInvalidParameterValue,
		                  "an LSA model needs between 2 and 2000 dimensions, not " + std::to_string(dims));
	std::vector<std::string> texts;
	std::size_t bytes = 0;
	PgCall([&] {
		agentgres::pg::ConnectSpi();
		Oid types[1] = {INT8OID};
		Datum values[1] = {Int64GetDatum(collection_id)};
		SPIPlanPtr plan =
		    SPI_prepare("SELECT c.content FROM agentgres.chunks c WHERE c.collection_id = $1 ORDER BY c.id", 1, types);
		if (plan == nullptr)
			ereport(ERROR, errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not prepare the training read"));
		Portal portal = SPI_cursor_open(nullptr, plan, values, nullptr, true);
		for (;;) {
			CHECK_FOR_INTERRUPTS();
			SPI_cursor_fetch(portal, true, 1000);
			if (SPI_processed == 0)
				break;
			for (uint64 i = 0; i < SPI_processed; ++i) {
				bool is_null = false;
				const Datum d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &is_null);
				if (is_null)
					continue;
				text *t = DatumGetTextPP(d);
				bytes += VARSIZE_ANY_EXHDR(t);
				if (bytes > budget)
					ereport(ERROR, errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					        errmsg("the collection's text exceeds maintenance_work_mem (%d kB)", maintenance_work_mem),
					        errhint("Raise maintenance_work_mem for the session that trains the model."));
				texts.emplace_back(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
			}
			SPI_freetuptable(SPI_tuptable);
		}
		SPI_cursor_close(portal);
		SPI_finish();
	});

	// Beside the text, the randomized SVD holds two chunks x (dims + 10)
	// matrices of doubles.
	const std::size_t needed = bytes + texts.size() * (static_cast<std::size_t>(dims) + 10) * 2 * sizeof(double);
	if (needed > budget)
		throw core::Error(core::ErrorCode::kProgramLimitExceeded,
		                  "training the embedder needs about " + std::to_string(needed / (1024 * 1024) + 1) +
		                      " MB, more than maintenance_work_mem",
		                  "The collection has " + std::to_string(texts.size()) + " chunks.",
		                  "Raise maintenance_work_mem for the session that trains the model.");
	std::vector<std::string_view> views(texts.begin(), texts.end());
	embedder::LsaOptions options;
	options.dimensions = static_cast<std::size_t>(dims);
	const embedder::LsaModel model = embedder::LsaModel::Train(views, options, CheckInterrupts);
	const std::string serialized = model.Serialize();
	return PointerGetDatum(agentgres::pg::NewVarlena(serialized));
}
