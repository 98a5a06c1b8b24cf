#!/usr/bin/env bash
# pg_dump / restore keeps everything the extension holds (issue 8, item 6).
# Every extension table gets rows (changed learning settings, executions,
# tasks, a trained model, insights, experiments, agents and their versions,
# heartbeats, events, alerts, metrics and rollups, jobs); the database is
# dumped (plain and custom format) and restored into new databases in one
# transaction that stops at the first error. Then every extension table has
# the same rows (md5 of its ordered rows), every identity sequence the same
# position, and new rows get new ids. A table or sequence of the extension
# that pg_dump would not keep, or that this test leaves empty, fails it, so a
# new table has to be covered here.
# Needs PGHOST/PGPORT/PGUSER of a running cluster with the extension installed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=lib/checks.bash
source "$ROOT/tests/integration/lib/checks.bash"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -tA)
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
SRC=agentgres_dump_src
PLAIN=agentgres_dump_plain
CUSTOM=agentgres_dump_custom
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

for db in $SRC $PLAIN $CUSTOM; do
	"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $db"
done
"${PSQL[@]}" -d postgres -c "CREATE DATABASE $SRC"
"${PSQL[@]}" -d $SRC >/dev/null <<'SQL'
CREATE EXTENSION agentgres;
UPDATE agentgres.learning_settings SET mode = 'adapt', strict_catalog = true, min_history = 7;
INSERT INTO agentgres.agent_catalog (name, capabilities, description)
SELECT a, ARRAY['code'], 'agent ' || a
FROM unnest(ARRAY['coder', 'reviewer', 'tester', 'planner', 'researcher', 'writer', 'debugger', 'architect']) AS a;
SELECT agentgres.simulate_executions('code_change', 1500, 42);
SELECT agentgres.record_execution('review', ARRAY['reviewer', 'coder'], false, 12.5, 3, 'timeout after 30s', 4,
                                  '{"tokens": 1200}');
SELECT agentgres.train_success_model();
SELECT agentgres.refresh_insights(5);
SELECT task_id FROM agentgres.begin_task('code_change', 2);
SELECT agentgres.finish_task(task_id, true) FROM agentgres.begin_task('code_change', 1, ARRAY['coder', 'tester']);
INSERT INTO agentgres.experiments (name, variants, description) VALUES ('prompt', ARRAY['a', 'b'], 'prompt style');
SELECT agentgres.assign_variant('prompt', 'task-' || i) FROM generate_series(1, 20) AS i;
SELECT agentgres.register_agent('summarizer', 'worker', '{"model": "small"}');
SELECT agentgres.update_agent_config('summarizer', '{"model": "large"}', 'bigger');
SELECT agentgres.heartbeat('summarizer', 'ok', '{"queue": 3}');
SELECT agentgres.register_agent('janitor', 'loop', '{}');
SELECT agentgres.set_loop_status('host-a/127.0.0.1:7780', 'janitor', 'running', NULL, 'host-a', 4242);
SELECT agentgres.loop_heartbeat('host-a/127.0.0.1:7780', 'janitor', '{"cycle": 1}');
SELECT agentgres.log_event('deploy', 'version 2 rolled out', 'summarizer', '{"version": 2}');
SELECT agentgres.raise_alert('latency', 'summarizer', 'warning', 'p95 above 2 s');
SELECT agentgres.record_metric('app', 'latency_ms', 120 + i, '{"route": "/x"}') FROM generate_series(1, 5) AS i;
-- Rollups are made of complete hours: two samples from the past.
INSERT INTO agentgres.performance_metrics (source, name, value, at)
VALUES ('app', 'latency_ms', 100, now() - interval '3 hours'), ('app', 'latency_ms', 140, now() - interval '2 days');
SELECT agentgres.rollup_metrics();
SELECT agentgres.enqueue('myapp.summarize', '{"doc": 1}');
SELECT agentgres.enqueue('myapp.summarize', '{"doc": 2}', 1);
SELECT agentgres.complete_job(id, 'w1', '{"ok": true}') FROM agentgres.claim_jobs('w1', ARRAY['myapp.summarize'], 1);
-- Knowledge: a builtin collection with code and prose, an external one with
-- vectors set from outside, and a cached vector.
SELECT agentgres.create_collection('docs', chunk_size => 200, chunk_overlap => 40);
SELECT agentgres.ingest_document('docs', 'src/pool.py', E'def acquire(pool):\n    return pool.pop()\n\n\n'
                                 'class Pool:\n    def __init__(self):\n        self.free = []\n');
SELECT agentgres.ingest_document('docs', 'README.md', E'# Pools\n\n' || repeat('Connections are pooled and reused. ', 20));
SELECT agentgres.create_collection('ext', 'nomic-embed-text', 3);
SELECT agentgres.ingest_document('ext', 'a.txt', 'external vectors');
SELECT agentgres.set_chunk_embeddings(array_agg(id), array_agg('[1,2,3]'::agentgres.embedding))
FROM agentgres.chunks WHERE collection_id = agentgres.collection_id('ext');
INSERT INTO agentgres.embedding_cache (model, content_hash, embedding) VALUES ('nomic-embed-text', 'abc', '[1,2,3]');
SELECT agentgres.create_collection('trained', 'lsa', 3);
SELECT agentgres.ingest_document('trained', 'n' || i, (ARRAY['cats purr', 'dogs bark', 'cats and dogs', 'fish swim'])[1 + i % 4])
FROM generate_series(1, 12) AS i;
SELECT agentgres.train_embedder('trained');
SQL

