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
