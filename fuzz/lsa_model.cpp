// LsaModel::Deserialize on any bytes (a model stored in a bytea): either
// core::Error with 22P02, or a model that serializes back to exactly the
// bytes and projects text into finite vectors of unit length or zeros.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/lsa.hpp"
#include "fuzz.hpp"

namespace emb = agentgres::core::embedder;
using agentgres::core::Error;
using agentgres::core::ErrorCode;

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	const std::string_view bytes(reinterpret_cast<const char *>(data), size);
	try {
		const emb::LsaModel model = emb::LsaModel::Deserialize(bytes);
		FUZZ_CHECK(model.Serialize() == bytes);
		std::vector<float> v(model.dimensions());
		// The model's own bytes as text: whatever terms they hold.
		model.Project(bytes, v);
		double norm = 0;
		for (float x : v) {
			FUZZ_CHECK(std::isfinite(x));
			norm += static_cast<double>(x) * x;
		}
		FUZZ_CHECK(norm == 0 || std::fabs(norm - 1.0) < 1e-4);
	} catch (const Error &e) {
		FUZZ_CHECK(e.code() == ErrorCode::kInvalidTextRepresentation);
	}
	return 0;
}
