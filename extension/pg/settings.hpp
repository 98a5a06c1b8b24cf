// The extension's configuration parameters (agentgres.*), defined when the
// library loads.
#pragma once

namespace agentgres::pg {

// agentgres.top_k_parallel_min_size, in blocks: the smallest table that
// top_k scans with parallel workers.
extern int top_k_parallel_min_blocks;

// agentgres.ivf_probes: the lists an agentgres_ivf scan visits first.
extern int ivf_probes;

// The reloption kind of agentgres_ivf's WITH (...) options.
extern int ivf_reloption_kind;

// Called once from _PG_init.
void DefineSettings();

} // namespace agentgres::pg
