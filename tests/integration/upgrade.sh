#!/usr/bin/env bash
# Upgrade test: for every older version the installed scripts can create,
# CREATE EXTENSION agentgres VERSION 'old'; ALTER EXTENSION agentgres UPDATE
# must succeed and leave exactly the objects (and function definitions) of a
# fresh CREATE EXTENSION agentgres. Also checks that every shipped version can
# reach the default version through the update graph.
# Needs PGHOST/PGPORT/PGUSER of a running cluster with the extension installed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -tA)
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
DEFAULT="$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$ROOT/agentgres.control")"

# The objects of the extension and their definitions, in a stable order.
snapshot() { # snapshot DB
	"${PSQL[@]}" -d "$1" <<'SQL'
SELECT pg_describe_object(classid, objid, objsubid) ||
       coalesce(' => ' || (SELECT pg_get_functiondef(p.oid) FROM pg_proc p
                           WHERE classid = 'pg_proc'::regclass AND p.oid = objid AND p.prokind <> 'a'), '')
FROM pg_depend
WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'agentgres')
ORDER BY 1;
SQL
}

fresh_db() {
	"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"
}

fresh_db agentgres_upgrade_fresh
"${PSQL[@]}" -d agentgres_upgrade_fresh -c "CREATE EXTENSION agentgres"
expected="$(snapshot agentgres_upgrade_fresh)"
[[ -n "$expected" ]] || { echo "fresh install has no member objects"; exit 1; }

# Every version in the update graph must reach the default one.
unreachable="$("${PSQL[@]}" -d agentgres_upgrade_fresh -c "
	SELECT string_agg(source, ', ') FROM pg_extension_update_paths('agentgres')
	WHERE target = '$DEFAULT' AND source <> '$DEFAULT' AND path IS NULL")"
if [[ -n "$unreachable" ]]; then
	echo "no update path to $DEFAULT from: $unreachable"
	exit 1
fi

status=0
checked=0
older=$("${PSQL[@]}" -d agentgres_upgrade_fresh -c "
	SELECT version FROM pg_available_extension_versions WHERE name = 'agentgres' AND version <> '$DEFAULT'
	ORDER BY string_to_array(version, '.')::int[]")
for version in $older; do
	checked=$((checked + 1))
	fresh_db agentgres_upgrade_from
	"${PSQL[@]}" -d agentgres_upgrade_from -c "CREATE EXTENSION agentgres VERSION '$version'" \
		-c "ALTER EXTENSION agentgres UPDATE"
	got="$(snapshot agentgres_upgrade_from)"
	if [[ "$got" == "$expected" ]]; then
		echo "upgrade $version -> $DEFAULT: same objects as a fresh install"
	else
		echo "upgrade $version -> $DEFAULT differs from a fresh install:"
		diff <(echo "$expected") <(echo "$got") | head -50 || true
		status=1
	fi
done

# Updating the current version is a no-op that succeeds.
"${PSQL[@]}" -d agentgres_upgrade_fresh -c "ALTER EXTENSION agentgres UPDATE"
[[ "$(snapshot agentgres_upgrade_fresh)" == "$expected" ]] || { echo "ALTER EXTENSION UPDATE changed $DEFAULT"; status=1; }
echo "checked $checked older version(s) against $DEFAULT"

"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS agentgres_upgrade_fresh" \
	-c "DROP DATABASE IF EXISTS agentgres_upgrade_from"
exit $status
