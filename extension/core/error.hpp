// The one exception type the kernels throw.
//
// It carries what PostgreSQL needs to report it properly: a SQLSTATE class,
// a primary message (lower case, no trailing period), and optional detail and
// hint (full sentences). The glue in extension/pg turns it into ereport(ERROR)
// at the function boundary; nothing else may cross that boundary.
#include "cpp_only.hpp" // outside the guard: checked at every inclusion
#ifndef AGENTGRES_CORE_ERROR_HPP
#define AGENTGRES_CORE_ERROR_HPP

#include <stdexcept>
#include <string>
#include <utility>

namespace agentgres::core {

enum class ErrorCode {
	kInvalidTextRepresentation, // 22P02
	kProtocolViolation,         // 08P01 (binary input too short, as PostgreSQL's pq_getmsg*)
	kDataException,             // 22000
	kNumericValueOutOfRange,    // 22003
	kNullValueNotAllowed,       // 22004
	kInvalidParameterValue,     // 22023
	kProgramLimitExceeded,      // 54000
	kDatatypeMismatch,          // 42804
	kUndefinedColumn,           // 42703
	kUndefinedObject,           // 42704
	kWrongObjectType,           // 42809
	kFeatureNotSupported,       // 0A000
	kInternalError,             // XX000
};

// The five-character SQLSTATE of a code, as defined by the SQL standard and
// PostgreSQL's errcodes.txt.
const char *Sqlstate(ErrorCode code) noexcept;

class Error : public std::runtime_error {
public:
	Error(ErrorCode code, std::string message, std::string detail = {}, std::string hint = {})
	    : std::runtime_error(std::move(message)), code_(code), detail_(std::move(detail)), hint_(std::move(hint))
	{
	}

	ErrorCode
	code() const noexcept
	{
		return code_;
	}
	const std::string &
	detail() const noexcept
	{
		return detail_;
	}
	const std::string &
	hint() const noexcept
	{
		return hint_;
	}

private:
	ErrorCode code_;
	std::string detail_;
	std::string hint_;
};

} // namespace agentgres::core

#endif // AGENTGRES_CORE_ERROR_HPP
