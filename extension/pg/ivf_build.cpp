// agentgres_ivf: build, insert and VACUUM (ivf.hpp has the design and the
// page layout).
//
// The build reads the table twice and never holds it in memory: a reservoir
// sample (bounded by maintenance_work_mem) trains the centroids, then every
// row is encoded and appended to its list, one page image per list in
// memory, each page written once, with its successor already known.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/hash.hpp"
#include "core/kmeans.hpp"
#include "core/rabitq.hpp"
#include "ivf.hpp"
#include "ivf_pages.hpp"
#include "boundary.hpp"
#include "embedding.hpp"

extern "C" {
#include "access/tableam.h"
#include "catalog/index.h"
#include "commands/vacuum.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "miscadmin.h"
}

namespace core = agentgres::core;
namespace rabitq = agentgres::core::rabitq;

namespace agentgres::pg::ivf {
namespace {

// Rows of the sample per list (a usual choice for IVF training) and the most
// the sample ever holds.
constexpr std::size_t kSampleRowsPerList = 256;
constexpr std::size_t kMaxSampleRows = 1000000;
constexpr int kKMeansIterations = 10;
constexpr std::uint64_t kRotationSeed = 0x61676e7473;

// The number of lists for rows vectors when the index does not say: a
// thousandth of the rows up to a million, then the square root (the usual
// IVF rule), at least one.
uint32
DefaultLists(double rows)
{
	const double lists = rows <= 1e6 ? rows / 1000 : std::sqrt(rows);
	return static_cast<uint32>(std::clamp(lists, 1.0, 65536.0));
}

// The vector of one index datum, detoasted and checked (PostgreSQL only: it
// may raise an error, so no C++ object may be alive around it).
std::span<const float>
DatumVector(Datum value, uint32 expected_dims)
{
	auto *e = reinterpret_cast<const EmbeddingHeader *>(PG_DETOAST_DATUM(value));
	CheckEmbeddingSize(e);
	const std::span<const float> v = EmbeddingSpan(e);
	if (expected_dims != 0 && v.size() != expected_dims)
		ereport(ERROR, errcode(ERRCODE_DATA_EXCEPTION),
		        errmsg("different embedding dimensions %u and %zu", expected_dims, v.size()),
		        errhint("Every vector in an agentgres_ivf index has the same number of dimensions."));
	if (v.size() > static_cast<std::size_t>(kMaxDimensions))
		ereport(ERROR, errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
		        errmsg("agentgres_ivf indexes at most %d dimensions, not %zu", kMaxDimensions, v.size()));
	return v;
}

// The vector as the index stores it: unit length for cosine. False for a
// vector the index leaves out: a zero vector under cosine has no direction
// (and no cosine distance to rank by).
bool
IndexedVector(std::span<const float> v, Metric metric, std::vector<float> &out)
{
	out.assign(v.begin(), v.end());
	if (metric != Metric::kCosine)
		return true;
	double norm = 0;
	for (float x : out)
		norm += static_cast<double>(x) * x;
	if (norm == 0)
		return false;
	const auto scale = static_cast<float>(1 / std::sqrt(norm));
	for (float &x : out)
		x *= scale;
	return true;
}

// State of the first pass: the row count and a reservoir sample.
struct SampleState {
	Metric metric;
	MemoryContext scratch; // detoasted values, reset after every row
	Size memory_limit;
	uint32 dims = 0;
	std::size_t capacity_rows = 0; // set from memory_limit at the first vector
	double rows = 0;
	std::vector<float> sample; // row-major
	std::size_t sampled = 0;
	std::vector<float> vector;
	std::span<const float> current;
};

void
AddToSample(void *arg)
{
	auto *s = static_cast<SampleState *>(arg);
	if (!IndexedVector(s->current, s->metric, s->vector))
		return;
	if (s->dims == 0) {
		s->dims = static_cast<uint32>(s->vector.size());
		s->capacity_rows = std::clamp<std::size_t>(s->memory_limit / (sizeof(float) * s->dims), 1, kMaxSampleRows);
	}
	s->rows += 1;
	// Algorithm R with the stable hash: the same sample for the same table.
	std::size_t slot = s->sampled;
	if (s->sampled >= s->capacity_rows) {
		slot = core::Mix64(static_cast<std::uint64_t>(s->rows)) % static_cast<std::uint64_t>(s->rows);
		if (slot >= s->capacity_rows)
			return;
	} else {
		++s->sampled;
		s->sample.resize(s->sampled * s->dims);
	}
	std::copy(s->vector.begin(), s->vector.end(), s->sample.begin() + static_cast<std::ptrdiff_t>(slot * s->dims));
}

void
SampleCallback(Relation index, ItemPointer tid, Datum *values, bool *isnull, bool alive, void *arg)
{
	if (isnull[0])
		return;
	auto *state = static_cast<SampleState *>(arg);
	const MemoryContext caller = MemoryContextSwitchTo(state->scratch);
	state->current = DatumVector(values[0], state->dims);
	InvokeCppTask(AddToSample, state);
	MemoryContextSwitchTo(caller);
	MemoryContextReset(state->scratch);
}

// The second pass: every row encoded into its list's page image.
struct FillState {
	IvfMeta meta;
	Relation index;
	const IndexCache *cache;
	std::vector<PendingList> *pending;
	MemoryContext scratch;
	std::vector<float> batch; // rows waiting for their nearest centroid, row-major
	std::vector<ItemPointerData> batch_tids;
	std::vector<float> vector;
	std::span<const float> current;
	ItemPointerData current_tid;
	double indexed = 0;
};

constexpr std::size_t kAssignBatch = 1024;

// Assigns and encodes the batch, appending to the lists' pages.
void
FlushBatch(FillState &s)
{
	if (s.batch_tids.empty())
		return;
	const uint32 dims = s.meta.dims;
	std::vector<std::uint32_t> lists(s.batch_tids.size());
	core::kmeans::AssignNearest(s.batch, dims, s.cache->centroids, lists, [] {
		PgCall([] { CHECK_FOR_INTERRUPTS(); });
	});
	std::vector<char> entry;
	for (std::size_t i = 0; i < lists.size(); ++i) {
		EncodeEntry(*s.cache, lists[i], std::span(&s.batch[i * dims], dims), s.batch_tids[i], entry);
		PgCall([&] { AppendToList(s.index, (*s.pending)[lists[i]], entry); });
		s.indexed += 1;
	}
	s.batch.clear();
	s.batch_tids.clear();
}

void
AddToBatch(void *arg)
{
	auto *s = static_cast<FillState *>(arg);
	if (!IndexedVector(s->current, static_cast<Metric>(s->meta.metric), s->vector))
		return;
	s->batch.insert(s->batch.end(), s->vector.begin(), s->vector.end());
	s->batch_tids.push_back(s->current_tid);
	if (s->batch_tids.size() >= kAssignBatch)
		FlushBatch(*s);
}

void
FillCallback(Relation index, ItemPointer tid, Datum *values, bool *isnull, bool alive, void *arg)
{
	if (isnull[0])
		return;
	auto *state = static_cast<FillState *>(arg);
	const MemoryContext caller = MemoryContextSwitchTo(state->scratch);
	state->current = DatumVector(values[0], state->meta.dims);
	state->current_tid = *tid;
	InvokeCppTask(AddToBatch, state);
	MemoryContextSwitchTo(caller);
	MemoryContextReset(state->scratch);
}

} // namespace

IndexBuildResult *
Build(Relation heap, Relation index, IndexInfo *info)
{
	// fetch (PostgreSQL)
	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));
	const Metric metric = MetricOf(index);
	const auto *options = reinterpret_cast<const IvfOptions *>(index->rd_options);
	const int requested_lists = options != nullptr ? options->lists : 0;
	auto *result = static_cast<IndexBuildResult *>(palloc0(sizeof(IndexBuildResult)));
	const MemoryContext scratch =
	    AllocSetContextCreate(CurrentMemoryContext, "agentgres_ivf build", ALLOCSET_DEFAULT_SIZES);

	// Pass 1: count the rows and sample them.
	SampleState sample{metric, scratch, static_cast<Size>(maintenance_work_mem) * 1024};
	PgCall([&] { table_index_build_scan(heap, index, info, true, true, SampleCallback, &sample, nullptr); });
	result->heap_tuples = sample.rows;
	if (sample.sampled == 0) {
		// Nothing to train on: an index that its first insert sets up.
		PgCall([&] { WriteEmptyMeta(index, metric, MAIN_FORKNUM); });
		return result;
	}

	// compute (C++): the centroids
	uint32 lists = requested_lists > 0 ? static_cast<uint32>(requested_lists) : DefaultLists(sample.rows);
	lists = std::min<uint32>(lists, static_cast<uint32>(sample.sampled));
	// The second pass keeps one page image a list in memory.
	const auto max_lists = static_cast<uint32>(
	    std::max<Size>(1, static_cast<Size>(maintenance_work_mem) * 1024 / BLCKSZ));
	if (lists > max_lists) {
		PgCall([&] {
			ereport(NOTICE, errmsg("agentgres_ivf builds %u lists, not %u", max_lists, lists),
			        errdetail("The build keeps a page of each list in memory, within maintenance_work_mem (%d kB).",
			                  maintenance_work_mem),
			        errhint("Raise maintenance_work_mem for more lists."));
		});
		lists = max_lists;
	}
	if (sample.sampled < sample.rows && sample.sampled < static_cast<std::size_t>(lists) * kSampleRowsPerList)
		PgCall([&] {
			ereport(NOTICE,
			        errmsg("agentgres_ivf trains its %u lists on a sample of %zu of %.0f rows", lists, sample.sampled,
			               sample.rows),
			        errdetail("The sample is bounded by maintenance_work_mem (%d kB).", maintenance_work_mem),
			        errhint("Raise maintenance_work_mem for better lists."));
		});
	// At most kSampleRowsPerList a list trains the centroids: more costs
	// time and gains little.
	const std::size_t train_rows = std::min(sample.sampled, static_cast<std::size_t>(lists) * kSampleRowsPerList);
	std::vector<float> centroids = core::kmeans::Train(
	    std::span<const float>(sample.sample.data(), train_rows * sample.dims), sample.dims,
	    {.clusters = lists, .iterations = kKMeansIterations, .spherical = metric == Metric::kCosine},
	    [] { PgCall([] { CHECK_FOR_INTERRUPTS(); }); });
	sample.sample = {};
	const IndexCache cache = MakeCache(sample.dims, metric, lists, std::move(centroids), kRotationSeed);

	// The fixed pages, then pass 2: every row into its list.
	const IvfMeta meta = PgCall([&] {
		return WriteFixedPages(index, cache, static_cast<uint32>(train_rows), MAIN_FORKNUM);
	});
	std::vector<PendingList> pending(lists);
	FillState fill{meta, index, &cache, &pending, scratch};
	PgCall([&] { table_index_build_scan(heap, index, info, true, true, FillCallback, &fill, nullptr); });
	FlushBatch(fill);
	PgCall([&] {
		for (PendingList &list : pending)
			FinishList(index, list);
		WriteDirectory(index, meta, pending);
		MemoryContextDelete(scratch);
	});
	result->index_tuples = fill.indexed;
	return result;
}

