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
