#!/usr/bin/env bash
# The daemon under faults, in its own database; /health must always answer
# within 2 s:
#   kill -9 of the daemon, twice, while two worker loops run a queue of jobs:
#   nothing lost (every job done), nothing run twice (one "job done" each), and
#   the restarted daemon takes over its own loop records; the database
#   restarted under the daemon (needs AGENTGRES_PGDATA): /health keeps
#   answering and recovers, the loops come back; a held LOCK on
#   agentgres.agents: /health, /metrics and /api/agents answer within 2 s (a
#   clear 503 "locked"), not a hang; slow clients (12, then 50 connections
#   sending their headers a byte at a time): /health answers 200 throughout,
#   and the slow ones are cut off after http.request_timeout_s (with a cap of
#   8 connections, httplib's old pool size, the same attack makes /health
#   503: the check bites) and SIGTERM still stops the daemon at once; a
#   400 MB Content-Length: 413 before authentication, nothing buffered; a
#   daemon restarted after kill -9 with fewer loops stops its predecessor's
#   other records; a second daemon on the same address refuses to start; a second daemon on another address keeps its own loop
#   records (stopping it leaves the first one's running), and when killed its
#   loops go stale under its own name.
# Needs PGHOST/PGPORT/PGUSER of a running cluster with the extension
# installed. AGENTGRES_TEST_HTTP_PORT (default 7793) and the port after it
# are used.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DAEMON="${AGENTGRESD:-$ROOT/build/agentgresd}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
PORT_HTTP="${AGENTGRES_TEST_HTTP_PORT:-7793}"
PORT_OTHER=$((PORT_HTTP + 1))
DB=agentgres_daemon_faults
source "$(dirname "${BASH_SOURCE[0]}")/lib/daemon.bash"
# "CODE SECONDS" of one request, given at most 2 s (curl says 000 when cut off).
timed() { curl -s -o "$SCRATCH/body" -m 2 -w '%{http_code} %{time_total}' "$@" || true; }

# Polls /health every 0.3 s until the file $1 disappears; one "CODE SECONDS"
# line each in $2.
poll_health() {
	while [[ -e "$1" ]]; do
		timed "$URL/health" >>"$2"
		echo >>"$2"
		sleep 0.3
	done
}
# Every poll answered (no 000) within 2 s, and with the code $2 if given.
all_answered() { # all_answered FILE [CODE]
	[[ -s "$1" ]] && awk -v want="${2:-}" '
		NF { n++; if ($1 == "000" || $2 >= 2 || (want != "" && $1 != want)) bad++ }
		END { exit !(n > 0 && bad == 0) }' "$1"
}
worst() { awk 'NF && $2 > m { m = $2 } END { printf "%.3f s", m }' "$1"; }