# Derived from the chunks by triggers: not dumped, rebuilt as the restore
# loads the chunks, and compared like the rest. A cache: not dumped at all.
DERIVED=" agentgres.bm25_postings agentgres.bm25_stats "
CACHES=" agentgres.embedding_cache "

# Every table and sequence of the extension: pg_dump keeps its rows (or its
# position), and this test gave it rows.
MEMBERS="SELECT c.oid::regclass::text, c.relkind, c.oid = ANY (x.extconfig) AS dumped
FROM pg_extension x
JOIN pg_depend d ON d.refclassid = 'pg_extension'::regclass AND d.refobjid = x.oid AND d.deptype = 'e'
JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
WHERE x.extname = 'agentgres' AND c.relkind IN ('r', 'p', 'S') ORDER BY 1"
members="$("${PSQL[@]}" -d $SRC -F ' ' -c "$MEMBERS")"
tables=()
sequences=()
while read -r name kind dumped; do
	if [[ "$CACHES" == *" $name "* ]]; then
		check "$name is a cache pg_dump leaves out" test "$dumped" == f
		continue
	elif [[ "$DERIVED" == *" $name "* ]]; then
		check "$name is derived: pg_dump leaves it out, the restore rebuilds it" test "$dumped" == f
	else
		check "pg_dump keeps the contents of $name" test "$dumped" == t
	fi
	if [[ "$kind" == S ]]; then
		sequences+=("$name")
	else
		tables+=("$name")
		rows="$("${PSQL[@]}" -d $SRC -c "SELECT count(*) FROM $name")"
		check "$name has rows to compare ($rows)" test "$rows" -gt 0
	fi
done <<<"$members"
check "the extension has tables and sequences (${#tables[@]} and ${#sequences[@]})" \
	test "${#tables[@]}" -ge 15 -a "${#sequences[@]}" -ge 5

contents() { # contents DB: one line per table (md5 of its ordered rows) and per sequence
	local t
	for t in "${tables[@]}"; do
		"${PSQL[@]}" -d "$1" -c "SELECT '$t ' || count(*) || ' ' || md5(coalesce(string_agg(r::text, E'\n' ORDER BY r::text), ''))
		                         FROM $t r"
	done
	for t in "${sequences[@]}"; do
		"${PSQL[@]}" -d "$1" -c "SELECT '$t ' || last_value || ' ' || is_called FROM $t"
	done
}
expected="$(contents $SRC)"

"$PG_BIN/pg_dump" -d $SRC -f "$WORK/dump.sql"
"$PG_BIN/pg_dump" -d $SRC -Fc -f "$WORK/dump.fc"

quietly() { "$@" >/dev/null; }

restored() { # restored DB: what to check after a restore into DB
	local got
	got="$(contents "$1")"
	if [[ "$got" == "$expected" ]]; then
		check "$1: every extension table and sequence as in the source" true
	else
		check "$1: every extension table and sequence as in the source" false
		diff <(echo "$expected") <(echo "$got") | head -20 || true
	fi
	check "$1: the changed learning settings, not the defaults" \
		test "$("${PSQL[@]}" -d "$1" -c "SELECT mode || ' ' || strict_catalog || ' ' || min_history FROM agentgres.learning_settings")" \
		== "adapt true 7"
	# New rows continue the identity sequences.
	check "$1: new executions, events, alerts, jobs, insights and a model do not collide" quietly "${PSQL[@]}" -d "$1" -c "
		SELECT agentgres.record_execution('review', ARRAY['coder'], true, 1);
		SELECT agentgres.log_event('restored', 'after restore');
		SELECT agentgres.raise_alert('restored', 'x', 'info', 'after restore');
		SELECT agentgres.enqueue('myapp.summarize', '{}');
		SELECT agentgres.refresh_insights(5);
		SELECT agentgres.train_success_model();"
	check "$1: the new rows' ids follow the source's" test "$("${PSQL[@]}" -d "$1" -c "
		SELECT (SELECT max(id) FROM agentgres.executions) > $(psql -X -tA -d $SRC -c 'SELECT max(id) FROM agentgres.executions')
		   AND (SELECT max(id) FROM agentgres.jobs) > $(psql -X -tA -d $SRC -c 'SELECT max(id) FROM agentgres.jobs')
		   AND (SELECT min(id) FROM agentgres.insights) > $(psql -X -tA -d $SRC -c 'SELECT max(id) FROM agentgres.insights')
		   AND (SELECT version FROM agentgres.models WHERE name = 'default') = 2")" == t
}

"${PSQL[@]}" -d postgres -c "CREATE DATABASE $PLAIN"
if "${PSQL[@]}" -d $PLAIN --single-transaction -f "$WORK/dump.sql" >"$WORK/plain.log" 2>&1; then
	check "plain dump restores with ON_ERROR_STOP in a single transaction" true
	restored $PLAIN
else
	check "plain dump restores with ON_ERROR_STOP in a single transaction" false
	tail -5 "$WORK/plain.log"
fi

"${PSQL[@]}" -d postgres -c "CREATE DATABASE $CUSTOM"
if "$PG_BIN/pg_restore" --single-transaction --exit-on-error -d $CUSTOM "$WORK/dump.fc" >"$WORK/custom.log" 2>&1; then
	check "custom-format dump restores with pg_restore --single-transaction --exit-on-error" true
	restored $CUSTOM
else
	check "custom-format dump restores with pg_restore --single-transaction --exit-on-error" false
	tail -5 "$WORK/custom.log"
fi

for db in $SRC $PLAIN $CUSTOM; do
	"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $db"
done
if ((failures > 0)); then
	echo "dump_restore: $failures check(s) failed"
	exit 1
fi
echo "dump_restore: all checks passed"
