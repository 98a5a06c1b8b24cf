// agentgres_ivf: an inverted-file index of RaBitQ codes for the embedding
// distance operators (<->, <=>, <#>), as a PostgreSQL index access method.
//
// The design, and why:
// - Lists: k-means centroids (core/kmeans.hpp) split the vectors; a query
//   visits the lists of its nearest centroids (agentgres.ivf_probes).
// - Codes, not vectors: each entry is a heap TID, four floats and one byte per
//   dimension of the rotated residual (core/sq8.hpp; the rotation is
//   RaBitQ's, core/rabitq.hpp): 408 bytes at 384 dimensions where the vector
//   is 1,544. Estimated distances come with a deterministic error bound, and
//   the scan re-ranks candidates on the exact vectors, read from the heap, in
//   the order of their lower bounds until none left can beat the next row to
//   return: rows come out in exact distance order among the candidates.
// - Pages: a meta page, the rotation and the centroids in consecutive pages
//   written once at build, a directory of the lists' first and last pages,
//   and per list a chain of entry pages. Every change goes through generic WAL
//   (crash safe, replicated); a new entry is appended to its list's last page.
//
// Layout of block 0, the meta page: IvfMeta in the page's contents.
#pragma once

#include <cstdint>

#include "core/rabitq.hpp"
#include "core/sq8.hpp"

#include "postgres_headers.hpp"

extern "C" {
#include "access/amapi.h"
#include "access/genam.h"
#include "access/generic_xlog.h"
#include "storage/bufmgr.h"
#include "storage/bufpage.h"
#include "storage/itemptr.h"
#include "utils/rel.h"
}

namespace agentgres::pg::ivf {

constexpr uint32 kMagic = 0xA6E7F1F0;
constexpr uint32 kVersion = 1;
constexpr BlockNumber kMetaBlock = 0;
// The largest dimension the index takes: its rotation is dims x dims floats
// (16 MB at 2,000), read into each backend that scans.
constexpr int kMaxDimensions = 2000;
// Identifies entry pages in their special space (as other AMs do).
constexpr uint16 kPageId = 0xFF87;

// The metrics, as the operator strategies of the operator classes.
enum class Metric : uint16 {
	kL2 = 1,           // <->, embedding_l2_ops
	kCosine = 2,       // <=>, embedding_cosine_ops
	kInnerProduct = 3, // <#>, embedding_ip_ops
};

struct IvfMeta {
	uint32 magic;
	uint32 version;
	uint16 metric;
	uint16 flags;
	uint32 dims;                 // 0 until the first vector (an index built on an empty table)
	uint32 lists;                // 0 likewise
	BlockNumber rotation_start;  // dims * dims floats, row-major, in consecutive pages
	BlockNumber centroids_start; // lists x dims floats
	BlockNumber directory_start; // per list: an IvfListEntry
	uint32 sample_rows;          // how many vectors trained the centroids
	uint64 seed;                 // of the rotation
};

struct IvfListEntry {
	BlockNumber first; // InvalidBlockNumber while the list is empty
	BlockNumber last;  // where new entries go
};

// The special space of an entry page.
struct IvfPageOpaque {
	BlockNumber next; // the list's next page, InvalidBlockNumber at the end
	uint16 flags;
	uint16 page_id; // kPageId
};

// One entry: the heap row, the code's factors and its bytes.
struct IvfEntry {
	ItemPointerData tid;
	uint16 padding;
	core::sq8::CodeFactors factors;
	uint8 code[FLEXIBLE_ARRAY_MEMBER];
};

inline Size
EntrySize(uint32 dims)
{
	return MAXALIGN(offsetof(IvfEntry, code) + dims);
}

// Floats (or directory entries) that fit in one page of a consecutive run.
constexpr Size kPageContents = BLCKSZ - MAXALIGN(SizeOfPageHeaderData);

inline IvfMeta *
MetaOf(Page page)
{
	return reinterpret_cast<IvfMeta *>(PageGetContents(page));
}

inline IvfPageOpaque *
OpaqueOf(Page page)
{
	return reinterpret_cast<IvfPageOpaque *>(PageGetSpecialPointer(page));
}

// Options of CREATE INDEX ... WITH (...).
struct IvfOptions {
	int32 vl_len_; // varlena header (do not touch)
	int lists;     // 0: chosen from the table's size at build
};

// The metric of an index, from the operator its operator class supplies.
Metric MetricOf(Relation index);

// Builds and inserts (ivf_build.cpp).
IndexBuildResult *Build(Relation heap, Relation index, IndexInfo *info);
void BuildEmpty(Relation index);
bool Insert(Relation index, Datum *values, bool *isnull, ItemPointer tid, Relation heap, IndexUniqueCheck check_unique,
            bool index_unchanged, IndexInfo *info);

// Cost estimate and options (ivf_am.cpp).
void CostEstimate(PlannerInfo *root, IndexPath *path, double loop_count, Cost *startup, Cost *total,
                  Selectivity *selectivity, double *correlation, double *pages);

// Scans (ivf_scan.cpp).
IndexScanDesc BeginScan(Relation index, int nkeys, int norderbys);
void ReScan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys);
bool GetTuple(IndexScanDesc scan, ScanDirection direction);
void EndScan(IndexScanDesc scan);

// VACUUM (ivf_build.cpp).
IndexBulkDeleteResult *BulkDelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats, IndexBulkDeleteCallback callback,
                                  void *callback_state);
IndexBulkDeleteResult *VacuumCleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats);

} // namespace agentgres::pg::ivf
