// agentgres_ivf: ORDER BY e <op> q scans (ivf.hpp has the design).
//
// The scan visits the agentgres.ivf_probes lists nearest to the query and
// keeps their entries as candidates, each with a lower bound of its distance
// from the RaBitQ estimate. A row is returned only once its exact distance,
// computed from the heap row under the scan's snapshot (invisible rows are
// skipped), is no larger than every remaining candidate's lower bound: rows
// come in exact distance order among the candidates. When the candidates run
// out (a filter threw most rows away), the next lists are visited, so a
// query that wants k rows gets k rows while the index has them; rows of such
// later lists come in order among themselves.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <unordered_set>
#include <vector>

#include "core/distance.hpp"
#include "core/embedding.hpp"
#include "core/rabitq.hpp"
#include "core/sq8.hpp"
#include "ivf.hpp"
#include "ivf_pages.hpp"
#include "boundary.hpp"
#include "embedding.hpp"
#include "settings.hpp"

extern "C" {
#include "access/relscan.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "executor/executor.h"
#include "utils/float.h"
#include "miscadmin.h"
}

namespace dist = agentgres::core::distance;
namespace rabitq = agentgres::core::rabitq;

namespace agentgres::pg::ivf {
namespace {

struct Candidate {
	double lower; // a lower bound of the exact distance (with high probability)
	ItemPointerData tid;
};

struct Ready {
	double distance; // exact
	ItemPointerData tid;
};

// The state of one scan, in the scan's memory context; destroyed at
// amendscan, or by the context's reset callback when the query ends early
// (an error, a cancel).
struct ScanState {
	// Heap access for the exact distances, set up at the first rescan (the
	// heap relation is not known at ambeginscan) in the scan's own memory
	// context (a rescan may run in a shorter-lived one).
	MemoryContext context = nullptr;
	IndexFetchTableData *fetch = nullptr;
	TupleTableSlot *slot = nullptr;
	EState *estate = nullptr;
	IndexInfo *index_info = nullptr;

