// agentgres_test.so: entry points for the regression tests of the
// C++/PostgreSQL boundary, kept out of the production agentgres.so.
//
// This module compiles the production boundary (extension/pg/boundary.cpp)
// with AGENTGRES_TESTING, which adds the hook that makes copying an error
// fail. tests/regress/sql/boundary.sql creates the functions with
// CREATE FUNCTION ... AS '$libdir/agentgres_test', '<symbol>' (superuser
// only) and drops them again. exports.map keeps every other symbol local, so
// this module and agentgres.so never bind to each other's code when both are
// loaded; only the top-k selector counter is shared (see exports.map).
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/topk.hpp"

#include "pg/boundary.hpp"

extern "C" {
#include "utils/fmgrprotos.h"
}

namespace core = agentgres::core;
using agentgres::pg::PgCall;

extern "C" {
PG_MODULE_MAGIC;
}

// agentgres_test_throw(kind text): throws a C++ exception of the named kind
// from a kernel-like frame, to check the SQLSTATE each one reports.
AGENTGRES_FUNCTION(agentgres_test_throw)
{
	// fetch (PostgreSQL)
	const char *kind_text = text_to_cstring(PG_GETARG_TEXT_PP(0));

	// compute (C++)
	const std::string kind = kind_text;
	const std::vector<int> owned(1000, 7); // an object the unwinding must destroy
	if (kind == "data")
		throw core::Error(core::ErrorCode::kDataException, "kernel rejected the data", "Detail sentence.",
		                  "Hint sentence.");
	if (kind == "limit")
		throw core::Error(core::ErrorCode::kProgramLimitExceeded, "kernel limit exceeded");
	// Message, detail and hint longer than the boundary's buffers (1024, 1024
	// and 512 bytes with their NULs), each with a 2-, 3- or 4-byte character
	// straddling the cut.
	if (kind == "multibyte")
		throw core::Error(core::ErrorCode::kDataException, std::string(1022, 'm') + "é tail",
		                  std::string(1021, 'd') + "€ tail", std::string(509, 'h') + "😀 tail");
	if (kind == "bad_alloc")
		throw std::bad_alloc();
	if (kind == "std")
		throw std::runtime_error("plain standard exception");
	if (kind == "unknown")
		throw 42;

	// emit (PostgreSQL)
	PG_RETURN_INT32(static_cast<int32>(owned.size()));
}

// agentgres_test_pg_error_in_cpp(kind text): keeps C++ objects alive (a
// counted top-k selector among them) while PostgreSQL raises an error below
// them: "division_by_zero" through a built-in function, "cancel" by waiting in
// CHECK_FOR_INTERRUPTS until statement_timeout fires (at most 10 s), and
// "copy_fails" like division_by_zero but with the copy of the error failing
// as if out of memory (PgCall must then throw, not longjmp).
AGENTGRES_FUNCTION(agentgres_test_pg_error_in_cpp)
{
	// fetch (PostgreSQL)
	const char *kind_text = text_to_cstring(PG_GETARG_TEXT_PP(0));

	// compute (C++), with PostgreSQL below it through PgCall
	const std::string kind = kind_text;
	core::TopK selector(10);
	selector.Offer(1, 0.5);
	const std::string owned(4096, 'x');
	if (kind == "division_by_zero" || kind == "copy_fails") {
		agentgres::pg::testing::fail_next_error_copy = kind == "copy_fails";
		PgCall([] { return DirectFunctionCall2(int4div, Int32GetDatum(1), Int32GetDatum(0)); });
	} else if (kind == "cancel") {
		PgCall([] {
			for (int i = 0; i < 10000; ++i) {
				pg_usleep(1000L);
				CHECK_FOR_INTERRUPTS();
			}
		});
	}

	// emit (PostgreSQL)
	PG_RETURN_INT64(static_cast<int64>(owned.size() + selector.size()));
}

// agentgres_test_live_selectors(): how many top-k selectors exist in this
// backend, in this module and agentgres.so together (the counter is one
// object, see exports.map); 0 after any statement, whether it succeeded or
// failed.
AGENTGRES_FUNCTION(agentgres_test_live_selectors)
{
	PG_RETURN_INT64(core::TopK::LiveInstances());
}
