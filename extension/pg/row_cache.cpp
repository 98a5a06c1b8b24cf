#include "row_cache.hpp"

#include <algorithm>

#include "spi.hpp"

extern "C" {
#include "storage/proc.h" // MyProc->lxid
#include "utils/rls.h"    // row_security
#include "utils/snapmgr.h"
}

namespace agentgres::pg {

bool
FetchRowIdentity(SPIPlanPtr &plan, const char *query, Oid key_type, Datum key, RowIdentity &row)
{
	ConnectSpi();
	Oid types[1] = {key_type};
	Datum values[1] = {key};
	if (SPI_execute_plan(KeptPlan(plan, query, 1, types), values, nullptr, true, 1) != SPI_OK_SELECT)
		ereport(ERROR, errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not run \"%s\"", query));
	const bool found = SPI_processed == 1;
	if (found) {
		HeapTuple tuple = SPI_tuptable->vals[0];
		TupleDesc desc = SPI_tuptable->tupdesc;
		bool is_null = false;
		row.xmin = DatumGetTransactionId(SPI_getbinval(tuple, desc, 1, &is_null));
		ItemPointerCopy(reinterpret_cast<ItemPointer>(DatumGetPointer(SPI_getbinval(tuple, desc, 2, &is_null))),
		                &row.ctid);
		row.version = DatumGetInt64(SPI_getbinval(tuple, desc, 3, &is_null));
	}
	SPI_finish();
	return found;
}

Snapshot
ActiveMvccSnapshot()
{
	if (!ActiveSnapshotSet())
		return nullptr;
	const Snapshot snapshot = GetActiveSnapshot();
	return snapshot->snapshot_type == SNAPSHOT_MVCC ? snapshot : nullptr;
}

bool
SameReadContext(const ReadContext &c, Snapshot s)
{
	return c.valid && s != nullptr && c.lxid == MyProc->lxid && c.user == GetUserId() &&
	       c.row_security == row_security && c.curcid == s->curcid && c.xmin == s->xmin && c.xmax == s->xmax &&
	       c.suboverflowed == s->suboverflowed && c.during_recovery == s->takenDuringRecovery &&
	       c.xip.size() == s->xcnt && c.subxip.size() == static_cast<size_t>(s->subxcnt) &&
	       std::equal(c.xip.begin(), c.xip.end(), s->xip) && std::equal(c.subxip.begin(), c.subxip.end(), s->subxip);
}

ReadContext
CaptureReadContext(Snapshot s)
{
	ReadContext c;
	if (s == nullptr)
		return c;
	c.valid = true;
	c.lxid = MyProc->lxid;
	c.user = GetUserId();
	c.row_security = row_security;
	c.curcid = s->curcid;
	c.xmin = s->xmin;
	c.xmax = s->xmax;
	c.suboverflowed = s->suboverflowed;
	c.during_recovery = s->takenDuringRecovery;
	c.xip.assign(s->xip, s->xip + s->xcnt);
	c.subxip.assign(s->subxip, s->subxip + std::max<int32>(s->subxcnt, 0));
	return c;
}

} // namespace agentgres::pg
