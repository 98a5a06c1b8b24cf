// Must NOT compile: the same, with a core header that was already included
// (hash.hpp comes in through dictionary.hpp). The check sits outside the
// include guard, so it runs again at the second inclusion.
#include "core/dictionary.hpp"

#include "pg/postgres_headers.hpp"

#include "core/hash.hpp"

int
main()
{
	return 0;
}
