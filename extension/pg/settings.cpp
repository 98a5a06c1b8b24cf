#include <climits>

#include "settings.hpp"

#include "postgres_headers.hpp"

extern "C" {
#include "access/reloptions.h"
#include "utils/guc.h"
}

namespace agentgres::pg {

// 256 MB. A parallel worker costs about 6 ms to start, and a fresh process
// without huge pages also takes a page fault at its first touch of every
// shared buffer, which halves its speed: on the 2-core VM top_k with workers
// was slower than alone at 100,000 x 384 (164 MB) and faster from about
// 400,000 (650 MB), 0.89x of the serial time without huge pages and 0.69x
// with them (bench/README.md, agentgres_bench_topk).
int top_k_parallel_min_blocks = 256 * 1024 * 1024 / BLCKSZ;

int ivf_probes = 10;
int ivf_reloption_kind = 0;

void
DefineSettings()
{
	DefineCustomIntVariable("agentgres.ivf_probes", "The lists an agentgres_ivf index scan visits first.",
	                        "More lists find more of the true nearest rows, at the cost of speed. A scan that needs "
	                        "more rows (a filter rejected most) visits further lists as many at a time.",
	                        &ivf_probes, ivf_probes, 1, 65536, PGC_USERSET, 0, nullptr, nullptr, nullptr);
	ivf_reloption_kind = static_cast<int>(add_reloption_kind());
	add_int_reloption(static_cast<relopt_kind>(ivf_reloption_kind), "lists",
	                  "Number of inverted lists (0: a thousandth of the rows up to a million, then their square root)",
	                  0, 0, 65536, AccessExclusiveLock);
	DefineCustomIntVariable(
	    "agentgres.top_k_parallel_min_size", "The smallest table that top_k scans with parallel workers.",
	    "Tables at least this large get a worker, and one more each time they triple, up to "
	    "max_parallel_workers_per_gather; a table's parallel_workers storage parameter overrides "
	    "the count.",
	    &top_k_parallel_min_blocks, top_k_parallel_min_blocks, 0, INT_MAX / 3, PGC_USERSET, GUC_UNIT_BLOCKS, nullptr,
	    nullptr, nullptr);
}

} // namespace agentgres::pg
