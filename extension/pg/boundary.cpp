#include <cstring>
#include <new>
#include <string>

#include "core/error.hpp"
#include "core/utf8.hpp"

#include "boundary.hpp"

namespace agentgres::pg {
namespace {

// What an exception said, kept in plain buffers so that no PostgreSQL call
// (and so no longjmp) happens while the exception object is alive.
struct PendingError {
	char sqlstate[6] = "XX000";
	char message[1024] = "";
	char detail[1024] = "";
	char hint[512] = "";
};

// Cut at a character boundary: the server and client read these as UTF-8.
void
CopyTruncated(char *destination, std::size_t capacity, const char *source) noexcept
{
	const std::size_t length = core::utf8::PrefixLength({source, strnlen(source, capacity)}, capacity - 1);
	std::memcpy(destination, source, length);
	destination[length] = '\0';
}

} // namespace

namespace {

// The catch side of InvokeCpp and InvokeCppTask: runs body and reports any
// exception it throws as a PostgreSQL error.
template <typename Body>
Datum
RunReportingExceptions(Body &&body)
{
	PendingError pending;
	ErrorData *pg_error = nullptr;

	try {
		return body();
	} catch (const PgError &e) {
		pg_error = e.data();
	} catch (const core::Error &e) {
		CopyTruncated(pending.sqlstate, sizeof pending.sqlstate, core::Sqlstate(e.code()));
		CopyTruncated(pending.message, sizeof pending.message, e.what());
		CopyTruncated(pending.detail, sizeof pending.detail, e.detail().c_str());
		CopyTruncated(pending.hint, sizeof pending.hint, e.hint().c_str());
	} catch (const std::bad_alloc &) {
		CopyTruncated(pending.sqlstate, sizeof pending.sqlstate, "53200");
		CopyTruncated(pending.message, sizeof pending.message, "out of memory");
	} catch (const std::exception &e) {
		CopyTruncated(pending.message, sizeof pending.message, "internal error in agentgres");
		CopyTruncated(pending.detail, sizeof pending.detail, e.what());
	} catch (...) {
		CopyTruncated(pending.message, sizeof pending.message, "internal error in agentgres");
		CopyTruncated(pending.detail, sizeof pending.detail, "An exception of unknown type was thrown.");
	}

	// Every exception object is destroyed by now; longjmp-ing is safe.
	if (pg_error != nullptr)
		ReThrowError(pg_error);

	const char *s = pending.sqlstate;
	ereport(ERROR, errcode(MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4])), errmsg_internal("%s", pending.message),
	        pending.detail[0] != '\0' ? errdetail_internal("%s", pending.detail) : 0,
	        pending.hint[0] != '\0' ? errhint("%s", pending.hint) : 0);
	pg_unreachable();
}

} // namespace

Datum
InvokeCpp(Datum (*body)(FunctionCallInfo), FunctionCallInfo fcinfo)
{
	return RunReportingExceptions([&] { return body(fcinfo); });
}

void
InvokeCppTask(void (*body)(void *), void *arg)
{
	RunReportingExceptions([&] {
		body(arg);
		return static_cast<Datum>(0);
	});
}

#ifdef AGENTGRES_TESTING
bool testing::fail_next_error_copy = false;
#endif

ErrorData *
CopyPendingError(MemoryContext caller_context, sigjmp_buf *outer_exception_stack,
                 ErrorContextCallback *outer_context_stack) noexcept
{
	sigjmp_buf guard;
	ErrorData *volatile data = nullptr;

	// No context callbacks while copying: a failure here is reported as
	// out of memory whatever they would add, and they could fail again.
	error_context_stack = nullptr;
	MemoryContextSwitchTo(caller_context);
	if (sigsetjmp(guard, 0) == 0) {
		PG_exception_stack = &guard;
#ifdef AGENTGRES_TESTING
		if (testing::fail_next_error_copy) {
			testing::fail_next_error_copy = false;
			ereport(ERROR, errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory"),
			        errdetail("Simulated failure of CopyErrorData (agentgres_test)."));
		}
#endif
		data = CopyErrorData();
	}
	// Here after the copy, or after a longjmp out of it: both errors (the
	// original and the copy's own) are dropped from the error stack.
	PG_exception_stack = outer_exception_stack;
	error_context_stack = outer_context_stack;
	MemoryContextSwitchTo(caller_context);
	FlushErrorState();
	return data;
}

void *
AllocOrThrow(std::size_t size)
{
	if (!AllocSizeIsValid(size))
		throw core::Error(core::ErrorCode::kProgramLimitExceeded, "requested allocation is too large",
		                  "The request was " + std::to_string(size) + " bytes; the limit is 1 GB.");
	void *memory = palloc_extended(size, MCXT_ALLOC_NO_OOM);
	if (memory == nullptr)
		throw std::bad_alloc();
	return memory;
}

} // namespace agentgres::pg
