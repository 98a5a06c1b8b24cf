#!/usr/bin/env bash
# The daemon's job worker against the real cluster, in its own database:
#   a job that runs longer than several leases keeps its lease (renewed while
#   it runs) and is done exactly once, though two worker loops compete for it;
#   a run whose job was taken over by another worker stops and leaves it;
#   cancelling running jobs is a normal outcome: the run stops, the worker
#   loop keeps running and /health stays 200; the daemon claims only the
#   kinds it has handlers for, so an application's kinds stay queued for the
#   application's workers; enqueue rejects a malformed payload of a kind the
#   daemon runs (22023).
# Needs PGHOST/PGPORT/PGUSER of a running cluster with the extension installed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DAEMON="${AGENTGRESD:-$ROOT/build/agentgresd}"
PORT_HTTP="${AGENTGRES_TEST_HTTP_PORT:-7797}"
DB=agentgres_jobs_daemon
source "$(dirname "${BASH_SOURCE[0]}")/lib/daemon.bash"

"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
sql "CREATE EXTENSION agentgres" >/dev/null

export AGENTGRES_DSN="host=$PGHOST port=$PGPORT user=$PGUSER dbname=$DB"
export AGENTGRES_HTTP_LISTEN="127.0.0.1:$PORT_HTTP"
export AGENTGRES_AGENTS_HEARTBEAT_INTERVAL_S=0.5 AGENTGRES_AGENTS_PERFMON_INTERVAL_S=1
export AGENTGRES_AGENTS_WORKER_POLL_S=0.5 AGENTGRES_AGENTS_WORKER_LEASE_S=2
export AGENTGRES_LOG_FORMAT=json AGENTGRES_DATABASE_RECONNECT_MAX_S=1 AGENTGRES_COORDINATOR_RESTART_BACKOFF_INITIAL_S=0.2
export AGENTGRES_COORDINATOR_RESTART_BACKOFF_MAX_S=0.5 AGENTGRES_COORDINATOR_MAX_CRASHES=3
URL="http://127.0.0.1:$PORT_HTTP"

# 1. a 7 s job under a 2 s lease, two worker loops: one run, done
AGENTGRES_AGENTS_WORKER_CONCURRENCY=2 start_daemon
check "/health answers 200" wait_for 15 http_is 200 "$URL/health"
job=$("$DAEMON" enqueue sleep '{"ms": 7000}')
check "the long job is running" wait_for 5 sql_is running "SELECT state FROM agentgres.jobs WHERE id = $job"
sleep 4.5
check "after two leases its lease is still ahead (renewed)" sql_is "running/1/true" \
	"SELECT state || '/' || attempts || '/' || (lease_until > now()) FROM agentgres.jobs WHERE id = $job"
check "it ends done after a single attempt" wait_for 10 sql_is "done/1" \
	"SELECT state || '/' || attempts FROM agentgres.jobs WHERE id = $job"
check "  with the handler's result and no lost lease" sql_is 'true|' \
	"SELECT ((result ->> 'slept_ms')::numeric = 7000)::text || '|' || coalesce(last_error, '') FROM agentgres.jobs WHERE id = $job"
check "  run once: one \"job done\" in the log, no lost job" bash -c \
	"[[ \$(grep 'job done' '$LOG' | grep -c '\"job\":\"$job\"') == 1 ]] && ! grep -q 'job lost' '$LOG'"

# 1b. a run that lost its job (its lease taken over by another worker) stops
# and leaves the job to its new owner
job=$("$DAEMON" enqueue sleep '{"ms": 20000}')
wait_for 5 sql_is running "SELECT state FROM agentgres.jobs WHERE id = $job" || true
# One transaction: its lease runs out and another worker claims it.
sql "UPDATE agentgres.jobs SET lease_until = now() - interval '1 second' WHERE id = $job;
     SELECT count(*) FROM agentgres.claim_jobs('thief', ARRAY['sleep'], 1, '1 minute')" >/dev/null
check "the run that lost its job logs it and stops" wait_for 3 bash -c \
	"grep 'job lost' '$LOG' | grep -q '\"job\":\"$job\"'"
check "  without touching the new owner's job" sql_is "running/thief/2" \
	"SELECT state || '/' || locked_by || '/' || attempts FROM agentgres.jobs WHERE id = $job"
