#!/usr/bin/env bash
# The real agentgresd against the real cluster:
#   loops come up and heartbeat; /metrics parses (promtool); the bearer token
#   guards the API but not /health; a non-loopback listen without a token is
#   refused; a loop that throws is restarted, alerts, and is marked failed
#   after repeated crashes (/health 503); the database restarted under the
#   daemon: the first /health after a restart is 200 (a stale pooled
#   connection is retried), /health turns 503 while it is down and every loop
#   recovers on its own; kill -9 with a claimed job: the job is done exactly once after its
#   lease; SIGTERM stops the daemon within five seconds and releases its job;
#   agents.worker.concurrency runs jobs in parallel; bad filters and paths get
#   JSON errors (400, 404, 405) and /metrics stays bounded; the CLI takes
#   global options anywhere, names an unknown subcommand and finds the
#   embedded default's configuration; health is ok, warning (a busy host) or
#   failing (a stale agent); the HTTP pool answers 503 when exhausted and
#   its queries give up on locks after http.lock_timeout_s.
# Needs PGHOST/PGPORT/PGUSER of a running cluster with the extension
# installed, and AGENTGRES_PGDATA (its data directory, for the restart).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DAEMON="${AGENTGRESD:-$ROOT/build/agentgresd}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PORT_HTTP="${AGENTGRES_TEST_HTTP_PORT:-7799}"
DB=agentgres_daemon
source "$(dirname "${BASH_SOURCE[0]}")/lib/daemon.bash"
json_of() { curl -s "$@"; }

"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS agentgres_daemon" -c "CREATE DATABASE agentgres_daemon"
sql "CREATE EXTENSION agentgres" >/dev/null
# The daemon connects as a login role in agentgres_admin, not as a superuser,
# made as scripts/up.sh makes its agentgresd role.
DAEMON_ROLE=agentgres_daemon_test
daemon_role_sql "$DAEMON_ROLE" | "${PSQL[@]}" -d agentgres_daemon

export AGENTGRES_DSN="host=$PGHOST port=$PGPORT user=$DAEMON_ROLE dbname=agentgres_daemon"
export AGENTGRES_HTTP_LISTEN="127.0.0.1:$PORT_HTTP"
export AGENTGRES_AGENTS_HEARTBEAT_INTERVAL_S=0.5 AGENTGRES_AGENTS_PERFMON_INTERVAL_S=0.5
export AGENTGRES_AGENTS_HEARTBEAT_STALE_AFTER_S=5 AGENTGRES_AGENTS_WORKER_POLL_S=1
export AGENTGRES_DATABASE_RECONNECT_MAX_S=1 AGENTGRES_COORDINATOR_RESTART_BACKOFF_INITIAL_S=0.2
export AGENTGRES_COORDINATOR_RESTART_BACKOFF_MAX_S=0.5 AGENTGRES_COORDINATOR_MAX_CRASHES=3
URL="http://127.0.0.1:$PORT_HTTP"

# 1. loops come up and heartbeat
start_daemon
check "/health answers 200" wait_for 15 http_is 200 "$URL/health"
check "every loop is running" wait_for 10 sql_is 4 "SELECT count(*) FROM agentgres.agents WHERE status = 'running'"
check "every loop heartbeats" wait_for 10 sql_is 4 "SELECT count(DISTINCT agent) FROM agentgres.heartbeats WHERE agent IN ('heartbeat', 'perfmon', 'janitor', 'worker')"
check "perfmon records metrics" wait_for 10 sql_is t "SELECT count(DISTINCT name) >= 8 FROM agentgres.performance_metrics"
check "the daemon's sessions are $DAEMON_ROLE, not a superuser" sql_is "t|t" \
	"SELECT count(*) > 0, bool_and(NOT r.rolsuper AND pg_has_role(r.oid, 'agentgres_admin', 'MEMBER'))
	 FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid WHERE a.datname = 'agentgres_daemon' AND a.usename = '$DAEMON_ROLE'"
