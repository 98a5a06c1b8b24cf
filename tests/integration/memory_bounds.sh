#!/usr/bin/env bash
# Memory stays bounded and cancellation is prompt on the inputs that once took
# gigabytes (issue 8, item 5). Each measurement runs in a fresh backend and
# reads that backend's peak resident set (VmHWM in /proc/<pid>/status, via
# pg_read_file: the test runs on the server's machine as a superuser).
#   rrf over 2500 lists x 100 ids (2 MB of input): was 4.9 GB and 18 s;
#     its list_ranks are sparse now.
#   agent_patterns(1, NULL, 5) over 3000 executions of 16 agents out of 64: was
#     2.8 GB and more; now 54000 naming work_mem as soon as the state passes
#     work_mem * hash_mem_multiplier, with a peak that follows work_mem.
#   statement_timeout cancels rrf, the pattern aggregate and refresh_insights
#   within a second of firing.
# Needs PGHOST/PGPORT/PGUSER of a running cluster with the extension installed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$ROOT/tests/integration/lib/checks.bash"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -tA)
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
DB=agentgres_memory

"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
export PGDATABASE=$DB
"${PSQL[@]}" <<'SQL'
CREATE EXTENSION agentgres;
-- Runs a statement; answers its SQLSTATE (00000 when it completed), the
-- milliseconds it took and the backend's peak resident set in MB so far.
CREATE FUNCTION measure(statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	started timestamptz := clock_timestamp();
	state text := '00000';
BEGIN
	BEGIN
		EXECUTE statement;
	EXCEPTION WHEN others OR query_canceled THEN
		GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE;
	END;
	RETURN format('%s %s %s', state, round(extract(epoch FROM clock_timestamp() - started) * 1000),
	              substring(pg_read_file('/proc/' || pg_backend_pid() || '/status') FROM 'VmHWM:\s*(\d+)')::bigint / 1024);
END $$;
CREATE TABLE lists (lists bigint[]);
ALTER TABLE lists ALTER lists SET STORAGE EXTERNAL;
INSERT INTO lists SELECT array_agg(ARRAY(SELECT l * 100 + i FROM generate_series(1::bigint, 100) AS i))
FROM generate_series(1::bigint, 2500) AS l;
CREATE TABLE long_lists (lists bigint[]);
ALTER TABLE long_lists ALTER lists SET STORAGE EXTERNAL;
INSERT INTO long_lists SELECT array_agg(ARRAY(SELECT l * 100 + i FROM generate_series(1::bigint, 100) AS i))
FROM generate_series(1::bigint, 40000) AS l;
-- 3000 executions, each with 16 of 64 agents (a fixed pseudo-random choice)
INSERT INTO agentgres.executions (task_type, agents, success, duration_s, error)
SELECT 'type' || e % 4,
       ARRAY(SELECT 'agent' || a FROM generate_series(1, 64) AS a ORDER BY md5(e || '/' || a) LIMIT 16),
       e % 3 <> 0, 1 + (e * 37) % 1000 / 10.0, CASE WHEN e % 3 = 0 THEN 'failed on node ' || e % 7 END
FROM generate_series(1, 3000) AS e;
SQL

# run TIMEOUT WORK_MEM STATEMENT: "sqlstate ms peak_mb" from a fresh backend
run() {
	"${PSQL[@]}" -c "SET statement_timeout = '$1'" -c "SET work_mem = '$2'" -c "SELECT measure(\$m\$$3\$m\$)"
}
# within RESULT STATE MAX_MS MAX_MB: the result has that SQLSTATE and is under both bounds
within() {
	local state ms mb
	read -r state ms mb <<<"$1"
	echo "     ($1: sqlstate, ms, peak MB)"
	[[ "$state" == "$2" ]] && ((ms <= $3 && mb <= $4))
}

RRF='SELECT count(*) FROM lists, agentgres.rrf(VARIADIC lists)'
r=$(run 0 4MB "$RRF")
check "rrf over 2500 lists x 100 ids completes within 5 s and 150 MB (was 4.9 GB, 18 s)" within "$r" 00000 5000 150
r=$(run 500ms 4MB "SELECT count(*) FROM long_lists, agentgres.rrf(VARIADIC lists)")
check "rrf over 40000 lists x 100 ids: a 500 ms statement_timeout cancels it within 1 s of firing, under 400 MB" \
	within "$r" 57014 1500 400
check "rrf's list_ranks still have one element per list, the rank in its own list" \
	[ "$("${PSQL[@]}" -c "SELECT count(*) = 250000 AND bool_and(array_length(list_ranks, 1) = 2500
	         AND cardinality(array_remove(list_ranks, NULL)) = 1 AND list_ranks[(id - 1) / 100] = (id - 1) % 100 + 1)
	     FROM lists, agentgres.rrf(VARIADIC lists)")" = t ]

PATTERNS='SELECT count(*) FROM agentgres.agent_patterns(1, NULL, 5)'
r=$(run 0 4MB "$PATTERNS")
check "agent_patterns max_size 5, default work_mem: 54000 within 2 s, under 100 MB (was 2.8 GB+)" \
	within "$r" 54000 2000 100
r=$(run 0 32MB "$PATTERNS")
check "agent_patterns max_size 5, work_mem 32MB: 54000 within 5 s, under 150 MB" within "$r" 54000 5000 150
r=$(run 0 32MB "SELECT count(*) FROM agentgres.agent_patterns(1, NULL, 3)")
check "agent_patterns max_size 3, work_mem 32MB: 54000, under 150 MB (was 813 MB)" within "$r" 54000 10000 150
r=$(run 0 4MB "SELECT count(*) FROM agentgres.agent_patterns(1, NULL, 1)")
check "agent_patterns max_size 1 fits in the default work_mem" within "$r" 00000 5000 100
r=$(run 500ms 1GB "$PATTERNS")
check "agent_patterns, work_mem 1GB: a 500 ms statement_timeout cancels it within 1 s of firing" within "$r" 57014 1500 2500
r=$(run 500ms 1GB "SELECT agentgres.refresh_insights(1)")
check "refresh_insights, work_mem 1GB: a 500 ms statement_timeout cancels it within 1 s of firing" within "$r" 57014 1500 2500

"${PSQL[@]}" -d postgres -c "DROP DATABASE $DB"
echo "memory_bounds: $failures failed"
((failures == 0))
