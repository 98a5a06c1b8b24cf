// embedding_recv's decoder: any bytes either decode into 1 to 16000 finite
// floats, having read exactly the header and those elements, whose binary
// form is the bytes read and whose text form parses back bit for bit; or are
// rejected with core::Error carrying one of the documented SQLSTATEs.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "core/embedding.hpp"
#include "core/error.hpp"
#include "fuzz.hpp"

namespace emb = agentgres::core::embedding;
using agentgres::core::Error;
using agentgres::core::ErrorCode;

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	const std::string_view bytes(reinterpret_cast<const char *>(data), size);
	std::vector<float> values;
	std::size_t consumed = 0;
	try {
		values = emb::ParseBinary(bytes, consumed);
	} catch (const Error &e) {
		const ErrorCode c = e.code();
		FUZZ_CHECK(c == ErrorCode::kProtocolViolation || c == ErrorCode::kDataException ||
		           c == ErrorCode::kProgramLimitExceeded || c == ErrorCode::kInvalidParameterValue);
		return 0;
	}
	FUZZ_CHECK(!values.empty() && values.size() <= static_cast<std::size_t>(emb::kMaxDimensions));
	FUZZ_CHECK(consumed == emb::kBinaryHeaderSize + values.size() * sizeof(float) && consumed <= size);
	for (float v : values)
		FUZZ_CHECK(std::isfinite(v));
	FUZZ_CHECK(emb::FormatBinary(values) == bytes.substr(0, consumed));
	const std::vector<float> again = emb::ParseText(emb::FormatText(values));
	FUZZ_CHECK(again.size() == values.size() &&
	           std::memcmp(again.data(), values.data(), values.size() * sizeof(float)) == 0);
	return 0;
}
