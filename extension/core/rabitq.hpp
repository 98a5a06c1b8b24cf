// RaBitQ: one bit per dimension codes with an unbiased distance estimator and
// an error bound (Gao and Long, "RaBitQ: Quantizing High-Dimensional Vectors
// with a Theoretical Error Bound for Approximate Nearest Neighbor Search",
// SIGMOD 2024).
//
// A vector x of an IVF list with centroid c is stored as its residual
// r = x - c: the norm |r| and the signs of R r / |r|, where R is a random
// orthogonal rotation shared by the whole index. The code stands for the
// unit vector xbar = sign(R r) / sqrt(D). With n = R r / |r| and a query
// residual's rotated direction q (unit), <n, q> is estimated as
// <xbar, q> / <xbar, n>; <xbar, n> is stored with the code, and <xbar, q> is
// computed with popcounts against q quantized to 4 bits per dimension. The
// estimate's error is at most sqrt((1 - <xbar,n>^2) / <xbar,n>^2) *
// epsilon0 / sqrt(D - 1) with high probability (epsilon0 = 1.9), which lets a
// search re-rank only the candidates that could still beat its k-th exact
// distance.
//
// Distances from the estimate, with |r_q| = |q_raw - c|:
//   L2 squared:     |r|^2 + |r_q|^2 - 2 |r| |r_q| <n, q>
//   inner product:  <c, q_raw> + <r, c> + |r| |r_q| <n, q>
// (cosine: L2 or inner product of unit vectors). Everything here is pure
// arithmetic on spans; the index (extension/pg) decides where codes live.
#include "cpp_only.hpp" // outside the guard: checked at every inclusion
#ifndef AGENTGRES_CORE_RABITQ_HPP
#define AGENTGRES_CORE_RABITQ_HPP

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace agentgres::core::rabitq {

// 64-bit words of a code of dims bits.
constexpr std::size_t
CodeWords(std::size_t dims)
{
	return (dims + 63) / 64;
}

// The largest dimension a rotation is made for (a 4096 x 4096 rotation is
// 64 MB of floats).
constexpr std::size_t kMaxDimensions = 4096;

// The confidence constant of the error bound (the paper's epsilon0).
constexpr float kEpsilon0 = 1.9f;

// A random orthogonal dims x dims matrix (row-major): the QR factor of a
// matrix of Gaussian values drawn from the stable hash with seed, so the same
// seed gives the same rotation on every platform. Throws Error (22023) for
// dims outside 1..kMaxDimensions.
std::vector<float> RandomRotation(std::size_t dims, std::uint64_t seed);

// out = rotation * x (rotation row-major, dims x dims).
void Rotate(std::span<const float> rotation, std::span<const float> x, std::span<float> out);

// What a code needs besides its bits, in the form the estimator uses them.
struct CodeFactors {
	float residual_norm;         // |r|
	float inverse_quantized_dot; // 1 / <xbar, n> (<xbar, n> in (0, 1]; 1 when r = 0)
	float error;                 // sqrt(1 - <xbar,n>^2) / <xbar,n>: the bound before its scale
	float residual_center;       // <r, c>, for inner-product distances
};

// Encodes a rotated residual R r (rotated.size() = dims) into code
// (CodeWords(dims) words: bit i of word i / 64 set when component i >= 0;
// unused high bits zero). residual_center is <r, c>, which the caller
// computes before rotating (rotations keep inner products).
CodeFactors Encode(std::span<const float> rotated, float residual_center, std::span<std::uint64_t> code);

// A query prepared against one centroid: the rotated residual's direction,
// quantized to 4 bits per dimension as planes of bits.
struct PreparedQuery {
	std::size_t dims = 0;
	float residual_norm = 0; // |r_q|
	float low = 0;           // q_i ~ low + step * u_i, u_i in 0..15
	float step = 0;
	float sum_all = 0;                 // sum of the quantized q_i
	float inverse_sqrt_dims = 0;       // 1 / sqrt(D)
	float bound_scale = 0;             // epsilon / sqrt(D - 1)
	std::vector<std::uint64_t> planes; // 4 x CodeWords(dims): bit j of u_i in plane j
};

// Prepares the rotated query residual R (q_raw - c) (rotated.size() = dims).
// epsilon sets the confidence of the error bounds EstimateDot returns: the
// paper's 1.9, or more where an error past the bound costs more than the
// extra exact distances a wider bound asks for.
void Prepare(std::span<const float> rotated, PreparedQuery &query, float epsilon = kEpsilon0);

// The estimate of <n, q> for one code, and its error bound.
struct Estimate {
	float dot;
	float bound;
};

Estimate EstimateDot(const std::uint64_t *code, const CodeFactors &factors, const PreparedQuery &query);

} // namespace agentgres::core::rabitq

#endif // AGENTGRES_CORE_RABITQ_HPP
