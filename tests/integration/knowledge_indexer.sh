#!/usr/bin/env bash
# agentgresd's indexer against the real cluster, in its own database:
#   `agentgresd ingest` of a fixture tree (C++, Python, Markdown, a nested
#   directory, a .gitignore'd file, an excluded directory, a binary file, a
#   file over the size limit): documents with uris relative to the source,
#   chunks, symbols from universal-ctags; the BM25 index exact after every
#   step; an unchanged tree re-indexed without rewriting a document; a
#   changed, an added and a deleted file replaced, added and removed with no
#   other document touched; two concurrent ingests of one file give one
#   document; a file that is not UTF-8 fails alone (exit 1); usage and
#   connection errors exit 2; the built-in symbol extractor when ctags is
#   missing; a knowledge.index job run by the daemon's worker, a bad one
#   dead with its error; the indexer loop picks up a new file; /metrics
#   shows the counts; a source moved elsewhere takes its documents along.
# Needs PGHOST/PGPORT/PGUSER of a running cluster with the extension installed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DAEMON="${AGENTGRESD:-$ROOT/build/agentgresd}"
PORT_HTTP="${AGENTGRES_TEST_HTTP_PORT:-7792}"
DB=agentgres_knowledge_indexer
source "$(dirname "${BASH_SOURCE[0]}")/lib/daemon.bash"

"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
sql "CREATE EXTENSION agentgres" >/dev/null
if [[ "$(sql "SELECT to_regprocedure('agentgres.ingest_document(text, text, text, jsonb, jsonb)') IS NOT NULL")" != t ]]; then
	echo "skip - the installed extension has no agentgres.ingest_document (knowledge SQL)"
	"${PSQL[@]}" -d postgres -c "DROP DATABASE $DB" >/dev/null
	exit 77
fi
# The daemon's role, as scripts/up.sh makes it: not a superuser.
DAEMON_ROLE=agentgres_indexer_test
daemon_role_sql "$DAEMON_ROLE" | "${PSQL[@]}" -d "$DB"

# The BM25 postings and statistics recomputed from the chunks alone.
"${PSQL[@]}" -d "$DB" -f "$ROOT/tests/integration/lib/bm25_exact.sql" >/dev/null
exact() { sql_is t "SELECT public.bm25_index_is_exact()"; }

# The fixture tree.
T="$(realpath "$SCRATCH")/tree"
mkdir -p "$T/src/nested/deeper" "$T/docs" "$T/build"
{
	echo '// Shapes and their areas.'
	echo '#include <cmath>'
	echo 'struct Point {'
	echo '	double x, y;'
	echo '};'
	for i in $(seq 1 30); do
		printf 'double\narea_of_square_%d(double side)\n{\n\treturn side * side * %d.0;\n}\n\n' "$i" "$i"
	done
} >"$T/src/geometry.cpp"
printf 'import sys\n\n\ndef tool_main(argv):\n    """Runs the tool."""\n    return len(argv)\n\n\nclass Runner:\n    def run(self):\n        return tool_main(sys.argv)\n' >"$T/src/tool.py"
printf 'def deep_helper(x):\n    return x * 2\n' >"$T/src/nested/deeper/util.py"
printf '# Fixture project\n\nA small tree for the indexer test.\n\n## Building\n\nRun make.\n' >"$T/README.md"
printf '# Guide\n\nHow to use the shapes.\n' >"$T/docs/guide.md"
printf 'secret.txt\n*.log\n' >"$T/.gitignore"
echo 'ignored by .gitignore' >"$T/secret.txt"
echo 'ignored too' >"$T/src/run.log"
echo 'int built() { return 1; }' >"$T/build/out.cpp" # excluded by default (build/)
printf 'PNG\0\0\1\2binary' >"$T/logo.dat"
head -c 5000 /dev/zero | tr '\0' 'x' >"$T/docs/big.txt" # over max_file_kib = 4

