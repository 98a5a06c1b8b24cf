// The boundary between C++ and PostgreSQL, in both directions.
//
// Every SQL entry point has the same three phases, marked in its body:
//   fetch   (PostgreSQL)  arguments detoasted and copied to plain C++ values
//                         or spans; the result set prepared. No C++ object
//                         with a destructor is alive yet, so PostgreSQL may
//                         raise errors directly.
//   compute (C++)         core kernels only; failures are C++ exceptions.
//   emit    (PostgreSQL)  the result built, inside PgCall when C++ objects
//                         are alive.
// An entry point that must read tables in the middle (SPI) does so through
// the SPI helpers inside PgCall, marked "fetch through SPI".
//
// C++ -> PostgreSQL: every SQL-callable function is written with
// AGENTGRES_FUNCTION(name) { ... }. The macro emits the C entry point, which
// runs the C++ body inside InvokeCpp. InvokeCpp catches every exception,
// copies what it needs into stack buffers (no PostgreSQL call inside a catch
// block), lets the exception object die, and only then raises ereport(ERROR)
// with the exception's SQLSTATE, detail and hint. A PostgreSQL error that was
// converted to PgError on its way through C++ is re-thrown unchanged.
//
// PostgreSQL -> C++: a PostgreSQL function that may ereport(ERROR) and is
// called while C++ objects with destructors are alive goes through PgCall.
// PgCall installs its own sigsetjmp target, turns the longjmp into a PgError
// (a C++ exception), and so lets the C++ frames unwind normally. Copying the
// error happens under a further jump buffer; if the copy fails, the error
// state is flushed and std::bad_alloc (53200) is thrown instead. A body may
// call PostgreSQL directly only where no destructor-owning object is alive
// (typically while fetching arguments at the top).
#pragma once

#include <csetjmp>
#include <cstddef>
#include <exception>
#include <new>
#include <type_traits>

#include "postgres_headers.hpp"

namespace agentgres::pg {

// A PostgreSQL error in flight through C++ frames. The ErrorData was copied
// into the memory context that was current when PgCall was entered.
class PgError : public std::exception {
public:
	explicit PgError(ErrorData *data) noexcept : data_(data) {}
	const char *
	what() const noexcept override
	{
		return data_ != nullptr && data_->message != nullptr ? data_->message : "PostgreSQL error";
	}
	ErrorData *
	data() const noexcept
	{
		return data_;
	}

private:
	ErrorData *data_;
};

// Runs a C++ function body and reports any exception as a PostgreSQL error.
Datum InvokeCpp(Datum (*body)(FunctionCallInfo), FunctionCallInfo fcinfo);

// The same for a C entry point that is not an SQL function (a parallel
// worker's main): runs body(arg) and reports any exception as an ERROR.
void InvokeCppTask(void (*body)(void *), void *arg);

// PgCall's error path: copies the PostgreSQL error in flight into
// caller_context while a jump buffer of its own is installed, flushes the
// error state, and restores the caller's handler and context stack. Returns
// nullptr when the copy itself failed (out of memory); no PostgreSQL error
// leaves this function either way.
ErrorData *CopyPendingError(MemoryContext caller_context, sigjmp_buf *outer_exception_stack,
                            ErrorContextCallback *outer_context_stack) noexcept;

#ifdef AGENTGRES_TESTING
// Test hooks, compiled into agentgres_test.so only (tests/module).
namespace testing {
// When set, the next CopyPendingError fails as if out of memory (and clears it).
extern bool fail_next_error_copy;
} // namespace testing
#endif

// Calls fn, which calls PostgreSQL, converting a PostgreSQL error into PgError.
// fn itself must not hold destructor-owning objects across its PostgreSQL
// calls, and its result must be trivially destructible.
template <typename Fn>
auto
PgCall(Fn &&fn) -> decltype(fn())
{
	using Result = decltype(fn());
	static_assert(std::is_void_v<Result> || std::is_trivially_destructible_v<Result>,
	              "PgCall results must be trivially destructible");

	MemoryContext const caller_context = CurrentMemoryContext;
	sigjmp_buf *const saved_exception_stack = PG_exception_stack;
	ErrorContextCallback *const saved_context_stack = error_context_stack;
	sigjmp_buf local;

	if (sigsetjmp(local, 0) != 0) {
		// PostgreSQL longjmp'd here from inside fn. The error is copied under
		// a jump buffer of CopyPendingError's own, because copying allocates
		// and may fail in turn: with the caller's buffer restored first, that
		// second error would longjmp over the C++ frames this PgCall protects.
		ErrorData *data = CopyPendingError(caller_context, saved_exception_stack, saved_context_stack);
		if (data == nullptr)
			throw std::bad_alloc(); // the copy failed; its error was flushed
		throw PgError(data);
	}
	PG_exception_stack = &local;
	try {
		if constexpr (std::is_void_v<Result>) {
			fn();
			PG_exception_stack = saved_exception_stack;
			error_context_stack = saved_context_stack;
		} else {
			Result result = fn();
			PG_exception_stack = saved_exception_stack;
			error_context_stack = saved_context_stack;
			return result;
		}
	} catch (...) {
		// A C++ exception thrown inside fn must not leave PostgreSQL's
		// handler pointing at this dead frame.
		PG_exception_stack = saved_exception_stack;
		error_context_stack = saved_context_stack;
		throw;
	}
}

// palloc in the current memory context that reports failure as a C++
// exception (std::bad_alloc, or 54000 for a request over PostgreSQL's 1 GB
// limit) instead of a longjmp, so it is safe while C++ objects are alive.
void *AllocOrThrow(std::size_t size);

} // namespace agentgres::pg

// Declares an SQL-callable C function `name` whose body is C++.
#define AGENTGRES_FUNCTION(name)                                                                                       \
	static Datum name##_cpp(FunctionCallInfo fcinfo);                                                                  \
	extern "C" {                                                                                                       \
	PG_FUNCTION_INFO_V1(name);                                                                                         \
	Datum                                                                                                              \
	name(PG_FUNCTION_ARGS)                                                                                             \
	{                                                                                                                  \
		return ::agentgres::pg::InvokeCpp(name##_cpp, fcinfo);                                                         \
	}                                                                                                                  \
	}                                                                                                                  \
	static Datum name##_cpp(FunctionCallInfo fcinfo)