	IvfMeta meta{};
	std::shared_ptr<const IndexCache> cache;
	Metric metric = Metric::kL2;
	bool active = false; // the index has vectors and the scan has a query (or none to rank by)
	// No distance to rank by (a NULL query; a zero query under cosine):
	// every row comes, in index order, with a NULL or NaN distance, as a
	// sequential scan would sort them (all equal).
	bool unranked = false;
	bool unranked_null = false;
	std::uint32_t unranked_list = 0;
	BlockNumber unranked_block = InvalidBlockNumber;
	std::vector<ItemPointerData> unranked_tids; // the current page's entries
	std::size_t unranked_pos = 0;
	std::vector<float> raw_query;           // as given: for the exact distance
	std::vector<float> query;               // as indexed: unit length for cosine
	std::vector<float> rotated;             // R query
	std::vector<std::uint32_t> probe_order; // every list, nearest centroid first
	std::size_t probed = 0;
	std::vector<Candidate> candidates; // a min-heap by lower bound
	std::vector<Ready> ready;          // a min-heap by distance
	std::unique_ptr<dist::QueryScorer> scorer;
	// Heap rows already returned: a TID that VACUUM freed and a new row took
	// while this scan held it as a candidate is not returned twice.
	std::unordered_set<std::uint64_t> returned;
	// What the scan did, for DEBUG1 at its end.
	std::size_t estimated = 0, reranked = 0;
	agentgres::core::sq8::QueryStats query_stats{};
	double query_norm_squared = 0;
	std::vector<char> page_copy;
};

struct ScanHolder {
	ScanState *state;
	MemoryContextCallback callback;
};

void
DestroyState(void *arg)
{
	auto *holder = static_cast<ScanHolder *>(arg);
	if (holder->state != nullptr) {
		holder->state->~ScanState();
		holder->state = nullptr;
	}
}

bool
LaterCandidate(const Candidate &a, const Candidate &b)
{
	return a.lower > b.lower;
}

bool
LaterReady(const Ready &a, const Ready &b)
{
	return a.distance > b.distance ||
	       (a.distance == b.distance &&
	        ItemPointerCompare(const_cast<ItemPointer>(&a.tid), const_cast<ItemPointer>(&b.tid)) > 0);
}

// The order in which lists are visited: by the distance of the query to
// their centroid (for inner product, by the largest inner product).
void
OrderProbes(ScanState &s)
{
	const IndexCache &cache = *s.cache;
	const uint32 dims = cache.dims;
	std::vector<double> key(cache.lists);
	for (uint32 l = 0; l < cache.lists; ++l) {
		const float *c = &cache.centroids[static_cast<std::size_t>(l) * dims];
		double dot = 0;
		for (uint32 i = 0; i < dims; ++i)
			dot += static_cast<double>(c[i]) * s.query[i];
		key[l] = s.metric == Metric::kInnerProduct ? -dot : cache.centroid_norms[l] - 2 * dot;
	}
	s.probe_order.resize(cache.lists);
	for (uint32 l = 0; l < cache.lists; ++l)
		s.probe_order[l] = l;
	std::stable_sort(s.probe_order.begin(), s.probe_order.end(),
	                 [&](std::uint32_t a, std::uint32_t b) { return key[a] < key[b]; });
}

// The lower bound of an entry's exact distance, in the operator's units,
// from <r, q> (estimated, with its bound), |r|^2 and <r, c> (exact), and for
// the entry's list <c, q> and |q - c|^2.
double
LowerBound(const ScanState &s, const IvfEntry &entry, double centroid_query_dot, double query_centroid_squared)
{
	const agentgres::core::sq8::Estimate e =
	    agentgres::core::sq8::EstimateDot(entry.code, entry.factors, s.rotated, s.query_stats);
	const double best_dot = static_cast<double>(e.dot) + e.bound; // the largest <r, q> the bound allows
	if (s.metric == Metric::kInnerProduct)
		return -(centroid_query_dot + best_dot); // -<x, q> = -(<c, q> + <r, q>)
	// |x - q|^2 = |r - (q - c)|^2 = |r|^2 + |q - c|^2 - 2 <r, q> + 2 <r, c>
	const double squared = std::max(0.0, entry.factors.norm_squared + query_centroid_squared - 2 * best_dot +
	                                         2.0 * entry.factors.center_dot);
	return s.metric == Metric::kCosine ? squared / 2 : std::sqrt(squared); // unit vectors: 1 - cos = |x - q|^2 / 2
}

// Reads the next batch of lists into the candidates (PostgreSQL: page
// reads inside PgCall).
void
VisitMoreLists(Relation index, ScanState &s)
{
	const std::size_t batch = static_cast<std::size_t>(std::max(ivf_probes, 1));
	const std::size_t end = std::min(s.probe_order.size(), s.probed + batch);
	const uint32 dims = s.cache->dims;
	for (; s.probed < end; ++s.probed) {
		const std::uint32_t list = s.probe_order[s.probed];
		const float *c = &s.cache->centroids[static_cast<std::size_t>(list) * dims];
		double centroid_query_dot = 0;
		for (uint32 i = 0; i < dims; ++i)
			centroid_query_dot += static_cast<double>(c[i]) * s.query[i];
		const double query_centroid_squared =
		    s.query_norm_squared - 2 * centroid_query_dot + s.cache->centroid_norms[list];

		BlockNumber block = PgCall([&] { return FirstPageOf(index, s.meta, list); });
		while (block != InvalidBlockNumber) {
			// Copy the page under its share lock, then estimate without it.
			PgCall([&] {
				CHECK_FOR_INTERRUPTS();
				const Buffer buffer = ReadBuffer(index, block);
				LockBuffer(buffer, BUFFER_LOCK_SHARE);
				std::memcpy(s.page_copy.data(), BufferGetPage(buffer), BLCKSZ);
				UnlockReleaseBuffer(buffer);
			});
			Page page = s.page_copy.data();
			const OffsetNumber max = PageGetMaxOffsetNumber(page);
			for (OffsetNumber offset = FirstOffsetNumber; offset <= max; offset = OffsetNumberNext(offset)) {
				const ItemId item = PageGetItemId(page, offset);
				if (!ItemIdIsUsed(item))
					continue;
				const auto *entry = reinterpret_cast<const IvfEntry *>(PageGetItem(page, item));
				s.candidates.push_back({LowerBound(s, *entry, centroid_query_dot, query_centroid_squared), entry->tid});
				++s.estimated;
				std::push_heap(s.candidates.begin(), s.candidates.end(), LaterCandidate);
			}
			block = OpaqueOf(page)->next;
		}
	}
}

// The exact distance of a candidate's heap row under the scan's snapshot;
// false when the row is not visible to it or its vector is NULL.
bool
ExactDistance(IndexScanDesc scan, ScanState &s, ItemPointerData tid, double &distance)
{
	const std::span<const float> vector = PgCall([&]() -> std::span<const float> {
		bool call_again = false, all_dead = false;
		ExecClearTuple(s.slot);
		if (!table_index_fetch_tuple(s.fetch, &tid, scan->xs_snapshot, s.slot, &call_again, &all_dead))
			return {};
		ExprContext *econtext = GetPerTupleExprContext(s.estate);
		ResetExprContext(econtext);
		econtext->ecxt_scantuple = s.slot;
		Datum values[INDEX_MAX_KEYS];
		bool isnull[INDEX_MAX_KEYS];
		FormIndexDatum(s.index_info, s.slot, s.estate, values, isnull);
		if (isnull[0])
			return {};
		const MemoryContext caller = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);
		auto *e = reinterpret_cast<const EmbeddingHeader *>(PG_DETOAST_DATUM(values[0]));
		MemoryContextSwitchTo(caller);
		CheckEmbeddingSize(e);
		return EmbeddingSpan(e);
	});
	if (vector.empty())
		return false;
	if (vector.size() != s.raw_query.size())
		agentgres::core::embedding::CheckSameDimensions(s.raw_query.size(), vector.size());
	distance = s.scorer->Distance(vector.data());
	return !std::isnan(distance);
}

// The next entry of the index in list order, for a scan without a distance.
// A page's entries are copied at once: nothing is pinned between calls.
bool
NextUnranked(IndexScanDesc scan, ScanState &s)
{
	Relation index = scan->indexRelation;
	while (s.unranked_pos >= s.unranked_tids.size()) {
		if (s.unranked_block == InvalidBlockNumber) {
			if (s.unranked_list >= s.meta.lists)
				return false;
			s.unranked_block = PgCall([&] { return FirstPageOf(index, s.meta, s.unranked_list); });
			++s.unranked_list;
			continue;
		}
		PgCall([&] {
			CHECK_FOR_INTERRUPTS();
			const Buffer buffer = ReadBuffer(index, s.unranked_block);
			LockBuffer(buffer, BUFFER_LOCK_SHARE);
			std::memcpy(s.page_copy.data(), BufferGetPage(buffer), BLCKSZ);
			UnlockReleaseBuffer(buffer);
		});
		Page page = s.page_copy.data();
		s.unranked_tids.clear();
		s.unranked_pos = 0;
		const OffsetNumber max = PageGetMaxOffsetNumber(page);
		for (OffsetNumber offset = FirstOffsetNumber; offset <= max; offset = OffsetNumberNext(offset)) {
			const ItemId item = PageGetItemId(page, offset);
			if (ItemIdIsUsed(item))
				s.unranked_tids.push_back(reinterpret_cast<const IvfEntry *>(PageGetItem(page, item))->tid);
		}
		s.unranked_block = OpaqueOf(page)->next;
	}
	scan->xs_heaptid = s.unranked_tids[s.unranked_pos++];
	scan->xs_recheck = false;
	scan->xs_recheckorderby = false;
	scan->xs_orderbyvals[0] = s.unranked_null ? static_cast<Datum>(0) : Float8GetDatum(get_float8_nan());
	scan->xs_orderbynulls[0] = s.unranked_null;
	return true;
}

// A scan without a distance to rank by: every entry, in list order, with a
// NULL (null_query) or NaN distance.
void
StartUnranked(ScanState &s, bool null_query)
{
	s.unranked = s.active = true;
	s.unranked_null = null_query;
	s.unranked_list = 0;
	s.unranked_block = InvalidBlockNumber;
	s.unranked_tids.clear();
	s.unranked_pos = 0;
	s.page_copy.resize(BLCKSZ);
}

ScanState &
StateOf(IndexScanDesc scan)
{
	return *static_cast<ScanHolder *>(scan->opaque)->state;
}

} // namespace

