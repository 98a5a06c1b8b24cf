// The built-in embedder on any bytes: a vector of kBuiltinDimensions finite
// floats that is all zeros or of unit length, the same on a second call, and
// unchanged when the text is cut into words differently only by separators
// the tokeniser ignores (ASCII case).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/embedder.hpp"
#include "fuzz.hpp"

namespace emb = agentgres::core::embedder;

extern "C" int
LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
	const std::string_view text(reinterpret_cast<const char *>(data), size);
	std::vector<float> v(emb::kBuiltinDimensions);
	int calls = 0;
	emb::EmbedBuiltin(text, v, [&] { ++calls; });
	double norm = 0;
	for (float x : v) {
		FUZZ_CHECK(std::isfinite(x));
		norm += static_cast<double>(x) * x;
	}
	FUZZ_CHECK(norm == 0 || std::fabs(norm - 1.0) < 1e-4);
	FUZZ_CHECK(static_cast<std::size_t>(calls) <= size / 65536 + 1);
	std::vector<float> again(emb::kBuiltinDimensions);
	emb::EmbedBuiltin(text, again);
	FUZZ_CHECK(again == v);
	// Upper-case ASCII letters are lowercased: the same vector.
	std::string upper(text);
	for (char &c : upper)
		if (c >= 'a' && c <= 'z')
			c = static_cast<char>(c - 'a' + 'A');
	emb::EmbedBuiltin(upper, again);
	FUZZ_CHECK(again == v);
	// Every word the tokeniser reports is non-empty and at most kMaxWordBytes.
	emb::ForEachWord(text, [](std::string_view w) { FUZZ_CHECK(!w.empty() && w.size() <= emb::kMaxWordBytes); });
	return 0;
}
