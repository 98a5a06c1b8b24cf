// agentgres.top_k(rel, id_column, vector_column, query, k, metric): exact
// k-nearest neighbours.
//
// The fast path reads a heap table directly (page at a time: one visibility
// pass per page, no executor, no per-row function calls) and feeds a bounded
// heap in C++. It behaves like the SELECT it replaces:
// AccessShareLock held to the end of the transaction, the statement's MVCC
// snapshot, table or column SELECT privilege required. Relations the fast
// path cannot read as a SELECT would (views, partitioned and foreign tables,
// tables with inheritance children, other table access methods, and tables
// with row-level security active for the caller) go through the executor
// with SPI, so policies, view definitions and inheritance apply.
//
// A large table (agentgres.top_k_parallel_min_size) is scanned in parallel:
// the leader and its workers take blocks from one shared allocator, as a
// parallel sequential scan does, each keeps its own bounded heap, and the
// leader merges the workers' k best into its own. The result is the serial
// scan's, ties included (the order is distance, then id).
#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/distance.hpp"
#include "core/embedding.hpp"
#include "core/error.hpp"
#include "core/topk.hpp"
#include "embedding.hpp"
#include "boundary.hpp"
#include "id_lists.hpp"
#include "settings.hpp"
#include "spi.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/parallel.h"
#include "access/relscan.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "parser/parse_coerce.h"
#include "storage/bufmgr.h"
#include "storage/bufpage.h"
#include "storage/shm_toc.h"
#include "pgstat.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
}

namespace core = agentgres::core;
namespace dist = agentgres::core::distance;
using agentgres::pg::EmbeddingHeader;
using agentgres::pg::ConnectSpi;
using agentgres::pg::PgCall;