export AGENTGRES_DSN="host=$PGHOST port=$PGPORT user=$DAEMON_ROLE dbname=$DB"
export AGENTGRES_KNOWLEDGE_SOURCES="$T" AGENTGRES_KNOWLEDGE_COLLECTION=fixture AGENTGRES_KNOWLEDGE_MAX_FILE_KIB=4
export AGENTGRES_HTTP_LISTEN="127.0.0.1:$PORT_HTTP"
URL="http://127.0.0.1:$PORT_HTTP"
ingest() { "$DAEMON" ingest "$@" 2>&1; }
# Every document's uri, update time and chunk ids: what a rewrite would change.
snapshot() {
	sql "SELECT d.uri || ' ' || d.updated_at || ' ' || (SELECT string_agg(c.id::text, ',' ORDER BY c.id)
	     FROM agentgres.chunks c WHERE c.document_id = d.id) FROM agentgres.documents d ORDER BY d.uri"
}
has_symbol() { # has_symbol URI NAME: a symbols row and the name in its chunk's metadata
	sql_is t "SELECT EXISTS (SELECT FROM agentgres.symbols s JOIN agentgres.documents d ON d.id = s.document_id
	          JOIN agentgres.chunks c ON c.id = s.chunk_id
	          WHERE d.uri = '$1' AND s.name = '$2' AND c.metadata -> 'symbols' ? '$2')"
}

# 1. the first run
out=$(ingest) && rc=0 || rc=$?
check "ingest (the configured source) exits 0" test "$rc" = 0
check "  its summary: 6 added, 2 skipped (binary, too big)" grep -q \
	"indexed 8 files in .* 6 added, 0 changed, 0 unchanged, 0 deleted, 2 skipped, 0 failed; [1-9][0-9]* chunks written" <<<"$out"
check "  no progress bar when stderr is not a terminal" bash -c "! grep -q $'\r' <<<\"\$1\"" _ "$out"
check "the collection was created" sql_is "fixture|builtin" "SELECT name || '|' || embedder FROM agentgres.collections"
check "documents: uris relative to the source; ignored, excluded, binary and big files left out" sql_is \
	".gitignore README.md docs/guide.md src/geometry.cpp src/nested/deeper/util.py src/tool.py" \
	"SELECT string_agg(uri, ' ' ORDER BY uri) FROM agentgres.documents"
check "  metadata: path and source" sql_is 6 \
	"SELECT count(*) FROM agentgres.documents WHERE metadata = jsonb_build_object('path', uri, 'source', '$T')"
check "  content hashes are the files' SHA-256" sql_is "$(sha256sum "$T/src/tool.py" | cut -c1-64)" \
	"SELECT content_hash FROM agentgres.documents WHERE uri = 'src/tool.py'"
check "  languages from the uri" sql_is "markdown|cpp|python" \
	"SELECT string_agg(language, '|' ORDER BY uri) FROM agentgres.documents WHERE uri IN ('src/geometry.cpp', 'src/tool.py', 'docs/guide.md')"
check "the C++ file has several chunks" sql_is t \
	"SELECT count(*) >= 2 FROM agentgres.chunks c JOIN agentgres.documents d ON d.id = c.document_id WHERE d.uri = 'src/geometry.cpp'"
check "every document has chunks" sql_is 0 \
	"SELECT count(*) FROM agentgres.documents d WHERE NOT EXISTS (SELECT FROM agentgres.chunks c WHERE c.document_id = d.id)"
first_symbols() {
	has_symbol src/geometry.cpp Point && has_symbol src/geometry.cpp area_of_square_30 && has_symbol src/tool.py Runner \
		&& has_symbol src/tool.py tool_main && has_symbol src/nested/deeper/util.py deep_helper
}
check "symbols from ctags: struct Point, functions, a Python class and function, a nested file's function" first_symbols
check "  with ctags's kinds and lines" sql_is "struct|3" \
	"SELECT kind || '|' || line FROM agentgres.symbols WHERE name = 'Point'"
check "the BM25 index is exact" exact

