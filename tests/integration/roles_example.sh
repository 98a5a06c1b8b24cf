#!/usr/bin/env bash
# The README's "Roles and privileges" example, run as written: the SQL blocks
# after the "roles example" markers are taken from README.md; the setup runs
# as a superuser, the app's block as the login role app, the dashboard's as
# dashboard (its last statement must fail with 42501), and the daemon's role
# then reaches everything agentgresd runs.
# Needs PGHOST/PGPORT/PGUSER of a running cluster with the extension installed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=lib/checks.bash
source "$ROOT/tests/integration/lib/checks.bash"
PSQL=(psql -X -q -tA)
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
DB=agentgres_roles_example

block() { # block NAME: the SQL block after <!-- roles example: NAME --> in README.md
	awk -v marker="<!-- roles example: $1 -->" '
		$0 == marker { found = 1; next }
		found && /^```sql$/ { inside = 1; next }
		inside && /^```$/ { exit }
		inside { print }' "$ROOT/README.md"
}
for name in setup app dashboard; do
	[[ -n "$(block "$name")" ]] || { echo "README.md has no roles example block '$name'"; exit 1; }
done

quietly() { "$@" >/dev/null; }
drop_roles() { "${PSQL[@]}" -d postgres -c "DROP ROLE IF EXISTS app, dashboard, agentgresd" >/dev/null; }
"${PSQL[@]}" -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
drop_roles
"${PSQL[@]}" -v ON_ERROR_STOP=1 -d $DB -c "CREATE EXTENSION agentgres"

check "the setup block runs as a superuser" quietly "${PSQL[@]}" -v ON_ERROR_STOP=1 -d $DB -f <(block setup)
check "the app block runs as app" quietly "${PSQL[@]}" -v ON_ERROR_STOP=1 -U app -d $DB -f <(block app)
out="$("${PSQL[@]}" -v VERBOSITY=verbose -U dashboard -d $DB -f <(block dashboard) 2>&1)" || true
check "the dashboard reads the health ($(head -1 <<<"$out"))" grep -qx '"ok"' <<<"$out"
check "the dashboard reads agent_performance" grep -qx 'summarizer|1|1' <<<"$out"
check "the dashboard's write is refused with 42501" \
	grep -q 'ERROR:  42501: permission denied for function record_execution' <<<"$out"
check "what app recorded is there" test "$("${PSQL[@]}" -d $DB -c \
	"SELECT (SELECT count(*) FROM agentgres.executions) || ' ' || (SELECT count(*) FROM agentgres.jobs)
	        || ' ' || (SELECT count(*) FROM agentgres.heartbeats)")" == "1 1 1"
# agentgresd's part, as the daemon's role.
check "agentgresd trains, refreshes insights, raises and resolves alerts, purges" \
	quietly "${PSQL[@]}" -v ON_ERROR_STOP=1 -U agentgresd -d $DB -c "
	SELECT agentgres.simulate_executions('summarize', 200, 3);
	SELECT agentgres.train_success_model();
	SELECT agentgres.refresh_insights(5);
	SELECT agentgres.raise_alert('r', 's', 'info', 'm');
	SELECT agentgres.resolve_alert('r', 's');
	SELECT * FROM agentgres.purge_history(make_interval(days => 30));
	SELECT id FROM agentgres.claim_jobs('w', ARRAY['myapp.summarize']);"
check "app may not train" bash -c "! ${PSQL[*]} -U app -d $DB -c 'SELECT agentgres.train_success_model()' 2>/dev/null"

"${PSQL[@]}" -d postgres -c "DROP DATABASE $DB"
drop_roles
if ((failures > 0)); then
	echo "roles_example: $failures check(s) failed"
	exit 1
fi
echo "roles_example: all checks passed"