namespace {

// Large enough for any retrieval use; ORDER BY ... LIMIT serves bigger sets.
constexpr int32 kMaxK = 1000000;

// Rows between resets of the scratch context that holds detoasted values.
constexpr int kDetoastResetInterval = 256;

// Above this k the scan stays serial: each worker hands its k best to the
// leader through shared memory (16 bytes a row), and a k this large means a
// result set, not a search.
constexpr int32 kMaxParallelK = 10000;

// Everything the scan needs, resolved before it starts. Plain data only: the
// scan runs under PgCall and must not own C++ objects.
struct ScanPlan {
	Oid relid;
	AttrNumber id_attnum;
	AttrNumber vector_attnum;
	const char *id_column;
	const char *vector_column;
	std::size_t dims;
	const dist::QueryScorer *scorer;
	core::TopK *selector;
	// Optional (vector_rank): only rows whose filter_column equals
	// filter_value, and whose id is in allowed when that is set.
	const char *filter_column = nullptr;
	AttrNumber filter_attnum = InvalidAttrNumber;
	int64 filter_value = 0;
	const std::unordered_set<int64> *allowed = nullptr;
};

// Resolves a column of the relation and checks its type against what top_k
// accepts. Runs inside PgCall (catalog lookups may error).
AttrNumber
ResolveColumn(Oid relid, const char *column, bool is_id, Oid embedding_type)
{
	const AttrNumber attnum = get_attnum(relid, column);
	if (attnum == InvalidAttrNumber)
		ereport(ERROR, errcode(ERRCODE_UNDEFINED_COLUMN),
		        errmsg("column \"%s\" of relation \"%s\" does not exist", column, get_rel_name(relid)));
	if (attnum < 0)
		ereport(ERROR, errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
		        errmsg("cannot use system column \"%s\" in top_k", column));
	const Oid type = getBaseType(get_atttype(relid, attnum));
	if (is_id) {
		if (type != INT8OID && type != INT4OID && type != INT2OID)
			ereport(ERROR, errcode(ERRCODE_DATATYPE_MISMATCH),
			        errmsg("id column \"%s\" must be of type bigint, integer or smallint, not %s", column,
			               format_type_be(type)));
	} else if (type != embedding_type && !IsBinaryCoercible(type, embedding_type)) {
		ereport(ERROR, errcode(ERRCODE_DATATYPE_MISMATCH),
		        errmsg("vector column \"%s\" must be of type agentgres.embedding, not %s", column,
		               format_type_be(type)),
		        errhint("pgvector columns work after SELECT agentgres.enable_pgvector_interop()."));
	}
	return attnum;
}

// The privilege check of SELECT id_column, vector_column FROM rel.
void
CheckSelectPrivilege(Oid relid, char relkind, AttrNumber id_attnum, AttrNumber vector_attnum, AttrNumber filter_attnum)
{
	const Oid user = GetUserId();
	if (pg_class_aclcheck(relid, user, ACL_SELECT) == ACLCHECK_OK)
		return;
	if (pg_attribute_aclcheck(relid, id_attnum, user, ACL_SELECT) == ACLCHECK_OK &&
	    pg_attribute_aclcheck(relid, vector_attnum, user, ACL_SELECT) == ACLCHECK_OK &&
	    (filter_attnum == InvalidAttrNumber ||
	     pg_attribute_aclcheck(relid, filter_attnum, user, ACL_SELECT) == ACLCHECK_OK))
		return;
	aclcheck_error(ACLCHECK_NO_PRIV, get_relkind_objtype(relkind), get_rel_name(relid));
}

int64
IdFromDatum(Datum value, Oid type)
{
	switch (type) {
	case INT2OID:
		return DatumGetInt16(value);
	case INT4OID:
		return DatumGetInt32(value);
	default:
		return DatumGetInt64(value);
	}
}

// Scores one stored vector, detoasting it into the scratch context when it
// is compressed, out of line or has a short header. Returns whether it did.
// May throw (dimension mismatch, bad_alloc from the selector).
inline bool
ScoreRow(const ScanPlan &plan, int64 id, Datum vector_datum, MemoryContext scratch)
{
	auto *raw = reinterpret_cast<struct varlena *>(DatumGetPointer(vector_datum));
	const bool detoast = VARATT_IS_EXTENDED(raw);
	if (detoast) {
		MemoryContext old = MemoryContextSwitchTo(scratch);
		raw = PG_DETOAST_DATUM(vector_datum);
		MemoryContextSwitchTo(old);
	}
	const auto *e = reinterpret_cast<const EmbeddingHeader *>(raw);
	if (static_cast<std::size_t>(e->dims) != plan.dims)
		core::embedding::CheckSameDimensions(plan.dims, static_cast<std::size_t>(e->dims));
	if (VARSIZE(raw) != agentgres::pg::EmbeddingSize(plan.dims))
		agentgres::pg::CheckEmbeddingSize(e);
	plan.selector->Offer(id, plan.scorer->Distance(agentgres::pg::EmbeddingSpan(e).data()));
	return detoast;
}

// What scoring a heap page needs besides the plan, resolved once per scan.
struct PageScan {
	Relation rel;
	TupleDesc desc;
	Oid id_type;
	Oid filter_type;
	MemoryContext scratch; // detoasted vectors, reset every kDetoastResetInterval of them
	int detoasted_rows;
};

PageScan
BeginPageScan(const ScanPlan &plan, Relation rel)
{
	TupleDesc desc = RelationGetDescr(rel);
	const Oid filter_type = plan.filter_attnum == InvalidAttrNumber
	                            ? InvalidOid
	                            : getBaseType(TupleDescAttr(desc, plan.filter_attnum - 1)->atttypid);
	return {rel,
	        desc,
	        getBaseType(TupleDescAttr(desc, plan.id_attnum - 1)->atttypid),
	        filter_type,
	        AllocSetContextCreate(CurrentMemoryContext, "agentgres top_k detoast", ALLOCSET_DEFAULT_SIZES),
	        0};
}

// Scores the visible rows of one block.
//
// heapgetpage() does per page what a sequential scan does (pruning, one
// visibility pass under the buffer lock, predicate locks for serializable
// transactions) and leaves the visible line pointers in rs_vistuples. The
// tuples of a page are then scored from the highest line pointer down: heap
// pages fill from their end, so that is ascending address order, and the
// CPU's stream prefetcher runs ahead of the kernel through the whole page.
// Scanning in line-pointer order walks the page backwards in 1.5 kB jumps,
// which defeats it; measured on 100k x 384 vectors, ascending order took
// top_k from about 31 ms to 17 ms (bench/README.md).
void
ScorePage(const ScanPlan &plan, PageScan &page_scan, TableScanDesc scan, BlockNumber block)
{
	CHECK_FOR_INTERRUPTS();
	auto *heap_scan = reinterpret_cast<HeapScanDesc>(scan);
	heapgetpage(scan, block);
	Page page = BufferGetPage(heap_scan->rs_cbuf);
	for (int i = heap_scan->rs_ntuples - 1; i >= 0; --i) {
		const OffsetNumber offset = heap_scan->rs_vistuples[i];
		const ItemId item = PageGetItemId(page, offset);
		HeapTupleData tuple;
		tuple.t_data = reinterpret_cast<HeapTupleHeader>(PageGetItem(page, item));
		tuple.t_len = ItemIdGetLength(item);
		tuple.t_tableOid = RelationGetRelid(page_scan.rel);
		ItemPointerSet(&tuple.t_self, block, offset);
		pgstat_count_heap_getnext(page_scan.rel);

		bool is_null = false;
		if (plan.filter_attnum != InvalidAttrNumber) {
			const Datum filter_datum = heap_getattr(&tuple, plan.filter_attnum, page_scan.desc, &is_null);
			if (is_null || IdFromDatum(filter_datum, page_scan.filter_type) != plan.filter_value)
				continue;
		}
		const Datum vector_datum = heap_getattr(&tuple, plan.vector_attnum, page_scan.desc, &is_null);
		if (is_null)
			continue;
		const Datum id_datum = heap_getattr(&tuple, plan.id_attnum, page_scan.desc, &is_null);
		if (is_null)
			continue;
		const int64 id = IdFromDatum(id_datum, page_scan.id_type);
		if (plan.allowed != nullptr && !plan.allowed->contains(id))
			continue;
		if (ScoreRow(plan, id, vector_datum, page_scan.scratch) &&
		    ++page_scan.detoasted_rows % kDetoastResetInterval == 0)
			MemoryContextReset(page_scan.scratch);
	}
}

// The fast path in one process: blocks 0..n-1 with the statement's snapshot
// (no synchronized scan start: the loop visits every block itself).
void
ScanHeapSerial(const ScanPlan &plan, Relation rel)
{
	PageScan page_scan = BeginPageScan(plan, rel);
	TableScanDesc scan = table_beginscan_strat(rel, GetActiveSnapshot(), 0, nullptr, true, false);
	const BlockNumber blocks = reinterpret_cast<HeapScanDesc>(scan)->rs_nblocks;
	for (BlockNumber block = 0; block < blocks; ++block)
		ScorePage(plan, page_scan, scan, block);
	table_endscan(scan);
	MemoryContextDelete(page_scan.scratch);
}

// Leader and workers alike: blocks from the shared allocator until none is
// left.
void
ScanHeapShare(const ScanPlan &plan, Relation rel, ParallelTableScanDesc shared_scan)
{
	PageScan page_scan = BeginPageScan(plan, rel);
	TableScanDesc scan = table_beginscan_parallel(rel, shared_scan);
	auto *heap_scan = reinterpret_cast<HeapScanDesc>(scan);
	auto *block_scan = reinterpret_cast<ParallelBlockTableScanDesc>(shared_scan);
	table_block_parallelscan_startblock_init(rel, heap_scan->rs_parallelworkerdata, block_scan);
	for (;;) {
		const BlockNumber block = table_block_parallelscan_nextpage(rel, heap_scan->rs_parallelworkerdata, block_scan);
		if (block == InvalidBlockNumber)
			break;
		ScorePage(plan, page_scan, scan, block);
	}
	table_endscan(scan);
	MemoryContextDelete(page_scan.scratch);
}

// Keys of the parallel scan's shared memory table of contents.
constexpr uint64 kTocShared = 1;
constexpr uint64 kTocQuery = 2;
constexpr uint64 kTocAllowed = 3;
constexpr uint64 kTocScan = 4;
constexpr uint64 kTocResults = 5;

// What the leader tells its workers; the query vector, the allow-list, the
// parallel heap scan and the result slots have entries of their own.
struct ParallelShared {
	Oid relid;
	AttrNumber id_attnum;
	AttrNumber vector_attnum;
	AttrNumber filter_attnum;
	int64 filter_value;
	int metric;
	uint32 dims;
	int32 k;
	bool has_allowed;
	int allowed_count;
};

// One worker's k best, written when its scan ends.
struct WorkerResult {
	int32 count;
	core::Neighbor rows[FLEXIBLE_ARRAY_MEMBER];
};

Size
WorkerResultSize(int32 k)
{
	return MAXALIGN(offsetof(WorkerResult, rows) + sizeof(core::Neighbor) * static_cast<Size>(k));
}

// How many workers a scan of rel gets: none below
// agentgres.top_k_parallel_min_size, then one, and one more each time the
// table triples (PostgreSQL's rule for parallel sequential scans), or the
// table's parallel_workers when set; at most max_parallel_workers_per_gather.
// None where a parallel scan cannot run: in a parallel worker or a parallel
// query's leader, outside a postmaster, for temporary tables (their buffers
// are local to this process).
int
ParallelWorkersFor(Relation rel, int32 k)
{
	if (k > kMaxParallelK || IsInParallelMode() || !IsUnderPostmaster || RelationUsesLocalBuffers(rel) ||
	    max_parallel_workers_per_gather <= 0)
		return 0;
	int workers = RelationGetParallelWorkers(rel, -1);
	if (workers < 0) {
		const double blocks = RelationGetNumberOfBlocks(rel);
		double threshold = Max(agentgres::pg::top_k_parallel_min_blocks, 1);
		if (blocks < threshold)
			return 0;
		workers = 1;
		while (blocks >= threshold * 3 && workers < max_parallel_workers_per_gather) {
			++workers;
			threshold *= 3;
		}
	}
	return Min(workers, max_parallel_workers_per_gather);
}

// A worker's part: the plan rebuilt from shared memory, its share of the
// blocks, its k best into its slot. Runs under InvokeCppTask.
void
ParallelWorkerBody(void *arg)
{
	// fetch (PostgreSQL): the shared state; no C++ object is alive yet
	auto *toc = static_cast<shm_toc *>(arg);
	const auto *shared = static_cast<const ParallelShared *>(shm_toc_lookup(toc, kTocShared, false));
	const auto *query = static_cast<const float *>(shm_toc_lookup(toc, kTocQuery, false));
	const auto *allowed_ids = static_cast<const int64 *>(shm_toc_lookup(toc, kTocAllowed, true));
	auto *shared_scan = static_cast<ParallelTableScanDesc>(shm_toc_lookup(toc, kTocScan, false));
	auto *results = static_cast<char *>(shm_toc_lookup(toc, kTocResults, false));
	auto *slot = reinterpret_cast<WorkerResult *>(results + WorkerResultSize(shared->k) * ParallelWorkerNumber);
	// The leader holds AccessShareLock; its lock group lets this take it too.
	Relation rel = table_open(shared->relid, AccessShareLock);

	// compute (C++): the leader's scan, on this worker's share of the blocks
	const dist::QueryScorer scorer(std::span<const float>(query, shared->dims),
	                               static_cast<dist::Metric>(shared->metric));
	core::TopK selector(static_cast<std::size_t>(shared->k));
	std::unordered_set<int64> allowed;
	if (shared->has_allowed)
		allowed.insert(allowed_ids, allowed_ids + shared->allowed_count);
	ScanPlan plan{shared->relid, shared->id_attnum, shared->vector_attnum, nullptr, nullptr, shared->dims,
	              &scorer,       &selector};
	plan.filter_attnum = shared->filter_attnum;
	plan.filter_value = shared->filter_value;
	plan.allowed = shared->has_allowed ? &allowed : nullptr;
	PgCall([&] { ScanHeapShare(plan, rel, shared_scan); });

	// emit: the k best into this worker's slot
	const std::vector<core::Neighbor> best = selector.TakeSorted();
	std::copy(best.begin(), best.end(), slot->rows);
	slot->count = static_cast<int32>(best.size());
	PgCall([&] { table_close(rel, AccessShareLock); });
}

// The fast path on several processes: sets up the shared memory, launches
// the workers, scans a share itself, and offers the workers' k best to its
// selector. An error anywhere (a worker's included) aborts the transaction,
// and the abort destroys the parallel context.
void
ScanHeapParallel(const ScanPlan &plan, Relation rel, int32 k, int workers)
{
	EnterParallelMode();
	ParallelContext *pcxt = CreateParallelContext("$libdir/agentgres", "agentgres_top_k_worker", workers);

	const Size query_size = sizeof(float) * plan.dims;
	const Size allowed_size = plan.allowed != nullptr ? sizeof(int64) * Max(plan.allowed->size(), 1) : 0;
	Snapshot snapshot = GetActiveSnapshot();
	const Size scan_size = table_parallelscan_estimate(rel, snapshot);
	const Size results_size = mul_size(WorkerResultSize(k), workers);
	shm_toc_estimate_chunk(&pcxt->estimator, sizeof(ParallelShared));
	shm_toc_estimate_chunk(&pcxt->estimator, query_size);
	shm_toc_estimate_chunk(&pcxt->estimator, scan_size);
	shm_toc_estimate_chunk(&pcxt->estimator, results_size);
	shm_toc_estimate_keys(&pcxt->estimator, 4);
	if (plan.allowed != nullptr) {
		shm_toc_estimate_chunk(&pcxt->estimator, allowed_size);
		shm_toc_estimate_keys(&pcxt->estimator, 1);
	}
	InitializeParallelDSM(pcxt);

	auto *shared = static_cast<ParallelShared *>(shm_toc_allocate(pcxt->toc, sizeof(ParallelShared)));
	*shared = {plan.relid,
	           plan.id_attnum,
	           plan.vector_attnum,
	           plan.filter_attnum,
	           plan.filter_value,
	           static_cast<int>(plan.scorer->metric()),
	           static_cast<uint32>(plan.dims),
	           k,
	           plan.allowed != nullptr,
	           plan.allowed != nullptr ? static_cast<int>(plan.allowed->size()) : 0};
	shm_toc_insert(pcxt->toc, kTocShared, shared);
	auto *query = static_cast<float *>(shm_toc_allocate(pcxt->toc, query_size));
	std::copy(plan.scorer->query().begin(), plan.scorer->query().end(), query);
	shm_toc_insert(pcxt->toc, kTocQuery, query);
	if (plan.allowed != nullptr) {
		auto *allowed = static_cast<int64 *>(shm_toc_allocate(pcxt->toc, allowed_size));
		std::copy(plan.allowed->begin(), plan.allowed->end(), allowed);
		shm_toc_insert(pcxt->toc, kTocAllowed, allowed);
	}
	auto *shared_scan = static_cast<ParallelTableScanDesc>(shm_toc_allocate(pcxt->toc, scan_size));
	table_parallelscan_initialize(rel, shared_scan, snapshot);
	shm_toc_insert(pcxt->toc, kTocScan, shared_scan);
	auto *results = static_cast<char *>(shm_toc_allocate(pcxt->toc, results_size));
	shm_toc_insert(pcxt->toc, kTocResults, results);

	LaunchParallelWorkers(pcxt);
	ereport(DEBUG1, errmsg_internal("top_k: parallel scan of \"%s\", workers planned: %d, launched: %d",
	                                RelationGetRelationName(rel), workers, pcxt->nworkers_launched));
	// As in a Gather: the leader scans too unless parallel_leader_participation
	// is off and a worker started.
	if (parallel_leader_participation || pcxt->nworkers_launched == 0)
		ScanHeapShare(plan, rel, shared_scan);
	WaitForParallelWorkersToFinish(pcxt);
	for (int worker = 0; worker < pcxt->nworkers_launched; ++worker) {
		const auto *slot = reinterpret_cast<const WorkerResult *>(results + WorkerResultSize(k) * worker);
		for (int32 i = 0; i < slot->count; ++i)
			plan.selector->Offer(slot->rows[i].id, slot->rows[i].distance);
	}
	DestroyParallelContext(pcxt);
	ExitParallelMode();
}

void
ScanHeap(const ScanPlan &plan, Relation rel, int32 k)
{
	const int workers = ParallelWorkersFor(rel, k);
	if (workers > 0)
		ScanHeapParallel(plan, rel, k, workers);
	else
		ScanHeapSerial(plan, rel);
}

// The general path: SELECT id, vector FROM rel through the executor, in
// batches from a read-only cursor.
void
ScanWithExecutor(const ScanPlan &plan)
{
	constexpr long kBatchRows = 1000;
	const char *relation_name =
	    quote_qualified_identifier(get_namespace_name(get_rel_namespace(plan.relid)), get_rel_name(plan.relid));
	const char *query = psprintf("SELECT %s, %s FROM %s WHERE %s IS NOT NULL AND %s IS NOT NULL",
	                             quote_identifier(plan.id_column), quote_identifier(plan.vector_column), relation_name,
	                             quote_identifier(plan.id_column), quote_identifier(plan.vector_column));
	if (plan.filter_column != nullptr)
		query = psprintf("%s AND %s OPERATOR(pg_catalog.=) " INT64_FORMAT, query, quote_identifier(plan.filter_column),
		                 plan.filter_value);
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext scratch = AllocSetContextCreate(caller, "agentgres top_k detoast", ALLOCSET_DEFAULT_SIZES);

	ConnectSpi();
	SPIPlanPtr spi_plan = SPI_prepare(query, 0, nullptr);
	if (spi_plan == nullptr)
		ereport(ERROR, errcode(ERRCODE_INTERNAL_ERROR),
		        errmsg("could not prepare top_k scan: %s", SPI_result_code_string(SPI_result)));
	Portal portal = SPI_cursor_open(nullptr, spi_plan, nullptr, nullptr, true);
	for (;;) {
		SPI_cursor_fetch(portal, true, kBatchRows);
		if (SPI_processed == 0)
			break;
		TupleDesc desc = SPI_tuptable->tupdesc;
		const Oid id_type = getBaseType(SPI_gettypeid(desc, 1));
		for (uint64 i = 0; i < SPI_processed; ++i) {
			CHECK_FOR_INTERRUPTS();
			bool is_null = false;
			HeapTuple tuple = SPI_tuptable->vals[i];
			const Datum id_datum = SPI_getbinval(tuple, desc, 1, &is_null);
			const Datum vector_datum = SPI_getbinval(tuple, desc, 2, &is_null);
			const int64 id = IdFromDatum(id_datum, id_type);
			if (plan.allowed != nullptr && !plan.allowed->contains(id))
				continue;
			ScoreRow(plan, id, vector_datum, scratch);
		}
		MemoryContextReset(scratch);
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	SPI_finish();
	MemoryContextDelete(scratch);
}

// Opens the relation, checks what a SELECT would check, and scans it unless
// read_rows is false (k = 0: the checks still run, so k = 0 reveals nothing a
// SELECT would not).
void
ScanRelation(ScanPlan &plan, Oid embedding_type, int32 k, bool read_rows)
{
	// The relation comes by OID, so nothing has looked it up by name yet: an
	// OID that names no relation is undefined_table, not an internal error.
	Relation rel = try_relation_open(plan.relid, AccessShareLock);
	if (rel == nullptr)
		ereport(ERROR, errcode(ERRCODE_UNDEFINED_TABLE), errmsg("relation with OID %u does not exist", plan.relid));
	const char relkind = rel->rd_rel->relkind;
	switch (relkind) {
	case RELKIND_RELATION:
	case RELKIND_MATVIEW:
	case RELKIND_VIEW:
	case RELKIND_PARTITIONED_TABLE:
	case RELKIND_FOREIGN_TABLE:
		break;
	default:
		ereport(ERROR, errcode(ERRCODE_WRONG_OBJECT_TYPE),
		        errmsg("\"%s\" is not a table, view or materialized view", RelationGetRelationName(rel)));
	}
	if (RELATION_IS_OTHER_TEMP(rel))
		ereport(ERROR, errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
		        errmsg("cannot access temporary tables of other sessions"));
	if (relkind == RELKIND_MATVIEW && !RelationIsPopulated(rel))
		ereport(ERROR, errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		        errmsg("materialized view \"%s\" has not been populated", RelationGetRelationName(rel)),
		        errhint("Use the REFRESH MATERIALIZED VIEW command."));

	// A SELECT by name needs USAGE on the schema; a bare OID must not skip it.
	const Oid namespace_oid = RelationGetNamespace(rel);
	const AclResult usage = pg_namespace_aclcheck(namespace_oid, GetUserId(), ACL_USAGE);
	if (usage != ACLCHECK_OK)
		aclcheck_error(usage, OBJECT_SCHEMA, get_namespace_name(namespace_oid));

	plan.id_attnum = ResolveColumn(plan.relid, plan.id_column, true, embedding_type);
	plan.vector_attnum = ResolveColumn(plan.relid, plan.vector_column, false, embedding_type);
	if (plan.filter_column != nullptr)
		plan.filter_attnum = ResolveColumn(plan.relid, plan.filter_column, true, embedding_type);
	CheckSelectPrivilege(plan.relid, relkind, plan.id_attnum, plan.vector_attnum, plan.filter_attnum);

	// A SELECT from a table with inheritance children reads the children too
	// (under the parent's privileges and policies): the executor does exactly
	// that, so such tables leave the fast path. relhassubclass may stay set
	// after the last child is gone; that only costs speed.
	const bool heap_fast_path = (relkind == RELKIND_RELATION || relkind == RELKIND_MATVIEW) &&
	                            !rel->rd_rel->relhassubclass && rel->rd_tableam == GetHeapamTableAmRoutine() &&
	                            check_enable_rls(plan.relid, InvalidOid, false) != RLS_ENABLED;
	if (read_rows && heap_fast_path)
		ScanHeap(plan, rel, k);
	else if (read_rows)
		ScanWithExecutor(plan);
	relation_close(rel, NoLock); // keep the lock to end of transaction, as SELECT does
}

// The body of top_k and top_k_filtered: filtered is whether arguments 6..8
// (filter column, filter value, allowed ids) are there.
Datum
TopKBody(FunctionCallInfo fcinfo, bool filtered)
{
	// fetch (PostgreSQL): arguments and the result set, while no C++ object
	// is alive
	const Oid relid = PG_GETARG_OID(0);
	const char *id_column = NameStr(*PG_GETARG_NAME(1));
	const char *vector_column = NameStr(*PG_GETARG_NAME(2));
	EmbeddingHeader *query = agentgres::pg::EmbeddingArg(fcinfo, 3);
	const int32 k = PG_GETARG_INT32(4);
	const char *metric_name = text_to_cstring(PG_GETARG_TEXT_PP(5));
	const char *filter_column = filtered ? NameStr(*PG_GETARG_NAME(6)) : nullptr;
	const int64 filter_value = filtered ? PG_GETARG_INT64(7) : 0;
	const agentgres::pg::IdArrayArg allowed_ids =
	    filtered ? agentgres::pg::FetchIdArray(fcinfo, 8) : agentgres::pg::IdArrayArg{};
	const bool has_allowed = allowed_ids.present;
	const Oid embedding_type = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("embedding"),
	                                           ObjectIdGetDatum(get_func_namespace(fcinfo->flinfo->fn_oid)));
	InitMaterializedSRF(fcinfo, 0);
	auto *result_info = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);

