#!/usr/bin/env bash
# The per-backend model cache (issue 8, item 10) answers like a SELECT from
# agentgres.models would: under the caller's snapshot and privileges, and
# across DROP / CREATE EXTENSION. One long-lived session (a psql coprocess)
# keeps its cache warm while other sessions change what it must see:
#   1. another session deletes or rewrites the model: the next prediction
#      follows (and a repeatable-read transaction keeps its snapshot's model);
#   2. SET ROLE to a role without SELECT on models: permission denied (42501);
#   3. DROP and CREATE EXTENSION: no stale model, then the new one.
# And one statement predicts every row from one model (the row identity read
# once per snapshot and user).
# Needs PGHOST/PGPORT/PGUSER of a running cluster with the extension installed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=lib/checks.bash
source "$ROOT/tests/integration/lib/checks.bash"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -tA)
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
DB=agentgres_model_cache

"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
export PGDATABASE=$DB
"${PSQL[@]}" -c "DROP ROLE IF EXISTS agentgres_test_noread"
"${PSQL[@]}" <<'SQL'
CREATE EXTENSION agentgres;
SELECT agentgres.simulate_executions('code_change', 2000, 42);
SELECT agentgres.simulate_executions('review', 2000, 7);
SELECT agentgres.train_success_model('default');
SELECT agentgres.train_success_model('other', 500, 50);
-- May call predict_success, but may not read agentgres.models.
CREATE ROLE agentgres_test_noread NOLOGIN;
GRANT USAGE ON SCHEMA agentgres TO agentgres_test_noread;
GRANT EXECUTE ON FUNCTION agentgres.predict_success(text, text[], double precision, text) TO agentgres_test_noread;
SQL

PREDICT="SELECT round(agentgres.predict_success('code_change', ARRAY['coder', 'reviewer'], 1)::numeric, 9);"

# The long-lived session; errors show their SQLSTATE.
coproc SESSION { psql -X -q -tA -v VERBOSITY=verbose 2>&1; }
session_pid=$SESSION_PID
session_in=${SESSION[1]} session_out=${SESSION[0]}
# A second long-lived session, for a transaction that stays open.
{ coproc OTHER { psql -X -q -tA -v VERBOSITY=verbose 2>&1; }; } 2>/dev/null # bash warns of a second coproc
other_pid=$OTHER_PID
other_in=${OTHER[1]} other_out=${OTHER[0]}
trap 'kill "$session_pid" "$other_pid" 2>/dev/null || true' EXIT
run_in() { # run_in IN OUT SQL: that session's output for SQL
	printf '%s\n\\echo __done__\n' "$3" >&"$1"
	local line out=""
	while IFS= read -r -t 60 line <&"$2"; do
		[[ "$line" == __done__ ]] && break
		out+="$line"$'\n'
	done
	printf '%s' "${out%$'\n'}"
}
in_session() { run_in "$session_in" "$session_out" "$1"; }
in_other() { run_in "$other_in" "$other_out" "$1"; }
fresh() { "${PSQL[@]}" -c "$1"; } # a new session: no cache

in_session "SET client_min_messages = warning;" >/dev/null
warm="$(in_session "$PREDICT")"
check "the session predicts ($warm) like a new session" test "$warm" == "$(fresh "$PREDICT")"
other="$(fresh "SELECT round(agentgres.predict_success('code_change', ARRAY['coder', 'reviewer'], 1, 'other')::numeric, 9)")"
check "the other model predicts differently ($other)" test "$other" != "$warm"

# 1. Changes by other sessions.
fresh "UPDATE agentgres.models SET model = (SELECT model FROM agentgres.models WHERE name = 'other') WHERE name = 'default'"
got="$(in_session "$PREDICT")"
check "after another session rewrote the model row, the session predicts from the new row ($got)" \
	test "$got" == "$other"
fresh "SELECT agentgres.train_success_model('default')" >/dev/null
got="$(in_session "$PREDICT")"
check "after another session retrained, the session predicts from the retrained model ($got)" test "$got" == "$warm"

in_session "BEGIN ISOLATION LEVEL REPEATABLE READ;" >/dev/null
in_session "$PREDICT" >/dev/null
fresh "DELETE FROM agentgres.models WHERE name = 'default'"
got="$(in_session "$PREDICT")"
check "inside a repeatable read transaction, the snapshot's model still answers ($got)" test "$got" == "$warm"
in_session "COMMIT;" >/dev/null
got="$(in_session "$PREDICT")"
check "after another session deleted the model: 42704, not a cached prediction ($got)" \
	grep -q 'ERROR:  42704: model "default" does not exist' <<<"$got"
