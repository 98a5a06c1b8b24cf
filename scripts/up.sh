#!/usr/bin/env bash
# The first README command: installs the dependencies, builds and installs the
# extension, and brings up the embedded default: a private PostgreSQL cluster
# under .agentgres/ in the project folder with the extension created.
#
#   scripts/up.sh          start (or restart) the embedded default
#   scripts/up.sh stop     stop it
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT="${AGENTGRES_PGPORT:-5440}"
DB="${AGENTGRES_DB:-agentgres}"
BASE="$(cluster_base_dir "$AGENTGRES_ROOT/.agentgres")"

if [[ "${1:-}" == "stop" ]]; then
	cluster_stop "$BASE"
	log "stopped"
	exit 0
fi

install_dependencies
build_and_install_extension
cluster_start "$BASE" "$PORT"

PSQL=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$BASE/run" -p "$PORT" -U postgres)
if ! "${PSQL[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
	"${PSQL[@]}" -d postgres -c "CREATE DATABASE $DB"
fi
"${PSQL[@]}" -d "$DB" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS agentgres;
ALTER EXTENSION agentgres UPDATE;
SQL
VERSION="$("${PSQL[@]}" -d "$DB" -tAc "SELECT extversion FROM pg_extension WHERE extname = 'agentgres'")"
ISA="$("${PSQL[@]}" -d "$DB" -tAc "SELECT agentgres.kernel_isa()")"

cat <<EOF2

agentgres $VERSION is installed in database "$DB" (distance kernels: $ISA).

  connect:   psql -h $BASE/run -p $PORT -U postgres $DB
  conninfo:  host=$BASE/run port=$PORT user=postgres dbname=$DB
  stop:      scripts/up.sh stop
  log:       $BASE/postgresql.log
EOF2
