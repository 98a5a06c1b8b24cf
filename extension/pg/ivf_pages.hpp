// agentgres_ivf's pages: what the build, inserts, scans and VACUUM share.
//
// Functions marked (PostgreSQL) call PostgreSQL and may raise its errors:
// call them inside PgCall while C++ objects are alive. The others are C++.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "ivf.hpp"

namespace agentgres::pg::ivf {

// The build-time parts of an index that every scan and insert needs: the
// rotation and the centroids. Immutable once made.
struct IndexCache {
	uint32 dims = 0;
	Metric metric = Metric::kL2;
	uint32 lists = 0;
	std::vector<float> rotation;       // dims x dims, row-major
	std::vector<float> centroids;      // lists x dims
	std::vector<float> centroid_norms; // |c|^2 per list
};

// Computes the rotation from seed and the centroids' norms.
IndexCache MakeCache(uint32 dims, Metric metric, uint32 lists, std::vector<float> centroids, std::uint64_t seed);

// This backend's copy of an index's cache, read from its pages when the
// index is new to the backend or was rebuilt (PostgreSQL inside).
std::shared_ptr<const IndexCache> CacheOf(Relation index, const IvfMeta &meta);

// An entry for vector (as indexed: unit length for cosine) in list, into
// entry (EntrySize(dims) bytes).
void EncodeEntry(const IndexCache &cache, std::uint32_t list, std::span<const float> vector, ItemPointerData tid,
                 std::vector<char> &entry);

// (PostgreSQL) A copy of the meta page.
IvfMeta ReadMeta(Relation index);

// (PostgreSQL) The meta page of an index with no vector yet.
void WriteEmptyMeta(Relation index, Metric metric, ForkNumber fork);

// (PostgreSQL) The meta page, rotation, centroids and an empty directory;
// returns the meta written. Block 0 is created, or overwritten when it exists.
IvfMeta WriteFixedPages(Relation index, const IndexCache &cache, uint32 sample_rows, ForkNumber fork);

// (PostgreSQL) For an index built on an empty table: its set-up from the
// first vector (cache: one list, that vector its centroid). Returns the meta
// as it then is (another backend may have done it first).
IvfMeta InitializeWith(Relation index, const IndexCache &cache);

// A list being written by the build: its page image in memory, written
// when full (then its successor is already allocated) or at the end.
struct PendingList {
	BlockNumber first = InvalidBlockNumber;
	BlockNumber last = InvalidBlockNumber;
	std::unique_ptr<PGAlignedBlock> image;
};

// (PostgreSQL) Appends an entry to a list under construction / writes its
// last page.
void AppendToList(Relation index, PendingList &list, const std::vector<char> &entry);
void FinishList(Relation index, PendingList &list);

// (PostgreSQL) The directory with each list's first and last page.
void WriteDirectory(Relation index, const IvfMeta &meta, const std::vector<PendingList> &lists);

// (PostgreSQL) A list's first page, InvalidBlockNumber when it is empty.
BlockNumber FirstPageOf(Relation index, const IvfMeta &meta, std::uint32_t list);

// (PostgreSQL) Appends one entry to a list of a live index (concurrent
// inserts and scans welcome).
void InsertEntry(Relation index, const IvfMeta &meta, std::uint32_t list, const char *entry, Size size);

// (PostgreSQL) Removes the entries whose heap rows callback says are dead
// (callback may be null: only counts) and adds to stats.
void RemoveDeadEntries(Relation index, BufferAccessStrategy strategy, IndexBulkDeleteResult *stats,
                       IndexBulkDeleteCallback callback, void *callback_state);

} // namespace agentgres::pg::ivf