# 2. /metrics in the Prometheus text format
curl -s "$URL/metrics" >"$LOG.metrics"
if command -v promtool >/dev/null; then
	check "/metrics passes promtool check metrics" promtool check metrics <"$LOG.metrics"
fi
check "/metrics has the loop, job, HTTP and database series" bash -c \
	"grep -q '^agentgres_loop_up{loop=\"worker\"} 1' '$LOG.metrics' && grep -q '^agentgres_db_roundtrip_seconds_count' '$LOG.metrics' \
	 && grep -q '^agentgres_http_requests_total' '$LOG.metrics' && grep -q '^agentgres_heartbeat_age_seconds' '$LOG.metrics'"
rm -f "$LOG.metrics"
# 3. jobs: done, other kinds left alone, NOTIFY wake-up
job=$("$DAEMON" enqueue noop '{"n": 1}')
check "a noop job is done" wait_for 5 sql_is done "SELECT state FROM agentgres.jobs WHERE id = $job"
app=$("$DAEMON" enqueue no.such.kind)
job=$("$DAEMON" enqueue noop)
wait_for 5 sql_is done "SELECT state FROM agentgres.jobs WHERE id = $job" || true
check "a kind the daemon has no handler for is left queued (the application's)" sql_is 'queued/0' \
	"SELECT state || '/' || attempts FROM agentgres.jobs WHERE id = $app"
sql "SELECT agentgres.cancel_job($app)" >/dev/null
# A job error with a newline stays on its log line (escaped), forging none.
job=$("$DAEMON" enqueue fail '{"error": "boom\nFORGED info [worker] job done job=1"}')
check "a job error's newline is escaped in the text log" wait_for 10 grep -qF 'error=boom\nFORGED info' "$LOG"
check "and forges no log line" bash -c "! grep -q '^FORGED' '$LOG'"
sql "SELECT agentgres.cancel_job($job)" >/dev/null
check "status says ok or warning and exits 0" bash -c "'$DAEMON' status | grep -Eq '^health: (ok|warning)$'"

# 3b. the API's errors: JSON bodies, 400 for bad filters, 404, 405; /metrics bounded
body=$(curl -s "$URL/api/jobs?state=bogus")
check "/api/jobs?state=bogus: 400" test "$(http_code "$URL/api/jobs?state=bogus")" = 400
check "  naming the valid states" bash -c "grep -q '^{\"error\":\"unknown job state .*valid states are queued, running, done, dead, cancelled' <<<'$body'"
for q in "limit=" "limit=abc" "limit=99999999999" "limit=-1" "state=" "stat=queued"; do
	check "/api/jobs?$q: 400 with a JSON error" bash -c \
		"[[ \$(curl -s -o '$SCRATCH/body' -w '%{http_code}' '$URL/api/jobs?$q') == 400 ]] && grep -q '^{\"error\":' '$SCRATCH/body'"
done
check "/api/jobs?state=dead&limit=5: 200" test "$(http_code "$URL/api/jobs?state=dead&limit=5")" = 200
check "an unknown path: 404 with a JSON error" bash -c \
	"[[ \$(curl -s -o '$SCRATCH/body' -w '%{http_code}' '$URL/api/nope') == 404 ]] && grep -q '^{\"error\":' '$SCRATCH/body'"
check "POST to a GET route: 405 with Allow: GET, HEAD" bash -c \
	"curl -s -D '$SCRATCH/headers' -o '$SCRATCH/body' -X POST '$URL/api/jobs' && tr -d '\r' <'$SCRATCH/headers' | grep -q '^Allow: GET, HEAD$' \
	 && head -1 '$SCRATCH/headers' | grep -q ' 405 ' && grep -q '^{\"error\":' '$SCRATCH/body'"
for i in $(seq 1 40); do curl -s -o /dev/null "$URL/api/probe-$i"; done
curl -s "$URL/metrics" >"$SCRATCH/metrics"
check "/metrics: unknown paths under one label" bash -c \
	"grep -q 'route=\"unmatched\"' '$SCRATCH/metrics' && ! grep -q 'probe-' '$SCRATCH/metrics' \
	 && [[ \$(grep -c '^agentgres_http_requests_total' '$SCRATCH/metrics') -lt 20 ]]"
