// The shared library's identity: the magic block PostgreSQL checks at load.
#include "postgres_headers.hpp"

extern "C" {
PG_MODULE_MAGIC;
}
