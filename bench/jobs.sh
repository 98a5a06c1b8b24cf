#!/usr/bin/env bash
# Job queue and heartbeat throughput, in one run on the same cluster:
#   1. enqueue -> claim -> complete at the SQL level with pgbench, 1 and 2 workers
#      (one transaction per step, as a worker does it)
#   2. end to end through agentgresd: 3000 noop jobs drained by 1, then 2 daemons
#   3. heartbeat writes per second with pgbench, 1 and 2 clients
# Uses build/bench-cluster; build first (scripts/test.sh).
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

PORT="${AGENTGRES_BENCH_PGPORT:-5442}"
BASE="$(cluster_base_dir "$AGENTGRES_ROOT/build/bench-cluster")"
DAEMON="$AGENTGRES_ROOT/build/agentgresd"
[[ -x "$DAEMON" ]] || die "build agentgresd first: cmake --build build --target agentgresd"
build_and_install_extension
cluster_start "$BASE" "$PORT"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done; cluster_stop "$BASE"' EXIT
export PGHOST="$BASE/run" PGPORT="$PORT" PGUSER=postgres PGDATABASE=jobs_bench
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -tA)
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS jobs_bench" -c "CREATE DATABASE jobs_bench"
"${PSQL[@]}" -c "CREATE EXTENSION agentgres"

SCRIPT="$(mktemp)"
chmod 644 "$SCRIPT"
tps() { # tps CLIENTS SECONDS: transactions per second
	{ "$PG_BIN/pgbench" -n -f "$SCRIPT" -c "$1" -j "$1" -T "$2" 2>/dev/null || true; } | sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}
done_jobs() { "${PSQL[@]}" -c "SELECT count(*) FROM agentgres.jobs WHERE state = 'done'"; }
jobs_per_second() { # jobs_per_second CLIENTS SECONDS: completed jobs per second
	local before after
	before=$(done_jobs)
	tps "$1" "$2" >/dev/null
	after=$(done_jobs)
	awk -v a="$before" -v b="$after" -v t="$2" 'BEGIN { printf "%.0f", (b - a) / t }'
}

# 1. SQL level: each pgbench transaction enqueues one job, then claims one
# (with SKIP LOCKED a claim can come back empty while another worker holds the
# rows) and completes what it claimed, each step its own transaction.
cat >"$SCRIPT" <<'PGB'
SELECT agentgres.enqueue('bench', '{"n": 1}');
SELECT count(agentgres.complete_job(id, 'w' || :client_id, NULL))
FROM agentgres.claim_jobs('w' || :client_id, ARRAY['bench'], 1, '60 seconds');
PGB
sql1=$(jobs_per_second 1 10)
sql2=$(jobs_per_second 2 10)
# Whatever is left was claimed by a client stopped at the end of the run.
left=$("${PSQL[@]}" -c "SELECT count(*) FROM agentgres.jobs WHERE state NOT IN ('done', 'queued', 'running')")

# 2. End to end through the daemon's worker loop.
drain() { # drain DAEMONS: seconds to finish 3000 queued noop jobs
	"${PSQL[@]}" -c "TRUNCATE agentgres.jobs" -c "SELECT count(agentgres.enqueue('noop', '{}')) FROM generate_series(1, 3000)" >/dev/null
	local start end i
	start=$(date +%s%N)
	PIDS=()
	for ((i = 0; i < $1; i++)); do
		AGENTGRES_DSN="host=$PGHOST port=$PGPORT user=postgres dbname=jobs_bench" AGENTGRES_HTTP_LISTEN="127.0.0.1:$((7810 + i))" \
			AGENTGRES_AGENTS_PERFMON_ENABLED=false AGENTGRES_AGENTS_JANITOR_ENABLED=false AGENTGRES_LOG_LEVEL=warning \
			"$DAEMON" run >/dev/null 2>&1 &
		PIDS+=($!)
	done
	until [[ "$("${PSQL[@]}" -c "SELECT count(*) FROM agentgres.jobs WHERE state = 'done'")" == 3000 ]]; do sleep 0.1; done
	end=$(date +%s%N)
	for p in "${PIDS[@]}"; do kill -TERM "$p"; wait "$p" 2>/dev/null || true; done
	PIDS=()
	awk -v s="$start" -v e="$end" 'BEGIN { printf "%.0f", 3000 / ((e - s) / 1e9) }'
}
e2e1=$(drain 1)
e2e2=$(drain 2)
e2e_c2=$(AGENTGRES_AGENTS_WORKER_CONCURRENCY=2 drain 1)

# 3. Heartbeats.
echo "SELECT agentgres.heartbeat('bench-' || :client_id, 'ok', NULL);" >"$SCRIPT"
hb1=$(tps 1 10)
hb2=$(tps 2 10)
rm -f "$SCRIPT"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo
echo "job queue and heartbeats (rates over 10 s runs)"
printf '  %-58s %8.0f jobs/s\n' "enqueue+claim+complete (SQL, pgbench), 1 worker" "$sql1"
printf '  %-58s %8.0f jobs/s  (%sx)\n' "enqueue+claim+complete (SQL, pgbench), 2 workers" "$sql2" "$(ratio "$sql2" "$sql1")"
printf '  %-58s %8s\n' "jobs failed, dead or lost in the SQL runs (must be 0)" "$left"
printf '  %-58s %8s jobs/s\n' "3000 noop jobs through agentgresd, 1 daemon" "$e2e1"
printf '  %-58s %8s jobs/s  (%sx)\n' "3000 noop jobs through agentgresd, 2 daemons" "$e2e2" "$(ratio "$e2e2" "$e2e1")"
printf '  %-58s %8s jobs/s  (%sx)\n' "3000 noop jobs through agentgresd, 1 daemon, concurrency 2" "$e2e_c2" "$(ratio "$e2e_c2" "$e2e1")"
printf '  %-58s %8.0f writes/s\n' "heartbeat(), pgbench, 1 client" "$hb1"
printf '  %-58s %8.0f writes/s  (%sx)\n' "heartbeat(), pgbench, 2 clients" "$hb2" "$(ratio "$hb2" "$hb1")"