IndexScanDesc
BeginScan(Relation index, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
	// The distances of the returned rows (the AM allocates them, as GiST does).
	scan->xs_orderbyvals = static_cast<Datum *>(palloc0(sizeof(Datum) * Max(norderbys, 1)));
	scan->xs_orderbynulls = static_cast<bool *>(palloc(sizeof(bool) * Max(norderbys, 1)));
	std::fill_n(scan->xs_orderbynulls, Max(norderbys, 1), true);
	auto *holder = static_cast<ScanHolder *>(palloc0(sizeof(ScanHolder)));
	void *memory = palloc(sizeof(ScanState));
	holder->state = new (memory) ScanState();
	holder->callback.func = DestroyState;
	holder->callback.arg = holder;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &holder->callback);
	scan->opaque = holder;
	holder->state->context = CurrentMemoryContext;
	return scan;
}

void
ReScan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys)
{
	// fetch (PostgreSQL)
	ScanState &s = StateOf(scan);
	if (orderbys != nullptr && scan->numberOfOrderBys > 0)
		std::memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
	if (s.fetch == nullptr) {
		const MemoryContext caller = MemoryContextSwitchTo(s.context);
		s.fetch = table_index_fetch_begin(scan->heapRelation);
		s.slot = table_slot_create(scan->heapRelation, nullptr);
		s.estate = CreateExecutorState();
		s.index_info = BuildIndexInfo(scan->indexRelation);
		MemoryContextSwitchTo(caller);
	}
	const bool null_query = scan->numberOfOrderBys > 0 && (scan->orderByData[0].sk_flags & SK_ISNULL);
	const bool has_query = scan->numberOfOrderBys > 0 && !null_query;
	std::span<const float> query;
	if (has_query) {
		auto *e = reinterpret_cast<const EmbeddingHeader *>(PG_DETOAST_DATUM(scan->orderByData[0].sk_argument));
		CheckEmbeddingSize(e);
		query = EmbeddingSpan(e);
	}
	const IvfMeta meta = ReadMeta(scan->indexRelation);
	if (has_query && meta.dims != 0 && query.size() != meta.dims)
		ereport(ERROR, errcode(ERRCODE_DATA_EXCEPTION),
		        errmsg("different embedding dimensions %u and %zu", meta.dims, query.size()));

	// compute (C++)
	s.active = false;
	s.candidates.clear();
	s.ready.clear();
	s.returned.clear();
	s.estimated = s.reranked = 0;
	s.probed = 0;
	s.meta = meta;
	s.metric = static_cast<Metric>(meta.metric);
	s.unranked = false;
	if (meta.dims == 0 || (!has_query && !null_query))
		return;
	if (null_query) {
		StartUnranked(s, true);
		return;
	}
	s.raw_query.assign(query.begin(), query.end());
	s.query = s.raw_query;
	if (s.metric == Metric::kCosine) {
		double norm = 0;
		for (float v : s.query)
			norm += static_cast<double>(v) * v;
		if (norm == 0) {
			StartUnranked(s, false); // no cosine distance to a zero vector: every row's is NaN
			return;
		}
		for (float &v : s.query)
			v = static_cast<float>(v / std::sqrt(norm));
	}
	s.cache = CacheOf(scan->indexRelation, meta);
	s.rotated.resize(meta.dims);
	rabitq::Rotate(s.cache->rotation, s.query, s.rotated);
	s.query_stats = agentgres::core::sq8::Stats(s.rotated);
	s.query_norm_squared = 0;
	for (float v : s.query)
		s.query_norm_squared += static_cast<double>(v) * v;
	s.page_copy.resize(BLCKSZ);
	const dist::Metric metric = s.metric == Metric::kL2       ? dist::Metric::kL2
	                            : s.metric == Metric::kCosine ? dist::Metric::kCosine
	                                                          : dist::Metric::kInnerProduct;
	s.scorer = std::make_unique<dist::QueryScorer>(s.raw_query, metric);
	OrderProbes(s);
	s.active = true;
}

