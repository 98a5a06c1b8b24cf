// Must NOT compile: a core header after a PostgreSQL header (here through the
// glue's postgres_headers.hpp). CTest passes only on cpp_only.hpp's message.
#include "core/error.hpp"

#include "pg/postgres_headers.hpp"

#include "core/distance.hpp"

int
main()
{
	return 0;
}
