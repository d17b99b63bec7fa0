#!/usr/bin/env bash
# Intake throughput side by side: the CRM's POST /api/v1/enquiries against bench/minimal_app.py
# (parse the same JSON, insert one row), both under `gunicorn -w 2` on fresh databases, driven
# by the same wrk script in one run. Rounds alternate between the two apps so that a noisy
# neighbour hurts both alike; the ratio is the figure (docs/performance.md).
# Usage: bench/intake_ratio.sh [sqlite|postgresql] [seconds per round] [rounds]
# (INTAKE_CRM_WORKERS=1 runs the CRM on one gunicorn worker: no lock contention between workers.)
# INTAKE_QUEUE=1 runs the CRM with CRM_INTAKE_QUEUE on and `flask crm worker` beside it during the
# load (under `nice -n $INTAKE_WORKER_NICE`, default 0), then waits until the intake table is
# empty and checks that every 201 became an assigned enquiry with its outbox rows.
# INTAKE_WORKER=0 (with INTAKE_QUEUE=1) leaves the worker out during the load: the fast path alone.
# The worker is stopped (SIGSTOP) during the minimal app's rounds, so that only the CRM's rounds
# pay for it; INTAKE_WORKER_PAUSE=0 lets it run through both (as before 2026-11-27 22:00 UTC).
# Needs wrk (apt-get install -y wrk) and, for postgresql, psql and a server at 127.0.0.1:5432.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-sqlite}
seconds=${2:-10}
rounds=${3:-3}
connections=${INTAKE_CONNECTIONS:-8}
crm_workers=${INTAKE_CRM_WORKERS:-2}   # the CRM's gunicorn workers (the minimal app keeps 2)
queue=${INTAKE_QUEUE:-0}
worker_nice=${INTAKE_WORKER_NICE:-0}
work=$(mktemp -d)
free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
crm_port=$(free_port)
minimal_port=$(free_port)
while [ "$minimal_port" = "$crm_port" ]; do minimal_port=$(free_port); done

export CRM_ENV=production FLASK_APP=wsgi CRM_INSTANCE_PATH="$work"
SECRET_KEY=$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(32))')
export SECRET_KEY
export CRM_PUBLIC_RATE_LIMIT="1000000 per minute"   # one client address sends everything here
export CRM_FORM_MIN_SECONDS=0
pids=()
databases=()
worker_pid=
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for db in "${databases[@]}"; do
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

if [ "$kind" = postgresql ]; then
  for db in "crm_intake_$$" "minimal_intake_$$"; do
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $db"
    databases+=("$db")
  done
  crm_url="postgresql://postgres@127.0.0.1:5432/crm_intake_$$"
  minimal_url="postgresql://postgres@127.0.0.1:5432/minimal_intake_$$"
else
  crm_url="sqlite:///$work/crm.sqlite3"
  minimal_url="sqlite:///$work/minimal.sqlite3"
fi

# The CRM: migrated, with an admin and three managers so that assignment has work to do.
export DATABASE_URL="$crm_url"
.venv/bin/flask db upgrade >/dev/null 2>&1
.venv/bin/flask crm create-user --email admin@bench.example --name "Bench Admin" --role admin \
  --password "bench-password-$$-long" >/dev/null
for n in 1 2 3; do
  .venv/bin/flask crm create-user --email "manager$n@bench.example" --name "Manager $n" \
    --role manager --password "bench-password-$$-long" >/dev/null
done
if [ "$queue" = 1 ] && [ "${INTAKE_WORKER:-1}" = 1 ]; then
  # The queue mode: the fast path answers, the worker stores (and logs the mail: no MAIL_SERVER).
  # INTAKE_WORKER_IDLE=1: under SCHED_IDLE (chrt -i 0), i.e. only on CPU time no one else wants.
  idle=(); [ "${INTAKE_WORKER_IDLE:-0}" = 1 ] && idle=(chrt -i 0)
  CRM_INTAKE_QUEUE=1 CRM_OUTBOX_POLL_SECONDS=1 "${idle[@]}" nice -n "$worker_nice" .venv/bin/flask crm worker \
    >"$work/worker.log" 2>&1 &
  pids+=($!)
  worker_pid=$!
fi
[ "$queue" = 1 ] && export CRM_INTAKE_QUEUE=1

.venv/bin/gunicorn -w "$crm_workers" -b "127.0.0.1:$crm_port" -c "$PWD/bench/gunicorn_bench.py" --log-level warning --no-control-socket wsgi:app &
pids+=($!)
MINIMAL_DATABASE_URL="$minimal_url" .venv/bin/gunicorn -w 2 -b "127.0.0.1:$minimal_port" \
  -c "$PWD/bench/gunicorn_bench.py" --log-level warning --no-control-socket --chdir bench minimal_app:app &
pids+=($!)
for port in "$crm_port" "$minimal_port"; do
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
done

run_wrk() {  # $1 = port; prints "requests rate errors p50 p99"
  INTAKE_PREFIX="$1.$RANDOM" wrk -t2 -c"$connections" -d"${seconds}s" -s bench/intake.lua \
    "http://127.0.0.1:$1" | awk '/^RESULT/ {print $2, $3, $4, $5, $6}'
}

