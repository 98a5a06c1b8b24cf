// The first line of every header under extension/core/, before its include
// guard, so that the check below runs at every inclusion, not only the first.
//
// The kernels must stay free of PostgreSQL headers: postgres.h turns printf,
// snprintf and friends into macros and defines Min/Max/_ , which breaks
// third-party C++ headers, and PostgreSQL's ereport longjmps must never run
// through kernel frames. So a core header included after a PostgreSQL header
// (directly, or through a glue header such as pg/postgres_headers.hpp) is a
// compile error: a glue source includes its core headers first.
//
// No include guard on purpose. CMakeLists.txt's tests prove that the wrong
// order fails to build and that every core header starts with this include.
#if defined(POSTGRES_H) || defined(POSTGRES_FE_H) || defined(C_H)
#error                                                                                                                 \
    "agentgres: an extension/core header was included after a PostgreSQL header; include core headers before the glue's headers"
#endif