check "/metrics: clean bucket bounds" bash -c \
	"grep -q 'le=\"0.0005\"' '$SCRATCH/metrics' && ! grep -Eq 'le=\"[0-9.]*0000000' '$SCRATCH/metrics'"
if command -v promtool >/dev/null; then
	check "/metrics still passes promtool check metrics" promtool check metrics <"$SCRATCH/metrics"
fi

# 3c. the command line
out=$("$DAEMON" jobs -s failed 2>&1) && rc=0 || rc=$?
check "jobs -s failed: an error naming the valid states, exit 2" bash -c \
	"[[ $rc == 2 ]] && grep -q 'unknown job state \"failed\"; valid states are queued, running, done, dead, cancelled' <<<'$out'"
for n in -1 0 abc 99999999999; do
	out=$("$DAEMON" jobs -n "$n" 2>&1) && rc=0 || rc=$?
	check "jobs -n $n: a clear error, no SQL error, exit 2" bash -c \
		"[[ $rc == 2 ]] && grep -q 'limit must be an integer from 1 to 1000' <<<'$out' && ! grep -q SQLSTATE <<<'$out'"
done
check "jobs -s done -n 3 works" "$DAEMON" jobs -s done -n 3
out=$("$DAEMON" frobnicate 2>&1) && rc=0 || rc=$?
check "an unknown subcommand is named, with the valid ones" bash -c \
	"[[ $rc == 2 ]] && grep -q \"unknown subcommand 'frobnicate'; valid subcommands: run, status\" <<<\"\$1\"" _ "$out"
printf '[database]\ndsn = "%s"\n[agents.worker]\nlease_s = 17\n' "$AGENTGRES_DSN" >"$SCRATCH/conf.toml"
check "global options after the subcommand: settings --config" bash -c \
	"'$DAEMON' settings --config '$SCRATCH/conf.toml' | grep -q '^agents.worker.lease_s = 17    (from file; default 60)$'"
check "status --config FILE connects with the file's DSN" \
	env -u AGENTGRES_DSN -u AGENTGRES_CONFIG "$DAEMON" status --config "$SCRATCH/conf.toml"
mkdir -p "$SCRATCH/project/.agentgres" "$SCRATCH/project/sub/dir"
cp "$SCRATCH/conf.toml" "$SCRATCH/project/.agentgres/agentgresd.toml"
check "without --config, status finds .agentgres/agentgresd.toml in a parent directory" bash -c \
	"cd '$SCRATCH/project/sub/dir' && env -u AGENTGRES_DSN -u AGENTGRES_CONFIG '$DAEMON' status >/dev/null"
# (an explicit file: without one, a machine where scripts/up.sh ran would find
# its working .agentgres/agentgresd.toml beside the binary)
printf '[database]\ndsn = "host=/nonexistent dbname=agentgres"\n' >"$SCRATCH/unreachable.toml"
out=$(env -u AGENTGRES_DSN -u AGENTGRES_CONFIG "$DAEMON" status --config "$SCRATCH/unreachable.toml" 2>&1) && rc=0 || rc=$?
check "a failed connection says which configuration file was used" bash -c \
	"[[ $rc == 1 ]] && grep -q '^agentgresd: configuration file: ' <<<\"\$1\"" _ "$out"
check "settings: clean values, where they came from, defaults" bash -c \
	"'$DAEMON' settings | grep -qx 'agents.heartbeat.interval_s = 0.5    (from env; default 5)'"
check "a misspelt AGENTGRES_ variable is named with a did-you-mean" bash -c \
	"AGENTGRES_HTTP_LISTN=x '$DAEMON' settings | grep -q 'AGENTGRES_HTTP_LISTN ignored (did you mean AGENTGRES_HTTP_LISTEN?)'"

