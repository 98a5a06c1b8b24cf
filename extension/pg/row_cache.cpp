#include "row_cache.hpp"

#include <algorithm>

extern "C" {
#include "storage/proc.h" // MyProc->lxid
#include "utils/rls.h"    // row_security
#include "utils/snapmgr.h"
}

namespace agentgres::pg {

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
