// Distance kernel throughput, per instruction set and dimension, against the
// streaming read bandwidth of the same buffer measured in the same run.
//
// Each benchmark scores one query against every vector of a 256 MB matrix
// (larger than the caches), as a top-k scan does, and reports bytes/s of
// vectors read. BM_StreamingRead sums the same buffer with no arithmetic to
// speak of: the memory-bandwidth ceiling. The summary at the end prints each
// kernel's throughput as a fraction of that ceiling (medians of repetitions).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/distance.hpp"
#include "core/embedder.hpp"

namespace dist = agentgres::core::distance;

namespace {

constexpr std::size_t kBufferBytes = 256u << 20;

const std::vector<float> &
Buffer()
{
	static const std::vector<float> buffer = [] {
		std::vector<float> b(kBufferBytes / sizeof(float));
		std::mt19937 rng(1);
		std::normal_distribution<float> normal;
		for (float &x : b)
			x = normal(rng);
		return b;
	}();
	return buffer;
}

void
BM_StreamingRead(benchmark::State &state)
{
	const auto &b = Buffer();
	for (auto _ : state) {
		float a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
		for (std::size_t i = 0; i < b.size(); i += 8) {
			a0 += b[i];
			a1 += b[i + 1];
			a2 += b[i + 2];
			a3 += b[i + 3];
			a4 += b[i + 4];
			a5 += b[i + 5];
			a6 += b[i + 6];
			a7 += b[i + 7];
		}
		benchmark::DoNotOptimize(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7);
	}
	state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kBufferBytes));
}

// kCosineChecked is the cosine that <=> and top_k compute: the float kernels
// plus the overflow/underflow check (kCosine is the unchecked computation,
// for the cost of the check).
constexpr auto kCosineChecked = static_cast<dist::Metric>(100);

template <dist::Metric metric>
void
BM_Scan(benchmark::State &state, dist::Isa isa)
{
	const dist::Kernels *kernels = dist::ForIsa(isa);
	if (kernels == nullptr) {
		state.SkipWithError("not supported by this CPU");
		return;
	}
	const auto dims = static_cast<std::size_t>(state.range(0));
	const auto &b = Buffer();
	const std::size_t rows = b.size() / dims;
	std::vector<float> query(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(dims));
	float query_norm = kernels->dot(query.data(), query.data(), dims);
	for (auto _ : state) {
		double best = 1e300;
		for (std::size_t r = 0; r < rows; ++r) {
			const float *x = b.data() + r * dims;
			double d;
			if constexpr (metric == dist::Metric::kL2) {
				d = kernels->l2_squared(query.data(), x, dims);
			} else if constexpr (metric == dist::Metric::kInnerProduct) {
				d = -kernels->dot(query.data(), x, dims);
			} else if constexpr (metric == kCosineChecked) {
				d = dist::QueryScorer::CosineDistanceOf(*kernels, query.data(), query_norm, x, dims);
			} else {
				float x_norm = 0;
				const float dot = kernels->dot_and_norm(query.data(), x, dims, &x_norm);
				d = dist::QueryScorer::CosineDistanceFrom(dot, query_norm, x_norm);
			}
			best = std::min(best, d);
		}
		benchmark::DoNotOptimize(best);
	}
	state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * rows * dims * sizeof(float)));
	state.SetLabel(kernels->name);
}

