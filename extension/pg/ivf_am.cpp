// agentgres_ivf: the access method's handler, options, cost estimate and the
// C entry points (ivf.hpp has the design). Every entry point whose body is
// C++ runs it through InvokeCppTask, so no exception reaches PostgreSQL.
#include <algorithm>
#include <cmath>

#include "ivf.hpp"
#include "ivf_pages.hpp"
#include "boundary.hpp"
#include "settings.hpp"

extern "C" {
#include "access/reloptions.h"
#include "catalog/pg_type.h"
#include "commands/vacuum.h"
#include "optimizer/cost.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/selfuncs.h"
}

namespace agentgres::pg::ivf {

Metric
MetricOf(Relation index)
{
	const Oid family = index->rd_opfamily[0];
	const Oid type = index->rd_opcintype[0];
	for (const Metric metric : {Metric::kL2, Metric::kCosine, Metric::kInnerProduct})
		if (OidIsValid(get_opfamily_member(family, type, type, static_cast<int16>(metric))))
			return metric;
	ereport(ERROR, errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
	        errmsg("operator class of index \"%s\" has no distance operator agentgres_ivf knows",
	               RelationGetRelationName(index)));
	pg_unreachable();
}

void
CostEstimate(PlannerInfo *root, IndexPath *path, double loop_count, Cost *startup, Cost *total,
             Selectivity *selectivity, double *correlation, double *pages)
{
	// Only ORDER BY <distance> scans: without one the index answers nothing.
	if (path->indexorderbys == NIL) {
		*startup = *total = get_float8_infinity();
		*selectivity = 0;
		*correlation = 0;
		*pages = 0;
		return;
	}
	GenericCosts costs{};
	genericcostestimate(root, path, loop_count, &costs);
	// A scan reads probes / lists of the entries before its first row.
	Relation index = index_open(path->indexinfo->indexoid, NoLock);
	const IvfMeta meta = ReadMeta(index);
	index_close(index, NoLock);
	const double ratio = meta.lists == 0 ? 1.0 : std::min(1.0, static_cast<double>(ivf_probes) / meta.lists);
	*startup = costs.indexStartupCost + costs.indexTotalCost * ratio;
	*total = *startup;
	*selectivity = 1;
	*correlation = 0;
	*pages = costs.numIndexPages * ratio;
}

} // namespace agentgres::pg::ivf

namespace {

namespace ivf = agentgres::pg::ivf;
using agentgres::pg::InvokeCppTask;

IndexBuildResult *
IvfBuild(Relation heap, Relation index, IndexInfo *info)
{
	struct Call {
		Relation heap, index;
		IndexInfo *info;
		IndexBuildResult *result;
	} call{heap, index, info, nullptr};
	InvokeCppTask(
	    [](void *arg) {
		    auto *c = static_cast<Call *>(arg);
		    c->result = ivf::Build(c->heap, c->index, c->info);
	    },
	    &call);
	return call.result;
}

bool
IvfInsert(Relation index, Datum *values, bool *isnull, ItemPointer tid, Relation heap, IndexUniqueCheck check_unique,
          bool index_unchanged, IndexInfo *info)
{
	struct Call {
		Relation index;
		Datum *values;
		bool *isnull;
		ItemPointer tid;
		Relation heap;
		IndexUniqueCheck check_unique;
		bool index_unchanged;
		IndexInfo *info;
	} call{index, values, isnull, tid, heap, check_unique, index_unchanged, info};
	// Short-lived allocations (the detoasted vector) go with the insert.
	const MemoryContext caller = MemoryContextSwitchTo(
	    AllocSetContextCreate(CurrentMemoryContext, "agentgres_ivf insert", ALLOCSET_SMALL_SIZES));
	InvokeCppTask(
	    [](void *arg) {
		    auto *c = static_cast<Call *>(arg);
		    ivf::Insert(c->index, c->values, c->isnull, c->tid, c->heap, c->check_unique, c->index_unchanged, c->info);
	    },
	    &call);
	MemoryContextDelete(MemoryContextSwitchTo(caller));
	return false;
}

IndexScanDesc
IvfBeginScan(Relation index, int nkeys, int norderbys)
{
	return ivf::BeginScan(index, nkeys, norderbys);
}

void
IvfReScan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys)
{
	struct Call {
		IndexScanDesc scan;
		ScanKey keys;
		int nkeys;
		ScanKey orderbys;
		int norderbys;
	} call{scan, keys, nkeys, orderbys, norderbys};
	InvokeCppTask(
	    [](void *arg) {
		    auto *c = static_cast<Call *>(arg);
		    ivf::ReScan(c->scan, c->keys, c->nkeys, c->orderbys, c->norderbys);
	    },
	    &call);
}