# Opens $1 connections that send a request's headers a byte every 0.5 s for
# $2 seconds (bash's /dev/tcp: no other tool needed).
slowloris() {
	trap '' PIPE
	local fds=() fd i
	for ((i = 0; i < $1; i++)); do
		exec {fd}<>"/dev/tcp/127.0.0.1/$PORT_HTTP" || continue
		printf 'GET /health HTTP/1.1\r\nHost: x\r\n' >&"$fd" 2>/dev/null || true
		fds+=("$fd")
	done
	local end=$((SECONDS + $2))
	while ((SECONDS < end)); do
		for fd in "${fds[@]}"; do printf 'X' >&"$fd" 2>/dev/null || true; done
		sleep 0.5
	done
	for fd in "${fds[@]}"; do exec {fd}>&-; done
}
metric() { curl -s "$URL/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
sql "CREATE EXTENSION agentgres" >/dev/null

export AGENTGRES_DSN="host=$PGHOST port=$PGPORT user=$PGUSER dbname=$DB"
export AGENTGRES_HTTP_LISTEN="127.0.0.1:$PORT_HTTP"
export AGENTGRES_AGENTS_HEARTBEAT_INTERVAL_S=0.5 AGENTGRES_AGENTS_PERFMON_INTERVAL_S=1
export AGENTGRES_AGENTS_HEARTBEAT_STALE_AFTER_S=4 AGENTGRES_AGENTS_WORKER_POLL_S=0.5
export AGENTGRES_AGENTS_WORKER_LEASE_S=2 AGENTGRES_AGENTS_WORKER_CONCURRENCY=2
export AGENTGRES_LOG_FORMAT=json AGENTGRES_DATABASE_RECONNECT_MAX_S=1
export AGENTGRES_COORDINATOR_RESTART_BACKOFF_INITIAL_S=0.2 AGENTGRES_COORDINATOR_RESTART_BACKOFF_MAX_S=0.5
# A busy test host must not turn /health into a host warning or failure.
export AGENTGRES_AGENTS_PERFMON_CPU_ALERT_PERCENT=100 AGENTGRES_AGENTS_PERFMON_MEMORY_ALERT_PERCENT=100
export AGENTGRES_AGENTS_PERFMON_DISK_ALERT_PERCENT=100 AGENTGRES_AGENTS_PERFMON_ANOMALY_WARMUP=1000000
URL="http://127.0.0.1:$PORT_HTTP"
INSTANCE="$(hostname)/127.0.0.1:$PORT_HTTP"
OTHER_INSTANCE="$(hostname)/127.0.0.1:$PORT_OTHER"

# 1. kill -9 twice while two workers run a queue: nothing lost, nothing twice
start_daemon
check "/health answers 200" wait_for 15 http_is 200 "$URL/health"
check "the loops are recorded as this instance's ($INSTANCE)" wait_for 10 sql_is "5/$PID" \
	"SELECT count(*) || '/' || min(pid) FROM agentgres.agent_instances WHERE instance = '$INSTANCE' AND status = 'running'"
sql "SELECT agentgres.enqueue('sleep', '{\"ms\": 300}') FROM generate_series(1, 24)" >/dev/null
for kill in 1 2; do
	wait_for 10 sql_is t "SELECT count(*) > 0 FROM agentgres.jobs WHERE state = 'running'" || true
	sleep 0.5
	kill -KILL "$PID"
	wait "$PID" 2>/dev/null || true
	start_daemon
done
check "after two kill -9: every job done (nothing lost)" wait_for 60 sql_is "24/24" \
	"SELECT count(*) FILTER (WHERE state = 'done') || '/' || count(*) FROM agentgres.jobs WHERE kind = 'sleep'"
check "  each completed once: one \"job done\" per job in the three daemons' log" bash -c \
	"[[ \$(grep '\"job done\"' '$LOG' | grep -o '\"job\":\"[0-9]*\"' | sort | uniq -d | wc -l) == 0 &&
	    \$(grep '\"job done\"' '$LOG' | grep -o '\"job\":\"[0-9]*\"' | sort -u | wc -l) == 24 ]]"
check "  only jobs in flight at a kill ran again (at most 2 kills x 2 workers)" sql_is t \
	"SELECT count(*) FILTER (WHERE attempts > 1) <= 4 AND max(attempts) <= 3 FROM agentgres.jobs WHERE kind = 'sleep'"
check "the restarted daemon took over its instance's records (its pid, running)" wait_for 10 sql_is "5/$PID" \
	"SELECT count(*) || '/' || min(pid) FROM agentgres.agent_instances WHERE instance = '$INSTANCE' AND status = 'running'"
check "  and /health is 200" wait_for 10 http_is 200 "$URL/health"

# 2. the database restarts under the daemon
if [[ -n "${AGENTGRES_PGDATA:-}" ]]; then
	touch "$SCRATCH/polling"
	poll_health "$SCRATCH/polling" "$SCRATCH/restart.txt" &
	poller=$!
	sleep 0.5
	as_pg "$PG_BIN/pg_ctl" -D "$AGENTGRES_PGDATA" -l "$AGENTGRES_PGDATA/../postgresql.log" -m fast -w restart >/dev/null
	restarted=$(sql "SELECT now()")
	check "/health recovers after the database restart" wait_for 20 http_is 200 "$URL/health"
	check "  every loop heartbeats again on its own" wait_for 20 sql_is 5 \
		"SELECT count(DISTINCT agent) FROM agentgres.heartbeats WHERE at > '$restarted'"
	rm -f "$SCRATCH/polling"
	wait "$poller" || true
	check "  /health answered within 2 s throughout the restart (worst $(worst "$SCRATCH/restart.txt"))" \
		all_answered "$SCRATCH/restart.txt"
	job=$("$DAEMON" enqueue noop)
	check "  the worker takes jobs again" wait_for 10 sql_is done "SELECT state FROM agentgres.jobs WHERE id = $job"
else
	echo "skip - the database restart (AGENTGRES_PGDATA is not set)"
fi

# 3. a held lock on agentgres.agents: prompt answers, not a hang
"${PSQL[@]}" -d "$DB" -c "BEGIN; LOCK agentgres.agents; SELECT pg_sleep(6); COMMIT;" >/dev/null &
locker=$!
check "the lock is held" wait_for 5 sql_is 1 \
	"SELECT count(*) FROM pg_locks WHERE relation = 'agentgres.agents'::regclass AND mode = 'AccessExclusiveLock' AND granted"
