// k-means clustering, the coarse quantizer of an inverted-file (IVF) vector
// index: the centroids split the space into lists, and a query visits the
// lists of its nearest centroids.
//
// Lloyd's algorithm from a seeded sample of the rows, with the distances of a
// block of rows to all centroids computed as one matrix product (Eigen):
// ||x - c||^2 = ||x||^2 - 2 <x, c> + ||c||^2. Spherical k-means (for cosine)
// keeps the centroids at unit length. Deterministic: the same input and seed
// give the same centroids on every platform with the same floating point.
#include "cpp_only.hpp" // outside the guard: checked at every inclusion
#ifndef AGENTGRES_CORE_KMEANS_HPP
#define AGENTGRES_CORE_KMEANS_HPP

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace agentgres::core::kmeans {

struct Options {
	std::size_t clusters = 0;
	int iterations = 10;
	bool spherical = false; // unit-length centroids: for vectors compared by cosine
	std::uint64_t seed = 42;
};

// Centroids of the rows of data (rows x dims, row-major): clusters x dims,
// row-major. A cluster that empties is re-seeded with a row of the largest
// one. Throws Error (22023) when dims is 0, data is not a whole number of
// rows, clusters is 0 or more than the rows, or iterations is not 1..1000,
// and (22000) for a non-finite value. check_interrupt (may be empty) is
// called between blocks of rows.
std::vector<float> Train(std::span<const float> data, std::size_t dims, const Options &options,
                         const std::function<void()> &check_interrupt = {});

// For each row of data, the index of its nearest centroid by L2 distance
// (ties to the lower index). out.size() must be the number of rows.
void AssignNearest(std::span<const float> data, std::size_t dims, std::span<const float> centroids,
                   std::span<std::uint32_t> out, const std::function<void()> &check_interrupt = {});

// The count centroids nearest to one vector by L2 distance, nearest first
// (ties to the lower index); all of them when count exceeds their number.
std::vector<std::uint32_t> Nearest(std::span<const float> vector, std::span<const float> centroids, std::size_t count);

} // namespace agentgres::core::kmeans

#endif // AGENTGRES_CORE_KMEANS_HPP