bool
IvfGetTuple(IndexScanDesc scan, ScanDirection direction)
{
	struct Call {
		IndexScanDesc scan;
		ScanDirection direction;
		bool found;
	} call{scan, direction, false};
	InvokeCppTask(
	    [](void *arg) {
		    auto *c = static_cast<Call *>(arg);
		    c->found = ivf::GetTuple(c->scan, c->direction);
	    },
	    &call);
	return call.found;
}

bytea *
IvfOptions(Datum reloptions, bool validate)
{
	static const relopt_parse_elt table[] = {
	    {"lists", RELOPT_TYPE_INT, offsetof(ivf::IvfOptions, lists)},
	};
	return static_cast<bytea *>(
	    build_reloptions(reloptions, validate, static_cast<relopt_kind>(agentgres::pg::ivf_reloption_kind),
	                     sizeof(ivf::IvfOptions), table, lengthof(table)));
}

bool
IvfValidate(Oid opclass)
{
	return true;
}

} // namespace

extern "C" {
PG_FUNCTION_INFO_V1(agentgres_ivf_handler);
Datum
agentgres_ivf_handler(PG_FUNCTION_ARGS)
{
	IndexAmRoutine *am = makeNode(IndexAmRoutine);
	am->amstrategies = 3; // <->, <=>, <#>: ivf::Metric
	am->amsupport = 0;
	am->amoptsprocnum = 0;
	am->amcanorder = false;
	am->amcanorderbyop = true;
	am->amcanbackward = false;
	am->amcanunique = false;
	am->amcanmulticol = false;
	am->amoptionalkey = true;
	am->amsearcharray = false;
	am->amsearchnulls = false;
	am->amstorage = false;
	am->amclusterable = false;
	am->ampredlocks = false;
	am->amcanparallel = false;
	am->amcaninclude = false;
	am->amusemaintenanceworkmem = false;
	am->amparallelvacuumoptions = VACUUM_OPTION_PARALLEL_BULKDEL;
	am->amkeytype = InvalidOid;
	am->ambuild = IvfBuild;
	am->ambuildempty = agentgres::pg::ivf::BuildEmpty;
	am->aminsert = IvfInsert;
	am->ambulkdelete = agentgres::pg::ivf::BulkDelete;
	am->amvacuumcleanup = agentgres::pg::ivf::VacuumCleanup;
	am->amcanreturn = nullptr;
	am->amcostestimate = agentgres::pg::ivf::CostEstimate;
	am->amoptions = IvfOptions;
	am->amproperty = nullptr;
	am->ambuildphasename = nullptr;
	am->amvalidate = IvfValidate;
	am->amadjustmembers = nullptr;
	am->ambeginscan = IvfBeginScan;
	am->amrescan = IvfReScan;
	am->amgettuple = IvfGetTuple;
	am->amgetbitmap = nullptr;
	am->amendscan = agentgres::pg::ivf::EndScan;
	am->ammarkpos = nullptr;
	am->amrestrpos = nullptr;
	am->amestimateparallelscan = nullptr;
	am->aminitparallelscan = nullptr;
	am->amparallelrescan = nullptr;
	PG_RETURN_POINTER(am);
}
}
