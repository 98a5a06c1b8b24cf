#include "distance.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include <Eigen/Core>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define AGENTGRES_X86 1
#endif

#include "error.hpp"

namespace agentgres::core::distance {
namespace {

using ConstVectorMap = Eigen::Map<const Eigen::VectorXf>;

// Portable kernels: Eigen's vectorised reductions at the baseline ISA.
float
DotPortable(const float *a, const float *b, std::size_t n) noexcept
{
	const auto size = static_cast<Eigen::Index>(n);
	return ConstVectorMap(a, size).dot(ConstVectorMap(b, size));
}

float
L2SquaredPortable(const float *a, const float *b, std::size_t n) noexcept
{
	const auto size = static_cast<Eigen::Index>(n);
	return (ConstVectorMap(a, size) - ConstVectorMap(b, size)).squaredNorm();
}

float
DotAndNormPortable(const float *q, const float *x, std::size_t n, float *x_norm_squared) noexcept
{
	*x_norm_squared = DotPortable(x, x, n);
	return DotPortable(q, x, n);
}

constexpr Kernels kPortable{Isa::kPortable, "portable", DotPortable, L2SquaredPortable, DotAndNormPortable};

#ifdef AGENTGRES_X86

// AVX2 + FMA: four 8-wide accumulators hide the FMA latency; the tail is
// handled with a masked load so no scalar loop is needed.
#define AVX2_TARGET __attribute__((target("avx2,fma")))

AVX2_TARGET inline float
HorizontalSum256(__m256 v) noexcept
{
	const __m128 low = _mm256_castps256_ps128(v);
	const __m128 high = _mm256_extractf128_ps(v, 1);
	__m128 sum = _mm_add_ps(low, high);
	sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
	sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
	return _mm_cvtss_f32(sum);
}

AVX2_TARGET inline __m256i
TailMask256(std::size_t remaining) noexcept
{
	alignas(32) static const int kMaskSource[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
	return _mm256_loadu_si256(reinterpret_cast<const __m256i *>(kMaskSource + 8 - remaining));
}

AVX2_TARGET float
DotAvx2(const float *a, const float *b, std::size_t n) noexcept
{
	__m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
	__m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
	std::size_t i = 0;
	for (; i + 32 <= n; i += 32) {
		acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
		acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
		acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), acc2);
		acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), acc3);
	}
	for (; i + 8 <= n; i += 8)
		acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
	if (i < n) {
		const __m256i mask = TailMask256(n - i);
		acc1 = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, mask), _mm256_maskload_ps(b + i, mask), acc1);
	}
	return HorizontalSum256(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
}

AVX2_TARGET float
L2SquaredAvx2(const float *a, const float *b, std::size_t n) noexcept
{
	__m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
	__m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
	std::size_t i = 0;
	for (; i + 32 <= n; i += 32) {
		const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
		const __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
		const __m256 d2 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16));
		const __m256 d3 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24));
		acc0 = _mm256_fmadd_ps(d0, d0, acc0);
		acc1 = _mm256_fmadd_ps(d1, d1, acc1);
		acc2 = _mm256_fmadd_ps(d2, d2, acc2);
		acc3 = _mm256_fmadd_ps(d3, d3, acc3);
	}
	for (; i + 8 <= n; i += 8) {
		const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
		acc0 = _mm256_fmadd_ps(d, d, acc0);
	}
	if (i < n) {
		const __m256i mask = TailMask256(n - i);
		const __m256 d = _mm256_sub_ps(_mm256_maskload_ps(a + i, mask), _mm256_maskload_ps(b + i, mask));
		acc1 = _mm256_fmadd_ps(d, d, acc1);
	}
	return HorizontalSum256(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
}