read -r code secs <<<"$(timed "$URL/health")"
check "/health under the lock: 503 in ${secs} s, saying the database is locked" bash -c \
	"[[ $code == 503 ]] && grep -q '\"database\":\"locked: ' '$SCRATCH/body'"
read -r code secs <<<"$(timed "$URL/metrics")"
check "/metrics under the lock: 200 in ${secs} s" test "$code" = 200
read -r code secs <<<"$(timed "$URL/api/agents")"
check "/api/agents under the lock: 503 in ${secs} s" test "$code" = 503
read -r code secs <<<"$(timed "$URL/health")"
check "/health again under the lock: 503 in ${secs} s" test "$code" = 503
wait "$locker"
check "/health is 200 once the lock is released" wait_for 10 http_is 200 "$URL/health"
stop_daemon

# 4. slow clients: 12, then 50 connections trickling their headers
AGENTGRES_HTTP_REQUEST_TIMEOUT_S=3 start_daemon
wait_for 15 http_is 200 "$URL/health" || true
for n in 12 50; do
	cut_before=$(metric 'agentgres_http_connections_rejected_total{reason="timeout"}')
	slowloris "$n" 5 &
	loris=$!
	sleep 0.5
	held=$(metric agentgres_http_connections)
	: >"$SCRATCH/loris.txt"
	for _ in $(seq 1 12); do
		timed "$URL/health" >>"$SCRATCH/loris.txt"
		echo >>"$SCRATCH/loris.txt"
		sleep 0.3
	done
	check "$n slow clients are being served at once (${held:-0} connections)" test "${held:-0}" -ge "$n"
	check "  /health answers 200 within 2 s throughout (worst $(worst "$SCRATCH/loris.txt"))" \
		all_answered "$SCRATCH/loris.txt" 200
	wait "$loris" || true
	cut=$(($(metric 'agentgres_http_connections_rejected_total{reason="timeout"}') - ${cut_before:-0}))
	check "  and they were cut off after request_timeout_s ($cut timed out)" test "$cut" -ge "$n"
done
stop_daemon
# The check bites: with 8 connections (httplib's fixed pool) 12 slow clients starve /health.
AGENTGRES_HTTP_MAX_CONNECTIONS=8 AGENTGRES_HTTP_REQUEST_TIMEOUT_S=3 start_daemon
wait_for 15 http_is 200 "$URL/health" || true
slowloris 12 4 &
loris=$!
sleep 0.5
read -r code secs <<<"$(timed "$URL/health")"
check "with http.max_connections = 8, 12 slow clients make /health 503 at once (${secs} s)" bash -c \
	"[[ $code == 503 ]] && grep -q 'too many connections' '$SCRATCH/body'"
started=$SECONDS
stop_daemon
check "SIGTERM stops the daemon at once though slow clients hold connections ($((SECONDS - started)) s)" \
	test $((SECONDS - started)) -le 2
wait "$loris" || true

# 5. a huge body: 413 before authentication, nothing buffered
AGENTGRES_HTTP_TOKEN=s3cret start_daemon
wait_for 15 http_is 200 "$URL/health" || true
before=$(rss_kb "$PID")
exec {fd}<>"/dev/tcp/127.0.0.1/$PORT_HTTP"
# The headers alone: the answer comes before any of the body is sent.
printf 'POST /api/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 419430400\r\n\r\n' >&"$fd"
answer=$(timeout 5 head -c 200 <&"$fd" || true)
exec {fd}>&-
check "a 400 MB Content-Length without a token: 413 (not 401)" bash -c "[[ \"\$1\" == 'HTTP/1.1 413 '* ]]" _ "$answer"
code=$(head -c 64000000 /dev/zero | curl -s -o "$SCRATCH/body" -w '%{http_code}' -X POST --data-binary @- "$URL/api/jobs" || true)
check "a 64 MB body sent by curl: 413 naming http.max_body_kib" bash -c \
	"[[ $code == 413 ]] && grep -q 'http.max_body_kib' '$SCRATCH/body'"
after=$(rss_kb "$PID")
check "  the daemon's memory grew by less than 16 MB ($(((after - before) / 1024)) MB)" test $((after - before)) -lt 16384
check "a small body without a token: 401 (authentication still applies)" \
	test "$(http_code -X POST -d '{}' "$URL/api/jobs")" = 401
kill -KILL "$PID"
wait "$PID" 2>/dev/null || true
PID=""

