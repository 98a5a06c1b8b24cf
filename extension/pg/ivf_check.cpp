// agentgres.ivf_check(index regclass): an amcheck for agentgres_ivf. Walks
// the meta page, the directory and every list's chain of pages, raises
// index_corrupted (XX002) at the first thing out of place, and returns each
// entry's list and heap TID, so that SQL can hold the index against its
// table (every live row present, nothing else).
#include <unordered_set>

#include "ivf.hpp"
#include "ivf_pages.hpp"
#include "boundary.hpp"

extern "C" {
#include "access/table.h"
#include "catalog/index.h"
#include "catalog/pg_am.h"
#include "commands/defrem.h"
#include "funcapi.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"
}

namespace {

namespace ivf = agentgres::pg::ivf;

[[noreturn]] void
Corrupted(Relation index, const char *what, BlockNumber block)
{
	ereport(ERROR, errcode(ERRCODE_INDEX_CORRUPTED),
	        errmsg("agentgres_ivf index \"%s\" is corrupted: %s (block %u)", RelationGetRelationName(index), what,
	               block),
	        errhint("REINDEX it."));
}

} // namespace

AGENTGRES_FUNCTION(agentgres_ivf_check)
{
	// fetch (PostgreSQL): no C++ object is alive yet
	const Oid index_oid = PG_GETARG_OID(0);
	InitMaterializedSRF(fcinfo, 0);
	auto *result = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);

	const char *name = get_rel_name(index_oid);
	if (name == nullptr)
		ereport(ERROR, errcode(ERRCODE_UNDEFINED_TABLE), errmsg("relation with OID %u does not exist", index_oid));
	const Oid heap_oid = IndexGetRelation(index_oid, true);
	if (!OidIsValid(heap_oid))
		ereport(ERROR, errcode(ERRCODE_WRONG_OBJECT_TYPE), errmsg("\"%s\" is not an index", name));
	// Reading the index tells what rows the table has: the caller must be
	// allowed to read the table.
	const AclResult acl = pg_class_aclcheck(heap_oid, GetUserId(), ACL_SELECT);
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_TABLE, get_rel_name(heap_oid));
	Relation heap = table_open(heap_oid, AccessShareLock);
	Relation index = index_open(index_oid, AccessShareLock);
	if (index->rd_rel->relam != get_index_am_oid("agentgres_ivf", false))
		ereport(ERROR, errcode(ERRCODE_WRONG_OBJECT_TYPE),
		        errmsg("\"%s\" is not an agentgres_ivf index", RelationGetRelationName(index)));

	const ivf::IvfMeta meta = ivf::ReadMeta(index);
	const BlockNumber blocks = RelationGetNumberOfBlocks(index);
	const Size entry_size = ivf::EntrySize(meta.dims);

	// The walk: the set of visited blocks is C++, so every PostgreSQL call
	// from here on goes through PgCall.
	std::unordered_set<BlockNumber> seen;
	agentgres::pg::PgCall([&] {
		for (uint32 list = 0; list < meta.lists; ++list) {
			BlockNumber block = ivf::FirstPageOf(index, meta, list);
			while (block != InvalidBlockNumber) {
				CHECK_FOR_INTERRUPTS();
				if (block >= blocks)
					Corrupted(index, "a list points past the end of the index", block);
				if (!seen.insert(block).second)
					Corrupted(index, "a page belongs to two lists or a list loops", block);
				const Buffer buffer = ReadBuffer(index, block);
				LockBuffer(buffer, BUFFER_LOCK_SHARE);
				Page page = BufferGetPage(buffer);
				if (PageIsNew(page) || PageGetSpecialSize(page) != MAXALIGN(sizeof(ivf::IvfPageOpaque)) ||
				    ivf::OpaqueOf(page)->page_id != ivf::kPageId)
					Corrupted(index, "a list page is not an entry page", block);
				const OffsetNumber max = PageGetMaxOffsetNumber(page);
				for (OffsetNumber offset = FirstOffsetNumber; offset <= max; offset = OffsetNumberNext(offset)) {
					const ItemId item = PageGetItemId(page, offset);
					if (!ItemIdIsUsed(item))
						continue;
					if (ItemIdGetLength(item) != entry_size)
						Corrupted(index, "an entry has the wrong size", block);
					const auto *entry = reinterpret_cast<const ivf::IvfEntry *>(PageGetItem(page, item));
					if (!ItemPointerIsValid(&entry->tid))
						Corrupted(index, "an entry has an invalid heap TID", block);
					Datum values[2] = {Int32GetDatum(static_cast<int32>(list)), PointerGetDatum(&entry->tid)};
					bool nulls[2] = {false, false};
					tuplestore_putvalues(result->setResult, result->setDesc, values, nulls);
				}
				block = ivf::OpaqueOf(page)->next;
				UnlockReleaseBuffer(buffer);
			}
		}
	});
	agentgres::pg::PgCall([&] {
		index_close(index, AccessShareLock);
		table_close(heap, AccessShareLock);
	});
	return static_cast<Datum>(0);
}
