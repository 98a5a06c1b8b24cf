// The kernels of the coming ANN index, measured in memory before any page
// layout: an inverted file (k-means lists, core/kmeans.hpp) of RaBitQ codes
// (core/rabitq.hpp) with error-bound re-ranking on the full vectors, against
// an exact scan of the same vectors, in one run on the same data.
//
// A query visits the nprobe lists of its nearest centroids, estimates every
// code's distance with its error bound, then computes exact distances in
// order of the lower bounds until the lower bound of the next candidate is
// no better than the k-th exact distance found. It prints, per nprobe,
// recall@10 against the exact answer, the vectors re-ranked per query and
// single-thread queries per second, and the exact scan's queries per second.
//
//   agentgres_bench_ann_kernels sift DIR          SIFT10K .fvecs (L2), recall against the exact scan
//   agentgres_bench_ann_kernels clustered [--rows N] [--dims D] [--centres C] [--noise X]
//                                                 unit vectors around C random centres (cosine)
//   common: [--lists L] [--queries Q] [--nprobe a,b,c]
//
// The clustered set is the one the ANN issue describes (1000 centres, noise
// 0.03, 384 dimensions), generated from the stable hash: deterministic.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <queue>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/distance.hpp"
#include "core/hash.hpp"
#include "core/kmeans.hpp"
#include "core/rabitq.hpp"
#include "core/topk.hpp"

namespace {

using Clock = std::chrono::steady_clock;
namespace kmeans = agentgres::core::kmeans;
namespace rabitq = agentgres::core::rabitq;
using agentgres::core::Neighbor;
using agentgres::core::TopK;

struct Dataset {
	std::size_t dims = 0;
	std::vector<float> base, queries; // row-major
	std::size_t
	rows() const
	{
		return base.size() / dims;
	}
	std::size_t
	query_count() const
	{
		return queries.size() / dims;
	}
	const float *
	row(std::size_t i) const
	{
		return base.data() + i * dims;
	}
	const float *
	query(std::size_t i) const
	{
		return queries.data() + i * dims;
	}
};

std::vector<float>
ReadFvecs(const std::string &path, std::size_t &dims)
{
	std::ifstream in(path, std::ios::binary);
	if (!in)
		throw std::runtime_error("cannot read " + path);
	std::vector<float> values;
	std::int32_t d = 0;
	while (in.read(reinterpret_cast<char *>(&d), 4)) {
		dims = static_cast<std::size_t>(d);
		const std::size_t start = values.size();
		values.resize(start + dims);
		in.read(reinterpret_cast<char *>(values.data() + start), static_cast<std::streamsize>(dims * 4));
	}
	return values;
}

double
Uniform(std::uint64_t i)
{
	return static_cast<double>(agentgres::core::Mix64(i) >> 11) * 0x1.0p-53;
}

void
Normalize(float *v, std::size_t dims)
{
	double s = 0;
	for (std::size_t i = 0; i < dims; ++i)
		s += static_cast<double>(v[i]) * v[i];
	const auto scale = static_cast<float>(1 / std::sqrt(s));
	for (std::size_t i = 0; i < dims; ++i)
		v[i] *= scale;
}

// Unit vectors: a random centre plus uniform noise of +-noise per component.
Dataset
Clustered(std::size_t rows, std::size_t queries, std::size_t dims, std::size_t centres, double noise)
{
	Dataset d;
	d.dims = dims;
	std::vector<float> centre_values(centres * dims);
	for (std::size_t i = 0; i < centre_values.size(); ++i)
		centre_values[i] = static_cast<float>(2 * Uniform(i) - 1);
	for (std::size_t c = 0; c < centres; ++c)
		Normalize(&centre_values[c * dims], dims);
	std::uint64_t draw = 1ull << 40;
	const auto make = [&](std::vector<float> &out, std::size_t n) {
		out.resize(n * dims);
		for (std::size_t r = 0; r < n; ++r) {
			const std::size_t c = static_cast<std::size_t>(Uniform(draw++) * static_cast<double>(centres));
			for (std::size_t i = 0; i < dims; ++i)
				out[r * dims + i] = centre_values[c * dims + i] + static_cast<float>(noise * (2 * Uniform(draw++) - 1));
			Normalize(&out[r * dims], dims);
		}
	};
	make(d.base, rows);
	make(d.queries, queries);
	return d;
}

namespace dist = agentgres::core::distance;

struct Index {
	std::size_t dims = 0, lists = 0;
	std::vector<float> centroids, rotated_centroids, rotation;
	std::vector<std::vector<std::int64_t>> ids;
	std::vector<std::vector<std::uint64_t>> codes;
	std::vector<std::vector<rabitq::CodeFactors>> factors;

