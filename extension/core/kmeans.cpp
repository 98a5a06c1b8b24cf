#include "kmeans.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "error.hpp"
#include "hash.hpp"

namespace agentgres::core::kmeans {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstRows = Eigen::Map<const RowMatrix>;

// Rows per matrix product: big enough for GEMM to run at full speed, small
// enough that rows x clusters distances stay a few MB.
constexpr Eigen::Index kBlockRows = 1024;

std::size_t
RowsOf(std::span<const float> data, std::size_t dims)
{
	if (dims == 0)
		throw Error(ErrorCode::kInvalidParameterValue, "k-means needs at least one dimension");
	if (data.size() % dims != 0)
		throw Error(ErrorCode::kInvalidParameterValue, "k-means input is not a whole number of rows",
		            std::to_string(data.size()) + " values of " + std::to_string(dims) + " dimensions.");
	return data.size() / dims;
}

// Calls on_row(row, nearest centroid, its squared distance) for every row.
template <typename OnRow>
void
ForEachNearest(const ConstRows &x, const ConstRows &c, const std::function<void()> &check_interrupt, OnRow &&on_row)
{
	const Eigen::VectorXf c_norms = c.rowwise().squaredNorm();
	Eigen::MatrixXf dots;
	for (Eigen::Index start = 0; start < x.rows(); start += kBlockRows) {
		if (check_interrupt)
			check_interrupt();
		const Eigen::Index rows = std::min(kBlockRows, x.rows() - start);
		dots.noalias() = c * x.middleRows(start, rows).transpose(); // clusters x rows
		for (Eigen::Index j = 0; j < rows; ++j) {
			Eigen::Index best = 0;
			float best_distance = c_norms(0) - 2 * dots(0, j);
			for (Eigen::Index i = 1; i < c.rows(); ++i) {
				const float d = c_norms(i) - 2 * dots(i, j);
				if (d < best_distance) {
					best_distance = d;
					best = i;
				}
			}
			on_row(start + j, best, best_distance + x.row(start + j).squaredNorm());
		}
	}
}

} // namespace

std::vector<float>
Train(std::span<const float> data, std::size_t dims, const Options &options,
      const std::function<void()> &check_interrupt)
{
	const std::size_t n = RowsOf(data, dims);
	if (options.clusters == 0 || options.clusters > n)
		throw Error(ErrorCode::kInvalidParameterValue, "k-means needs between 1 and " + std::to_string(n) +
		                                                   " clusters, not " + std::to_string(options.clusters));
	if (options.iterations < 1 || options.iterations > 1000)
		throw Error(ErrorCode::kInvalidParameterValue,
		            "k-means iterations must be between 1 and 1000, not " + std::to_string(options.iterations));
	if (!std::all_of(data.begin(), data.end(), [](float v) { return std::isfinite(v); }))
		throw Error(ErrorCode::kDataException, "k-means input contains a non-finite value");

	const ConstRows x(data.data(), static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(dims));
	const auto k = static_cast<Eigen::Index>(options.clusters);

	// Initial centroids: distinct rows in a seeded order (a partial
	// Fisher-Yates shuffle driven by the stable hash, not std::shuffle, whose
	// output differs between standard libraries).
	std::vector<std::size_t> order(n);
	std::iota(order.begin(), order.end(), std::size_t{0});
	for (std::size_t i = 0; i < options.clusters; ++i) {
		const std::size_t j = i + Mix64(options.seed ^ Mix64(i)) % (n - i);
		std::swap(order[i], order[j]);
	}
	RowMatrix c(k, static_cast<Eigen::Index>(dims));
	for (Eigen::Index i = 0; i < k; ++i)
		c.row(i) = x.row(static_cast<Eigen::Index>(order[static_cast<std::size_t>(i)]));
	if (options.spherical)
		c.rowwise().normalize();

	std::vector<std::uint32_t> assignment(n);
	RowMatrix sums(k, static_cast<Eigen::Index>(dims));
	std::vector<std::size_t> counts(options.clusters);
	for (int iteration = 0; iteration < options.iterations; ++iteration) {
		sums.setZero();
		std::fill(counts.begin(), counts.end(), 0);
		const ConstRows centroids(c.data(), c.rows(), c.cols());
		ForEachNearest(x, centroids, check_interrupt, [&](Eigen::Index row, Eigen::Index best, float) {
			assignment[static_cast<std::size_t>(row)] = static_cast<std::uint32_t>(best);
			sums.row(best) += x.row(row);
			++counts[static_cast<std::size_t>(best)];
		});
		const std::size_t largest = static_cast<std::size_t>(
		    std::max_element(counts.begin(), counts.end()) - counts.begin());
		std::size_t reseeded = 0;
		for (Eigen::Index i = 0; i < k; ++i) {
			const std::size_t count = counts[static_cast<std::size_t>(i)];
			if (count > 0) {
				c.row(i) = sums.row(i) / static_cast<float>(count);
				continue;
			}
			// An empty cluster takes a row of the largest one (the reseeded-th
			// such row), which then splits between the two.
			std::size_t seen = 0;
			for (std::size_t row = 0; row < n; ++row)
				if (assignment[row] == largest && seen++ == reseeded) {
					c.row(i) = x.row(static_cast<Eigen::Index>(row));
					break;
				}
			++reseeded;
		}
		if (options.spherical)
			for (Eigen::Index i = 0; i < k; ++i)
				if (c.row(i).squaredNorm() > 0)
					c.row(i).normalize();
	}
	return {c.data(), c.data() + c.size()};
}

void
AssignNearest(std::span<const float> data, std::size_t dims, std::span<const float> centroids,
              std::span<std::uint32_t> out, const std::function<void()> &check_interrupt)
{
	const std::size_t n = RowsOf(data, dims);
	const std::size_t k = RowsOf(centroids, dims);
	if (out.size() != n)
		throw Error(ErrorCode::kInvalidParameterValue, "k-means assignment needs one slot per row");
	if (k == 0)
		throw Error(ErrorCode::kInvalidParameterValue, "k-means assignment needs at least one centroid");
	const ConstRows x(data.data(), static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(dims));
	const ConstRows c(centroids.data(), static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(dims));
	ForEachNearest(x, c, check_interrupt, [&](Eigen::Index row, Eigen::Index best, float) {
		out[static_cast<std::size_t>(row)] = static_cast<std::uint32_t>(best);
	});
}

std::vector<std::uint32_t>
Nearest(std::span<const float> vector, std::span<const float> centroids, std::size_t count)
{
	const std::size_t dims = vector.size();
	const std::size_t k = RowsOf(centroids, dims);
	const ConstRows c(centroids.data(), static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(dims));
	const Eigen::Map<const Eigen::VectorXf> q(vector.data(), static_cast<Eigen::Index>(dims));
	// ||c||^2 - 2 <c, q>: the ranking of ||c - q||^2 without a k x dims temporary.
	const Eigen::VectorXf distances = c.rowwise().squaredNorm() - 2 * (c * q);
	std::vector<std::uint32_t> order(k);
	std::iota(order.begin(), order.end(), 0u);
	const std::size_t keep = std::min(count, k);
	const auto closer = [&](std::uint32_t a, std::uint32_t b) {
		return distances(a) < distances(b) || (distances(a) == distances(b) && a < b);
	};
	std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(keep), order.end(), closer);
	order.resize(keep);
	return order;
}

} // namespace agentgres::core::kmeans
