// The knowledge kernels as SQL functions: the chunker, the built-in symbol
// extractor and embedder, and the language a uri implies. They are the same
// C++ (extension/core) the daemon links, so SQL ingestion and daemon
// ingestion cut, name and embed a document identically.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/chunker.hpp"
#include "core/embedder.hpp"
#include "core/error.hpp"
#include "core/symbols.hpp"
#include "embedding.hpp"
#include "boundary.hpp"
#include "text.hpp"

extern "C" {
#include "funcapi.h"
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
	if (chunk_size < 1 || chunk_overlap < 0)
		throw core::Error(core::ErrorCode::kInvalidParameterValue,
		                  "chunk_size must be positive and chunk_overlap not negative",
		                  "chunk_size was " + std::to_string(chunk_size) + " and chunk_overlap " +
		                      std::to_string(chunk_overlap) + ".");
	core::chunker::Options options;
	options.chunk_size = static_cast<std::size_t>(chunk_size);
	options.overlap = static_cast<std::size_t>(chunk_overlap);
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
