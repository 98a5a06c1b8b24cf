#!/usr/bin/env bash
# The second README command: installs the dependencies, builds everything
# (CMake: kernels, module, unit tests, benchmarks; PGXS: the module DBAs
# install), and runs every test:
#   1. GoogleTest unit tests of the kernels
#   2. the same unit tests under AddressSanitizer + UBSan
#   3. pg_regress against a throwaway cluster run by an unprivileged account
#   4. the upgrade test (every older version updated to the current one equals
#      a fresh install)
#   5. integration tests, each in a database of its own on the same cluster
#      (tests/integration/*.sh), among them the real agentgresd (also built
#      with ASan + UBSan)
#   6. TAP tests (tests/tap/*.pl, PostgreSQL::Test::Cluster): each on a
#      cluster of its own that it crashes and restarts
#   7. the libFuzzer targets (fuzz/*.cpp), 20 s each (scripts/fuzz.sh)
# and ends with one summary line "N passed, N failed".
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BUILD="$AGENTGRES_ROOT/build"
BUILD_ASAN="$AGENTGRES_ROOT/build-asan"
PORT="${AGENTGRES_TEST_PGPORT:-5441}"
JOBS="$(nproc)"
passed=0
failed=0
skipped=0
failures=()

record() { # record NAME STATUS (0 passed, 77 skipped, anything else failed)
	if [[ "$2" -eq 0 ]]; then
		passed=$((passed + 1)); log "PASS $1"
	elif [[ "$2" -eq 77 ]]; then
		skipped=$((skipped + 1)); log "SKIP $1"
	else
		failed=$((failed + 1)); failures+=("$1"); log "FAIL $1"
	fi
}

install_dependencies
install_test_dependencies