# 3d. health: one definition of stale, one meaning of healthy
sql "SELECT agentgres.register_agent('ghost', 'test', '{}'), agentgres.set_agent_status('ghost', 'running')" >/dev/null
sleep 1
check "an agent that just started is not stale" test \
	"$(sql "SELECT count(*) FROM agentgres.alerts WHERE rule = 'stale_heartbeat' AND subject = 'ghost'")" = 0
check "a silent agent gets a stale_heartbeat alert" wait_for 15 sql_is 1 \
	"SELECT count(*) FROM agentgres.alerts WHERE rule = 'stale_heartbeat' AND subject = 'ghost' AND status = 'open'"
msg=$(sql "SELECT message FROM agentgres.alerts WHERE rule = 'stale_heartbeat' AND subject = 'ghost'")
check "  with a grammatical message ($msg)" bash -c "[[ \"\$1\" =~ ^agent\ ghost\ has\ sent\ no\ heartbeat\ for\ [0-9]+\ s$ ]]" _ "$msg"
check "a stale agent: /health 503 failing" bash -c \
	"[[ \$(curl -s -o '$SCRATCH/body' -w '%{http_code}' '$URL/health') == 503 ]] && grep -q '\"status\":\"failing\"' '$SCRATCH/body'"
"$DAEMON" status >"$SCRATCH/status" && rc=0 || rc=$?
check "a stale agent: status says failing with the reason, exit 1" bash -c \
	"[[ $rc == 1 ]] && grep -qx 'health: failing' '$SCRATCH/status' && grep -q 'ghost' '$SCRATCH/status'"
sql "SELECT agentgres.set_agent_status('ghost', 'stopped')" >/dev/null
check "the alert is resolved once the agent is stopped" wait_for 10 sql_is resolved \
	"SELECT status FROM agentgres.alerts WHERE rule = 'stale_heartbeat' AND subject = 'ghost'"
check "and /health is 200 again" wait_for 10 http_is 200 "$URL/health"
# 4. SIGTERM within five seconds, releasing the running job
job=$("$DAEMON" enqueue sleep '{"ms": 30000}')
wait_for 5 sql_is running "SELECT state FROM agentgres.jobs WHERE id = $job"
start_ns=$(date +%s%N)
kill -TERM "$PID"
wait "$PID" || true
PID=""
elapsed_ms=$((($(date +%s%N) - start_ns) / 1000000))
check "SIGTERM stops the daemon in under 5 s (took ${elapsed_ms} ms)" test "$elapsed_ms" -lt 5000
check "the running job was released, its attempt not counted" test \
	"$(sql "SELECT state || '/' || attempts FROM agentgres.jobs WHERE id = $job")" = "queued/0"
check "loops are recorded as stopped" test "$(sql "SELECT count(*) FROM agentgres.agents WHERE status = 'stopped' AND name IN ('heartbeat', 'perfmon', 'janitor', 'worker')")" = 4
sql "SELECT agentgres.cancel_job($job)" >/dev/null

# 5. token: guards everything but /health; non-loopback needs one
AGENTGRES_HTTP_TOKEN=s3cret start_daemon
wait_for 15 http_is 200 "$URL/health" || true
check "/api/agents without the token: 401" test "$(http_code "$URL/api/agents")" = 401
check "/api/agents with a wrong token: 401" test "$(http_code -H 'Authorization: Bearer nope' "$URL/api/agents")" = 401
check "/api/agents with the token: 200" test "$(http_code -H 'Authorization: Bearer s3cret' "$URL/api/agents")" = 200
check "/health needs no token" test "$(http_code "$URL/health")" = 200
check "the token is not logged" bash -c "! grep -q s3cret '$LOG'"
stop_daemon
check "listening on 0.0.0.0 without a token is refused" bash -c \
	"AGENTGRES_HTTP_LISTEN=0.0.0.0:$PORT_HTTP '$DAEMON' run 2>&1 | grep -q 'refusing to listen'"
check "a URI password with an empty user is not printed" bash -c \
	"AGENTGRES_DSN='postgresql://:hunter2@127.0.0.1:1/x' '$DAEMON' status >'$SCRATCH/dsn' 2>&1; ! grep -q hunter2 '$SCRATCH/dsn' && grep -q 'password=\*\*\*' '$SCRATCH/dsn'"
