// Eight-bit scalar quantization with a deterministic error bound: the codes
// of the agentgres_ivf index.
//
// A vector r (in the index, a rotated residual: the rotation spreads the
// variance evenly over the dimensions, so one range fits them all) is stored
// as low, step and one byte per dimension, r_i ~ low + step * u_i with u_i the
// nearest of 0..255: every component is off by at most step / 2. So for any
// query q, <r, q> = <rhat, q> +- (step / 2) * |q|_1, and the bound is not a
// probability but a certainty (up to float rounding, which a small relative
// slack covers): a search that re-ranks candidates in order of their lower
// bounds returns the exact order among them.
//
// RaBitQ (core/rabitq.hpp) stores one bit per dimension; its bound is
// probabilistic and, on text embeddings, so wide that the index re-ranked a
// quarter to half of the visited entries on the heap (bench/README.md).
// Eight bits cost 8x the code size (408 bytes an entry at 384 dimensions,
// against 1,544 for the vector) and re-rank a few dozen.
#include "cpp_only.hpp" // outside the guard: checked at every inclusion
#ifndef AGENTGRES_CORE_SQ8_HPP
#define AGENTGRES_CORE_SQ8_HPP

#include <cstddef>
#include <cstdint>
#include <span>

namespace agentgres::core::sq8 {

// What a code needs besides its bytes.
struct CodeFactors {
	float low;          // r_i ~ low + step * u_i
	float step;         // 0 when every component is equal
	float norm_squared; // |r|^2, exact
	float center_dot;   // <r, c> (in the index: the residual and its centroid), exact
};

// Encodes r into codes (codes.size() == r.size()). center_dot is stored as
// given. Throws Error (22023) on a size mismatch.
CodeFactors Encode(std::span<const float> r, float center_dot, std::span<std::uint8_t> codes);

// What an estimate needs of the query: the sum and the L1 norm of q.
struct QueryStats {
	float sum;
	float l1;
};

QueryStats Stats(std::span<const float> q);

// <rhat, q> and the bound of |<r, q> - <rhat, q>|.
struct Estimate {
	float dot;
	float bound;
};

Estimate EstimateDot(const std::uint8_t *codes, const CodeFactors &factors, std::span<const float> q,
                     const QueryStats &stats);

// sum u_i q_i (exposed for the unit tests and the benchmark; SIMD where the
// CPU has it).
float DotCodes(const std::uint8_t *codes, const float *q, std::size_t n);

} // namespace agentgres::core::sq8

#endif // AGENTGRES_CORE_SQ8_HPP
