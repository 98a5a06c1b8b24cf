// Must compile: the control for wrong_order.cpp (same headers, core first),
// so that the negative tests cannot pass for an unrelated reason such as a
// missing include path.
#include "core/dictionary.hpp"
#include "core/distance.hpp"
#include "core/error.hpp"
#include "core/hash.hpp"

#include "pg/postgres_headers.hpp"

int
main()
{
	return 0;
}
