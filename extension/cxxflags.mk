# Compiler flags of every PostgreSQL module we build (Makefile.pgxs and
# tests/module/Makefile), on top of pg_config's. Portable code generation (no
# -march=native): the distance kernels pick AVX2/AVX-512 at run time.
# -fno-math-errno lets sqrt inline. Header dependencies are tracked per object
# (PGXS's autodepend keys them by file name alone, and core/ and pg/ share
# names). Set AGENTGRES_ROOT before including.
AGENTGRES_CXXFLAGS = -std=c++20 -O2 -fno-math-errno -Wall -Wextra -Wno-unused-parameter \
	-Wno-missing-field-initializers -Wno-register -I$(AGENTGRES_ROOT)/extension \
	$(patsubst -I%,-isystem %,$(shell pkg-config --cflags eigen3)) -fvisibility-inlines-hidden -MMD -MP