sql "SELECT agentgres.complete_job($job, 'thief', '{\"by\": \"thief\"}')" >/dev/null
check "  which its owner completes" sql_is "done/thief" \
	"SELECT state || '/' || (result ->> 'by') FROM agentgres.jobs WHERE id = $job"
job2=$("$DAEMON" enqueue noop)
check "  and the worker goes on" wait_for 5 sql_is done "SELECT state FROM agentgres.jobs WHERE id = $job2"
stop_daemon

# 2. cancel during a run, five times: each run stops at once, the worker
# stays up and takes the next job
AGENTGRES_AGENTS_WORKER_CONCURRENCY=1 start_daemon
wait_for 15 http_is 200 "$URL/health" || true
cancels_ok=0
for i in 1 2 3 4 5; do
	job=$("$DAEMON" enqueue sleep '{"ms": 3000}')
	wait_for 5 sql_is running "SELECT state FROM agentgres.jobs WHERE id = $job" || continue
	sleep 0.3
	sql "SELECT agentgres.cancel_job($job)" >/dev/null
	# The run stops at the next renewal (every lease_s / 3): the single
	# worker is free again well before the sleep would end.
	next=$("$DAEMON" enqueue noop)
	wait_for 2 sql_is done "SELECT state FROM agentgres.jobs WHERE id = $next" || continue
	[[ "$(sql "SELECT state FROM agentgres.jobs WHERE id = $job")" == cancelled ]] && cancels_ok=$((cancels_ok + 1))
done
check "five cancels during runs: each run stopped, the job stayed cancelled" test "$cancels_ok" = 5
sleep 3 # past the end of every cancelled sleep
check "the cancels were logged as such" test "$(grep -c 'job cancelled while running' "$LOG")" = 5
check "the worker loop is still running" sql_is running "SELECT status FROM agentgres.agents WHERE name = 'worker'"
check "  and was never restarted" bash -c \
	"curl -s '$URL/metrics' | grep -Eq '^agentgres_loop_restarts_total\{loop=\"worker\"\} 0$'"
check "/health is 200" test "$(http_code "$URL/health")" = 200
check "the cancelled outcome is counted" bash -c \
	"curl -s '$URL/metrics' | grep -Eq '^agentgres_jobs_processed_total\{kind=\"sleep\",outcome=\"cancelled\"\} 5'"

# 3. application kinds are the application's: the daemon leaves them queued
app=$(sql "SELECT agentgres.enqueue('myapp.summarize', '{\"doc\": 1}')")
job=$("$DAEMON" enqueue noop)
check "the daemon still runs its own kinds" wait_for 5 sql_is done "SELECT state FROM agentgres.jobs WHERE id = $job"
sleep 2
check "an application's job is untouched (queued, no attempt, no error)" sql_is "queued/0//" \
	"SELECT state || '/' || attempts || '/' || coalesce(locked_by, '') || '/' || coalesce(last_error, '') FROM agentgres.jobs WHERE id = $app"
check "the application's worker claims it" sql_is "$app" \
	"SELECT id FROM agentgres.claim_jobs('myapp-1', ARRAY['myapp.summarize'], 1)"
stop_daemon

# 4. a malformed payload of a daemon kind is refused at enqueue
out=$("${PSQL[@]}" -d "$DB" -v VERBOSITY=verbose -c "SELECT agentgres.enqueue('sleep', '{\"seconds\": 3}')" 2>&1) && rc=0 || rc=$?
check "enqueue('sleep', '{\"seconds\": 3}') fails with 22023 naming the key" bash -c \
	"[[ $rc != 0 ]] && grep -q '22023' <<<\"\$1\" && grep -q 'a sleep job takes no payload key \"seconds\"' <<<\"\$1\"" _ "$out"
check "and the CLI's enqueue says so" bash -c "! '$DAEMON' enqueue sleep '{\"ms\": \"soon\"}' 2>/dev/null"
check "nothing was queued" sql_is 0 "SELECT count(*) FROM agentgres.jobs WHERE payload ? 'seconds' OR payload ->> 'ms' = 'soon'"

"${PSQL[@]}" -d postgres -c "DROP DATABASE $DB" >/dev/null
echo "jobs_daemon: $failures failure(s)"
((failures == 0))