	std::size_t
	Bytes() const
	{
		std::size_t bytes = (centroids.size() + rotated_centroids.size() + rotation.size()) * sizeof(float);
		for (std::size_t l = 0; l < lists; ++l)
			bytes += ids[l].size() * 6 /* a heap TID */ + codes[l].size() * 8 +
			         factors[l].size() * sizeof(rabitq::CodeFactors);
		return bytes;
	}
};

Index
Build(const Dataset &d, std::size_t lists)
{
	Index index;
	index.dims = d.dims;
	index.lists = lists;
	// Train on a sample of up to 256 rows a list, as IVF indexes usually do.
	const std::size_t sample_rows = std::min(d.rows(), lists * 256);
	std::vector<float> sample(sample_rows * d.dims);
	for (std::size_t i = 0; i < sample_rows; ++i) {
		const std::size_t row = i * d.rows() / sample_rows;
		std::copy_n(d.row(row), d.dims, &sample[i * d.dims]);
	}
	index.centroids = kmeans::Train(sample, d.dims, {.clusters = lists, .iterations = 10});
	std::vector<std::uint32_t> assignment(d.rows());
	kmeans::AssignNearest(d.base, d.dims, index.centroids, assignment);
	index.rotation = rabitq::RandomRotation(d.dims, 42);
	index.rotated_centroids.resize(index.centroids.size());
	for (std::size_t l = 0; l < lists; ++l)
		rabitq::Rotate(index.rotation, std::span(&index.centroids[l * d.dims], d.dims),
		               std::span(&index.rotated_centroids[l * d.dims], d.dims));
	index.ids.resize(lists);
	index.codes.resize(lists);
	index.factors.resize(lists);
	const std::size_t words = rabitq::CodeWords(d.dims);
	std::vector<float> residual(d.dims), rotated(d.dims);
	std::vector<std::uint64_t> code(words);
	for (std::size_t row = 0; row < d.rows(); ++row) {
		const std::size_t l = assignment[row];
		const float *c = &index.centroids[l * d.dims];
		float residual_center = 0;
		for (std::size_t i = 0; i < d.dims; ++i) {
			residual[i] = d.row(row)[i] - c[i];
			residual_center += residual[i] * c[i];
		}
		rabitq::Rotate(index.rotation, residual, rotated);
		index.factors[l].push_back(rabitq::Encode(rotated, residual_center, code));
		index.codes[l].insert(index.codes[l].end(), code.begin(), code.end());
		index.ids[l].push_back(static_cast<std::int64_t>(row));
	}
	return index;
}

struct SearchStats {
	std::size_t reranked = 0;
};

std::vector<Neighbor>
Search(const Index &index, const Dataset &d, const float *query, std::size_t k, std::size_t nprobe, SearchStats &stats)
{
	const std::size_t dims = index.dims, words = rabitq::CodeWords(dims);
	const std::vector<std::uint32_t> probes = kmeans::Nearest(std::span(query, dims), index.centroids, nprobe);
	std::vector<float> rotated_query(dims), residual(dims);
	rabitq::Rotate(index.rotation, std::span(query, dims), rotated_query);
	struct Candidate {
		float lower;
		std::int64_t id;
	};
	std::vector<Candidate> candidates;
	rabitq::PreparedQuery prepared;
	for (std::uint32_t l : probes) {
		// R (q - c) = R q - R c: the query is rotated once, not once a list.
		for (std::size_t i = 0; i < dims; ++i)
			residual[i] = rotated_query[i] - index.rotated_centroids[l * dims + i];
		rabitq::Prepare(residual, prepared);
		const std::vector<rabitq::CodeFactors> &factors = index.factors[l];
		for (std::size_t j = 0; j < factors.size(); ++j) {
			const rabitq::Estimate e = rabitq::EstimateDot(&index.codes[l][j * words], factors[j], prepared);
			const float rx = factors[j].residual_norm, rq = prepared.residual_norm;
			const float estimate = rx * rx + rq * rq - 2 * rx * rq * e.dot;
			candidates.push_back({estimate - 2 * rx * rq * e.bound, index.ids[l][j]});
		}
	}
	// A min-heap by lower bound: the loop below usually stops after a few
	// dozen candidates, so sorting all of them would be wasted.
	const auto later = [](const Candidate &a, const Candidate &b) { return a.lower > b.lower; };
	std::make_heap(candidates.begin(), candidates.end(), later);
	// Exact L2 distances (the SIMD kernels) in order of the lower bounds of
	// their squares, until no candidate left can beat the k-th.
	const dist::QueryScorer scorer(std::span(query, dims), dist::Metric::kL2);
	TopK best(k);
	for (auto end = candidates.end(); end != candidates.begin(); --end) {
		std::pop_heap(candidates.begin(), end, later);
		const Candidate &c = *(end - 1);
		if (best.size() == k && c.lower >= best.worst().distance * best.worst().distance)
			break;
		++stats.reranked;
		best.Offer(c.id, scorer.Distance(d.row(static_cast<std::size_t>(c.id))));
	}
	return best.TakeSorted();
}

std::vector<Neighbor>
Exact(const Dataset &d, const float *query, std::size_t k)
{
	const dist::QueryScorer scorer(std::span(query, d.dims), dist::Metric::kL2);
	TopK best(k);
	for (std::size_t row = 0; row < d.rows(); ++row)
		best.Offer(static_cast<std::int64_t>(row), scorer.Distance(d.row(row)));
	return best.TakeSorted();
}

double
Seconds(Clock::time_point since)
{
	return std::chrono::duration<double>(Clock::now() - since).count();
}

std::vector<std::size_t>
ParseList(const std::string &text)
{
	std::vector<std::size_t> values;
	std::size_t start = 0;
	while (start <= text.size()) {
		const std::size_t comma = std::min(text.find(',', start), text.size());
		values.push_back(std::stoul(text.substr(start, comma - start)));
		start = comma + 1;
	}
	return values;
}

} // namespace

