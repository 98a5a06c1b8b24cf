// Ids in, scored ids out: the allow-list argument (bigint[], NULL for none)
// and the (id bigint, score double precision) rows that top_k and bm25_rank
// return.
#pragma once

#include <unordered_set>

#include "postgres_headers.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/tuplestore.h"
}

namespace agentgres::pg {

// A bigint[] argument's elements, deconstructed while fetching arguments
// (deconstruct_array may raise a PostgreSQL error).
struct IdArrayArg {
	bool present = false; // false: the argument was NULL
	Datum *values = nullptr;
	bool *nulls = nullptr;
	int count = 0;
};

inline IdArrayArg
FetchIdArray(FunctionCallInfo fcinfo, int argno)
{
	IdArrayArg ids;
	ids.present = !PG_ARGISNULL(argno);
	if (ids.present)
		deconstruct_array(PG_GETARG_ARRAYTYPE_P(argno), INT8OID, 8, true, TYPALIGN_DOUBLE, &ids.values, &ids.nulls,
		                  &ids.count);
	return ids;
}

// The non-NULL ids as a set. C++ only (may throw std::bad_alloc).
inline std::unordered_set<int64>
ToIdSet(const IdArrayArg &ids)
{
	std::unordered_set<int64> set;
	set.reserve(static_cast<std::size_t>(ids.count));
	for (int i = 0; i < ids.count; ++i)
		if (!ids.nulls[i])
			set.insert(DatumGetInt64(ids.values[i]));
	return set;
}

// Appends one (id, score) row per element of rows to a materialized SRF's
// result. Calls PostgreSQL: inside PgCall when C++ objects are alive.
template <typename Rows, typename IdOf, typename ScoreOf>
void
EmitIdScores(ReturnSetInfo *result_info, const Rows &rows, IdOf id_of, ScoreOf score_of)
{
	for (const auto &row : rows) {
		Datum values[2] = {Int64GetDatum(id_of(row)), Float8GetDatum(score_of(row))};
		bool nulls[2] = {false, false};
		tuplestore_putvalues(result_info->setResult, result_info->setDesc, values, nulls);
	}
}

} // namespace agentgres::pg
