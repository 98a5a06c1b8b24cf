// Distance kernels over float4 vectors.
//
// The hot loops exist in three builds selected once at load time from what the
// CPU supports: a portable one (Eigen's packet code at the compiler's baseline,
// SSE2 on x86-64), AVX2+FMA, and AVX-512F. The binary stays portable (no
// -march=native) while the machine running it gets its widest units.
// AGENTGRES_SIMD=portable|avx2|avx512 in the environment caps the choice
// (for tests and benchmarks).
//
// Accumulation is in float, as in pgvector, with several independent
// accumulators; the unit tests hold every variant to a double-precision
// reference. Cosine distance checks the float sums and recomputes in double
// when they overflowed or underflowed (values near the float limits), so it
// is right for every finite input at the cost of one predictable branch.
#include "cpp_only.hpp" // outside the guard: checked at every inclusion
#ifndef AGENTGRES_CORE_DISTANCE_HPP
#define AGENTGRES_CORE_DISTANCE_HPP

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

namespace agentgres::core::distance {

enum class Isa { kPortable, kAvx2, kAvx512 };

struct Kernels {
	Isa isa;
	const char *name;
	float (*dot)(const float *a, const float *b, std::size_t n) noexcept;
	float (*l2_squared)(const float *a, const float *b, std::size_t n) noexcept;
	// One pass over x for cosine against a query whose norm is already known:
	// returns dot(q, x) and writes |x|^2.
	float (*dot_and_norm)(const float *q, const float *x, std::size_t n, float *x_norm_squared) noexcept;
};

// The kernels this process uses.
const Kernels &Active() noexcept;

// The kernels of one instruction set, or nullptr when this CPU lacks it.
const Kernels *ForIsa(Isa isa) noexcept;

enum class Metric { kL2, kCosine, kInnerProduct };

// Parses "l2", "cosine" or "inner_product"; throws 22023 otherwise.
Metric ParseMetric(std::string_view name);

// The operator-level functions. The operands must have the same length (the
// caller checks dimensions and reports mismatches).
double L2Distance(std::span<const float> a, std::span<const float> b) noexcept;
double InnerProduct(std::span<const float> a, std::span<const float> b) noexcept;
// What <#> returns: minus the inner product, so that smaller is closer.
double NegativeInnerProduct(std::span<const float> a, std::span<const float> b) noexcept;
// Cosine similarity clamped to [-1, 1]; NaN when either vector is all zeros,
// because the angle to a zero vector is undefined.
double CosineSimilarity(std::span<const float> a, std::span<const float> b) noexcept;
double CosineDistance(std::span<const float> a, std::span<const float> b) noexcept;
double Norm(std::span<const float> a) noexcept;
// Unit vector in the direction of a; a zero vector stays zero.
void Normalize(std::span<const float> a, std::span<float> out) noexcept;

// A precomputed query for scanning many rows with one metric. Distance()
// returns exactly what the matching operator returns (<->, <=>, <#>).
class QueryScorer {
public:
	QueryScorer(std::span<const float> query, Metric metric) noexcept;
	double
	Distance(const float *x) const noexcept
	{
		switch (metric_) {
		case Metric::kL2:
			return L2FromSquared(kernels_->l2_squared(query_.data(), x, query_.size()));
		case Metric::kInnerProduct:
			return Negate(kernels_->dot(query_.data(), x, query_.size()));
		case Metric::kCosine:
			break;
		}
		return CosineDistanceOf(*kernels_, query_.data(), query_norm_squared_, x, query_.size());
	}
	std::size_t
	dimensions() const noexcept
	{
		return query_.size();
	}
	std::span<const float>
	query() const noexcept
	{
		return query_;
	}
	Metric
	metric() const noexcept
	{
		return metric_;
	}

	static double L2FromSquared(float squared) noexcept;
	// 0 - x rather than -x: a zero product gives 0, not -0.
	static double
	Negate(float x) noexcept
	{
		return 0.0 - static_cast<double>(x);
	}
	static double CosineDistanceFrom(double dot, double a_norm_squared, double b_norm_squared) noexcept;
	// True when float sums cannot be trusted for cosine: a sum overflowed
	// (inf, NaN) or a squared norm is so small that products underflowed.
	static bool
	CosineNeedsDouble(float dot, float a_norm_squared, float b_norm_squared) noexcept
	{
		constexpr float kMaxSafe = 3.0e38f, kMinSafe = 1e-20f;
		// Written so that NaN fails every comparison and takes the slow path.
		return !(a_norm_squared >= kMinSafe && a_norm_squared <= kMaxSafe && b_norm_squared >= kMinSafe &&
		         b_norm_squared <= kMaxSafe && dot >= -kMaxSafe && dot <= kMaxSafe);
	}
	// Cosine distance of q (with |q|^2 already computed by the same kernels)
	// and x: float kernels, double recomputation when CosineNeedsDouble.
	static double
	CosineDistanceOf(const Kernels &kernels, const float *q, float q_norm_squared, const float *x,
	                 std::size_t n) noexcept
	{
		float x_norm_squared = 0.0f;
		const float dot = kernels.dot_and_norm(q, x, n, &x_norm_squared);
		if (CosineNeedsDouble(dot, q_norm_squared, x_norm_squared)) [[unlikely]]
			return CosineDistanceDouble(q, x, n);
		return CosineDistanceFrom(dot, q_norm_squared, x_norm_squared);
	}
	// Accumulated in double: float products cannot overflow or underflow there.
	static double CosineDistanceDouble(const float *a, const float *b, std::size_t n) noexcept;

private:
	std::span<const float> query_;
	Metric metric_;
	const Kernels *kernels_;
	float query_norm_squared_;
};

} // namespace agentgres::core::distance

#endif // AGENTGRES_CORE_DISTANCE_HPP