// Mirrors DotAvx2's accumulator layout exactly, so both results are bit for
// bit what dot(q, x) and dot(x, x) return: top_k then reports the same
// distance as the <=> operator.
AVX2_TARGET float
DotAndNormAvx2(const float *q, const float *x, std::size_t n, float *x_norm_squared) noexcept
{
	__m256 dot0 = _mm256_setzero_ps(), dot1 = _mm256_setzero_ps();
	__m256 dot2 = _mm256_setzero_ps(), dot3 = _mm256_setzero_ps();
	__m256 nrm0 = _mm256_setzero_ps(), nrm1 = _mm256_setzero_ps();
	__m256 nrm2 = _mm256_setzero_ps(), nrm3 = _mm256_setzero_ps();
	std::size_t i = 0;
	for (; i + 32 <= n; i += 32) {
		const __m256 x0 = _mm256_loadu_ps(x + i);
		const __m256 x1 = _mm256_loadu_ps(x + i + 8);
		const __m256 x2 = _mm256_loadu_ps(x + i + 16);
		const __m256 x3 = _mm256_loadu_ps(x + i + 24);
		dot0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), x0, dot0);
		dot1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), x1, dot1);
		dot2 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 16), x2, dot2);
		dot3 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 24), x3, dot3);
		nrm0 = _mm256_fmadd_ps(x0, x0, nrm0);
		nrm1 = _mm256_fmadd_ps(x1, x1, nrm1);
		nrm2 = _mm256_fmadd_ps(x2, x2, nrm2);
		nrm3 = _mm256_fmadd_ps(x3, x3, nrm3);
	}
	for (; i + 8 <= n; i += 8) {
		const __m256 x0 = _mm256_loadu_ps(x + i);
		dot0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), x0, dot0);
		nrm0 = _mm256_fmadd_ps(x0, x0, nrm0);
	}
	if (i < n) {
		const __m256i mask = TailMask256(n - i);
		const __m256 x0 = _mm256_maskload_ps(x + i, mask);
		dot1 = _mm256_fmadd_ps(_mm256_maskload_ps(q + i, mask), x0, dot1);
		nrm1 = _mm256_fmadd_ps(x0, x0, nrm1);
	}
	*x_norm_squared = HorizontalSum256(_mm256_add_ps(_mm256_add_ps(nrm0, nrm1), _mm256_add_ps(nrm2, nrm3)));
	return HorizontalSum256(_mm256_add_ps(_mm256_add_ps(dot0, dot1), _mm256_add_ps(dot2, dot3)));
}

constexpr Kernels kAvx2{Isa::kAvx2, "avx2", DotAvx2, L2SquaredAvx2, DotAndNormAvx2};

// AVX-512F: 16-wide with masked tails. GCC 12 warns about the deliberately
// undefined vectors inside _mm512_reduce_add_ps; the warning is a false
// positive in its own header.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#define AVX512_TARGET __attribute__((target("avx512f")))

AVX512_TARGET inline __mmask16
TailMask512(std::size_t remaining) noexcept
{
	return static_cast<__mmask16>((1u << remaining) - 1u);
}

AVX512_TARGET float
DotAvx512(const float *a, const float *b, std::size_t n) noexcept
{
	__m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
	__m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
	std::size_t i = 0;
	for (; i + 64 <= n; i += 64) {
		acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
		acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
		acc2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), acc2);
		acc3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), acc3);
	}
	for (; i + 16 <= n; i += 16)
		acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
	if (i < n) {
		const __mmask16 mask = TailMask512(n - i);
		acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, a + i), _mm512_maskz_loadu_ps(mask, b + i), acc1);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

AVX512_TARGET float
L2SquaredAvx512(const float *a, const float *b, std::size_t n) noexcept
{
	__m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
	__m512 acc2 = _mm512_setzero_ps(), acc3 = _mm512_setzero_ps();
	std::size_t i = 0;
	for (; i + 64 <= n; i += 64) {
		const __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
		const __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
		const __m512 d2 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32));
		const __m512 d3 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48));
		acc0 = _mm512_fmadd_ps(d0, d0, acc0);
		acc1 = _mm512_fmadd_ps(d1, d1, acc1);
		acc2 = _mm512_fmadd_ps(d2, d2, acc2);
		acc3 = _mm512_fmadd_ps(d3, d3, acc3);
	}
	for (; i + 16 <= n; i += 16) {
		const __m512 d = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
		acc0 = _mm512_fmadd_ps(d, d, acc0);
	}
	if (i < n) {
		const __mmask16 mask = TailMask512(n - i);
		const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(mask, a + i), _mm512_maskz_loadu_ps(mask, b + i));
		acc1 = _mm512_fmadd_ps(d, d, acc1);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

