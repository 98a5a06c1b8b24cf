#include "rabitq.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <bit>
#include <cmath>
#include <numbers>
#include <string>

#include "error.hpp"
#include "hash.hpp"

namespace agentgres::core::rabitq {
namespace {

// A uniform value in (0, 1) from the stable hash of (seed, i).
double
Uniform(std::uint64_t seed, std::uint64_t i)
{
	return (static_cast<double>(Mix64(seed ^ Mix64(i)) >> 11) + 0.5) * 0x1.0p-53;
}

void
CheckSize(std::size_t got, std::size_t want, const char *what)
{
	if (got != want)
		throw Error(ErrorCode::kInvalidParameterValue, std::string(what) + " has the wrong size",
		            std::to_string(got) + " instead of " + std::to_string(want) + ".");
}

} // namespace

std::vector<float>
RandomRotation(std::size_t dims, std::uint64_t seed)
{
	if (dims == 0 || dims > kMaxDimensions)
		throw Error(ErrorCode::kInvalidParameterValue,
		            "a rotation needs between 1 and " + std::to_string(kMaxDimensions) + " dimensions, not " +
		                std::to_string(dims));
	const auto d = static_cast<Eigen::Index>(dims);
	Eigen::MatrixXd gaussian(d, d);
	for (Eigen::Index j = 0; j < d; ++j)
		for (Eigen::Index i = 0; i < d; ++i) {
			// Box-Muller from two hashed uniforms.
			const auto index = static_cast<std::uint64_t>(j * d + i) * 2;
			gaussian(i, j) = std::sqrt(-2 * std::log(Uniform(seed, index))) *
			                 std::cos(2 * std::numbers::pi * Uniform(seed, index + 1));
		}
	const Eigen::HouseholderQR<Eigen::MatrixXd> qr(gaussian);
	const Eigen::MatrixXd q = qr.householderQ();
	std::vector<float> rotation(dims * dims);
	for (Eigen::Index i = 0; i < d; ++i)
		for (Eigen::Index j = 0; j < d; ++j)
			rotation[static_cast<std::size_t>(i * d + j)] = static_cast<float>(q(i, j));
	return rotation;
}

void
Rotate(std::span<const float> rotation, std::span<const float> x, std::span<float> out)
{
	CheckSize(rotation.size(), x.size() * x.size(), "the rotation");
	CheckSize(out.size(), x.size(), "the rotated vector");
	const auto d = static_cast<Eigen::Index>(x.size());
	const Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> r(rotation.data(), d,
	                                                                                                d);
	Eigen::Map<Eigen::VectorXf>(out.data(), d).noalias() = r * Eigen::Map<const Eigen::VectorXf>(x.data(), d);
}

CodeFactors
Encode(std::span<const float> rotated, float residual_center, std::span<std::uint64_t> code)
{
	const std::size_t dims = rotated.size();
	CheckSize(code.size(), CodeWords(dims), "the code");
	std::fill(code.begin(), code.end(), 0);
	double norm_squared = 0, abs_sum = 0;
	for (std::size_t i = 0; i < dims; ++i) {
		const float v = rotated[i];
		norm_squared += static_cast<double>(v) * v;
		abs_sum += std::fabs(v);
		if (v >= 0)
			code[i / 64] |= std::uint64_t{1} << (i % 64);
	}
	const double norm = std::sqrt(norm_squared);
	// <xbar, n> = sum |n_i| / sqrt(D); a zero residual has no direction, and
	// its distance does not depend on the estimate (it is multiplied by 0).
	const double quantized_dot =
	    std::clamp(norm > 0 ? abs_sum / norm / std::sqrt(static_cast<double>(dims)) : 1.0, 1e-6, 1.0);
	return {static_cast<float>(norm), static_cast<float>(1 / quantized_dot),
	        static_cast<float>(std::sqrt(1 - quantized_dot * quantized_dot) / quantized_dot), residual_center};
}

void
Prepare(std::span<const float> rotated, PreparedQuery &query, float epsilon)
{
	const std::size_t dims = rotated.size();
	const std::size_t words = CodeWords(dims);
	query.dims = dims;
	query.planes.assign(4 * words, 0);
	double norm_squared = 0;
	for (float v : rotated)
		norm_squared += static_cast<double>(v) * v;
	query.residual_norm = static_cast<float>(std::sqrt(norm_squared));
	const float scale = query.residual_norm > 0 ? 1.0f / query.residual_norm : 0.0f;
	float low = 0, high = 0;
	if (dims > 0) {
		const auto [min, max] = std::minmax_element(rotated.begin(), rotated.end());
		low = *min * scale;
		high = *max * scale;
	}
	query.low = low;
	query.step = (high - low) / 15;
	std::uint64_t sum_u = 0;
	for (std::size_t i = 0; i < dims; ++i) {
		const float q = rotated[i] * scale;
		const long u = query.step > 0 ? std::clamp(std::lround((q - low) / query.step), 0L, 15L) : 0L;
		sum_u += static_cast<std::uint64_t>(u);
		for (std::size_t plane = 0; plane < 4; ++plane)
			if ((u >> plane) & 1)
				query.planes[plane * words + i / 64] |= std::uint64_t{1} << (i % 64);
	}
	query.sum_all = low * static_cast<float>(dims) + query.step * static_cast<float>(sum_u);
	query.inverse_sqrt_dims = dims > 0 ? static_cast<float>(1 / std::sqrt(static_cast<double>(dims))) : 0.0f;
	query.bound_scale = static_cast<float>(epsilon / std::sqrt(std::max(static_cast<double>(dims) - 1, 1.0)));
}

Estimate
EstimateDot(const std::uint64_t *code, const CodeFactors &factors, const PreparedQuery &query)
{
	const std::size_t words = CodeWords(query.dims);
	int ones = 0, weighted[4] = {0, 0, 0, 0};
	for (std::size_t w = 0; w < words; ++w) {
		const std::uint64_t bits = code[w];
		ones += std::popcount(bits);
		for (std::size_t plane = 0; plane < 4; ++plane)
			weighted[plane] += std::popcount(bits & query.planes[plane * words + w]);
	}
	const float selected_u = static_cast<float>(
	    weighted[0] + 2 * weighted[1] + 4 * weighted[2] + 8 * weighted[3]); // sum of u_i, bit set
	// <xbar, q> = (2 * sum_{bit set} q_i - sum q_i) / sqrt(D), q_i ~ low + step * u_i
	const float selected_q = query.low * static_cast<float>(ones) + query.step * selected_u;
	const float xbar_q = (2 * selected_q - query.sum_all) * query.inverse_sqrt_dims;
	return {xbar_q * factors.inverse_quantized_dot, factors.error * query.bound_scale};
}

} // namespace agentgres::core::rabitq