# 2. an unchanged tree: nothing sent, nothing rewritten
before=$(snapshot)
out=$(ingest) && rc=0 || rc=$?
check "a second run exits 0: 6 unchanged" bash -c \
	"[[ $rc == 0 ]] && grep -q '0 added, 0 changed, 6 unchanged, 0 deleted, 2 skipped, 0 failed; 0 chunks written' <<<\"\$1\"" _ "$out"
check "  no document or chunk rewritten" test "$(snapshot)" = "$before"

# 3. a changed, an added and a deleted file
printf 'double\nvolume_of_cube(double side)\n{\n\treturn side * side * side;\n}\n' >>"$T/src/geometry.cpp"
printf 'pub fn rust_added(x: i32) -> i32 {\n    x + 1\n}\n' >"$T/src/added.rs"
rm "$T/docs/guide.md"
old_chunks=$(sql "SELECT string_agg(c.id::text, ',') FROM agentgres.chunks c JOIN agentgres.documents d ON d.id = c.document_id WHERE d.uri = 'src/geometry.cpp'")
out=$(ingest) && rc=0 || rc=$?
check "changed, added, deleted: 1 added, 1 changed, 4 unchanged, 1 deleted" bash -c \
	"[[ $rc == 0 ]] && grep -q '1 added, 1 changed, 4 unchanged, 1 deleted, 2 skipped, 0 failed' <<<\"\$1\"" _ "$out"
check "  the deleted file's document, chunks and symbols are gone" sql_is "0|0" \
	"SELECT (SELECT count(*) FROM agentgres.documents WHERE uri = 'docs/guide.md') || '|' ||
	        (SELECT count(*) FROM agentgres.chunks WHERE metadata ->> 'path' = 'docs/guide.md')"
check "  the changed file's chunks were all replaced" sql_is 0 \
	"SELECT count(*) FROM agentgres.chunks WHERE id = ANY ('{$old_chunks}'::bigint[])"
check "  its new function is a symbol" has_symbol src/geometry.cpp volume_of_cube
check "  the added Rust file is in, with its symbol" has_symbol src/added.rs rust_added
check "  the other documents were not rewritten" test \
	"$(snapshot | grep -v -e '^src/geometry.cpp ' -e '^src/added.rs ')" = "$(grep -v -e '^src/geometry.cpp ' -e '^docs/guide.md ' <<<"$before")"
check "  the BM25 index is exact" exact

# 4. a path inside the source keeps the source's uris; a directory scope
# deletes only under it
out=$(ingest "$T/src/tool.py") && rc=0 || rc=$?
check "ingest of one file of the source: unchanged, same uri" bash -c \
	"[[ $rc == 0 ]] && grep -q 'indexed 1 files in .* 1 unchanged' <<<\"\$1\"" _ "$out"
check "  no second document" sql_is 1 "SELECT count(*) FROM agentgres.documents WHERE uri LIKE '%tool.py'"
rm "$T/src/nested/deeper/util.py"
printf 'extra\n' >"$T/README.md.new" # outside the scope below: not ingested by it
out=$(ingest "$T/src/nested") && rc=0 || rc=$?
check "ingest of a directory of the source: its deleted file removed" bash -c \
	"[[ $rc == 0 ]] && grep -q 'indexed 0 files in .* 1 deleted' <<<\"\$1\"" _ "$out"
check "  nothing outside it touched" sql_is "0|5" \
	"SELECT (SELECT count(*) FROM agentgres.documents WHERE uri LIKE 'README.md.new') || '|' || (SELECT count(*) FROM agentgres.documents)"
rm "$T/README.md.new"

