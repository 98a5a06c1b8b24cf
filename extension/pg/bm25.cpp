// BM25 inside the database: the tokeniser (the collection's text search
// configuration, after core::bm25::PrepareForTokenizer) and the ranking over
// the postings table.
//
// Storage (sql/knowledge.sql): agentgres.bm25_postings holds one row per
// (collection, term, chunk) with the term frequency and the chunk's length,
// written and removed by triggers on agentgres.chunks, so the statistics are
// those of the rows the statement's snapshot sees: a term's document
// frequency is the number of its postings read here, and the collection's
// chunk count and total length come from agentgres.bm25_stats in the same
// snapshot. Concurrent ingests therefore never make a score inexact.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/bm25.hpp"
#include "core/error.hpp"
#include "boundary.hpp"
#include "id_lists.hpp"
#include "spi.hpp"
#include "text.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "tsearch/ts_utils.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
}

namespace core = agentgres::core;
namespace bm25 = agentgres::core::bm25;
using agentgres::pg::ConnectSpi;
using agentgres::pg::PgCall;

namespace {

// Larger queries are not questions; they would cost one postings scan per term.
constexpr std::size_t kMaxQueryBytes = 64 * 1024;
constexpr int32 kMaxK = 100000;

// The lexemes of prepared text under a text search configuration, in a
// ParsedText allocated in the current memory context. PostgreSQL phase.
ParsedText
Parse(Oid config, const char *text, std::size_t length)
{
	ParsedText parsed;
	parsed.lenwords = std::max<int32>(2, static_cast<int32>(length / 6));
	parsed.curwords = 0;
	parsed.pos = 0;
	parsed.words = static_cast<ParsedWord *>(palloc(sizeof(ParsedWord) * parsed.lenwords));
	parsetext(config, &parsed, const_cast<char *>(text), static_cast<int32>(length));
	return parsed;
}

// Term -> occurrences, in term order (bytewise, as COLLATE "C" sorts).
std::map<std::string, int32>
CountTerms(Oid config, std::string_view text)
{
	const std::string prepared = bm25::PrepareForTokenizer(text);
	const ParsedText parsed = PgCall([&] { return Parse(config, prepared.data(), prepared.size()); });
	std::map<std::string, int32> counts;
	for (int32 i = 0; i < parsed.curwords; ++i)
		++counts[std::string(parsed.words[i].word, parsed.words[i].len)];
	return counts;
}

} // namespace

// bm25_terms(content text, config regconfig) RETURNS TABLE(term text, tf
// integer): how BM25 tokenises text, in term order. The chunks' postings and
// every query go through it.
AGENTGRES_FUNCTION(agentgres_bm25_terms)
{
	// fetch (PostgreSQL)
	const std::string_view content = agentgres::pg::VarlenaView(PG_GETARG_TEXT_PP(0));
	const Oid config = PG_GETARG_OID(1);
	// A regconfig made from a number is not checked by its input function.
	if (!SearchSysCacheExists1(TSCONFIGOID, ObjectIdGetDatum(config)))
		ereport(ERROR, errcode(ERRCODE_UNDEFINED_OBJECT),
		        errmsg("text search configuration with OID %u does not exist", config));
	InitMaterializedSRF(fcinfo, 0);
	auto *result_info = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);

	// compute (C++, parsing through PostgreSQL)
	const std::map<std::string, int32> counts = CountTerms(config, content);

	// emit (PostgreSQL)
	PgCall([&] {
		for (const auto &[term, tf] : counts) {
			Datum values[2] = {agentgres::pg::TextDatum(term), Int32GetDatum(tf)};
			bool nulls[2] = {false, false};
			tuplestore_putvalues(result_info->setResult, result_info->setDesc, values, nulls);
		}
	});
	return static_cast<Datum>(0);
}

