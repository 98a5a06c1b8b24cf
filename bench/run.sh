#!/usr/bin/env bash
# Runs every benchmark on this machine and prints the figures:
#   1. distance kernels (Google Benchmark) against the streaming read bandwidth
#   2. exact top-10 over 100k x 384: top_k vs ORDER BY <=> vs plain SQL
#   3. the same over 1M x 384 (top_k vs ORDER BY <=>; plain SQL takes minutes)
# Uses its own cluster (build/bench-cluster, shared_buffers 4GB) so the tables
# are read from shared buffers. Build first: scripts/test.sh or cmake --build build.
#   bench/run.sh [--skip-1m]
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

BUILD="$AGENTGRES_ROOT/build"
PORT="${AGENTGRES_BENCH_PGPORT:-5442}"
[[ -x "$BUILD/agentgres_bench_kernels" && -x "$BUILD/agentgres_bench_topk" ]] \
	|| die "build the benchmarks first: cmake -S . -B build && cmake --build build -j"

log "distance kernels"
"$BUILD/agentgres_bench_kernels" --benchmark_min_time=0.2 --benchmark_repetitions=5 \
	--benchmark_report_aggregates_only=true --benchmark_color=false

build_and_install_extension
BASE="$(cluster_base_dir "$BUILD/bench-cluster")"
cluster_start "$BASE" "$PORT"
as_pg "$PG_BIN/psql" -X -q -h "$BASE/run" -p "$PORT" -U postgres -d postgres \
	-c "ALTER SYSTEM SET shared_buffers = '4GB'" -c "ALTER SYSTEM SET max_wal_size = '8GB'" \
	-c "ALTER SYSTEM SET checkpoint_timeout = '30min'"
as_pg "$PG_BIN/pg_ctl" -D "$BASE/data" -l "$BASE/postgresql.log" -w restart >/dev/null
trap 'cluster_stop "$BASE"' EXIT
CONN="host=$BASE/run port=$PORT user=postgres dbname=postgres"

log "top-k over 100k x 384"
"$BUILD/agentgres_bench_topk" "$CONN" --rows 100000 --dims 384 --repeat 21 --plain-sql-repeat 3
if [[ "${1:-}" != "--skip-1m" ]]; then
	log "top-k over 1M x 384"
	"$BUILD/agentgres_bench_topk" "$CONN" --rows 1000000 --dims 384 --repeat 11 --plain-sql-repeat 0
fi
