#!/usr/bin/env bash
# Upgrade test. A fresh CREATE EXTENSION runs the install script built from the
# topic files (sql/*.sql); an upgrade runs a released version's frozen install
# script (sql/released/) and then the hand-written update scripts
# (sql/updates/). For every released version, install it, ALTER EXTENSION
# UPDATE to the current version, and compare with a fresh install object by
# object and definition by definition: function and aggregate definitions and
# properties, table columns, defaults, constraints, indexes, triggers,
# policies, views, sequences, types, operators, casts, operator classes,
# comments, privileges and the pg_dump configuration of extension tables.
# Then prove the comparison bites: a planted drift (one function body and one
# column default changed in place) must be reported.
# Needs PGHOST/PGPORT/PGUSER of a running cluster with the extension installed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -tA)
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
CURRENT="$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$ROOT/agentgres.control")"

# Every member object of the extension with everything that defines it, one
# line each, in a stable order. Objects that belong to a member (columns,
# constraints, indexes, triggers, policies) are listed with their table.
snapshot() { # snapshot DB
	"${PSQL[@]}" -d "$1" <<'SQL'
WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'agentgres'),
members AS (
	SELECT d.classid, d.objid, d.objsubid FROM pg_depend d, ext
	WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
),
lines AS (
	-- every member, with its comment
	SELECT pg_describe_object(classid, objid, objsubid) || ' | comment: ' ||
	       coalesce(obj_description(objid, classid::regclass::text), '') AS line
	FROM members
	UNION ALL
	-- functions and procedures: full definition (includes SET, volatility,
	-- strictness, parallel safety, cost, rows), owner-independent ACL
	SELECT 'function ' || p.oid::regprocedure || ' => ' || pg_get_functiondef(p.oid) ||
	       ' | acl: ' || coalesce(p.proacl::text, 'default')
	FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
	WHERE p.prokind <> 'a'
	UNION ALL
	-- aggregates: their support functions and properties
	SELECT 'aggregate ' || p.oid::regprocedure || ' => ' ||
	       concat_ws(' ', a.aggkind, a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggserialfn, a.aggdeserialfn,
	                 a.aggtranstype::regtype, a.aggtransspace, a.agginitval, a.aggfinalextra, a.aggfinalmodify,
	                 p.proparallel, p.provolatile, p.proisstrict)
	FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
	JOIN pg_aggregate a ON a.aggfnoid = p.oid
	UNION ALL
	-- tables and views: kind, persistence, options, RLS, ACL, view text
	SELECT 'relation ' || c.oid::regclass || ' => ' ||
	       concat_ws(' ', c.relkind, c.relpersistence, c.reloptions::text, c.relrowsecurity, c.relforcerowsecurity,
	                 coalesce(c.relacl::text, 'default'),
	                 CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END)
	FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
	UNION ALL
	-- columns in order, with type, nullability, default, identity, generation,
	-- collation, column comment and ACL
	SELECT 'column ' || c.oid::regclass || '.' || a.attname || ' #' || a.attnum || ' => ' ||
	       concat_ws(' ', format_type(a.atttypid, a.atttypmod), CASE WHEN a.attnotnull THEN 'not null' END,
	                 'default ' || pg_get_expr(ad.adbin, ad.adrelid), nullif(a.attidentity, ''),
	                 nullif(a.attgenerated, ''), a.attcollation::regcollation::text, a.attstorage,
	                 'comment ' || col_description(c.oid, a.attnum), a.attacl::text)
	FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
	JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
	LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
	UNION ALL
	SELECT 'constraint ' || c.oid::regclass || ' ' || k.conname || ' => ' || pg_get_constraintdef(k.oid)
	FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
	JOIN pg_constraint k ON k.conrelid = c.oid
	UNION ALL
	SELECT 'index ' || c.oid::regclass || ' => ' || pg_get_indexdef(i.indexrelid)
	FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
	JOIN pg_index i ON i.indrelid = c.oid
	UNION ALL
	SELECT 'trigger ' || c.oid::regclass || ' => ' || pg_get_triggerdef(t.oid)
	FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
	JOIN pg_trigger t ON t.tgrelid = c.oid AND NOT t.tgisinternal
	UNION ALL
	SELECT 'policy ' || p.schemaname || '.' || p.tablename || ' ' || p.policyname || ' => ' ||
	       concat_ws(' ', p.permissive, p.roles::text, p.cmd, p.qual, p.with_check)
	FROM pg_policies p WHERE p.schemaname = 'agentgres'
	UNION ALL
	SELECT 'sequence ' || s.seqrelid::regclass || ' => ' ||
	       concat_ws(' ', s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmax, s.seqmin, s.seqcache, s.seqcycle)
	FROM members m JOIN pg_sequence s ON m.classid = 'pg_class'::regclass AND s.seqrelid = m.objid
	UNION ALL
	SELECT 'type ' || t.oid::regtype || ' => ' ||
	       concat_ws(' ', t.typtype, t.typlen, t.typbyval, t.typalign, t.typstorage, t.typinput, t.typoutput,
	                 t.typreceive, t.typsend, t.typmodin, t.typmodout, t.typanalyze, t.typcategory, t.typelem::regtype)
	FROM members m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid
	UNION ALL
	SELECT 'operator ' || o.oid::regoperator || ' => ' ||
	       concat_ws(' ', o.oprcode, o.oprcom::regoperator, o.oprnegate::regoperator, o.oprrest, o.oprjoin,
	                 o.oprcanmerge, o.oprcanhash)
	FROM members m JOIN pg_operator o ON m.classid = 'pg_operator'::regclass AND o.oid = m.objid
	UNION ALL
	SELECT 'cast ' || c.castsource::regtype || ' -> ' || c.casttarget::regtype || ' => ' ||
	       concat_ws(' ', c.castfunc::regprocedure, c.castcontext, c.castmethod)
	FROM members m JOIN pg_cast c ON m.classid = 'pg_cast'::regclass AND c.oid = m.objid
	UNION ALL
	SELECT 'opclass ' || oc.opcname || ' => ' || oc.opcdefault || ' ' ||
	       (SELECT string_agg(ao.amopstrategy || ':' || ao.amopopr::regoperator, ' ' ORDER BY ao.amopstrategy)
	        FROM pg_amop ao WHERE ao.amopfamily = oc.opcfamily) || ' ' ||
	       (SELECT string_agg(ap.amprocnum || ':' || ap.amproc::regprocedure, ' ' ORDER BY ap.amprocnum)
	        FROM pg_amproc ap WHERE ap.amprocfamily = oc.opcfamily)
	FROM members m JOIN pg_opclass oc ON m.classid = 'pg_opclass'::regclass AND oc.oid = m.objid
	UNION ALL
	-- what pg_dump dumps of the extension's tables
	SELECT 'dump config ' || cfg.relid::regclass || ' => ' || coalesce(cfg.condition, '')
	FROM pg_extension e, ext,
	LATERAL unnest(e.extconfig, e.extcondition) AS cfg (relid, condition)
	WHERE e.oid = ext.oid
)
SELECT line FROM lines ORDER BY line COLLATE "C";
SQL
}

