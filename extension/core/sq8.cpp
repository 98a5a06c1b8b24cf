#include "sq8.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define AGENTGRES_X86 1
#endif

#include "error.hpp"

namespace agentgres::core::sq8 {
namespace {

float
DotCodesPortable(const std::uint8_t *codes, const float *q, std::size_t n)
{
	// Four accumulators: the compiler keeps them in registers and the sum's
	// dependency chain is a quarter as long.
	float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	std::size_t i = 0;
	for (; i + 4 <= n; i += 4) {
		s0 += static_cast<float>(codes[i]) * q[i];
		s1 += static_cast<float>(codes[i + 1]) * q[i + 1];
		s2 += static_cast<float>(codes[i + 2]) * q[i + 2];
		s3 += static_cast<float>(codes[i + 3]) * q[i + 3];
	}
	for (; i < n; ++i)
		s0 += static_cast<float>(codes[i]) * q[i];
	return (s0 + s1) + (s2 + s3);
}

#ifdef AGENTGRES_X86
__attribute__((target("avx2,fma"))) float
DotCodesAvx2(const std::uint8_t *codes, const float *q, std::size_t n)
{
	__m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
	std::size_t i = 0;
	for (; i + 16 <= n; i += 16) {
		const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i *>(codes + i));
		const __m256 low = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(bytes));
		const __m256 high = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(bytes, 8)));
		acc0 = _mm256_fmadd_ps(low, _mm256_loadu_ps(q + i), acc0);
		acc1 = _mm256_fmadd_ps(high, _mm256_loadu_ps(q + i + 8), acc1);
	}
	const __m256 acc = _mm256_add_ps(acc0, acc1);
	__m128 sum = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
	sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
	sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
	float total = _mm_cvtss_f32(sum);
	for (; i < n; ++i)
		total += static_cast<float>(codes[i]) * q[i];
	return total;
}
#endif

using DotFn = float (*)(const std::uint8_t *, const float *, std::size_t);

DotFn
ChooseDot()
{
#ifdef AGENTGRES_X86
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		return DotCodesAvx2;
#endif
	return DotCodesPortable;
}

// Float rounding in the sums: a relative slack that keeps the bound a bound.
constexpr float kRoundingSlack = 1e-5f;

} // namespace

float
DotCodes(const std::uint8_t *codes, const float *q, std::size_t n)
{
	static const DotFn dot = ChooseDot();
	return dot(codes, q, n);
}

CodeFactors
Encode(std::span<const float> r, float center_dot, std::span<std::uint8_t> codes)
{
	if (codes.size() != r.size())
		throw Error(ErrorCode::kInvalidParameterValue, "the code has the wrong size",
		            std::to_string(codes.size()) + " instead of " + std::to_string(r.size()) + ".");
	if (r.empty())
		return {0, 0, 0, center_dot};
	const auto [min, max] = std::minmax_element(r.begin(), r.end());
	const float low = *min;
	const float step = (*max - *min) / 255;
	double norm_squared = 0;
	for (std::size_t i = 0; i < r.size(); ++i) {
		norm_squared += static_cast<double>(r[i]) * r[i];
		codes[i] = step > 0 ? static_cast<std::uint8_t>(std::clamp(std::lround((r[i] - low) / step), 0L, 255L)) : 0;
	}
	return {low, step, static_cast<float>(norm_squared), center_dot};
}

QueryStats
Stats(std::span<const float> q)
{
	double sum = 0, l1 = 0;
	for (float v : q) {
		sum += v;
		l1 += std::fabs(v);
	}
	return {static_cast<float>(sum), static_cast<float>(l1)};
}

Estimate
EstimateDot(const std::uint8_t *codes, const CodeFactors &factors, std::span<const float> q, const QueryStats &stats)
{
	const float weighted = DotCodes(codes, q.data(), q.size());
	const float dot = factors.low * stats.sum + factors.step * weighted;
	const float magnitude = std::fabs(factors.low) * stats.l1 + factors.step * 255 * stats.l1;
	return {dot, factors.step / 2 * stats.l1 + kRoundingSlack * magnitude};
}

} // namespace agentgres::core::sq8
