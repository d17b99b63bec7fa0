#!/usr/bin/env bash
# Time `flask crm seed-demo --enquiries N` into a fresh database.
# Usage: bench/seed.sh [sqlite|postgresql] [N]
# CPU is that of the seed's process (both its threads on SQLite); on PostgreSQL the server's own
# CPU is not in it.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-sqlite}
count=${2:-200000}
work=$(mktemp -d)
export CRM_INSTANCE_PATH="$work" FLASK_APP=wsgi
if [ "$kind" = postgresql ]; then
  db="crm_bench_seed_$$"
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $db"
  export DATABASE_URL="postgresql://postgres@127.0.0.1:5432/$db"
  trap 'psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"; rm -rf "$work"' EXIT
else
  export DATABASE_URL="sqlite:///$work/crm.sqlite3"
  trap 'rm -rf "$work"' EXIT
fi
.venv/bin/flask db upgrade >/dev/null 2>&1
echo "== seed-demo --enquiries $count on $kind ($(date -u '+%Y-%m-%d %H:%M UTC'); before: $(cut -d' ' -f1-3 /proc/loadavg))"
/usr/bin/time -f "wall %e s, CPU %U s user + %S s system, max RSS %M KiB" .venv/bin/flask crm seed-demo --enquiries "$count" 2>&1 | grep -E "Seeded|wall|Error"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)"
