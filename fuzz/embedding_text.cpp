// embedding_in's parser: any text either parses into 1 to 16000 finite floats
// that format and parse back bit for bit (and whose binary form reads back
// the same), or is rejected with core::Error carrying an input SQLSTATE.
// Error messages quote at most a short prefix, cut on a UTF-8 boundary.
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

namespace {

bool
SameBits(const std::vector<float> &a, const std::vector<float> &b)
{
	return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

} // namespace

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	const std::string_view text(reinterpret_cast<const char *>(data), size);
	std::vector<float> values;
	try {
		values = emb::ParseText(text);
	} catch (const Error &e) {
		const ErrorCode c = e.code();
		FUZZ_CHECK(c == ErrorCode::kInvalidTextRepresentation || c == ErrorCode::kDataException ||
		           c == ErrorCode::kNumericValueOutOfRange || c == ErrorCode::kProgramLimitExceeded);
		// The quoted input is bounded whatever the input's length.
		FUZZ_CHECK(std::strlen(e.what()) < 300);
		return 0;
	}
	FUZZ_CHECK(!values.empty() && values.size() <= static_cast<std::size_t>(emb::kMaxDimensions));
	for (float v : values)
		FUZZ_CHECK(std::isfinite(v));
	FUZZ_CHECK(SameBits(emb::ParseText(emb::FormatText(values)), values));
	const std::string binary = emb::FormatBinary(values);
	std::size_t consumed = 0;
	FUZZ_CHECK(SameBits(emb::ParseBinary(binary, consumed), values));
	FUZZ_CHECK(consumed == binary.size());
	return 0;
}
