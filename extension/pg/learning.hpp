// Module-level hooks of the learning glue.
#pragma once

namespace agentgres::pg {

// Registers the relcache callback that drops cached models when
// agentgres.models changes (called from _PG_init).
void RegisterModelCacheInvalidation();

} // namespace agentgres::pg