fresh "SELECT agentgres.train_success_model('default')" >/dev/null
got="$(in_session "$PREDICT")"
check "trained again, the session predicts again ($got)" test "$got" == "$warm"

# A read committed transaction sees a commit between its statements, also
# one of a transaction that was already running at its first statement
# (same xmin and xmax, one transaction fewer in progress).
in_other "BEGIN; DELETE FROM agentgres.models WHERE name = 'default';" >/dev/null
in_session "BEGIN;" >/dev/null
got="$(in_session "$PREDICT")"
check "read committed: before the other transaction commits, the model answers ($got)" test "$got" == "$warm"
in_other "COMMIT;" >/dev/null
got="$(in_session "$PREDICT")"
check "read committed: the next statement sees the committed delete: 42704 ($got)" \
	grep -q 'ERROR:  42704: model "default" does not exist' <<<"$got"
in_session "ROLLBACK;" >/dev/null
fresh "SELECT agentgres.train_success_model('default')" >/dev/null
# Within one statement, every row is predicted from the same model.
got="$(in_session "SELECT count(DISTINCT round(agentgres.predict_success('code_change', ARRAY['coder', 'reviewer'], 1)::numeric, 9)) || ' ' || min(round(agentgres.predict_success('code_change', ARRAY['coder', 'reviewer'], 1)::numeric, 9)) FROM generate_series(1, 1000);")"
check "one statement, 1000 rows: one value, the model's ($got)" test "$got" == "1 $warm"

# 2. Privileges of the current user, on every call.
in_session "SET ROLE agentgres_test_noread;" >/dev/null
got="$(in_session "$PREDICT")"
check "as a role without SELECT on models: 42501, not a cached prediction ($got)" \
	grep -q 'ERROR:  42501: permission denied for table models' <<<"$got"
in_session "RESET ROLE;" >/dev/null
got="$(in_session "$PREDICT")"
check "back as the owner, the session predicts again ($got)" test "$got" == "$warm"
fresh "GRANT SELECT ON agentgres.models TO agentgres_test_noread; ALTER TABLE agentgres.models ENABLE ROW LEVEL SECURITY"
in_session "$PREDICT" >/dev/null
in_session "SET ROLE agentgres_test_noread;" >/dev/null
got="$(in_session "$PREDICT")"
check "with SELECT but no row visible under row-level security: 42704 ($got)" \
	grep -q 'ERROR:  42704: model "default" does not exist' <<<"$got"
in_session "RESET ROLE;" >/dev/null
fresh "ALTER TABLE agentgres.models DISABLE ROW LEVEL SECURITY; REVOKE SELECT ON agentgres.models FROM agentgres_test_noread"

# 3. DROP and CREATE EXTENSION while the session keeps its cache.
in_session "$PREDICT" >/dev/null
fresh "DROP EXTENSION agentgres CASCADE; CREATE EXTENSION agentgres"
got="$(in_session "$PREDICT")"
check "after DROP and CREATE EXTENSION: 42704, not the dropped model ($got)" \
	grep -q 'ERROR:  42704: model "default" does not exist' <<<"$got"
fresh "SELECT agentgres.simulate_executions('code_change', 300, 99); SELECT agentgres.train_success_model('default', 1000000, 20)" >/dev/null
new="$(fresh "$PREDICT")"
got="$(in_session "$PREDICT")"
check "a model trained in the re-created extension answers ($got, a new session: $new, before: $warm)" \
	test "$got" == "$new" -a "$new" != "$warm"
# Retraining invalidates the re-created table, which the session must follow.
fresh "SELECT agentgres.train_success_model('default', 1000000, 0.01)" >/dev/null
newer="$(fresh "$PREDICT")"
got="$(in_session "$PREDICT")"
check "retrained in the re-created extension, the session follows ($got, a new session: $newer, before: $new)" \
	test "$got" == "$newer" -a "$newer" != "$new"

# Closing the sessions: one that has already ended must not kill this script
# with SIGPIPE (CI once stopped here without a word), and a failed clean-up
# says so.
trap '' PIPE
in_session "\\q" >/dev/null 2>&1 || true
in_other "\\q" >/dev/null 2>&1 || true
if ! "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" \
	-c "DROP ROLE IF EXISTS agentgres_test_noread"; then
	echo "model_cache: could not drop the test database and role"
	failures=$((failures + 1))
fi
if ((failures > 0)); then
	echo "model_cache: $failures check(s) failed"
	exit 1
fi
echo "model_cache: all checks passed"