bool
GetTuple(IndexScanDesc scan, ScanDirection direction)
{
	ScanState &s = StateOf(scan);
	if (!s.active)
		return false;
	if (s.unranked)
		return NextUnranked(scan, s);
	for (;;) {
		if (s.candidates.empty() && s.ready.empty()) {
			if (s.probed >= s.probe_order.size())
				return false;
			VisitMoreLists(scan->indexRelation, s);
			continue;
		}
		// Exact distances for the candidates that could come before the best
		// row ready so far.
		while (!s.candidates.empty() && (s.ready.empty() || s.candidates.front().lower < s.ready.front().distance)) {
			std::pop_heap(s.candidates.begin(), s.candidates.end(), LaterCandidate);
			const Candidate c = s.candidates.back();
			s.candidates.pop_back();
			double distance = 0;
			++s.reranked;
			if (ExactDistance(scan, s, c.tid, distance)) {
				s.ready.push_back({distance, c.tid});
				std::push_heap(s.ready.begin(), s.ready.end(), LaterReady);
			}
		}
		if (s.ready.empty())
			continue;
		std::pop_heap(s.ready.begin(), s.ready.end(), LaterReady);
		const Ready next = s.ready.back();
		s.ready.pop_back();
		const std::uint64_t key = (static_cast<std::uint64_t>(ItemPointerGetBlockNumberNoCheck(&next.tid)) << 16) |
		                          ItemPointerGetOffsetNumberNoCheck(&next.tid);
		if (!s.returned.insert(key).second)
			continue;
		scan->xs_heaptid = next.tid;
		scan->xs_recheck = false;
		scan->xs_recheckorderby = false;
		scan->xs_orderbyvals[0] = Float8GetDatum(next.distance);
		scan->xs_orderbynulls[0] = false;
		return true;
	}
}

void
EndScan(IndexScanDesc scan)
{
	auto *holder = static_cast<ScanHolder *>(scan->opaque);
	ScanState *s = holder->state;
	if (s != nullptr && s->active && !s->unranked)
		ereport(DEBUG1, errmsg_internal("agentgres_ivf scan of \"%s\": %zu of %u lists, %zu entries estimated, "
		                                "%zu re-ranked on the heap, %zu returned",
		                                RelationGetRelationName(scan->indexRelation), s->probed, s->meta.lists,
		                                s->estimated, s->reranked, s->returned.size()));
	if (s != nullptr) {
		if (s->fetch != nullptr) {
			table_index_fetch_end(s->fetch);
			ExecDropSingleTupleTableSlot(s->slot);
			FreeExecutorState(s->estate);
		}
		DestroyState(holder);
	}
}

} // namespace agentgres::pg::ivf
