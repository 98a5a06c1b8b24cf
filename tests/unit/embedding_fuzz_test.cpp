// Randomised fuzzing of the embedding text parser: random strings over the
// characters that matter, and random mutations of valid literals. Every input
// must either parse into finite floats that format and parse back to the same
// values, or be rejected with core::Error carrying one of the input SQLSTATEs.
// Run under ASan/UBSan (scripts/test.sh does) it also catches overreads.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/embedding.hpp"
#include "core/error.hpp"

namespace agentgres::core::embedding {
namespace {

void
CheckOne(const std::string &input)
{
	std::vector<float> values;
	try {
		values = ParseText(input);
	} catch (const Error &e) {
		const ErrorCode c = e.code();
		EXPECT_TRUE(c == ErrorCode::kInvalidTextRepresentation || c == ErrorCode::kDataException ||
		            c == ErrorCode::kNumericValueOutOfRange || c == ErrorCode::kProgramLimitExceeded)
		    << "unexpected code for " << input;
		EXPECT_FALSE(std::string(e.what()).empty());
		return;
	} catch (...) {
		ADD_FAILURE() << "non-Error exception for input: " << input;
		return;
	}
	ASSERT_FALSE(values.empty()) << input;
	ASSERT_LE(values.size(), static_cast<std::size_t>(kMaxDimensions));
	for (float v : values)
		ASSERT_TRUE(std::isfinite(v)) << input;
	const std::vector<float> again = ParseText(FormatText(values));
	ASSERT_EQ(again.size(), values.size());
	EXPECT_EQ(std::memcmp(again.data(), values.data(), values.size() * sizeof(float)), 0) << input;
}

TEST(ParserFuzz, RandomStrings)
{
	const std::string alphabet = "[],. +-eE0123456789naifINFxX\t\n\0;'\"\\";
	std::mt19937 rng(20261121);
	std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
	std::uniform_int_distribution<int> length(0, 40);
	for (int i = 0; i < 200000; ++i) {
		std::string s;
		const int n = length(rng);
		if (i % 2 == 0)
			s.push_back('[');
		for (int j = 0; j < n; ++j)
			s.push_back(alphabet[pick(rng)]);
		CheckOne(s);
	}
}

TEST(ParserFuzz, MutatedValidLiterals)
{
	const std::vector<std::string> seeds = {"[1,2,3]", "[ -1.5e-3 , 2.25,\t3e+7 ]", "[0.1]", "[3.4028235e+38,-0]",
	                                        "[1.1754944e-38,1e-45]"};
	std::mt19937 rng(7);
	std::uniform_int_distribution<int> byte(0, 255);
	for (int i = 0; i < 100000; ++i) {
		std::string s = seeds[static_cast<std::size_t>(i) % seeds.size()];
		const int edits = 1 + i % 4;
		for (int e = 0; e < edits && !s.empty(); ++e) {
			std::uniform_int_distribution<std::size_t> at(0, s.size() - 1);
			switch (byte(rng) % 4) {
			case 0:
				s[at(rng)] = static_cast<char>(byte(rng));
				break;
			case 1:
				s.erase(at(rng), 1);
				break;
			case 2:
				s.insert(at(rng), 1, static_cast<char>(byte(rng)));
				break;
			default:
				s.insert(at(rng), s.substr(at(rng), 5));
			}
		}
		CheckOne(s);
	}
}

} // namespace
} // namespace agentgres::core::embedding
