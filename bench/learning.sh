#!/usr/bin/env bash
# Learning-system benchmarks on 1,000,000 simulated executions, in one run:
#   1. agent_patterns (C++ parallel aggregate) vs the best plain-SQL
#      equivalent (unnest subsets + GROUP BY GROUPING SETS), same result set
#   2. train_success_model time (1M rows, holdout metrics + final fit)
#   3. predict_success calls per second
#   4. record_execution transactions per second with pgbench, 1 and 2 clients
# Medians of 3 runs where a step is repeated. Uses build/bench-cluster.
#   bench/learning.sh [rows]
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

ROWS="${1:-1000000}"
PORT="${AGENTGRES_BENCH_PGPORT:-5442}"
BASE="$(cluster_base_dir "$AGENTGRES_ROOT/build/bench-cluster")"
build_and_install_extension
cluster_start "$BASE" "$PORT"
trap 'cluster_stop "$BASE"' EXIT
export PGHOST="$BASE/run" PGPORT="$PORT" PGUSER=postgres PGDATABASE=learning_bench
PSQL=(psql -X -q -v ON_ERROR_STOP=1)

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS learning_bench" -c "CREATE DATABASE learning_bench"
"${PSQL[@]}" -c "CREATE EXTENSION agentgres"
log "simulating $ROWS executions"
start=$(date +%s.%N)
"${PSQL[@]}" -c "SELECT agentgres.simulate_executions('code_change', ($ROWS * 0.7)::int, 42)" \
	-c "SELECT agentgres.simulate_executions('docs', ($ROWS * 0.3)::int, 7)" -c "VACUUM ANALYZE agentgres.executions"
echo "loaded in $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"

# Runs SQL n times and prints the median wall time in ms.
median_ms() { # median_ms N SQL
	local n="$1" sql="$2" times=()
	for ((i = 0; i < n; i++)); do
		local t0 t1
		t0=$(date +%s%N)
		"${PSQL[@]}" -c "$sql" >/dev/null
		t1=$(date +%s%N)
		times+=($(((t1 - t0) / 1000000)))
	done
	printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((n + 1) / 2))p"
}

PATTERNS_SQL="SELECT count(*) FROM agentgres.agent_patterns(5)"
PLAIN_SQL="
WITH e AS (
	SELECT task_type, success, duration_s, regexp_replace(error, '[0-9]+', '<num>', 'g') AS error,
	       ARRAY(SELECT DISTINCT x FROM unnest(agents) AS x ORDER BY x) AS a
	FROM agentgres.executions
), subsets AS (
	SELECT e.task_type, e.success, e.duration_s, e.error, ARRAY[x] AS s FROM e, unnest(a) AS x
	UNION ALL
	SELECT e.task_type, e.success, e.duration_s, e.error, ARRAY[x, y] FROM e, unnest(a) AS x, unnest(a) AS y WHERE x < y
	UNION ALL
	SELECT e.task_type, e.success, e.duration_s, e.error, ARRAY[x, y, z]
	FROM e, unnest(a) AS x, unnest(a) AS y, unnest(a) AS z WHERE x < y AND y < z
), grouped AS (
	SELECT task_type, s, count(*) AS n, count(*) FILTER (WHERE success) AS successes, avg(duration_s) AS mean,
	       percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_s) AS p95,
	       mode() WITHIN GROUP (ORDER BY error) AS top_error
	FROM subsets GROUP BY GROUPING SETS ((task_type, s), (s)) HAVING count(*) >= 5
)
SELECT count(*) FROM grouped g, LATERAL agentgres.wilson_interval(g.successes, g.n) AS w"

log "agent_patterns vs plain SQL"
rows_cpp=$("${PSQL[@]}" -tAc "$PATTERNS_SQL")
rows_sql=$("${PSQL[@]}" -tAc "$PLAIN_SQL")
t_cpp=$(median_ms 3 "$PATTERNS_SQL")
t_sql=$(median_ms 3 "$PLAIN_SQL")
t_cpp_serial=$(median_ms 3 "SET max_parallel_workers_per_gather = 0; $PATTERNS_SQL")

log "train_success_model"
t_train=$(median_ms 3 "SELECT agentgres.train_success_model()")
report=$("${PSQL[@]}" -tAc "SELECT metrics FROM agentgres.models WHERE name = 'default'")

log "predict_success"
CALLS=200000
t_predict=$(median_ms 3 "SELECT count(agentgres.predict_success('code_change', ARRAY['planner', 'coder', 'reviewer'], (i % 10)::float8)) FROM generate_series(1, $CALLS) AS i")
t_baseline=$(median_ms 3 "SELECT count(ARRAY['planner', 'coder', 'reviewer'] || (i % 10)::text) FROM generate_series(1, $CALLS) AS i")

log "record_execution with pgbench"
SCRIPT="$(mktemp)"
cat >"$SCRIPT" <<'PGB'
\set c random(1, 10)
SELECT agentgres.record_execution('bench', ARRAY['planner', 'coder'], true, 12.5, :c);
PGB
chmod 644 "$SCRIPT"
tps() { "$PG_BIN/pgbench" -n -f "$SCRIPT" -c "$1" -j "$1" -T 10 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p'; }
tps1=$(tps 1)
tps2=$(tps 2)
rm -f "$SCRIPT"

echo
echo "learning system on $ROWS simulated executions (2 task types), medians of 3"
printf '  %-52s %10s ms  (%s patterns)\n' "agent_patterns(5), parallel C++ aggregate" "$t_cpp" "$rows_cpp"
printf '  %-52s %10s ms\n' "agent_patterns(5), one process" "$t_cpp_serial"
printf '  %-52s %10s ms  (%s patterns)  %sx agent_patterns\n' "plain SQL: unnest subsets + GROUP BY GROUPING SETS" \
	"$t_sql" "$rows_sql" "$(awk -v a="$t_sql" -v b="$t_cpp" 'BEGIN { printf "%.1f", a / b }')"
printf '  %-52s %10s ms\n' "train_success_model (holdout fit + final fit)" "$t_train"
printf '  %-52s %10s ms  -> %s calls/s, %s calls/s net of the query around them (%s ms)\n' \
	"predict_success x $CALLS" "$t_predict" "$(awk -v n="$CALLS" -v t="$t_predict" 'BEGIN { printf "%.0f", n * 1000 / t }')" \
	"$(awk -v n="$CALLS" -v t="$t_predict" -v b="$t_baseline" 'BEGIN { printf "%.0f", n * 1000 / (t - b) }')" "$t_baseline"
printf '  %-52s %10.0f tps\n' "record_execution, pgbench 1 client" "$tps1"
printf '  %-52s %10.0f tps  (%sx one client)\n' "record_execution, pgbench 2 clients" "$tps2" \
	"$(awk -v a="$tps2" -v b="$tps1" 'BEGIN { printf "%.2f", a / b }')"
echo "  model quality: $report"