# 6. restarted after that kill -9 with one worker loop instead of two: the
# killed one's worker-1 and worker-2 are stopped, not left to go stale. Then
# a second daemon on the same address refuses to start.
export AGENTGRES_AGENTS_WORKER_CONCURRENCY=1
start_daemon
check "the first daemon is up" wait_for 15 http_is 200 "$URL/health"
check "the records of loops it no longer runs (worker-1, worker-2) are stopped" wait_for 10 sql_is "stopped,stopped" \
	"SELECT string_agg(status, ',' ORDER BY agent) FROM agentgres.agent_instances WHERE instance = '$INSTANCE' AND agent LIKE 'worker-_'"
wait_for 10 sql_is "4/$PID" \
	"SELECT count(*) || '/' || min(pid) FROM agentgres.agent_instances WHERE instance = '$INSTANCE' AND status = 'running'" || true
set +e
timeout 10 "$DAEMON" run >"$SCRATCH/second.log" 2>&1
rc=$?
set -e
check "a second daemon on the same address exits non-zero ($rc) at once" test "$rc" = 1
check "  saying the address is in use" grep -q 'address already in use' "$SCRATCH/second.log"
check "  the first one's records are untouched" sql_is "4/$PID" \
	"SELECT count(*) || '/' || min(pid) FROM agentgres.agent_instances WHERE instance = '$INSTANCE' AND status = 'running'"

# 7. a second daemon on another address keeps its own records
AGENTGRES_HTTP_LISTEN="127.0.0.1:$PORT_OTHER" "$DAEMON" run >>"$LOG" 2>&1 &
OTHER=$!
check "a second daemon on another address records its own loops" wait_for 15 sql_is "4/$OTHER" \
	"SELECT count(*) || '/' || min(pid) FROM agentgres.agent_instances WHERE instance = '$OTHER_INSTANCE' AND status = 'running'"
check "  /api/agents lists both instances of each loop" bash -c \
	"curl -s '$URL/api/agents' | jq -e '[.[] | select(.name == \"worker\") | .instances | length] == [2]' >/dev/null"
"$DAEMON" status >"$SCRATCH/status" || true
check "  no status or heartbeat write deadlocked (one lock order)" bash -c "! grep -q 'deadlock detected' '$LOG'"
check "  agentgresd status lists each instance's loops" bash -c \
	"grep -c '$INSTANCE .*| running' '$SCRATCH/status' | grep -qx 4 && grep -c '$OTHER_INSTANCE .*| running' '$SCRATCH/status' | grep -qx 4"
kill -TERM "$OTHER"
wait "$OTHER" 2>/dev/null || true
OTHER=""
check "stopping it marks its loops stopped" sql_is 4 \
	"SELECT count(*) FROM agentgres.agent_instances WHERE instance = '$OTHER_INSTANCE' AND status = 'stopped'"
check "  and leaves the first one's running with their pid" sql_is "4/$PID" \
	"SELECT count(*) || '/' || min(pid) FROM agentgres.agent_instances WHERE instance = '$INSTANCE' AND status = 'running'"
check "  as every agent row shows (running, the first one's pid)" sql_is "4/$PID" \
	"SELECT count(*) || '/' || min(pid) FROM agentgres.agents WHERE status = 'running' AND pid = $PID"
check "  /health of the first daemon stays 200" http_is 200 "$URL/health"
# Killed, its loops go stale under its own name although the first beats on.
AGENTGRES_HTTP_LISTEN="127.0.0.1:$PORT_OTHER" "$DAEMON" run >>"$LOG" 2>&1 &
OTHER=$!
wait_for 15 sql_is "4/$OTHER" \
	"SELECT count(*) || '/' || min(pid) FROM agentgres.agent_instances WHERE instance = '$OTHER_INSTANCE' AND status = 'running'" || true
kill -KILL "$OTHER"
wait "$OTHER" 2>/dev/null || true
OTHER=""
check "a killed second daemon's loops go stale under its instance, the first one's do not" wait_for 15 sql_is \
	"heartbeat on $OTHER_INSTANCE,janitor on $OTHER_INSTANCE,perfmon on $OTHER_INSTANCE,worker on $OTHER_INSTANCE" \
	"SELECT string_agg(name, ',' ORDER BY name) FROM agentgres.stale_agents(make_interval(secs => 4))"
check "  and /health says so (503)" wait_for 10 http_is 503 "$URL/health"
sql "DELETE FROM agentgres.agent_instances WHERE instance = '$OTHER_INSTANCE'" >/dev/null
sql "SELECT agentgres.resolve_alert('stale_heartbeat', a.subject) FROM agentgres.alerts a WHERE a.rule = 'stale_heartbeat'" >/dev/null
check "  until its rows are deleted" wait_for 10 http_is 200 "$URL/health"
stop_daemon

"${PSQL[@]}" -d postgres -c "DROP DATABASE $DB" >/dev/null
echo "daemon_faults: $failures failure(s)"
((failures == 0))