void
BuildEmpty(Relation index)
{
	WriteEmptyMeta(index, MetricOf(index), INIT_FORKNUM);
}

bool
Insert(Relation index, Datum *values, bool *isnull, ItemPointer tid, Relation heap, IndexUniqueCheck check_unique,
       bool index_unchanged, IndexInfo *info)
{
	// fetch (PostgreSQL)
	if (isnull[0])
		return false;
	const Metric metric = MetricOf(index);
	IvfMeta meta = ReadMeta(index);
	const std::span<const float> value = DatumVector(values[0], meta.dims);
	const ItemPointerData heap_tid = *tid;

	// compute (C++), writing through PostgreSQL
	std::vector<float> vector;
	if (!IndexedVector(value, metric, vector))
		return false;
	if (meta.dims == 0) {
		const IndexCache first = MakeCache(static_cast<uint32>(vector.size()), metric, 1, vector, kRotationSeed);
		meta = PgCall([&] { return InitializeWith(index, first); });
		if (meta.dims != vector.size())
			PgCall([&] {
				ereport(ERROR, errcode(ERRCODE_DATA_EXCEPTION),
				        errmsg("different embedding dimensions %u and %zu", meta.dims, vector.size()));
			});
	}
	const std::shared_ptr<const IndexCache> cache = CacheOf(index, meta);
	const std::uint32_t list = core::kmeans::Nearest(vector, cache->centroids, 1).front();
	std::vector<char> entry;
	EncodeEntry(*cache, list, vector, heap_tid, entry);
	PgCall([&] { InsertEntry(index, meta, list, entry.data(), entry.size()); });
	return false;
}

IndexBulkDeleteResult *
BulkDelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats, IndexBulkDeleteCallback callback, void *callback_state)
{
	if (stats == nullptr)
		stats = static_cast<IndexBulkDeleteResult *>(palloc0(sizeof(IndexBulkDeleteResult)));
	RemoveDeadEntries(info->index, info->strategy, stats, callback, callback_state);
	return stats;
}

IndexBulkDeleteResult *
VacuumCleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	if (info->analyze_only)
		return stats;
	if (stats == nullptr) {
		// No deletions: count what is there, as VACUUM reports.
		stats = static_cast<IndexBulkDeleteResult *>(palloc0(sizeof(IndexBulkDeleteResult)));
		RemoveDeadEntries(info->index, info->strategy, stats, nullptr, nullptr);
	}
	stats->num_pages = RelationGetNumberOfBlocks(info->index);
	return stats;
}

} // namespace agentgres::pg::ivf