echo "== $kind: gunicorn -w $crm_workers (CRM$([ "$queue" = 1 ] && echo ", intake queue, worker at nice $worker_nice$([ "${INTAKE_WORKER_IDLE:-0}" = 1 ] && echo " under SCHED_IDLE")$([ "${INTAKE_WORKER_PAUSE:-1}" = 1 ] && echo ", stopped during the minimal rounds")")) and -w 2 (minimal), wrk -t2 -c$connections, $rounds rounds of ${seconds}s per app, alternating"
load_started=$(date +%s.%N)
crm_requests=0; minimal_requests=0; crm_errors=0; minimal_errors=0
for round in $(seq "$rounds"); do
  # The worker is the CRM's: stopped while the minimal app is measured (which then has the machine
  # to itself, as without the queue), running while the CRM is (INTAKE_WORKER_PAUSE=0: never stopped).
  [ -n "$worker_pid" ] && [ "${INTAKE_WORKER_PAUSE:-1}" = 1 ] && kill -STOP "$worker_pid"
  read -r m_req m_rate m_err m_p50 m_p99 < <(run_wrk "$minimal_port")
  [ -n "$worker_pid" ] && kill -CONT "$worker_pid"
  read -r c_req c_rate c_err c_p50 c_p99 < <(run_wrk "$crm_port")
  printf 'round %d: minimal %8.1f req/s (p50 %s ms, p99 %s ms, errors %s)   crm %8.1f req/s (p50 %s ms, p99 %s ms, errors %s)\n' \
    "$round" "$m_rate" "$m_p50" "$m_p99" "$m_err" "$c_rate" "$c_p50" "$c_p99" "$c_err"
  minimal_requests=$((minimal_requests + m_req)); crm_requests=$((crm_requests + c_req))
  minimal_errors=$((minimal_errors + m_err)); crm_errors=$((crm_errors + c_err))
done
total=$((seconds * rounds))
if [ "$queue" = 1 ]; then
  load_ended=$(date +%s.%N)
  if [ "${INTAKE_WORKER:-1}" = 0 ]; then  # the fast path alone: one worker drains it afterwards
    nice -n "$worker_nice" .venv/bin/flask crm worker --once >"$work/worker.log" 2>&1
  fi
  waiting=1
  for _ in $(seq 1200); do  # up to 10 minutes
    waiting=$(.venv/bin/python - <<'PY'
import sqlalchemy as sa
from wsgi import app
from crm.extensions import db
with app.app_context():
    print(db.session.scalar(sa.text("SELECT count(*) FROM intake")))
PY
)
    [ "$waiting" = 0 ] && break
    sleep 0.5
  done
  drained=$(date +%s.%N)
  awk -v s="$load_started" -v e="$load_ended" -v d="$drained" -v w="$waiting" 'BEGIN {
    printf "intake queue: %d rows left; drained %.1f s after the load ended (load %.1f s, first round to empty %.1f s)\n", w, d - e, e - s, d - s }'
fi
stored=$(.venv/bin/python - <<'PY'
import sqlalchemy as sa
from wsgi import app
from crm.extensions import db
with app.app_context():
    count = lambda sql: db.session.scalar(sa.text(sql))
    print(count("SELECT count(*) FROM enquiries"), count("SELECT count(*) FROM outbox_messages"),
          count("SELECT count(*) FROM enquiries WHERE assignee_id IS NOT NULL"),
          count("SELECT count(*) FROM intake"),
          "/".join(str(n) for n in db.session.scalars(sa.text(
              "SELECT count(*) FROM enquiries GROUP BY assignee_id ORDER BY assignee_id"))))
PY
)
read -r enquiries outbox assigned waiting per_manager <<<"$stored"
awk -v c="$crm_requests" -v m="$minimal_requests" -v t="$total" -v ce="$crm_errors" -v me="$minimal_errors" \
    -v e="$enquiries" -v o="$outbox" 'BEGIN {
  printf "minimal: %.1f req/s (%d requests, %d errors)\n", m / t, m, me
  printf "crm:     %.1f req/s (%d requests, %d errors; %d enquiries, %d outbox rows stored)\n", c / t, c, ce, e, o
  printf "ratio crm/minimal: %.2f\n", c / m
}'
if [ "$queue" = 1 ]; then
  awk -v c="$crm_requests" -v ce="$crm_errors" -v e="$enquiries" -v a="$assigned" -v o="$outbox" \
      -v w="$waiting" -v p="$per_manager" -v s="$load_started" -v d="$drained" \
      -v k="$connections" -v r="$rounds" 'BEGIN {
    # wrk does not count the requests still in flight when a round ends (at most one per
    # connection), which the CRM has answered and stored all the same.
    ok = (e >= c - ce) && (e <= c - ce + k * r) && (a == e) && (o >= 2 * e) && (w == 0) && (ce == 0)
    printf "queue check: %d 201s, %d enquiries, %d assigned (per manager %s), %d outbox rows, %d left in intake, %d errors: %s\n", c - ce, e, a, p, o, w, ce, ok ? "OK" : "MISMATCH"
    printf "end to end: %.1f enquiries/s stored from the first round to an empty queue\n", e / (d - s)
    exit !ok
  }'
fi