// Mirrors DotAvx512's accumulator layout (see DotAndNormAvx2).
AVX512_TARGET float
DotAndNormAvx512(const float *q, const float *x, std::size_t n, float *x_norm_squared) noexcept
{
	__m512 dot0 = _mm512_setzero_ps(), dot1 = _mm512_setzero_ps();
	__m512 dot2 = _mm512_setzero_ps(), dot3 = _mm512_setzero_ps();
	__m512 nrm0 = _mm512_setzero_ps(), nrm1 = _mm512_setzero_ps();
	__m512 nrm2 = _mm512_setzero_ps(), nrm3 = _mm512_setzero_ps();
	std::size_t i = 0;
	for (; i + 64 <= n; i += 64) {
		const __m512 x0 = _mm512_loadu_ps(x + i);
		const __m512 x1 = _mm512_loadu_ps(x + i + 16);
		const __m512 x2 = _mm512_loadu_ps(x + i + 32);
		const __m512 x3 = _mm512_loadu_ps(x + i + 48);
		dot0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), x0, dot0);
		dot1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 16), x1, dot1);
		dot2 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 32), x2, dot2);
		dot3 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i + 48), x3, dot3);
		nrm0 = _mm512_fmadd_ps(x0, x0, nrm0);
		nrm1 = _mm512_fmadd_ps(x1, x1, nrm1);
		nrm2 = _mm512_fmadd_ps(x2, x2, nrm2);
		nrm3 = _mm512_fmadd_ps(x3, x3, nrm3);
	}
	for (; i + 16 <= n; i += 16) {
		const __m512 x0 = _mm512_loadu_ps(x + i);
		dot0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + i), x0, dot0);
		nrm0 = _mm512_fmadd_ps(x0, x0, nrm0);
	}
	if (i < n) {
		const __mmask16 mask = TailMask512(n - i);
		const __m512 x0 = _mm512_maskz_loadu_ps(mask, x + i);
		dot1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, q + i), x0, dot1);
		nrm1 = _mm512_fmadd_ps(x0, x0, nrm1);
	}
	*x_norm_squared = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(nrm0, nrm1), _mm512_add_ps(nrm2, nrm3)));
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(dot0, dot1), _mm512_add_ps(dot2, dot3)));
}

constexpr Kernels kAvx512{Isa::kAvx512, "avx512", DotAvx512, L2SquaredAvx512, DotAndNormAvx512};
#pragma GCC diagnostic pop

#endif // AGENTGRES_X86

bool
CpuSupports(Isa isa) noexcept
{
	switch (isa) {
	case Isa::kPortable:
		return true;
#ifdef AGENTGRES_X86
	case Isa::kAvx2:
		__builtin_cpu_init();
		return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
	case Isa::kAvx512:
		__builtin_cpu_init();
		return __builtin_cpu_supports("avx512f");
#else
	case Isa::kAvx2:
	case Isa::kAvx512:
		return false;
#endif
	}
	return false;
}

const Kernels &
ChooseKernels() noexcept
{
	// AGENTGRES_SIMD caps the choice; an unrecognised value is ignored.
	Isa cap = Isa::kAvx512;
	if (const char *env = std::getenv("AGENTGRES_SIMD")) {
		if (std::strcmp(env, "portable") == 0)
			cap = Isa::kPortable;
		else if (std::strcmp(env, "avx2") == 0)
			cap = Isa::kAvx2;
	}
	for (Isa isa : {Isa::kAvx512, Isa::kAvx2}) {
		if (static_cast<int>(isa) <= static_cast<int>(cap)) {
			if (const Kernels *kernels = ForIsa(isa))
				return *kernels;
		}
	}
	return kPortable;
}

} // namespace

const Kernels *
ForIsa(Isa isa) noexcept
{
	if (!CpuSupports(isa))
		return nullptr;
	switch (isa) {
	case Isa::kPortable:
		return &kPortable;
#ifdef AGENTGRES_X86
	case Isa::kAvx2:
		return &kAvx2;
	case Isa::kAvx512:
		return &kAvx512;
#else
	default:
		return nullptr;
#endif
	}
	return nullptr;
}

