// Small helpers for the glue's SPI calls (PostgreSQL phase only: they may
// raise PostgreSQL errors, so call them directly or inside PgCall).
#pragma once

#include "postgres_headers.hpp"

extern "C" {
#include "executor/spi.h"
}

namespace agentgres::pg {

inline void
ConnectSpi()
{
	if (SPI_connect() != SPI_OK_CONNECT)
		ereport(ERROR, errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not connect to SPI"));
}

// A plan prepared once and kept for the backend's life in cache (the plan
// cache re-plans it after DDL and checks privileges at every execution).
inline SPIPlanPtr
KeptPlan(SPIPlanPtr &cache, const char *query, int nargs, Oid *types)
{
	if (cache == nullptr) {
		SPIPlanPtr plan = SPI_prepare(query, nargs, types);
		if (plan == nullptr)
			ereport(ERROR, errcode(ERRCODE_INTERNAL_ERROR),
			        errmsg("could not prepare \"%s\": %s", query, SPI_result_code_string(SPI_result)));
		if (SPI_keepplan(plan) != 0)
			ereport(ERROR, errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not keep the plan of \"%s\"", query));
		cache = plan;
	}
	return cache;
}

// A text column of the last SPI result as a C string allocated in context
// (which outlives SPI_finish, unlike the SPI result itself).
inline char *
SpiTextIn(uint64 row, int column, MemoryContext context)
{
	bool is_null = false;
	const Datum d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, column, &is_null);
	if (is_null)
		return nullptr;
	MemoryContext previous = MemoryContextSwitchTo(context);
	char *value = TextDatumGetCString(d);
	MemoryContextSwitchTo(previous);
	return value;
}

} // namespace agentgres::pg
