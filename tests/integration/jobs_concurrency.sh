#!/usr/bin/env bash
# No job is lost or done twice under concurrency: 3000 jobs, 4 concurrent
# workers (pgbench clients) claiming in batches of 1 to 5 and completing, with
# every completion logged in a table whose primary key would reject a second
# completion of the same job. Some workers also fail jobs (retried) and some
# "crash" (leave a claimed job whose short lease then runs out).
# Needs PGHOST/PGPORT/PGUSER of a running cluster with the extension installed.
set -euo pipefail
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -tA)
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
JOBS=3000

"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS agentgres_jobs" -c "CREATE DATABASE agentgres_jobs"
export PGDATABASE=agentgres_jobs
"${PSQL[@]}" <<SQL
CREATE EXTENSION agentgres;
CREATE TABLE done_log (job bigint PRIMARY KEY, worker text NOT NULL);
SELECT count(agentgres.enqueue('work', jsonb_build_object('n', i), 1 + i % 5, now(), 10))
FROM generate_series(1, $JOBS) AS i;
SQL

SCRIPT="$(mktemp)"
trap 'rm -f "$SCRIPT"' EXIT
cat >"$SCRIPT" <<'PGB'
\set batch random(1, 5)
\set roll random(1, 100)
CREATE TEMP TABLE IF NOT EXISTS mine (id bigint);
TRUNCATE mine;
INSERT INTO mine SELECT id FROM agentgres.claim_jobs('w' || :client_id, ARRAY['work'], :batch, '2 seconds');
\if :roll <= 5
SELECT 'this worker crashes: its jobs stay claimed until their lease expires';
\elif :roll <= 15
SELECT count(agentgres.fail_job(id, 'w' || :client_id, 'transient')) FROM mine;
\else
BEGIN;
INSERT INTO done_log SELECT id, 'w' || :client_id FROM mine;
SELECT count(agentgres.complete_job(id, 'w' || :client_id)) FROM mine;
COMMIT;
\endif
PGB

# Run rounds until the queue is drained (failed jobs wait out their backoff,
# so make retries immediate for the test).
for round in $(seq 1 60); do
	"${PSQL[@]}" -c "UPDATE agentgres.jobs SET run_at = now() WHERE state = 'queued' AND run_at > now()"
	"$PG_BIN/pgbench" -n -f "$SCRIPT" -c 4 -j 4 -t 300 >/tmp/agentgres_jobs_pgbench.log 2>&1 \
		|| { echo "pgbench failed:"; tail -5 /tmp/agentgres_jobs_pgbench.log; exit 1; }
	left=$("${PSQL[@]}" -c "SELECT count(*) FROM agentgres.jobs WHERE state IN ('queued', 'running')")
	[[ "$left" == 0 ]] && break
	sleep 2 # let crashed workers' leases expire
done

result=$("${PSQL[@]}" <<'SQL'
SELECT format('jobs %s, done %s, logged %s, dead %s, queued or running %s, attempts>1 %s',
	count(*), count(*) FILTER (WHERE state = 'done'), (SELECT count(*) FROM done_log),
	count(*) FILTER (WHERE state = 'dead'), count(*) FILTER (WHERE state IN ('queued', 'running')),
	count(*) FILTER (WHERE attempts > 1))
FROM agentgres.jobs;
SQL
)
echo "jobs_concurrency: $result"
mismatch=$("${PSQL[@]}" -c "SELECT count(*) FROM agentgres.jobs j FULL JOIN done_log d ON d.job = j.id
	WHERE (j.state = 'done') IS DISTINCT FROM (d.job IS NOT NULL)")
"${PSQL[@]}" -d postgres -c "DROP DATABASE agentgres_jobs"
[[ "$mismatch" == 0 ]] && [[ "$result" == "jobs $JOBS, done $JOBS, logged $JOBS, dead 0, queued or running 0, "* ]] \
	&& [[ "$result" != *"attempts>1 0" ]]
