// k-means, the IVF index's coarse quantizer: finds separated clusters,
// deterministic by seed, spherical centroids, empty clusters re-seeded,
// nearest-centroid order, hostile input and interrupts.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <stdexcept>
#include <vector>

#include "core/error.hpp"
#include "core/hash.hpp"
#include "core/kmeans.hpp"

namespace agentgres::core::kmeans {
namespace {

// n points around each of the given centers, with noise of +-spread per
// component from the stable hash.
std::vector<float>
Blobs(const std::vector<std::vector<float>> &centers, std::size_t per_center, float spread)
{
	std::vector<float> data;
	std::uint64_t i = 0;
	for (std::size_t p = 0; p < per_center; ++p)
		for (const auto &center : centers)
			for (float c : center) {
				const double u = static_cast<double>(Mix64(++i) >> 11) * 0x1.0p-53;
				data.push_back(c + spread * static_cast<float>(2 * u - 1));
			}
	return data;
}

double
Distance(const float *a, const std::vector<float> &b)
{
	double s = 0;
	for (std::size_t i = 0; i < b.size(); ++i)
		s += (a[i] - b[i]) * (a[i] - b[i]);
	return std::sqrt(s);
}

const std::vector<std::vector<float>> kCenters = {{0, 0, 0}, {10, 0, 0}, {0, 10, 0}, {0, 0, 10}, {10, 10, 10}};

TEST(KMeans, FindsSeparatedClusters)
{
	const std::vector<float> data = Blobs(kCenters, 60, 0.5f);
	const std::vector<float> centroids = Train(data, 3, {.clusters = 5, .iterations = 20});
	ASSERT_EQ(centroids.size(), 15u);
	// Every true center has a centroid within the noise.
	for (const auto &center : kCenters) {
		double best = std::numeric_limits<double>::infinity();
		for (std::size_t c = 0; c < 5; ++c)
			best = std::min(best, Distance(&centroids[c * 3], center));
		EXPECT_LT(best, 0.3) << center[0] << "," << center[1] << "," << center[2];
	}
	// And the points of one blob share a centroid, different from the others'.
	std::vector<std::uint32_t> assignment(data.size() / 3);
	AssignNearest(data, 3, centroids, assignment);
	std::set<std::uint32_t> distinct;
	for (std::size_t blob = 0; blob < kCenters.size(); ++blob) {
		for (std::size_t p = 1; p < 60; ++p)
			EXPECT_EQ(assignment[p * kCenters.size() + blob], assignment[blob]);
		distinct.insert(assignment[blob]);
	}
	EXPECT_EQ(distinct.size(), kCenters.size());
}

TEST(KMeans, DeterministicBySeed)
{
	const std::vector<float> data = Blobs(kCenters, 40, 3.0f);
	EXPECT_EQ(Train(data, 3, {.clusters = 7, .seed = 1}), Train(data, 3, {.clusters = 7, .seed = 1}));
	EXPECT_NE(Train(data, 3, {.clusters = 7, .seed = 1}), Train(data, 3, {.clusters = 7, .seed = 2}));
}

TEST(KMeans, SphericalCentroidsHaveUnitLength)
{
	const std::vector<float> data = Blobs(kCenters, 30, 2.0f);
	const std::vector<float> centroids = Train(data, 3, {.clusters = 4, .spherical = true});
	for (std::size_t c = 0; c < 4; ++c) {
		const double norm = Distance(&centroids[c * 3], {0, 0, 0});
		EXPECT_NEAR(norm, 1.0, 1e-5);
	}
}

TEST(KMeans, EmptyClustersAreReseeded)
{
	// 97 copies of one point and 3 others: with 4 clusters, the initial
	// centroids may repeat the copied point and leave clusters empty.
	std::vector<float> data;
	for (int i = 0; i < 97; ++i)
		data.insert(data.end(), {1, 1});
	data.insert(data.end(), {5, 5, -5, 5, 5, -5});
	for (std::uint64_t seed = 0; seed < 20; ++seed) {
		const std::vector<float> centroids = Train(data, 2, {.clusters = 4, .seed = seed});
		for (float v : centroids)
			ASSERT_TRUE(std::isfinite(v)) << "seed " << seed;
	}
}

TEST(KMeans, NearestInOrderWithTiesToTheLowerIndex)
{
	const std::vector<float> centroids = {0, 0, 2, 0, 1, 0, -1, 0, 5, 5};
	EXPECT_EQ(Nearest(std::vector<float>{0.9f, 0}, centroids, 3), (std::vector<std::uint32_t>{2, 0, 1}));
	// (0.5, 0) is 0.5 from centroids 0 and 2 and 1.5 from 1 and 3
	EXPECT_EQ(Nearest(std::vector<float>{0.5f, 0}, centroids, 4), (std::vector<std::uint32_t>{0, 2, 1, 3}));
	EXPECT_EQ(Nearest(std::vector<float>{0, 0}, centroids, 100).size(), 5u);
	EXPECT_TRUE(Nearest(std::vector<float>{0, 0}, centroids, 0).empty());
}

TEST(KMeans, RefusesBadInput)
{
	const std::vector<float> data = {1, 2, 3, 4, 5, 6};
	const auto code = [](auto &&f) {
		try {
			f();
		} catch (const Error &e) {
			return e.code();
		}
		return ErrorCode::kInternalError;
	};
	EXPECT_EQ(code([&] { Train(data, 0, {.clusters = 1}); }), ErrorCode::kInvalidParameterValue);
	EXPECT_EQ(code([&] { Train(data, 4, {.clusters = 1}); }), ErrorCode::kInvalidParameterValue);
	EXPECT_EQ(code([&] { Train(data, 2, {.clusters = 0}); }), ErrorCode::kInvalidParameterValue);
	EXPECT_EQ(code([&] { Train(data, 2, {.clusters = 4}); }), ErrorCode::kInvalidParameterValue);
	EXPECT_EQ(code([&] { Train(data, 2, {.clusters = 2, .iterations = 0}); }), ErrorCode::kInvalidParameterValue);
	const std::vector<float> nan = {1, 2, std::nanf(""), 4};
	EXPECT_EQ(code([&] { Train(nan, 2, {.clusters = 1}); }), ErrorCode::kDataException);
	const std::vector<float> inf = {1, 2, std::numeric_limits<float>::infinity(), 4};
	EXPECT_EQ(code([&] { Train(inf, 2, {.clusters = 1}); }), ErrorCode::kDataException);
	std::vector<std::uint32_t> out(2);
	EXPECT_EQ(code([&] { AssignNearest(data, 2, {}, out); }), ErrorCode::kInvalidParameterValue);
	EXPECT_EQ(code([&] { AssignNearest(data, 2, data, out); }), ErrorCode::kInvalidParameterValue); // 3 rows, 2 slots
}

TEST(KMeans, InterruptsStopTraining)
{
	const std::vector<float> data = Blobs(kCenters, 1000, 1.0f); // 5,000 rows: several blocks
	int calls = 0;
	EXPECT_THROW(Train(data, 3, {.clusters = 5},
	                   [&] {
		                   if (++calls == 3)
			                   throw std::runtime_error("cancel");
	                   }),
	             std::runtime_error);
	EXPECT_EQ(calls, 3);
}

} // namespace
} // namespace agentgres::core::kmeans
