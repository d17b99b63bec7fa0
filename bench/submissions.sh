#!/usr/bin/env bash
# Submissions per second through gunicorn (2 workers by default) into a fresh database.
# Usage: bench/submissions.sh [sqlite|postgresql] [seconds]   (needs wrk: apt-get install -y wrk)
# BENCH_MANAGERS=N (default 4) equal managers exist, so that every submission is assigned;
# BENCH_ADMINS=N (default 0) admins exist too; BENCH_WORKERS gunicorn workers (default 2);
# BENCH_PORT picks the port (default 5099).
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-sqlite}
seconds=${2:-15}
port=${BENCH_PORT:-5099}
managers=${BENCH_MANAGERS:-4}
admins=${BENCH_ADMINS:-0}
workers=${BENCH_WORKERS:-2}
work=$(mktemp -d)
export CRM_ENV=production SECRET_KEY=bench-only-secret CRM_INSTANCE_PATH="$work" FLASK_APP=wsgi
export CRM_PUBLIC_RATE_LIMIT="1000000 per minute"   # one client address sends everything here
if [ "$kind" = postgresql ]; then
  db="crm_bench_$$"
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $db"
  export DATABASE_URL="postgresql://postgres@127.0.0.1:5432/$db"
else
  export DATABASE_URL="sqlite:///$work/crm.sqlite3"
fi
.venv/bin/flask db upgrade >/dev/null 2>&1
for i in $(seq "$managers"); do
  .venv/bin/flask crm create-user --email "manager$i@bench.example" --name "Manager $i" --role manager \
    --password "bench-only-password-$i" >/dev/null
done
for i in $(seq "$admins"); do
  .venv/bin/flask crm create-user --email "admin$i@bench.example" --name "Admin $i" --role admin \
    --password "bench-only-password-$i" >/dev/null
done
.venv/bin/gunicorn -w "$workers" -b 127.0.0.1:$port --log-level warning wsgi:app &
gunicorn_pid=$!
trap 'kill $gunicorn_pid 2>/dev/null; wait $gunicorn_pid 2>/dev/null; [ "$kind" = postgresql ] && psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"; rm -rf "$work"' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
echo "== $kind, $managers managers, $admins admins, gunicorn -w $workers, wrk -t2 -c16 -d${seconds}s"
wrk -t2 -c16 -d"${seconds}s" -s bench/post_enquiry.lua "http://127.0.0.1:$port"
echo "enquiries stored: $(.venv/bin/python - <<'PY'
from wsgi import app
from crm.extensions import db
import sqlalchemy as sa
with app.app_context():
    print(db.session.scalar(sa.text("SELECT count(*) FROM enquiries")), "; per assignee:",
          db.session.execute(sa.text("SELECT assignee_id, count(*) FROM enquiries GROUP BY assignee_id ORDER BY 1")).all())
PY
)"