check "so is a name that only looks loopback (127.evil.invalid)" bash -c \
	"AGENTGRES_HTTP_LISTEN=127.evil.invalid:$PORT_HTTP '$DAEMON' run 2>&1 | grep -q 'refusing to listen.*does not resolve'"

# 5b. a busy host is a warning: perfmon's host.threshold alert
AGENTGRES_AGENTS_PERFMON_DISK_ALERT_PERCENT=0 start_daemon
check "perfmon raises host.threshold for the disk" wait_for 15 sql_is 1 \
	"SELECT count(*) FROM agentgres.alerts WHERE rule = 'host.threshold' AND subject = 'disk_percent' AND status = 'open'"
check "  with a clean number in its message" bash -c \
	"[[ \"\$1\" =~ ^disk_percent\ is\ [0-9]+(\.[0-9])?,\ at\ or\ over\ 0$ ]]" _ \
	"$(sql "SELECT message FROM agentgres.alerts WHERE rule = 'host.threshold' AND subject = 'disk_percent'")"
check "a busy host: /health 200 with status warning" bash -c \
	"[[ \$(curl -s -o '$SCRATCH/body' -w '%{http_code}' '$URL/health') == 200 ]] && grep -q '\"status\":\"warning\"' '$SCRATCH/body' && grep -q '\"reasons\":\[\"' '$SCRATCH/body'"
"$DAEMON" status >"$SCRATCH/status" && rc=0 || rc=$?
check "a busy host: status says warning with the reason, exit 0" bash -c \
	"[[ $rc == 0 ]] && grep -qx 'health: warning' '$SCRATCH/status' && grep -q 'about the host' '$SCRATCH/status'"
stop_daemon
sql "SELECT agentgres.resolve_alert('host.threshold', 'disk_percent')" >/dev/null

# 5c. the HTTP server's pool: exhausted -> 503 at once; a lock -> 503 after lock_timeout
AGENTGRES_HTTP_DB_POOL_SIZE=1 AGENTGRES_HTTP_DB_WAIT_S=0.2 AGENTGRES_HTTP_LOCK_TIMEOUT_S=1 start_daemon
wait_for 15 http_is 200 "$URL/api/agents" || true
sql "SELECT 1" >/dev/null
"${PSQL[@]}" -d agentgres_daemon -c "BEGIN; LOCK TABLE agentgres.jobs IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(3); COMMIT;" >/dev/null &
locker=$!
sleep 0.5
curl -s -o "$SCRATCH/locked" -w '%{http_code} %{time_total}' "$URL/api/jobs" >"$SCRATCH/locked.code" &
getter=$!
sleep 0.3
check "the only pooled connection busy: 503 with a JSON error" bash -c \
	"[[ \$(curl -s -o '$SCRATCH/body' -w '%{http_code}' '$URL/api/agents') == 503 ]] && grep -q '^{\"error\":\"all 1 database connections are busy' '$SCRATCH/body'"
wait "$getter"
read -r code secs <"$SCRATCH/locked.code" || true # no newline after curl's -w
check "a locked table: 503 after lock_timeout, not a hang (${secs} s)" bash -c \
	"[[ $code == 503 ]] && awk -v s='$secs' 'BEGIN { exit !(s < 2.5) }'"
wait "$locker"
check "the pool serves again" wait_for 5 http_is 200 "$URL/api/jobs"
stop_daemon

# 6. kill -9 with a claimed job: done exactly once after the lease
export AGENTGRES_AGENTS_WORKER_LEASE_S=2
start_daemon
job=$("$DAEMON" enqueue sleep '{"ms": 4000}')
wait_for 10 sql_is running "SELECT state FROM agentgres.jobs WHERE id = $job"
kill -KILL "$PID"
wait "$PID" 2>/dev/null || true
PID=""
start_daemon
check "after kill -9 the job is done by the next daemon" wait_for 20 sql_is "done/2" "SELECT state || '/' || attempts FROM agentgres.jobs WHERE id = $job"
check "and only once (a single completion, no other job touched)" test \
	"$(sql "SELECT count(*) FROM agentgres.jobs WHERE state = 'done' AND kind = 'sleep'")" = 1

