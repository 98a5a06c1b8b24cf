// The shared library's identity and its load-time set-up.
#include "settings.hpp"

#include "postgres_headers.hpp"

extern "C" {
PG_MODULE_MAGIC;

void _PG_init(void);

void
_PG_init(void)
{
	agentgres::pg::DefineSettings();
}
}
