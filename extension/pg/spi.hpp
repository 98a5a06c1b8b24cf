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

} // namespace agentgres::pg
