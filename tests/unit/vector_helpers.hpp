// Small vector helpers the kernel tests share: a deterministic random
// vector and a double-precision dot product (the reference the kernels are
// checked against).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/hash.hpp"

namespace agentgres::testing {

// Values in [-scale, scale) from the stable hash: the same on every platform.
inline std::vector<float>
RandomVector(std::size_t dims, std::uint64_t seed, double scale = 1.0)
{
	std::vector<float> v(dims);
	for (std::size_t i = 0; i < dims; ++i)
		v[i] = static_cast<float>(scale * (static_cast<double>(core::Mix64(seed * 1000003 + i) >> 11) * 0x1.0p-52 - 1));
	return v;
}

inline double
Dot(const std::vector<float> &a, const std::vector<float> &b)
{
	double s = 0;
	for (std::size_t i = 0; i < a.size(); ++i)
		s += static_cast<double>(a[i]) * b[i];
	return s;
}

} // namespace agentgres::testing