int
main(int argc, char **argv)
{
	if (argc < 2) {
		std::fprintf(stderr,
		             "usage: %s sift DIR | clustered [--rows N] [--dims D] [--centres C] [--noise X]\n"
		             "       [--lists L] [--queries Q] [--nprobe a,b,c]\n",
		             argv[0]);
		return 2;
	}
	const std::string kind = argv[1];
	std::string sift_dir;
	std::size_t rows = 100000, dims = 384, centres = 1000, lists = 0, queries = 100;
	double noise = 0.03;
	std::vector<std::size_t> nprobes = {1, 2, 4, 8, 16, 32, 64};
	for (int i = 2; i < argc; ++i) {
		const std::string a = argv[i];
		const auto next = [&]() -> std::string {
			if (i + 1 >= argc)
				throw std::runtime_error("missing value for " + a);
			return argv[++i];
		};
		if (a == "--rows")
			rows = std::stoul(next());
		else if (a == "--dims")
			dims = std::stoul(next());
		else if (a == "--centres")
			centres = std::stoul(next());
		else if (a == "--noise")
			noise = std::stod(next());
		else if (a == "--lists")
			lists = std::stoul(next());
		else if (a == "--queries")
			queries = std::stoul(next());
		else if (a == "--nprobe")
			nprobes = ParseList(next());
		else if (kind == "sift" && sift_dir.empty())
			sift_dir = a;
		else
			throw std::runtime_error("unrecognized argument " + a);
	}

	Dataset d;
	if (kind == "sift") {
		d.base = ReadFvecs(sift_dir + "/siftsmall_base.fvecs", d.dims);
		d.queries = ReadFvecs(sift_dir + "/siftsmall_query.fvecs", d.dims);
	} else if (kind == "clustered") {
		d = Clustered(rows, queries, dims, centres, noise);
	} else {
		throw std::runtime_error("unknown data set " + kind);
	}
	if (lists == 0)
		lists = static_cast<std::size_t>(std::sqrt(static_cast<double>(d.rows())));
	std::printf("%s: %zu x %zu, %zu queries, %zu lists\n", kind.c_str(), d.rows(), d.dims, d.query_count(), lists);

	auto t = Clock::now();
	const Index index = Build(d, lists);
	const double build_seconds = Seconds(t);
	std::printf("build (one thread): %.2f s; codes, factors, ids and centroids: %.1f MB (the vectors: %.1f MB)\n",
	            build_seconds, static_cast<double>(index.Bytes()) / 1e6,
	            static_cast<double>(d.base.size() * sizeof(float)) / 1e6);

	const std::size_t k = 10;
	std::vector<std::vector<Neighbor>> truth(d.query_count());
	t = Clock::now();
	for (std::size_t q = 0; q < d.query_count(); ++q)
		truth[q] = Exact(d, d.query(q), k);
	const double exact_qps = static_cast<double>(d.query_count()) / Seconds(t);
	std::printf("exact scan: %.1f queries/s\n\n", exact_qps);
	std::printf("%7s %10s %12s %12s %10s\n", "nprobe", "recall@10", "reranked/q", "queries/s", "x exact");
	for (std::size_t nprobe : nprobes) {
		SearchStats stats;
		std::size_t hits = 0;
		t = Clock::now();
		std::vector<std::vector<Neighbor>> answers(d.query_count());
		for (std::size_t q = 0; q < d.query_count(); ++q)
			answers[q] = Search(index, d, d.query(q), k, nprobe, stats);
		const double qps = static_cast<double>(d.query_count()) / Seconds(t);
		for (std::size_t q = 0; q < d.query_count(); ++q) {
			// Tie-aware: an answer at the k-th exact distance counts.
			const double kth = truth[q].back().distance;
			for (const Neighbor &n : answers[q])
				hits += n.distance <= kth;
		}
		std::printf("%7zu %10.4f %12.1f %12.1f %10.1f\n", nprobe,
		            static_cast<double>(hits) / static_cast<double>(k * d.query_count()),
		            static_cast<double>(stats.reranked) / static_cast<double>(d.query_count()), qps, qps / exact_qps);
	}
	return 0;
}