# The schedule must list every regress file.
for f in "$AGENTGRES_ROOT"/tests/regress/sql/*.sql; do
	name="$(basename "$f" .sql)"
	grep -qx "test: $name" "$AGENTGRES_ROOT/tests/regress/schedule" || die "tests/regress/schedule misses $name"
done

# House style: .clang-format (Debian's clang-format 14) over every C++ file.
log "style: clang-format --dry-run over every C++ file"
set +e
(cd "$AGENTGRES_ROOT" && git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run --Werror)
record "style (clang-format)" $?
set -e

log "building with CMake (warnings are errors)"
cmake -S "$AGENTGRES_ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAGENTGRES_WERROR=ON >/dev/null
cmake --build "$BUILD" -j"$JOBS"

log "unit tests"
set +e
(cd "$BUILD" && ctest --output-on-failure -j"$JOBS")
record "unit tests (ctest)" $?
set -e

log "building the unit tests and agentgresd with AddressSanitizer + UBSan"
cmake -S "$AGENTGRES_ROOT" -B "$BUILD_ASAN" -DCMAKE_BUILD_TYPE=Debug -DAGENTGRES_SANITIZE=ON \
	-DAGENTGRES_BUILD_BENCH=OFF -DAGENTGRES_WERROR=ON >/dev/null
cmake --build "$BUILD_ASAN" -j"$JOBS" --target agentgres_unit_tests agentgresd
set +e
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	"$BUILD_ASAN/agentgres_unit_tests" --gtest_brief=1
record "unit tests under ASan/UBSan" $?
set -e

AGENTGRES_PGXS_FLAGS="EXTRA_CXXFLAGS=-Werror" build_and_install_extension
# The boundary tests' entry points live in a module of their own, installed
# for the tests only; the production module must carry none of them.
stage "building the test module (tests/module)" \
	make -C "$AGENTGRES_ROOT/tests/module" -j"$JOBS" PG_CONFIG="$PG_BIN/pg_config" EXTRA_CXXFLAGS=-Werror
stage "installing the test module" as_root make -C "$AGENTGRES_ROOT/tests/module" PG_CONFIG="$PG_BIN/pg_config" install
if nm -D "$AGENTGRES_ROOT/agentgres.so" | grep -q agentgres_test; then
	record "agentgres.so carries no test entry points" 1
else
	record "agentgres.so carries no test entry points" 0
fi

CLUSTER="$(cluster_base_dir "$BUILD/test-cluster")"
cluster_stop "$CLUSTER"
as_pg rm -rf "$CLUSTER/data"
cluster_start "$CLUSTER" "$PORT"
trap 'cluster_stop "$CLUSTER"' EXIT
export PGHOST="$CLUSTER/run" PGPORT="$PORT" PGUSER=postgres AGENTGRES_PGDATA="$CLUSTER/data"

log "pg_regress"
set +e
rm -rf "$AGENTGRES_ROOT/tests/regress/output"
mkdir -p "$AGENTGRES_ROOT/tests/regress/output"
make -C "$AGENTGRES_ROOT" -f Makefile.pgxs PG_CONFIG="$PG_BIN/pg_config" installcheck
status=$?
if [[ $status -ne 0 && -f "$AGENTGRES_ROOT/tests/regress/output/regression.diffs" ]]; then
	head -200 "$AGENTGRES_ROOT/tests/regress/output/regression.diffs"
fi
record "pg_regress" $status
set -e

for t in "$AGENTGRES_ROOT"/tests/integration/*.sh; do
	[[ -e "$t" ]] || continue
	log "integration: $(basename "$t")"
	set +e
	AGENTGRESD="$BUILD/agentgresd" bash "$t"
	status=$? # before any other expansion: $(...) would reset $?
	record "integration $(basename "$t" .sh)" "$status"
	set -e
done

# TAP tests (PostgreSQL's own framework): each starts, crashes and restarts
# a cluster of its own. They run as the cluster account, from a copy it can
# read, in a scratch directory.
if compgen -G "$AGENTGRES_ROOT/tests/tap/*.pl" >/dev/null; then
	log "TAP tests (tests/tap)"
	tap_dir="$(mktemp -d)"
	cp "$AGENTGRES_ROOT"/tests/tap/*.pl "$tap_dir/"
	[[ $(id -u) -ne 0 ]] || chown -R "$(pg_account)" "$tap_dir"
	PGXS_DIR="$(dirname "$("$PG_BIN/pg_config" --pgxs)")/.."
	set +e
	(cd "$tap_dir" && as_pg env PATH="$PG_BIN:$PATH" PERL5LIB="$PGXS_DIR/test/perl" \
		PG_REGRESS="$PGXS_DIR/test/regress/pg_regress" prove "$tap_dir"/*.pl)
	status=$?
	[[ $status -eq 0 ]] || find "$tap_dir/tmp_check/log" -name '*.log' -exec tail -30 {} + 2>/dev/null | tail -80
	record "TAP tests" "$status"
	set -e
	rm -rf "$tap_dir"
fi

# Every parser and deserialiser under libFuzzer with ASan + UBSan, for a
# bounded time from its corpus (scripts/fuzz.sh SECONDS runs longer).
log "fuzzing (scripts/fuzz.sh)"
set +e
bash "$AGENTGRES_ROOT/scripts/fuzz.sh" "${AGENTGRES_FUZZ_SECONDS:-20}"
record "fuzz targets (libFuzzer)" $?
set -e

log "integration: daemon.sh with agentgresd built with ASan + UBSan"
set +e
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	AGENTGRESD="$BUILD_ASAN/agentgresd" bash "$AGENTGRES_ROOT/tests/integration/daemon.sh"
record "integration daemon under ASan/UBSan" $?
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	AGENTGRESD="$BUILD_ASAN/agentgresd" bash "$AGENTGRES_ROOT/tests/integration/jobs_daemon.sh"
record "integration jobs_daemon under ASan/UBSan" $?
set -e

echo
if ((failed)); then
	printf 'failed: %s\n' "${failures[@]}"
fi
if ((skipped)); then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
((failed == 0))
