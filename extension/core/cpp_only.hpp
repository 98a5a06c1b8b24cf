// Include this last in every header and source under extension/core/.
//
// The kernels must stay free of PostgreSQL headers: postgres.h turns printf,
// snprintf and friends into macros and defines Min/Max/_ , which breaks
// third-party C++ headers, and PostgreSQL's ereport longjmps must never run
// through kernel frames. Compilation fails if a PostgreSQL header got in.
#pragma once
#ifdef POSTGRES_H
static_assert(false, "extension/core must not include PostgreSQL headers");
#endif
