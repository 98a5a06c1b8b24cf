#include "error.hpp"

namespace agentgres::core {

const char *
Sqlstate(ErrorCode code) noexcept
{
	switch (code) {
	case ErrorCode::kInvalidTextRepresentation:
		return "22P02";
	case ErrorCode::kProtocolViolation:
		return "08P01";
	case ErrorCode::kDataException:
		return "22000";
	case ErrorCode::kNumericValueOutOfRange:
		return "22003";
	case ErrorCode::kNullValueNotAllowed:
		return "22004";
	case ErrorCode::kInvalidParameterValue:
		return "22023";
	case ErrorCode::kProgramLimitExceeded:
		return "54000";
	case ErrorCode::kDatatypeMismatch:
		return "42804";
	case ErrorCode::kUndefinedColumn:
		return "42703";
	case ErrorCode::kUndefinedObject:
		return "42704";
	case ErrorCode::kWrongObjectType:
		return "42809";
	case ErrorCode::kFeatureNotSupported:
		return "0A000";
	case ErrorCode::kInternalError:
		return "XX000";
	}
	return "XX000";
}

} // namespace agentgres::core