	// compute (C++): the kernel scores the rows the scan reads through
	// PostgreSQL (fetch through the heap or SPI, under PgCall)
	const dist::Metric metric = dist::ParseMetric(metric_name);
	if (k < 0)
		throw core::Error(core::ErrorCode::kInvalidParameterValue, "k must not be negative",
		                  "k was " + std::to_string(k) + ".");
	if (k > kMaxK)
		throw core::Error(core::ErrorCode::kProgramLimitExceeded, "k must not exceed " + std::to_string(kMaxK), {},
		                  "Use ORDER BY with a distance operator and LIMIT for larger result sets.");
	const std::unordered_set<int64> allowed = agentgres::pg::ToIdSet(allowed_ids);

	const dist::QueryScorer scorer(agentgres::pg::EmbeddingSpan(query), metric);
	core::TopK selector(static_cast<std::size_t>(k));
	ScanPlan plan{relid,         InvalidAttrNumber,   InvalidAttrNumber, id_column,
	              vector_column, scorer.dimensions(), &scorer,           &selector};
	plan.filter_column = filter_column;
	plan.filter_value = filter_value;
	plan.allowed = has_allowed ? &allowed : nullptr;
	// An empty allow-list matches nothing; the checks still run.
	PgCall([&] { ScanRelation(plan, embedding_type, k, k > 0 && !(has_allowed && allowed.empty())); });

