#!/bin/bash
# PostgreSQL connections held by the development server (`make run`) under 20 concurrent clients x 40 requests.
# usage: BENCH_DB=<a migrated PostgreSQL database, default tongxin_prodops> bench/dev_server_connections.sh PORT [CONN_MAX_AGE]
cd "$(dirname "$0")/.."
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/${BENCH_DB:-tongxin_prodops} HUEY_IMMEDIATE=1
[ -n "$2" ] && export CONN_MAX_AGE=$2
setsid .venv/bin/python manage.py runserver --noreload 127.0.0.1:$1 >/tmp/conn_rs_$1.log 2>&1 &
RS=$!
sleep 6
for c in $(seq 20); do (for i in $(seq 40); do curl -s -o /dev/null http://127.0.0.1:$1/healthz; done) & done
peak=0
for s in $(seq 100); do
  n=$(psql postgres://postgres@127.0.0.1:5432/postgres -tAc "SELECT count(*) FROM pg_stat_activity WHERE datname='${BENCH_DB:-tongxin_prodops}'")
  [ "$n" -gt "$peak" ] && peak=$n
  sleep 0.1
done
wait $(jobs -p | grep -v $RS) 2>/dev/null
after=$(psql postgres://postgres@127.0.0.1:5432/postgres -tAc "SELECT count(*) FROM pg_stat_activity WHERE datname='${BENCH_DB:-tongxin_prodops}'")
echo "CONN_MAX_AGE=${2:-default} peak=$peak after_load=$after"
kill -- -$RS 2>/dev/null
