#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "core/rabitq.hpp"
#include "core/sq8.hpp"
#include "ivf_pages.hpp"
#include "boundary.hpp"

extern "C" {
#include "commands/vacuum.h"
#include "storage/lmgr.h"
#include "miscadmin.h"
}

namespace rabitq = agentgres::core::rabitq;

namespace agentgres::pg::ivf {
namespace {

constexpr Size kListEntriesPerPage = kPageContents / sizeof(IvfListEntry);

Size
PagesFor(Size bytes)
{
	return (bytes + kPageContents - 1) / kPageContents;
}

// A page whose contents are raw bytes (meta, runs, directory): pd_lower
// covers them, so a full-page WAL image never drops them as the "hole".
void
InitRawPage(Page page, Size bytes)
{
	PageInit(page, BLCKSZ, 0);
	reinterpret_cast<PageHeader>(page)->pd_lower = static_cast<LocationIndex>(MAXALIGN(SizeOfPageHeaderData) + bytes);
}

void
InitEntryPage(Page page)
{
	PageInit(page, BLCKSZ, sizeof(IvfPageOpaque));
	IvfPageOpaque *opaque = OpaqueOf(page);
	opaque->next = InvalidBlockNumber;
	opaque->flags = 0;
	opaque->page_id = kPageId;
}

IvfListEntry *
ListEntriesOf(Page page)
{
	return reinterpret_cast<IvfListEntry *>(PageGetContents(page));
}

// A new block at the end of the fork, pinned and exclusively locked.
Buffer
NewLockedBuffer(Relation index, ForkNumber fork)
{
	LockRelationForExtension(index, ExclusiveLock);
	const Buffer buffer = ReadBufferExtended(index, fork, P_NEW, RBM_NORMAL, nullptr);
	UnlockRelationForExtension(index, ExclusiveLock);
	LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
	return buffer;
}

// Overwrites a whole block with image, WAL-logged as a full page.
void
WriteImage(Relation index, ForkNumber fork, Buffer buffer, const char *image)
{
	GenericXLogState *state = GenericXLogStart(index);
	Page page = GenericXLogRegisterBuffer(state, buffer, GENERIC_XLOG_FULL_IMAGE);
	std::memcpy(page, image, BLCKSZ);
	GenericXLogFinish(state);
}

// Writes bytes as a run of raw pages at the end of the fork; returns the
// first block.
BlockNumber
WriteRun(Relation index, ForkNumber fork, const char *bytes, Size size)
{
	BlockNumber start = InvalidBlockNumber;
	PGAlignedBlock image;
	for (Size done = 0, page = 0; page < std::max<Size>(PagesFor(size), 1); ++page) {
		const Size chunk = std::min(kPageContents, size - done);
		InitRawPage(image.data, chunk);
		std::memcpy(PageGetContents(image.data), bytes + done, chunk);
		done += chunk;
		const Buffer buffer = NewLockedBuffer(index, fork);
		if (start == InvalidBlockNumber)
			start = BufferGetBlockNumber(buffer);
		else if (BufferGetBlockNumber(buffer) != start + page)
			elog(ERROR, "agentgres_ivf: the pages of a run are not consecutive in \"%s\"",
			     RelationGetRelationName(index));
		WriteImage(index, fork, buffer, image.data);
		UnlockReleaseBuffer(buffer);
	}
	return start;
}

void
ReadRun(Relation index, BlockNumber start, char *bytes, Size size)
{
	for (Size done = 0, page = 0; done < size; ++page) {
		const Size chunk = std::min(kPageContents, size - done);
		const Buffer buffer = ReadBuffer(index, start + static_cast<BlockNumber>(page));
		LockBuffer(buffer, BUFFER_LOCK_SHARE);
		std::memcpy(bytes + done, PageGetContents(BufferGetPage(buffer)), chunk);
		UnlockReleaseBuffer(buffer);
		done += chunk;
	}
}

// Writes meta as the page of buffer (locked), then releases it.
void
WriteMetaPage(Relation index, ForkNumber fork, Buffer buffer, const IvfMeta &meta)
{
	PGAlignedBlock image;
	InitRawPage(image.data, sizeof(IvfMeta));
	std::memcpy(PageGetContents(image.data), &meta, sizeof(IvfMeta));
	WriteImage(index, fork, buffer, image.data);
	UnlockReleaseBuffer(buffer);
}

// Writes meta into block 0 (which must exist).
void
WriteMeta(Relation index, ForkNumber fork, const IvfMeta &meta)
{
	const Buffer buffer = ReadBufferExtended(index, fork, kMetaBlock, RBM_NORMAL, nullptr);
	LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
	WriteMetaPage(index, fork, buffer, meta);
}

IvfMeta
EmptyMeta(Metric metric)
{
	IvfMeta meta{};
	meta.magic = kMagic;
	meta.version = kVersion;
	meta.metric = static_cast<uint16>(metric);
	meta.rotation_start = meta.centroids_start = meta.directory_start = InvalidBlockNumber;
	return meta;
}

// The directory page and slot of a list.
BlockNumber
DirectoryBlock(const IvfMeta &meta, std::uint32_t list)
{
	return meta.directory_start + static_cast<BlockNumber>(list / kListEntriesPerPage);
}

Size
DirectorySlot(std::uint32_t list)
{
	return list % kListEntriesPerPage;
}

#if PG_VERSION_NUM >= 160000
using RelFileNode = RelFileLocator;
#define RelFileNodeEquals RelFileLocatorEquals
#endif

RelFileNode
IndexFileOf(Relation index)
{
#if PG_VERSION_NUM >= 160000
	return index->rd_locator;
#else
	return index->rd_node;
#endif
}

// This backend's caches, by index OID; an entry is valid while the index's
// file and its meta's layout are the ones it was read from.
struct CachedIndex {
	RelFileNode node;
	BlockNumber centroids_start;
	uint32 lists;
	uint32 dims;
	std::shared_ptr<const IndexCache> cache;
};

std::unordered_map<Oid, CachedIndex> &
Caches()
{
	static std::unordered_map<Oid, CachedIndex> caches;
	return caches;
}

} // namespace

IndexCache
MakeCache(uint32 dims, Metric metric, uint32 lists, std::vector<float> centroids, std::uint64_t seed)
{
	IndexCache cache;
	cache.dims = dims;
	cache.metric = metric;
	cache.lists = lists;
	cache.rotation = rabitq::RandomRotation(dims, seed);
	cache.centroids = std::move(centroids);
	cache.centroid_norms.resize(lists);
	for (uint32 l = 0; l < lists; ++l) {
		float norm = 0;
		for (uint32 i = 0; i < dims; ++i)
			norm += cache.centroids[static_cast<std::size_t>(l) * dims + i] *
			        cache.centroids[static_cast<std::size_t>(l) * dims + i];
		cache.centroid_norms[l] = norm;
	}
	return cache;
}

std::shared_ptr<const IndexCache>
CacheOf(Relation index, const IvfMeta &meta)
{
	auto &caches = Caches();
	const auto found = caches.find(RelationGetRelid(index));
	if (found != caches.end() && RelFileNodeEquals(found->second.node, IndexFileOf(index)) &&
	    found->second.centroids_start == meta.centroids_start && found->second.lists == meta.lists &&
	    found->second.dims == meta.dims)
		return found->second.cache;

	auto cache = std::make_shared<IndexCache>();
	cache->dims = meta.dims;
	cache->metric = static_cast<Metric>(meta.metric);
	cache->lists = meta.lists;
	cache->rotation.resize(static_cast<std::size_t>(meta.dims) * meta.dims);
	cache->centroids.resize(static_cast<std::size_t>(meta.lists) * meta.dims);
	PgCall([&] {
		ReadRun(index, meta.rotation_start, reinterpret_cast<char *>(cache->rotation.data()),
		        cache->rotation.size() * sizeof(float));
		ReadRun(index, meta.centroids_start, reinterpret_cast<char *>(cache->centroids.data()),
		        cache->centroids.size() * sizeof(float));
	});
	cache->centroid_norms.resize(meta.lists);
	for (uint32 l = 0; l < meta.lists; ++l) {
		float norm = 0;
		for (uint32 i = 0; i < meta.dims; ++i)
			norm += cache->centroids[static_cast<std::size_t>(l) * meta.dims + i] *
			        cache->centroids[static_cast<std::size_t>(l) * meta.dims + i];
		cache->centroid_norms[l] = norm;
	}
	caches[RelationGetRelid(index)] = {IndexFileOf(index), meta.centroids_start, meta.lists, meta.dims, cache};
	return cache;
}

void
EncodeEntry(const IndexCache &cache, std::uint32_t list, std::span<const float> vector, ItemPointerData tid,
            std::vector<char> &entry)
{
	const uint32 dims = cache.dims;
	const float *c = &cache.centroids[static_cast<std::size_t>(list) * dims];
	std::vector<float> residual(dims), rotated(dims);
	float residual_center = 0;
	for (uint32 i = 0; i < dims; ++i) {
		residual[i] = vector[i] - c[i];
		residual_center += residual[i] * c[i];
	}
	rabitq::Rotate(cache.rotation, residual, rotated);
	entry.assign(EntrySize(dims), 0);
	auto *e = reinterpret_cast<IvfEntry *>(entry.data());
	e->tid = tid;
	e->factors = agentgres::core::sq8::Encode(rotated, residual_center, std::span(e->code, dims));
}

IvfMeta
ReadMeta(Relation index)
{
	const Buffer buffer = ReadBuffer(index, kMetaBlock);
	LockBuffer(buffer, BUFFER_LOCK_SHARE);
	const IvfMeta meta = *MetaOf(BufferGetPage(buffer));
	UnlockReleaseBuffer(buffer);
	if (meta.magic != kMagic || meta.version != kVersion)
		ereport(ERROR, errcode(ERRCODE_INDEX_CORRUPTED),
		        errmsg("index \"%s\" is not an agentgres_ivf index of version %u", RelationGetRelationName(index),
		               kVersion),
		        errhint("REINDEX it."));
	return meta;
}

void
WriteEmptyMeta(Relation index, Metric metric, ForkNumber fork)
{
	WriteMetaPage(index, fork, NewLockedBuffer(index, fork), EmptyMeta(metric));
}

IvfMeta
WriteFixedPages(Relation index, const IndexCache &cache, uint32 sample_rows, ForkNumber fork)
{
	IvfMeta meta = EmptyMeta(cache.metric);
	meta.dims = cache.dims;
	meta.lists = cache.lists;
	meta.sample_rows = sample_rows;
	if (RelationGetNumberOfBlocksInFork(index, fork) == 0)
		WriteEmptyMeta(index, cache.metric, fork);
	meta.rotation_start = WriteRun(index, fork, reinterpret_cast<const char *>(cache.rotation.data()),
	                               cache.rotation.size() * sizeof(float));
	meta.centroids_start = WriteRun(index, fork, reinterpret_cast<const char *>(cache.centroids.data()),
	                                cache.centroids.size() * sizeof(float));
	// An empty directory: every list without pages.
	meta.directory_start = InvalidBlockNumber;
	{
		PGAlignedBlock image;
		for (Size list = 0; list < cache.lists || list == 0; list += kListEntriesPerPage) {
			const Size count = std::min<Size>(kListEntriesPerPage, cache.lists - std::min<Size>(list, cache.lists));
			InitRawPage(image.data, count * sizeof(IvfListEntry));
			for (Size i = 0; i < count; ++i)
				ListEntriesOf(image.data)[i] = {InvalidBlockNumber, InvalidBlockNumber};
			const Buffer buffer = NewLockedBuffer(index, fork);
			if (meta.directory_start == InvalidBlockNumber)
				meta.directory_start = BufferGetBlockNumber(buffer);
			WriteImage(index, fork, buffer, image.data);
			UnlockReleaseBuffer(buffer);
			if (cache.lists == 0)
				break;
		}
	}
	WriteMeta(index, fork, meta);
	return meta;
}

IvfMeta
InitializeWith(Relation index, const IndexCache &cache)
{
	// Serialised on a heavyweight lock of the meta page: the first backend
	// here sets the index up, the others find it done.
	LockPage(index, kMetaBlock, ExclusiveLock);
	IvfMeta meta = ReadMeta(index);
	if (meta.dims == 0)
		meta = WriteFixedPages(index, cache, 1, MAIN_FORKNUM);
	UnlockPage(index, kMetaBlock, ExclusiveLock);
	return meta;
}

void
AppendToList(Relation index, PendingList &list, const std::vector<char> &entry)
{
	if (!list.image) {
		list.image = std::make_unique<PGAlignedBlock>();
		InitEntryPage(list.image->data);
		const Buffer buffer = NewLockedBuffer(index, MAIN_FORKNUM);
		list.first = list.last = BufferGetBlockNumber(buffer);
		UnlockReleaseBuffer(buffer);
	}
	Page page = list.image->data;
	if (PageGetFreeSpace(page) < MAXALIGN(entry.size())) {
		// Full: its successor's block first, so the page is written once.
		const Buffer next = NewLockedBuffer(index, MAIN_FORKNUM);
		OpaqueOf(page)->next = BufferGetBlockNumber(next);
		UnlockReleaseBuffer(next);
		const Buffer buffer = ReadBuffer(index, list.last);
		LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
		WriteImage(index, MAIN_FORKNUM, buffer, page);
		UnlockReleaseBuffer(buffer);
		list.last = OpaqueOf(page)->next;
		InitEntryPage(page);
	}
	if (PageAddItem(page, const_cast<char *>(entry.data()), entry.size(), InvalidOffsetNumber, false, false) ==
	    InvalidOffsetNumber)
		elog(ERROR, "agentgres_ivf: could not add an entry of %zu bytes to a page", entry.size());
}

void
FinishList(Relation index, PendingList &list)
{
	if (!list.image)
		return;
	const Buffer buffer = ReadBuffer(index, list.last);
	LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
	WriteImage(index, MAIN_FORKNUM, buffer, list.image->data);
	UnlockReleaseBuffer(buffer);
}

void
WriteDirectory(Relation index, const IvfMeta &meta, const std::vector<PendingList> &lists)
{
	for (Size start = 0; start < lists.size(); start += kListEntriesPerPage) {
		const Buffer buffer = ReadBuffer(index, DirectoryBlock(meta, static_cast<std::uint32_t>(start)));
		LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
		GenericXLogState *state = GenericXLogStart(index);
		Page page = GenericXLogRegisterBuffer(state, buffer, 0);
		for (Size i = 0; i < kListEntriesPerPage && start + i < lists.size(); ++i)
			ListEntriesOf(page)[i] = {lists[start + i].first, lists[start + i].last};
		GenericXLogFinish(state);
		UnlockReleaseBuffer(buffer);
	}
}

BlockNumber
FirstPageOf(Relation index, const IvfMeta &meta, std::uint32_t list)
{
	const Buffer buffer = ReadBuffer(index, DirectoryBlock(meta, list));
	LockBuffer(buffer, BUFFER_LOCK_SHARE);
	const BlockNumber first = ListEntriesOf(BufferGetPage(buffer))[DirectorySlot(list)].first;
	UnlockReleaseBuffer(buffer);
	return first;
}

void
InsertEntry(Relation index, const IvfMeta &meta, std::uint32_t list, const char *entry, Size size)
{
	const BlockNumber directory = DirectoryBlock(meta, list);
	const Size slot = DirectorySlot(list);
	for (;;) {
		Buffer dir_buffer = ReadBuffer(index, directory);
		LockBuffer(dir_buffer, BUFFER_LOCK_SHARE);
		const IvfListEntry where = ListEntriesOf(BufferGetPage(dir_buffer))[slot];
		LockBuffer(dir_buffer, BUFFER_LOCK_UNLOCK);

		if (where.last == InvalidBlockNumber) {
			// An empty list gets its first page under the directory page's lock.
			LockBuffer(dir_buffer, BUFFER_LOCK_EXCLUSIVE);
			if (ListEntriesOf(BufferGetPage(dir_buffer))[slot].last != InvalidBlockNumber) {
				UnlockReleaseBuffer(dir_buffer);
				continue;
			}
			const Buffer fresh = NewLockedBuffer(index, MAIN_FORKNUM);
			GenericXLogState *state = GenericXLogStart(index);
			Page fresh_page = GenericXLogRegisterBuffer(state, fresh, GENERIC_XLOG_FULL_IMAGE);
			Page dir_page = GenericXLogRegisterBuffer(state, dir_buffer, 0);
			InitEntryPage(fresh_page);
			if (PageAddItem(fresh_page, const_cast<char *>(entry), size, InvalidOffsetNumber, false, false) ==
			    InvalidOffsetNumber)
				elog(ERROR, "agentgres_ivf: could not add an entry of %zu bytes to a page", size);
			ListEntriesOf(dir_page)[slot] = {BufferGetBlockNumber(fresh), BufferGetBlockNumber(fresh)};
			GenericXLogFinish(state);
			UnlockReleaseBuffer(fresh);
			UnlockReleaseBuffer(dir_buffer);
			return;
		}
		ReleaseBuffer(dir_buffer);

		// The list's last page: the directory may lag behind a concurrent
		// extension, so follow the chain to its real end.
		BlockNumber block = where.last;
		for (;;) {
			const Buffer buffer = ReadBuffer(index, block);
			LockBuffer(buffer, BUFFER_LOCK_EXCLUSIVE);
			Page page = BufferGetPage(buffer);
			if (OpaqueOf(page)->next != InvalidBlockNumber) {
				block = OpaqueOf(page)->next;
				UnlockReleaseBuffer(buffer);
				continue;
			}
			GenericXLogState *state = GenericXLogStart(index);
			page = GenericXLogRegisterBuffer(state, buffer, 0);
			if (PageGetFreeSpace(page) >= MAXALIGN(size)) {
				if (PageAddItem(page, const_cast<char *>(entry), size, InvalidOffsetNumber, false, false) ==
				    InvalidOffsetNumber)
					elog(ERROR, "agentgres_ivf: could not add an entry of %zu bytes to a page", size);
				GenericXLogFinish(state);
				UnlockReleaseBuffer(buffer);
				return;
			}
			// Full: a new last page, linked from this one and the directory,
			// in one WAL record. Lock order: list page, new page, directory.
			const Buffer fresh = NewLockedBuffer(index, MAIN_FORKNUM);
			dir_buffer = ReadBuffer(index, directory);
			LockBuffer(dir_buffer, BUFFER_LOCK_EXCLUSIVE);
			Page fresh_page = GenericXLogRegisterBuffer(state, fresh, GENERIC_XLOG_FULL_IMAGE);
			Page dir_page = GenericXLogRegisterBuffer(state, dir_buffer, 0);
			InitEntryPage(fresh_page);
			if (PageAddItem(fresh_page, const_cast<char *>(entry), size, InvalidOffsetNumber, false, false) ==
			    InvalidOffsetNumber)
				elog(ERROR, "agentgres_ivf: could not add an entry of %zu bytes to a page", size);
			OpaqueOf(page)->next = BufferGetBlockNumber(fresh);
			ListEntriesOf(dir_page)[slot].last = BufferGetBlockNumber(fresh);
			GenericXLogFinish(state);
			UnlockReleaseBuffer(dir_buffer);
			UnlockReleaseBuffer(fresh);
			UnlockReleaseBuffer(buffer);
			return;
		}
	}
}

void
RemoveDeadEntries(Relation index, BufferAccessStrategy strategy, IndexBulkDeleteResult *stats,
                  IndexBulkDeleteCallback callback, void *callback_state)
{
	const IvfMeta meta = ReadMeta(index);
	for (std::uint32_t list = 0; list < meta.lists; ++list) {
		BlockNumber block = FirstPageOf(index, meta, list);
		while (block != InvalidBlockNumber) {
			vacuum_delay_point();
			const Buffer buffer = ReadBufferExtended(index, MAIN_FORKNUM, block, RBM_NORMAL, strategy);
			LockBuffer(buffer, callback != nullptr ? BUFFER_LOCK_EXCLUSIVE : BUFFER_LOCK_SHARE);
			Page page = BufferGetPage(buffer);
			OffsetNumber dead[MaxIndexTuplesPerPage];
			int dead_count = 0;
			const OffsetNumber max = PageGetMaxOffsetNumber(page);
			for (OffsetNumber offset = FirstOffsetNumber; offset <= max; offset = OffsetNumberNext(offset)) {
				const auto *entry = reinterpret_cast<const IvfEntry *>(PageGetItem(page, PageGetItemId(page, offset)));
				if (callback != nullptr && callback(const_cast<ItemPointer>(&entry->tid), callback_state))
					dead[dead_count++] = offset;
				else
					stats->num_index_tuples += 1;
			}
			if (dead_count > 0) {
				GenericXLogState *state = GenericXLogStart(index);
				page = GenericXLogRegisterBuffer(state, buffer, 0);
				PageIndexMultiDelete(page, dead, dead_count);
				GenericXLogFinish(state);
				stats->tuples_removed += dead_count;
			}
			block = OpaqueOf(page)->next;
			UnlockReleaseBuffer(buffer);
		}
	}
}

} // namespace agentgres::pg::ivf