	const std::vector<core::Neighbor> neighbors = selector.TakeSorted();

	// emit (PostgreSQL)
	PgCall([&] {
		agentgres::pg::EmitIdScores(
		    result_info, neighbors, [](const core::Neighbor &n) { return n.id; },
		    [](const core::Neighbor &n) { return n.distance; });
	});
	return static_cast<Datum>(0);
}

} // namespace

// The entry point of a parallel scan's workers (CreateParallelContext finds
// it by name in this library).
extern "C" PGDLLEXPORT void
agentgres_top_k_worker(dsm_segment *segment, shm_toc *toc)
{
	agentgres::pg::InvokeCppTask(ParallelWorkerBody, toc);
}

AGENTGRES_FUNCTION(agentgres_top_k)
{
	return TopKBody(fcinfo, false);
}

// top_k_filtered(rel, id_column, vector_column, query, k, metric,
// filter_column, filter_value, allowed_ids): top_k over the rows whose
// filter_column equals filter_value (a collection, a tenant) and, when
// allowed_ids is not NULL, whose id is in it.
AGENTGRES_FUNCTION(agentgres_top_k_filtered)
{
	// Not STRICT (a NULL allowed_ids means no allow-list); a NULL elsewhere
	// gives no rows, as top_k's STRICT does.
	for (int i = 0; i < 6; ++i)
		if (PG_ARGISNULL(i)) {
			InitMaterializedSRF(fcinfo, 0);
			return static_cast<Datum>(0);
		}
	if (PG_ARGISNULL(6) || PG_ARGISNULL(7))
		throw core::Error(core::ErrorCode::kNullValueNotAllowed, "filter_column and filter_value must not be null");
	return TopKBody(fcinfo, true);
}
