// The one place PostgreSQL's C headers enter C++.
//
// Include this after every standard and third-party header: postgres.h
// redefines printf-family functions and short macros (Min, Max, _) that break
// C++ libraries included after it.
#pragma once

extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/elog.h"
#include "utils/memutils.h"
}

// Supported majors, as Makefile.pgxs checks too: top_k reads heap pages with
// heapgetpage(), which PostgreSQL 17 replaced.
#if PG_VERSION_NUM < 150000 || PG_VERSION_NUM >= 170000
#error "agentgres supports PostgreSQL 15 and 16"
#endif