# 5. concurrent ingests of one file: one document, an exact index
for round in 1 2 3; do
	printf 'def race_%d(x):\n    return x + %d\n' "$round" "$round" >"$T/src/race.py"
	ingest "$T/src/race.py" >"$SCRATCH/race1" &
	a=$!
	ingest "$T/src/race.py" >"$SCRATCH/race2" &
	b=$!
	wait "$a" && ra=0 || ra=$?
	wait "$b" && rb=0 || rb=$?
	check "two concurrent ingests of one file (round $round) both exit 0" test "$ra$rb" = 00
	check "  one document with its one chunk" sql_is "1|1" \
		"SELECT count(DISTINCT d.id) || '|' || count(c.id)
		 FROM agentgres.documents d JOIN agentgres.chunks c ON c.document_id = d.id WHERE d.uri = 'src/race.py'"
	check "  holding this round's content" has_symbol src/race.py "race_$round"
done
check "after the races the BM25 index is exact" exact

# 6. failures and exit statuses
printf 'caf\xe9 au lait\n' >"$T/src/latin1.txt"
printf 'def fine():\n    return 1\n' >"$T/src/fine.py"
out=$(ingest) && rc=0 || rc=$?
check "a file that is not UTF-8 fails alone: exit 1" test "$rc" = 1
check "  named with the reason" grep -q "not indexed: src/latin1.txt: not UTF-8 text: invalid UTF-8 at byte offset 3" <<<"$out"
check "  the other new file went in" sql_is 1 "SELECT count(*) FROM agentgres.documents WHERE uri = 'src/fine.py'"
rm "$T/src/latin1.txt"
out=$(ingest "$SCRATCH/no/such/path") && rc=0 || rc=$?
check "a missing path: exit 2, named" bash -c "[[ $rc == 2 ]] && grep -q 'no such file or directory: .*no/such/path' <<<\"\$1\"" _ "$out"
out=$(AGENTGRES_KNOWLEDGE_SOURCES='' "$DAEMON" ingest 2>&1) && rc=0 || rc=$?
check "no path and no sources: exit 2" bash -c "[[ $rc == 2 ]] && grep -q 'knowledge.sources is empty' <<<\"\$1\"" _ "$out"
out=$("$DAEMON" ingest --dsn "host=$SCRATCH port=1 dbname=none" 2>&1) && rc=0 || rc=$?
check "no database: exit 2" bash -c "[[ $rc == 2 ]] && grep -q 'could not connect' <<<\"\$1\"" _ "$out"

# 7. ctags missing: the database's built-in extractor
printf 'def fallback_symbol(x):\n    return x\n' >"$T/src/fallback.py"
out=$(AGENTGRES_KNOWLEDGE_CTAGS=/nonexistent/ctags "$DAEMON" ingest 2>&1) && rc=0 || rc=$?
check "without ctags the run works" test "$rc" = 0
check "  and says the built-in extractor is used" grep -q "symbols from the database's built-in extractor" <<<"$out"
check "  whose symbols are there" has_symbol src/fallback.py fallback_symbol
check "  the BM25 index is exact" exact

# 8. the daemon: a knowledge.index job, a bad job, the loop, /metrics
export AGENTGRES_AGENTS_PERFMON_ENABLED=false AGENTGRES_AGENTS_WORKER_POLL_S=0.5
export AGENTGRES_AGENTS_HEARTBEAT_INTERVAL_S=0.5 AGENTGRES_AGENTS_INDEXER_INTERVAL_S=1
start_daemon
check "/health answers 200" wait_for 15 http_is 200 "$URL/health"
check "the indexer loop runs" wait_for 10 sql_is running "SELECT status FROM agentgres.agents WHERE name = 'indexer'"
mkdir -p "$SCRATCH/elsewhere"
printf '# Job\n\nIngested by a job.\n' >"$SCRATCH/elsewhere/by_job.md"
job=$("$DAEMON" ingest --queue --collection jobs "$SCRATCH/elsewhere")
check "ingest --queue enqueues a knowledge.index job" sql_is "knowledge.index|{\"paths\": [\"$SCRATCH/elsewhere\"], \"collection\": \"jobs\"}" \
	"SELECT kind || '|' || payload::text FROM agentgres.jobs WHERE id = $job"