const Kernels &
Active() noexcept
{
	static const Kernels &active = ChooseKernels();
	return active;
}

Metric
ParseMetric(std::string_view name)
{
	if (name == "cosine")
		return Metric::kCosine;
	if (name == "l2")
		return Metric::kL2;
	if (name == "inner_product")
		return Metric::kInnerProduct;
	throw Error(ErrorCode::kInvalidParameterValue, "unrecognized distance metric \"" + std::string(name) + "\"", {},
	            "Use \"cosine\", \"l2\" or \"inner_product\".");
}

double
QueryScorer::L2FromSquared(float squared) noexcept
{
	return std::sqrt(static_cast<double>(squared));
}

double
QueryScorer::CosineDistanceFrom(double dot, double a_norm_squared, double b_norm_squared) noexcept
{
	const double denominator = std::sqrt(a_norm_squared * b_norm_squared);
	if (denominator == 0.0)
		return std::nan("");
	// Rounding can push the ratio just outside [-1, 1].
	const double similarity = std::clamp(dot / denominator, -1.0, 1.0);
	return 1.0 - similarity;
}

double
QueryScorer::CosineDistanceDouble(const float *a, const float *b, std::size_t n) noexcept
{
	// A float squared lies within [2^-298, 2^256] in double, and a sum of up
	// to 2^31 of them stays finite, so nothing here overflows or underflows.
	double dot = 0, a_norm_squared = 0, b_norm_squared = 0;
	for (std::size_t i = 0; i < n; ++i) {
		const double x = a[i], y = b[i];
		dot += x * y;
		a_norm_squared += x * x;
		b_norm_squared += y * y;
	}
	// |a|^2 |b|^2 lies within [2^-596, 2^574]: finite and normal in double.
	return CosineDistanceFrom(dot, a_norm_squared, b_norm_squared);
}

QueryScorer::QueryScorer(std::span<const float> query, Metric metric) noexcept
    : query_(query), metric_(metric), kernels_(&Active()),
      query_norm_squared_(kernels_->dot(query.data(), query.data(), query.size()))
{
}

double
L2Distance(std::span<const float> a, std::span<const float> b) noexcept
{
	return QueryScorer::L2FromSquared(Active().l2_squared(a.data(), b.data(), a.size()));
}

double
InnerProduct(std::span<const float> a, std::span<const float> b) noexcept
{
	return Active().dot(a.data(), b.data(), a.size());
}

double
NegativeInnerProduct(std::span<const float> a, std::span<const float> b) noexcept
{
	return QueryScorer::Negate(Active().dot(a.data(), b.data(), a.size()));
}

double
CosineDistance(std::span<const float> a, std::span<const float> b) noexcept
{
	// The same three reductions QueryScorer uses, so <=> and top_k agree
	// exactly, and a <=> b == b <=> a.
	const Kernels &k = Active();
	const float dot = k.dot(a.data(), b.data(), a.size());
	const float a_norm_squared = k.dot(a.data(), a.data(), a.size());
	const float b_norm_squared = k.dot(b.data(), b.data(), b.size());
	if (QueryScorer::CosineNeedsDouble(dot, a_norm_squared, b_norm_squared)) [[unlikely]]
		return QueryScorer::CosineDistanceDouble(a.data(), b.data(), a.size());
	return QueryScorer::CosineDistanceFrom(dot, a_norm_squared, b_norm_squared);
}

double
CosineSimilarity(std::span<const float> a, std::span<const float> b) noexcept
{
	return 1.0 - CosineDistance(a, b);
}

double
Norm(std::span<const float> a) noexcept
{
	// Double accumulation: norm() is called once per value, not in scans.
	return ConstVectorMap(a.data(), static_cast<Eigen::Index>(a.size())).cast<double>().norm();
}

void
Normalize(std::span<const float> a, std::span<float> out) noexcept
{
	const double norm = Norm(a);
	Eigen::Map<Eigen::VectorXf> result(out.data(), static_cast<Eigen::Index>(out.size()));
	const ConstVectorMap source(a.data(), static_cast<Eigen::Index>(a.size()));
	if (norm == 0.0)
		result.setZero();
	else
		result = (source.cast<double>() / norm).cast<float>();
}

} // namespace agentgres::core::distance
