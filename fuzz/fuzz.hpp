// What every fuzz target shares: a check that reports and aborts (libFuzzer
// then saves the input), and the guard that lets only the documented error
// type out of a parser.
#pragma once

#include <cstdio>
#include <cstdlib>

// Not assert(): it must hold in every build type.
#define FUZZ_CHECK(condition)                                                                                          \
	do {                                                                                                               \
		if (!(condition)) {                                                                                            \
			std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #condition);                     \
			std::abort();                                                                                              \
		}                                                                                                              \
	} while (0)