// The built-in embedder on one 1000-character chunk (the chunker's default
// size) of prose; items/s is chunks/s.
void
BM_EmbedBuiltin(benchmark::State &state)
{
	const std::string paragraph =
	    "Recent studies have suggested that statins, an established drug group in the prevention of "
	    "cardiovascular mortality, could delay or prevent breast cancer recurrence but the effect on "
	    "disease-specific mortality remains unclear. We evaluated risk of breast cancer death among statin "
	    "users in a population-based cohort of breast cancer patients. ";
	std::string chunk;
	while (chunk.size() < 1000)
		chunk += paragraph;
	chunk.resize(1000);
	std::vector<float> out(agentgres::core::embedder::kBuiltinDimensions);
	for (auto _ : state) {
		agentgres::core::embedder::EmbedBuiltin(chunk, out);
		benchmark::DoNotOptimize(out.data());
	}
	state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void
Register()
{
	benchmark::RegisterBenchmark("EmbedBuiltin/1000chars", BM_EmbedBuiltin)->Unit(benchmark::kMicrosecond);
	benchmark::RegisterBenchmark("StreamingRead", BM_StreamingRead)->Unit(benchmark::kMillisecond);
	const std::pair<dist::Isa, const char *> isas[] = {
	    {dist::Isa::kPortable, "portable"}, {dist::Isa::kAvx2, "avx2"}, {dist::Isa::kAvx512, "avx512"}};
	for (const auto &[isa, name] : isas) {
		if (dist::ForIsa(isa) == nullptr)
			continue;
		for (int dims : {128, 384, 768, 1536}) {
			const std::string suffix = std::string("/") + name + "/" + std::to_string(dims);
			benchmark::RegisterBenchmark(("Cosine" + suffix).c_str(),
			                             [isa](benchmark::State &s) { BM_Scan<dist::Metric::kCosine>(s, isa); })
			    ->Arg(dims)
			    ->Unit(benchmark::kMillisecond);
			benchmark::RegisterBenchmark(("CosineChecked" + suffix).c_str(),
			                             [isa](benchmark::State &s) { BM_Scan<kCosineChecked>(s, isa); })
			    ->Arg(dims)
			    ->Unit(benchmark::kMillisecond);
			benchmark::RegisterBenchmark(("L2" + suffix).c_str(),
			                             [isa](benchmark::State &s) { BM_Scan<dist::Metric::kL2>(s, isa); })
			    ->Arg(dims)
			    ->Unit(benchmark::kMillisecond);
			benchmark::RegisterBenchmark(("InnerProduct" + suffix).c_str(),
			                             [isa](benchmark::State &s) { BM_Scan<dist::Metric::kInnerProduct>(s, isa); })
			    ->Arg(dims)
			    ->Unit(benchmark::kMillisecond);
		}
	}
}

// Collects bytes/s per run and prints each kernel against StreamingRead.
class RatioReporter : public benchmark::ConsoleReporter {
public:
	void
	ReportRuns(const std::vector<Run> &runs) override
	{
		ConsoleReporter::ReportRuns(runs);
		for (const Run &run : runs) {
			if (run.error_occurred)
				continue;
			const auto it = run.counters.find("bytes_per_second");
			if (it == run.counters.end())
				continue;
			if (run.run_type == Run::RT_Iteration)
				rates_[run.run_name.str()].push_back(it->second.value);
			else if (run.aggregate_name == "median")
				medians_[run.run_name.str()] = it->second.value;
		}
	}
	void
	Finalize() override
	{
		ConsoleReporter::Finalize();
		for (const auto &[name, median] : medians_)
			rates_[name] = {median};
		const double stream = Median(rates_["StreamingRead"]);
		if (stream <= 0)
			return;
		std::printf("\nmedian GB/s of vectors scanned, and as a fraction of the streaming read (%.1f GB/s):\n",
		            stream / 1e9);
		for (auto &[name, rates] : rates_) {
			if (name == "StreamingRead")
				continue;
			const double m = Median(rates);
			std::printf("  %-32s %7.1f GB/s  %5.2f\n", name.c_str(), m / 1e9, m / stream);
		}
	}

private:
	static double
	Median(std::vector<double> v)
	{
		if (v.empty())
			return 0;
		std::sort(v.begin(), v.end());
		return v[v.size() / 2];
	}
	std::map<std::string, std::vector<double>> rates_;
	std::map<std::string, double> medians_;
};

} // namespace

int
main(int argc, char **argv)
{
	benchmark::Initialize(&argc, argv);
	Register();
	RatioReporter reporter;
	benchmark::RunSpecifiedBenchmarks(&reporter);
	benchmark::Shutdown();
	return 0;
}
