// Eight-bit codes of the agentgres_ivf index: the codes round to the
// nearest step, and the error bound holds for every vector and query (it is
// a certainty, not a probability), including hostile ranges.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/error.hpp"
#include "core/hash.hpp"
#include "core/sq8.hpp"
#include "vector_helpers.hpp"

namespace agentgres::core::sq8 {
namespace {

using agentgres::testing::Dot;
using agentgres::testing::RandomVector;

TEST(Sq8, CodesRoundToTheNearestStep)
{
	const std::vector<float> r = {-1.0f, 0.0f, 1.0f, 0.5f, 0.499f};
	std::vector<std::uint8_t> codes(r.size());
	const CodeFactors f = Encode(r, 0.25f, codes);
	EXPECT_EQ(f.low, -1.0f);
	EXPECT_FLOAT_EQ(f.step, 2.0f / 255);
	EXPECT_EQ(codes[0], 0);
	EXPECT_EQ(codes[2], 255);
	for (std::size_t i = 0; i < r.size(); ++i)
		EXPECT_LE(std::fabs(f.low + f.step * codes[i] - r[i]), f.step / 2 + 1e-7) << i;
	EXPECT_NEAR(f.norm_squared, 1 + 1 + 0.25 + 0.499 * 0.499, 1e-5);
	EXPECT_EQ(f.center_dot, 0.25f);
	std::vector<std::uint8_t> wrong(4);
	EXPECT_THROW(Encode(r, 0, wrong), Error);
}

TEST(Sq8, ConstantAndEmptyVectors)
{
	const std::vector<float> same(7, 0.3f);
	std::vector<std::uint8_t> codes(7);
	const CodeFactors f = Encode(same, 0, codes);
	EXPECT_EQ(f.step, 0.0f);
	const std::vector<float> q = RandomVector(7, 3);
	const Estimate e = EstimateDot(codes.data(), f, q, Stats(q));
	EXPECT_NEAR(e.dot, Dot(same, q), 1e-5);
	EXPECT_GE(e.bound, 0.0f);
	std::vector<std::uint8_t> none;
	EXPECT_EQ(Encode({}, 1, none).norm_squared, 0.0f);
}

// The bound holds for every pair: no exception allowed.
TEST(Sq8, BoundAlwaysHolds)
{
	for (std::size_t dims : {1u, 15u, 16u, 17u, 128u, 384u, 1536u}) {
		for (std::uint64_t xi = 0; xi < 40; ++xi) {
			// Ranges from tiny to large, and one outlier component.
			std::vector<float> x = RandomVector(dims, 10 + xi, std::pow(10.0, static_cast<double>(xi % 7) - 3));
			if (xi % 5 == 0)
				x[xi % dims] *= 100;
			std::vector<std::uint8_t> codes(dims);
			const CodeFactors f = Encode(x, 0, codes);
			for (std::uint64_t qi = 0; qi < 10; ++qi) {
				const std::vector<float> q =
				    RandomVector(dims, 5000 + qi, std::pow(10.0, static_cast<double>(qi % 5) - 2));
				const Estimate e = EstimateDot(codes.data(), f, q, Stats(q));
				ASSERT_LE(std::fabs(static_cast<double>(e.dot) - Dot(x, q)), e.bound)
				    << dims << " dims, x " << xi << ", q " << qi;
			}
		}
	}
}

// The bound is tight enough to be useful: at 384 dimensions, for vectors and
// queries of unit scale, a small fraction of |x| |q|.
TEST(Sq8, BoundIsTight)
{
	const std::vector<float> x = RandomVector(384, 1), q = RandomVector(384, 2);
	std::vector<std::uint8_t> codes(384);
	const CodeFactors f = Encode(x, 0, codes);
	const Estimate e = EstimateDot(codes.data(), f, q, Stats(q));
	EXPECT_LT(e.bound, 0.02 * std::sqrt(Dot(x, x) * Dot(q, q)));
}

TEST(Sq8, SimdAndPortableDotsAgree)
{
	for (std::size_t n : {0u, 1u, 15u, 16u, 31u, 384u}) {
		std::vector<std::uint8_t> codes(n);
		for (std::size_t i = 0; i < n; ++i)
			codes[i] = static_cast<std::uint8_t>(Mix64(i) & 0xFF);
		const std::vector<float> q = RandomVector(n, 9);
		double expected = 0;
		for (std::size_t i = 0; i < n; ++i)
			expected += codes[i] * static_cast<double>(q[i]);
		EXPECT_NEAR(DotCodes(codes.data(), q.data(), n), expected, 1e-3) << n;
	}
}

} // namespace
} // namespace agentgres::core::sq8