namespace {

struct CollectionSettings {
	Oid config;
	double k1;
	double b;
	int64 chunk_count;
	int64 token_count;
};

// The collection's ranking settings and statistics. Connects SPI (the caller
// finishes it). PostgreSQL phase.
CollectionSettings
LoadCollection(int64 collection_id)
{
	static SPIPlanPtr plan = nullptr;
	ConnectSpi();
	Oid types[1] = {INT8OID};
	Datum values[1] = {Int64GetDatum(collection_id)};
	SPIPlanPtr p = agentgres::pg::KeptPlan(
	    plan,
	    "SELECT c.text_config::pg_catalog.regconfig, c.bm25_k1, c.bm25_b, "
	    "coalesce(s.chunks, 0), coalesce(s.tokens, 0) "
	    "FROM agentgres.collections c LEFT JOIN agentgres.bm25_stats s ON s.collection_id = c.id "
	    "WHERE c.id = $1",
	    1, types);
	if (SPI_execute_plan(p, values, nullptr, true, 1) != SPI_OK_SELECT)
		ereport(ERROR, errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not read the collection"));
	if (SPI_processed != 1)
		ereport(ERROR, errcode(ERRCODE_UNDEFINED_OBJECT),
		        errmsg("collection with id " INT64_FORMAT " does not exist", collection_id));
	HeapTuple tuple = SPI_tuptable->vals[0];
	TupleDesc desc = SPI_tuptable->tupdesc;
	bool is_null = false;
	CollectionSettings s;
	s.config = DatumGetObjectId(SPI_getbinval(tuple, desc, 1, &is_null));
	s.k1 = DatumGetFloat8(SPI_getbinval(tuple, desc, 2, &is_null));
	s.b = DatumGetFloat8(SPI_getbinval(tuple, desc, 3, &is_null));
	s.chunk_count = DatumGetInt64(SPI_getbinval(tuple, desc, 4, &is_null));
	s.token_count = DatumGetInt64(SPI_getbinval(tuple, desc, 5, &is_null));
	SPI_freetuptable(SPI_tuptable);
	return s;
}

// Reads the postings of every query term in one statement, in term order,
// and hands each term's postings (their count is its document frequency) to
// add_term. PostgreSQL phase, SPI connected; add_term is C++ and may throw.
void
ReadPostings(int64 collection_id, const std::map<std::string, int32> &terms, std::vector<bm25::Posting> &postings,
             const std::function<void(int32 occurrences, const std::vector<bm25::Posting> &)> &add_term)
{
	constexpr long kBatch = 10000;
	static SPIPlanPtr plan = nullptr;
	Oid types[2] = {INT8OID, TEXTARRAYOID};
	SPIPlanPtr p = agentgres::pg::KeptPlan(plan,
	                                       "SELECT p.term, p.chunk_id, p.tf, p.doc_len FROM agentgres.bm25_postings p "
	                                       "WHERE p.collection_id = $1 AND p.term = ANY ($2) ORDER BY p.term",
	                                       2, types);
	Datum *elements = static_cast<Datum *>(palloc(sizeof(Datum) * std::max<std::size_t>(1, terms.size())));
	int count = 0;
	for (const auto &[term, occurrences] : terms)
		elements[count++] = PointerGetDatum(cstring_to_text_with_len(term.data(), static_cast<int>(term.size())));
	Datum values[2] = {Int64GetDatum(collection_id),
	                   PointerGetDatum(construct_array_builtin(elements, count, TEXTOID))};

	// The term whose postings are being collected.
	auto current = terms.end();
	const auto flush = [&] {
		if (current != terms.end())
			add_term(current->second, postings);
		postings.clear();
	};
	Portal portal = SPI_cursor_open(nullptr, p, values, nullptr, true);
	for (;;) {
		CHECK_FOR_INTERRUPTS();
		SPI_cursor_fetch(portal, true, kBatch);
		if (SPI_processed == 0)
			break;
		TupleDesc desc = SPI_tuptable->tupdesc;
		for (uint64 i = 0; i < SPI_processed; ++i) {
			HeapTuple tuple = SPI_tuptable->vals[i];
			bool is_null = false;
			const std::string_view term = agentgres::pg::VarlenaView(
			    DatumGetTextPP(SPI_getbinval(tuple, desc, 1, &is_null)));
			if (current == terms.end() || term != current->first) {
				flush();
				current = terms.find(std::string(term));
			}
			postings.push_back({DatumGetInt64(SPI_getbinval(tuple, desc, 2, &is_null)),
			                    DatumGetInt32(SPI_getbinval(tuple, desc, 3, &is_null)),
			                    DatumGetInt32(SPI_getbinval(tuple, desc, 4, &is_null))});
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	flush();
}

} // namespace

// bm25_rank(collection_id bigint, query text, k integer, allowed_ids
// bigint[]) RETURNS TABLE(chunk_id bigint, score double precision): the k
// best chunks of a collection for query by BM25, best first, ties by chunk
// id; allowed_ids (NULL: all) restricts which chunks may rank.
AGENTGRES_FUNCTION(agentgres_bm25_rank)
{
	// fetch (PostgreSQL)
	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		return static_cast<Datum>(0);
	auto *result_info = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);
	const int64 collection_id = PG_GETARG_INT64(0);
	const std::string_view query = agentgres::pg::VarlenaView(PG_GETARG_TEXT_PP(1));
	const int32 k = PG_GETARG_INT32(2);
	const agentgres::pg::IdArrayArg allowed_ids = agentgres::pg::FetchIdArray(fcinfo, 3);
	const bool has_allowed = allowed_ids.present;
	const std::size_t budget = get_hash_memory_limit();

	// compute (C++), reading postings through SPI
	if (k < 0 || k > kMaxK)
		throw core::Error(core::ErrorCode::kInvalidParameterValue,
		                  "k must be between 0 and " + std::to_string(kMaxK) + ", not " + std::to_string(k));
	if (query.size() > kMaxQueryBytes)
		throw core::Error(core::ErrorCode::kProgramLimitExceeded,
		                  "a search query must not exceed " + std::to_string(kMaxQueryBytes / 1024) + " kB",
		                  "The query has " + std::to_string(query.size()) + " bytes.");
	const std::unordered_set<int64> allowed = agentgres::pg::ToIdSet(allowed_ids);
	const std::function<bool(std::int64_t)> keep;
	const std::function<bool(std::int64_t)> keep_allowed = [&allowed](std::int64_t id) { return allowed.contains(id); };

	const CollectionSettings settings = PgCall([&] { return LoadCollection(collection_id); });
	const std::map<std::string, int32> terms = CountTerms(settings.config, query);
	bm25::Accumulator accumulator({settings.k1, settings.b}, settings.chunk_count, settings.token_count, budget);
	std::vector<bm25::Posting> postings;
	const std::function<void(int32, const std::vector<bm25::Posting> &)> add_term =
	    [&](int32 occurrences, const std::vector<bm25::Posting> &term_postings) {
		    accumulator.AddTerm(occurrences, term_postings, has_allowed ? keep_allowed : keep);
	    };
	if (k > 0 && !terms.empty() && !(has_allowed && allowed.empty()))
		PgCall([&] { ReadPostings(collection_id, terms, postings, add_term); });
	PgCall([] { SPI_finish(); });
	const std::vector<bm25::Scored> top = accumulator.Top(static_cast<std::size_t>(k));

	// emit (PostgreSQL)
	PgCall([&] {
		agentgres::pg::EmitIdScores(
		    result_info, top, [](const bm25::Scored &s) { return s.chunk_id; },
		    [](const bm25::Scored &s) { return s.score; });
	});
	return static_cast<Datum>(0);
}