# 7. the database restarts under the daemon
if [[ -n "${AGENTGRES_PGDATA:-}" ]]; then
	# A restart nobody asked /health through: the pooled connections still
	# look open. The first /health after it must retry on a fresh one, not 503.
	wait_for 15 http_is 200 "$URL/health" || true
	as_pg "$PG_BIN/pg_ctl" -D "$AGENTGRES_PGDATA" -l "$AGENTGRES_PGDATA/../postgresql.log" -m fast -w restart >/dev/null
	wait_for 10 "$PG_BIN/pg_isready" -q # -w already waits; this is for the server's readiness only
	check "the first /health after a database restart answers 200" http_is 200 "$URL/health"
	check "and the first /api/jobs too" http_is 200 "$URL/api/jobs?limit=1"
	as_pg "$PG_BIN/pg_ctl" -D "$AGENTGRES_PGDATA" -m fast -w stop >/dev/null
	check "/health is 503 while the database is down" wait_for 10 http_is 503 "$URL/health"
	as_pg "$PG_BIN/pg_ctl" -D "$AGENTGRES_PGDATA" -l "$AGENTGRES_PGDATA/../postgresql.log" -w start >/dev/null
	restarted=$(sql "SELECT now()")
	check "/health is 200 again after the restart" wait_for 30 http_is 200 "$URL/health"
	check "every loop heartbeats again on its own" wait_for 30 sql_is 4 \
		"SELECT count(DISTINCT agent) FROM agentgres.heartbeats WHERE at > '$restarted' AND agent IN ('heartbeat', 'perfmon', 'janitor', 'worker')"
	job=$("$DAEMON" enqueue noop)
	check "the worker takes jobs again" wait_for 10 sql_is done "SELECT state FROM agentgres.jobs WHERE id = $job"
fi
stop_daemon

# 8. several worker loops run jobs in parallel
AGENTGRES_AGENTS_WORKER_CONCURRENCY=2 start_daemon
j1=$("$DAEMON" enqueue sleep '{"ms": 2000}')
j2=$("$DAEMON" enqueue sleep '{"ms": 2000}')
check "two worker loops hold two jobs at once" wait_for 10 sql_is 2 \
	"SELECT count(DISTINCT locked_by) FROM agentgres.jobs WHERE state = 'running' AND id IN ($j1, $j2)"
check "and finish both" wait_for 10 sql_is 2 "SELECT count(*) FROM agentgres.jobs WHERE state = 'done' AND id IN ($j1, $j2)"
stop_daemon

# 9. a loop that throws: restarted, alert, then failed
AGENTGRES_AGENTS_CHAOS_ENABLED=true AGENTGRES_AGENTS_CHAOS_INTERVAL_S=0.3 start_daemon
check "the crashing loop is restarted" wait_for 15 bash -c \
	"curl -s '$URL/metrics' | grep -Eq '^agentgres_loop_restarts_total\{loop=\"chaos\"\} [1-9]'"
check "an alert names the crashing loop" wait_for 10 sql_is 1 "SELECT count(*) FROM agentgres.alerts WHERE rule = 'loop_crashed' AND subject = 'chaos' AND status = 'open'"
check "after repeated crashes it is failed" wait_for 15 sql_is failed "SELECT status FROM agentgres.agents WHERE name = 'chaos'"
check "/health is 503 while a loop is failed" wait_for 5 http_is 503 "$URL/health"
check "and status exits 1" bash -c "! '$DAEMON' status >/dev/null"
check "the other loops keep running" test "$(sql "SELECT count(*) FROM agentgres.agents WHERE status = 'running'")" = 4
stop_daemon

"${PSQL[@]}" -d postgres -c "DROP DATABASE agentgres_daemon" >/dev/null
echo "daemon: $failures failure(s)"
((failures == 0))