check "  the daemon's worker runs it" wait_for 15 sql_is done "SELECT state FROM agentgres.jobs WHERE id = $job"
check "  its document is in the job's collection" sql_is "jobs|by_job.md" \
	"SELECT c.name || '|' || d.uri FROM agentgres.documents d JOIN agentgres.collections c ON c.id = d.collection_id WHERE c.name = 'jobs'"
check "  its result has the counts" sql_is "1|0" "SELECT (result ->> 'added') || '|' || (result ->> 'failed') FROM agentgres.jobs WHERE id = $job"
bad=$("$DAEMON" enqueue knowledge.index "{\"paths\": [\"$SCRATCH/missing\"]}" --max-attempts 1)
check "a job naming a missing path ends dead with the error" wait_for 15 sql_is t \
	"SELECT state = 'dead' AND last_error LIKE '%no such file or directory%' FROM agentgres.jobs WHERE id = $bad"
printf 'def loop_found():\n    pass\n' >"$T/src/loop_found.py"
check "the indexer loop picks up a new file" wait_for 15 sql_is 1 \
	"SELECT count(*) FROM agentgres.documents WHERE uri = 'src/loop_found.py'"
curl -s "$URL/metrics" >"$SCRATCH/metrics"
check "/metrics: files by outcome" bash -c \
	"grep -Eq '^agentgres_knowledge_files_total\{outcome=\"added\"\} [1-9]' '$SCRATCH/metrics' \
	 && grep -Eq '^agentgres_knowledge_files_total\{outcome=\"unchanged\"\} [1-9]' '$SCRATCH/metrics' \
	 && grep -q '^agentgres_knowledge_files_total{outcome=\"failed\"}' '$SCRATCH/metrics'"
check "/metrics: chunks written, run progress, last run" bash -c \
	"grep -Eq '^agentgres_knowledge_chunks_written_total [1-9]' '$SCRATCH/metrics' \
	 && grep -Eq '^agentgres_knowledge_run_files\{state=\"total\"\} [1-9]' '$SCRATCH/metrics' \
	 && grep -Eq '^agentgres_knowledge_last_run_timestamp_seconds [1-9]' '$SCRATCH/metrics' \
	 && grep -q '^agentgres_knowledge_last_run_duration_seconds ' '$SCRATCH/metrics'"
check "/metrics: the index jobs, done and failed" bash -c \
	"grep -q '^agentgres_jobs_processed_total{kind=\"knowledge.index\",outcome=\"done\"} 1' '$SCRATCH/metrics' \
	 && grep -q '^agentgres_jobs_processed_total{kind=\"knowledge.index\",outcome=\"failed\"} 1' '$SCRATCH/metrics'"
if command -v promtool >/dev/null; then
	check "/metrics passes promtool check metrics" promtool check metrics <"$SCRATCH/metrics"
fi
check "the BM25 index is exact with the daemon's writes" exact
stop_daemon

# 9. a source moved elsewhere: its documents follow it (and can be deleted there)
mv "$T" "$T.moved"
export AGENTGRES_KNOWLEDGE_SOURCES="$T.moved"
out=$(ingest) && rc=0 || rc=$?
check "a moved source: sent again under its new root, nothing added or deleted" bash -c \
	"[[ $rc == 0 ]] && grep -Eq ' 0 added, [1-9][0-9]* changed, 0 unchanged, 0 deleted' <<<\"\$1\"" _ "$out"
check "  every document names the new root" sql_is 0 \
	"SELECT count(*) FROM agentgres.documents d JOIN agentgres.collections c ON c.id = d.collection_id
	 WHERE c.name = 'fixture' AND d.metadata ->> 'source' <> '$T.moved'"
rm "$T.moved/src/fine.py"
out=$(ingest) && rc=0 || rc=$?
check "  a file deleted there is deleted from the index" bash -c "[[ $rc == 0 ]] && grep -q ' 1 deleted' <<<\"\$1\"" _ "$out"
check "  the BM25 index is exact" exact

"${PSQL[@]}" -d postgres -c "DROP DATABASE $DB" >/dev/null
echo "knowledge_indexer: $failures failure(s)"
((failures == 0))