fresh_db() {
	"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"
}

fresh_db agentgres_upgrade_fresh
"${PSQL[@]}" -d agentgres_upgrade_fresh -c "CREATE EXTENSION agentgres"
[[ "$("${PSQL[@]}" -d agentgres_upgrade_fresh -c "SELECT extversion FROM pg_extension WHERE extname = 'agentgres'")" == "$CURRENT" ]] \
	|| { echo "a fresh install is not version $CURRENT"; exit 1; }
expected="$(snapshot agentgres_upgrade_fresh)"
[[ $(wc -l <<<"$expected") -gt 100 ]] || { echo "the snapshot of a fresh install is too small to mean anything"; exit 1; }

# The released versions are the frozen install scripts in sql/released/.
released=()
for f in "$ROOT"/sql/released/agentgres--*.sql; do
	v="${f##*/agentgres--}"
	released+=("${v%.sql}")
done
((${#released[@]} > 0)) || { echo "no released install scripts in sql/released"; exit 1; }

status=0
for version in "${released[@]}"; do
	[[ "$version" != "$CURRENT" ]] || { echo "sql/released must not hold the current version $CURRENT"; exit 1; }
	fresh_db agentgres_upgrade_from
	"${PSQL[@]}" -d agentgres_upgrade_from -c "CREATE EXTENSION agentgres VERSION '$version'" \
		-c "ALTER EXTENSION agentgres UPDATE"
	got="$(snapshot agentgres_upgrade_from)"
	if [[ "$got" == "$expected" ]]; then
		echo "upgrade $version -> $CURRENT: the same $(wc -l <<<"$got") definitions as a fresh install"
	else
		echo "upgrade $version -> $CURRENT differs from a fresh install (< fresh, > upgraded):"
		diff <(echo "$expected") <(echo "$got") | head -60 || true
		status=1
	fi
done

# Updating the current version is a no-op that succeeds.
"${PSQL[@]}" -d agentgres_upgrade_fresh -c "ALTER EXTENSION agentgres UPDATE"
[[ "$(snapshot agentgres_upgrade_fresh)" == "$expected" ]] || { echo "ALTER EXTENSION UPDATE changed $CURRENT"; status=1; }

# The comparison bites: a drift of one function body, one column default and
# one comment in an upgraded database is reported, each of them.
for drift in \
	"CREATE OR REPLACE FUNCTION agentgres.learning_mode() RETURNS text LANGUAGE sql STABLE
	 SET search_path = pg_catalog, pg_temp AS \$\$ SELECT 'drifted'::text \$\$" \
	"ALTER TABLE agentgres.jobs ALTER COLUMN priority SET DEFAULT 4" \
	"COMMENT ON TABLE agentgres.jobs IS 'drifted'"; do
	fresh_db agentgres_upgrade_drift
	"${PSQL[@]}" -d agentgres_upgrade_drift -c "CREATE EXTENSION agentgres" -c "$drift"
	if [[ "$(snapshot agentgres_upgrade_drift)" == "$expected" ]]; then
		echo "the comparison missed a planted drift: $drift"
		status=1
	fi
done
echo "checked ${#released[@]} released version(s) (${released[*]}) against $CURRENT; planted drifts are caught"

"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS agentgres_upgrade_fresh" \
	-c "DROP DATABASE IF EXISTS agentgres_upgrade_from" -c "DROP DATABASE IF EXISTS agentgres_upgrade_drift"
exit $status
