// Distance kernels of every instruction set against a double-precision
// reference on random data, including lengths that leave SIMD tails.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/distance.hpp"

namespace agentgres::core::distance {
namespace {

std::vector<float>
RandomVector(std::mt19937 &rng, std::size_t n)
{
	std::normal_distribution<float> normal(0.0f, 1.0f);
	std::vector<float> v(n);
	for (float &x : v)
		x = normal(rng);
	return v;
}

double
ReferenceDot(const std::vector<float> &a, const std::vector<float> &b)
{
	double sum = 0;
	for (std::size_t i = 0; i < a.size(); ++i)
		sum += static_cast<double>(a[i]) * b[i];
	return sum;
}

double
ReferenceL2Squared(const std::vector<float> &a, const std::vector<float> &b)
{
	double sum = 0;
	for (std::size_t i = 0; i < a.size(); ++i) {
		const double d = static_cast<double>(a[i]) - b[i];
		sum += d * d;
	}
	return sum;
}

std::vector<const Kernels *>
AvailableKernels()
{
	std::vector<const Kernels *> out;
	for (Isa isa : {Isa::kPortable, Isa::kAvx2, Isa::kAvx512})
		if (const Kernels *k = ForIsa(isa))
			out.push_back(k);
	return out;
}

TEST(Kernels, PortableIsAlwaysAvailable)
{
	ASSERT_NE(ForIsa(Isa::kPortable), nullptr);
	EXPECT_NE(Active().name, nullptr);
}

TEST(Kernels, MatchTheDoubleReferenceForEveryLengthAndIsa)
{
	std::mt19937 rng(1234);
	for (const Kernels *k : AvailableKernels()) {
		for (std::size_t n : {1u,  2u,  3u,  7u,   8u,   9u,   15u,  16u,  17u,  31u,   32u,   33u,
		                      63u, 64u, 65u, 100u, 127u, 128u, 384u, 385u, 768u, 1536u, 16000u}) {
			const auto a = RandomVector(rng, n);
			const auto b = RandomVector(rng, n);
			// float accumulation: allow a relative error growing with sqrt(n)
			const double scale = std::sqrt(static_cast<double>(n));
			const double tolerance = 1e-5 * scale * scale;
			EXPECT_NEAR(k->dot(a.data(), b.data(), n), ReferenceDot(a, b), tolerance) << k->name << " n=" << n;
			EXPECT_NEAR(k->l2_squared(a.data(), b.data(), n), ReferenceL2Squared(a, b), tolerance * 4)
			    << k->name << " n=" << n;
			float norm_squared = 0;
			const float dot = k->dot_and_norm(a.data(), b.data(), n, &norm_squared);
			EXPECT_NEAR(dot, ReferenceDot(a, b), tolerance) << k->name << " n=" << n;
			EXPECT_NEAR(norm_squared, ReferenceDot(b, b), tolerance * 4) << k->name << " n=" << n;
			// bit-identical to the separate reductions (top_k == operators)
			EXPECT_EQ(dot, k->dot(a.data(), b.data(), n)) << k->name << " n=" << n;
			EXPECT_EQ(dot, k->dot(b.data(), a.data(), n)) << k->name << " n=" << n;
			EXPECT_EQ(norm_squared, k->dot(b.data(), b.data(), n)) << k->name << " n=" << n;
		}
	}
}

TEST(Kernels, NeverReadPastTheEnd)
{
	// Values right before an unreadable page would crash on an overread;
	// here ASan's redzones catch it for every tail length.
	for (const Kernels *k : AvailableKernels()) {
		for (std::size_t n = 1; n <= 70; ++n) {
			std::vector<float> a(n, 1.0f), b(n, 2.0f);
			EXPECT_FLOAT_EQ(k->dot(a.data(), b.data(), n), 2.0f * n);
			EXPECT_FLOAT_EQ(k->l2_squared(a.data(), b.data(), n), static_cast<float>(n));
		}
	}
}

TEST(Operators, KnownValues)
{
	const std::vector<float> a{0, 0}, b{3, 4}, x{1, 0}, y{0, 1}, z{0, 0};
	EXPECT_DOUBLE_EQ(L2Distance(a, b), 5.0);
	EXPECT_DOUBLE_EQ(InnerProduct(b, b), 25.0);
	EXPECT_DOUBLE_EQ(CosineDistance(x, y), 1.0);
	EXPECT_DOUBLE_EQ(CosineDistance(x, x), 0.0);
	EXPECT_DOUBLE_EQ(CosineSimilarity(x, std::vector<float>{-2, 0}), -1.0);
	EXPECT_TRUE(std::isnan(CosineDistance(x, z)));
	EXPECT_DOUBLE_EQ(Norm(b), 5.0);
	std::vector<float> unit(2);
	Normalize(b, unit);
	EXPECT_FLOAT_EQ(unit[0], 0.6f);
	EXPECT_FLOAT_EQ(unit[1], 0.8f);
	Normalize(z, unit);
	EXPECT_EQ(unit[0], 0.0f);
}

TEST(Operators, CosineIsClampedToItsRange)
{
	// Nearly parallel vectors whose rounded ratio exceeds 1.
	std::mt19937 rng(3);
	for (int i = 0; i < 1000; ++i) {
		auto a = RandomVector(rng, 33);
		const double d = CosineDistance(a, a);
		EXPECT_GE(d, 0.0);
		EXPECT_LE(d, 2.0);
	}
}

TEST(QueryScorer, MatchesTheOperatorFunctions)
{
	std::mt19937 rng(99);
	// Exactly equal, in both operand orders: top_k reports what the operators return.
	for (std::size_t n : {1u, 7u, 33u, 100u, 384u, 385u, 1536u}) {
		const auto q = RandomVector(rng, n);
		const auto x = RandomVector(rng, n);
		EXPECT_EQ(QueryScorer(q, Metric::kL2).Distance(x.data()), L2Distance(x, q)) << n;
		EXPECT_EQ(QueryScorer(q, Metric::kInnerProduct).Distance(x.data()), NegativeInnerProduct(x, q)) << n;
		EXPECT_EQ(QueryScorer(q, Metric::kCosine).Distance(x.data()), CosineDistance(x, q)) << n;
		EXPECT_EQ(CosineDistance(q, x), CosineDistance(x, q)) << n;
	}
	const std::vector<float> zero{0, 0}, one{1, 0};
	EXPECT_FALSE(std::signbit(NegativeInnerProduct(zero, one)));
}

// Float products overflow (3e38^2) or underflow (1e-30^2); every ISA path
// must still give the double-precision answer, for both the operator and the
// scanning scorer. Lengths with SIMD tails and full blocks.
TEST(Cosine, ExtremeMagnitudesOnEveryIsa)
{
	struct Case {
		std::vector<float> a, b;
		double expected;
	};
	std::vector<Case> cases{
	    {{3e38f, 3e38f, 0}, {1, 0, 0}, 1.0 - 1.0 / std::sqrt(2.0)},
	    {{1e-30f, 1e-30f}, {1e-30f, 1e-30f}, 0.0},
	    {{1e-30f, 0}, {0, 1e-30f}, 1.0},
	    {{1e-40f, 1e-40f}, {2e-40f, 2e-40f}, 0.0}, // denormals
	    {{3e38f, -3e38f}, {-1, 1}, 2.0},
	    {{1e20f, 0, 0}, {1e20f, 1e20f, 0}, 1.0 - 1.0 / std::sqrt(2.0)},
	};
	// Long vectors: huge in every element, and tiny in every element.
	for (std::size_t n : {17u, 64u, 385u}) {
		std::vector<float> huge(n, 2e38f), tiny(n, 1e-25f), mixed(n, 0.0f);
		mixed[0] = 1e-25f;
		cases.push_back({huge, huge, 0.0});
		cases.push_back({tiny, tiny, 0.0});
		cases.push_back({tiny, mixed, 1.0 - 1.0 / std::sqrt(static_cast<double>(n))});
	}
	for (const Kernels *k : AvailableKernels()) {
		for (const Case &c : cases) {
			const std::size_t n = c.a.size();
			const float query_norm_squared = k->dot(c.a.data(), c.a.data(), n);
			const double scored = QueryScorer::CosineDistanceOf(*k, c.a.data(), query_norm_squared, c.b.data(), n);
			EXPECT_NEAR(scored, c.expected, 1e-6) << k->name << " n=" << n << " a[0]=" << c.a[0];
			const double reverse =
			    QueryScorer::CosineDistanceOf(*k, c.b.data(), k->dot(c.b.data(), c.b.data(), n), c.a.data(), n);
			EXPECT_NEAR(reverse, c.expected, 1e-6) << k->name << " n=" << n << " a[0]=" << c.a[0];
		}
	}
	// The operator and the active scorer agree exactly on these too.
	for (const Case &c : cases) {
		EXPECT_NEAR(CosineDistance(c.a, c.b), c.expected, 1e-6);
		EXPECT_EQ(CosineDistance(c.a, c.b), CosineDistance(c.b, c.a));
		EXPECT_EQ(QueryScorer(c.a, Metric::kCosine).Distance(c.b.data()), CosineDistance(c.a, c.b));
	}
	// A zero vector still has no angle.
	const std::vector<float> zero{0, 0}, tiny{1e-30f, 0};
	EXPECT_TRUE(std::isnan(CosineDistance(zero, tiny)));
	EXPECT_TRUE(std::isnan(CosineDistance(tiny, zero)));
}

TEST(Cosine, NormalDataTakesTheFloatPath)
{
	std::mt19937 rng(7);
	for (std::size_t n : {3u, 128u, 1536u}) {
		const auto a = RandomVector(rng, n), b = RandomVector(rng, n);
		const Kernels &k = Active();
		float norm = 0;
		const float dot = k.dot_and_norm(a.data(), b.data(), n, &norm);
		EXPECT_FALSE(QueryScorer::CosineNeedsDouble(dot, k.dot(a.data(), a.data(), n), norm)) << n;
	}
	EXPECT_TRUE(QueryScorer::CosineNeedsDouble(std::nanf(""), 1, 1));
	EXPECT_TRUE(QueryScorer::CosineNeedsDouble(1, INFINITY, 1));
	EXPECT_TRUE(QueryScorer::CosineNeedsDouble(0, 1, 0));
}

TEST(ParseMetric, NamesAndErrors)
{
	EXPECT_EQ(ParseMetric("cosine"), Metric::kCosine);
	EXPECT_EQ(ParseMetric("l2"), Metric::kL2);
	EXPECT_EQ(ParseMetric("inner_product"), Metric::kInnerProduct);
	EXPECT_ANY_THROW(ParseMetric("L2"));
	EXPECT_ANY_THROW(ParseMetric(""));
}

} // namespace
} // namespace agentgres::core::distance
