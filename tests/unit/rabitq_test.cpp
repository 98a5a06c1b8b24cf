// RaBitQ codes: the rotation is orthogonal and seeded, codes are the signs,
// and the estimator stays within its error bound (for nearly every pair, as
// the theorem says) with a small mean error, at the dimensions we serve.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "core/error.hpp"
#include "core/hash.hpp"
#include "core/rabitq.hpp"
#include "vector_helpers.hpp"

namespace agentgres::core::rabitq {
namespace {

using agentgres::testing::Dot;
using agentgres::testing::RandomVector;

// A vector of values in [-1, 1) from the stable hash.

TEST(RaBitQ, RotationIsOrthogonalAndSeeded)
{
	for (std::size_t dims : {1u, 3u, 64u, 129u}) {
		const std::vector<float> r = RandomRotation(dims, 7);
		ASSERT_EQ(r.size(), dims * dims);
		for (std::size_t i = 0; i < dims; ++i)
			for (std::size_t j = 0; j < dims; ++j) {
				double s = 0;
				for (std::size_t k = 0; k < dims; ++k)
					s += static_cast<double>(r[i * dims + k]) * r[j * dims + k];
				ASSERT_NEAR(s, i == j ? 1.0 : 0.0, 1e-5) << dims << ": " << i << "," << j;
			}
	}
	EXPECT_EQ(RandomRotation(32, 7), RandomRotation(32, 7));
	EXPECT_NE(RandomRotation(32, 7), RandomRotation(32, 8));
	EXPECT_THROW(RandomRotation(0, 7), Error);
	EXPECT_THROW(RandomRotation(kMaxDimensions + 1, 7), Error);
}

TEST(RaBitQ, RotationKeepsLengthsAndAngles)
{
	const std::size_t dims = 96;
	const std::vector<float> r = RandomRotation(dims, 3);
	const std::vector<float> a = RandomVector(dims, 1), b = RandomVector(dims, 2);
	std::vector<float> ra(dims), rb(dims);
	Rotate(r, a, ra);
	Rotate(r, b, rb);
	EXPECT_NEAR(Dot(ra, ra), Dot(a, a), 1e-3);
	EXPECT_NEAR(Dot(ra, rb), Dot(a, b), 1e-3);
	std::vector<float> wrong(dims - 1);
	EXPECT_THROW(Rotate(r, a, wrong), Error);
}

TEST(RaBitQ, CodesAreTheSigns)
{
	const std::vector<float> v = {0.5f, -0.25f, 0.0f, -1.0f, 2.0f};
	std::vector<std::uint64_t> code(CodeWords(v.size()));
	const CodeFactors f = Encode(v, 0.75f, code);
	EXPECT_EQ(code[0], 0b10101u); // components 0, 2 (zero counts as +) and 4
	EXPECT_NEAR(f.residual_norm, std::sqrt(0.25 + 0.0625 + 1 + 4), 1e-6);
	const double quantized_dot = (0.5 + 0.25 + 1 + 2) / f.residual_norm / std::sqrt(5.0);
	EXPECT_NEAR(f.inverse_quantized_dot, 1 / quantized_dot, 1e-5);
	EXPECT_NEAR(f.error, std::sqrt(1 - quantized_dot * quantized_dot) / quantized_dot, 1e-5);
	EXPECT_EQ(f.residual_center, 0.75f);
	// 130 dimensions: three words, the unused bits zero
	const std::vector<float> ones(130, 1.0f);
	std::vector<std::uint64_t> long_code(CodeWords(130));
	Encode(ones, 0, long_code);
	EXPECT_EQ(long_code[0], ~std::uint64_t{0});
	EXPECT_EQ(long_code[2], 0b11u);
	EXPECT_NEAR(Encode(ones, 0, long_code).inverse_quantized_dot, 1.0, 1e-6);
	EXPECT_NEAR(Encode(ones, 0, long_code).error, 0.0, 1e-3);
	// a zero residual has no direction: any estimate times |r| = 0
	const std::vector<float> zero(8, 0.0f);
	std::vector<std::uint64_t> zero_code(1);
	const CodeFactors z = Encode(zero, 0, zero_code);
	EXPECT_EQ(z.residual_norm, 0.0f);
	EXPECT_EQ(z.inverse_quantized_dot, 1.0f);
	EXPECT_EQ(z.error, 0.0f);
	std::vector<std::uint64_t> short_code(0);
	EXPECT_THROW(Encode(v, 0, short_code), Error);
}

// The estimate's error behaves like a centred normal variable of standard
// deviation bound / epsilon0: about 94% of the estimates are within the bound
// (1.9 standard deviations), nearly all within twice it, and the mean error
// is small.
void
CheckEstimator(std::size_t dims)
{
	const std::vector<float> rotation = RandomRotation(dims, 11);
	int within = 0, within_twice = 0, pairs = 0;
	double error_sum = 0;
	for (std::uint64_t qi = 0; qi < 20; ++qi) {
		std::vector<float> q = RandomVector(dims, 100 + qi), rq(dims);
		Rotate(rotation, q, rq);
		PreparedQuery prepared;
		Prepare(rq, prepared);
		const double q_norm = std::sqrt(Dot(q, q));
		for (std::uint64_t xi = 0; xi < 100; ++xi) {
			// Correlated pairs as well as unrelated ones: x = q + noise.
			std::vector<float> x = RandomVector(dims, 10000 + xi), rx(dims);
			for (std::size_t i = 0; i < dims; ++i)
				x[i] += static_cast<float>(xi % 4) * 0.5f * q[i];
			Rotate(rotation, x, rx);
			std::vector<std::uint64_t> code(CodeWords(dims));
			const CodeFactors f = Encode(rx, 0, code);
			const double truth = Dot(x, q) / std::sqrt(Dot(x, x)) / q_norm;
			const Estimate e = EstimateDot(code.data(), f, prepared);
			error_sum += std::fabs(e.dot - truth);
			within += std::fabs(e.dot - truth) <= e.bound;
			within_twice += std::fabs(e.dot - truth) <= 2 * e.bound;
			++pairs;
		}
	}
	EXPECT_GE(within, pairs * 93 / 100) << dims << " dimensions";
	EXPECT_GE(within_twice, pairs * 995 / 1000) << dims << " dimensions";
	EXPECT_LT(error_sum / pairs, 2.0 / std::sqrt(static_cast<double>(dims))) << dims << " dimensions";
}

TEST(RaBitQ, EstimatorWithinItsBound128)
{
	CheckEstimator(128);
}

TEST(RaBitQ, EstimatorWithinItsBound384)
{
	CheckEstimator(384);
}

TEST(RaBitQ, PreparedQueryEdgeCases)
{
	PreparedQuery q;
	Prepare(std::vector<float>(16, 0.0f), q); // the query is the centroid
	EXPECT_EQ(q.residual_norm, 0.0f);
	EXPECT_EQ(q.step, 0.0f);
	Prepare(std::vector<float>(16, 2.0f), q); // all components equal
	EXPECT_NEAR(q.residual_norm, 8.0f, 1e-5);
	EXPECT_EQ(q.step, 0.0f);
	std::vector<std::uint64_t> code(1);
	const CodeFactors f = Encode(std::vector<float>(16, 1.0f), 0, code);
	// x and q both along (1, ..., 1): <n, q> = 1, exactly estimated
	EXPECT_NEAR(EstimateDot(code.data(), f, q).dot, 1.0f, 1e-5);
}

} // namespace
} // namespace agentgres::core::rabitq
