#!/usr/bin/env bash
# Issue 15's acceptance figures, one run of each command, on a quiet machine (nothing else
# running: check `uptime` first). About 60 minutes. Results: bench/results/*-<TAG>*.json,
# the console log in bench/results/issue15-<TAG>.log.
#
#   bench/issue15.sh r6            # everything
#   ONLY=oidc bench/issue15.sh r6  # one part: oidc, scale, exchange, credentials, steps, cc
set -euo pipefail
TAG="${1:?a tag for the result files, e.g. r6}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY=.venv/bin/python
R=bench/results
LOG="$R/issue15-$TAG.log"
want() { [ -z "${ONLY:-}" ] || [[ ",$ONLY," == *",$1,"* ]]; }
say() { echo "==> $(date -u +%H:%M:%S) $*" | tee -a "$LOG"; }
say "load: $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD)"

if want oidc; then  # acceptance 1 and 2: every scenario at 16 and 64, logins at 8 and 32
  say "bench/oidc.py (full)"
  $PY bench/oidc.py --output "$R/oidc-$TAG.json" 2>&1 | tee -a "$LOG"
fi
if want scale; then  # acceptance 2: logins at 3.3 million residents
  say "bench/oidc.py --scale 3300000 --only login"
  $PY bench/oidc.py --scale 3300000 --only login --output "$R/oidc-$TAG-scale.json" 2>&1 | tee -a "$LOG"
fi
pg_start() {  # a PostgreSQL cluster of default durability (fsync on) on port $1, database $2
  PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  PGDATA="$(mktemp -d /tmp/issue15-pg.XXXXXX)"; chown postgres:postgres "$PGDATA"
  runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -o "-c listen_addresses=127.0.0.1 -p $1 -k /tmp -c max_connections=200" -l "$PGDATA/log" -w start >/dev/null
  runuser -u postgres -- "$PGBIN/createdb" -h 127.0.0.1 -p "$1" "$2"
}
pg_stop() { runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -m fast stop >/dev/null; rm -rf "$PGDATA"; }
if want exchange; then  # acceptance 4
  pg_start 54377 ex15
  say "bench/exchange.py (PostgreSQL, fsync on)"
  $PY bench/exchange.py --database-url postgres://postgres@127.0.0.1:54377/ex15 --output "$R/exchange-$TAG.json" 2>&1 | tee -a "$LOG" || true
  pg_stop
fi
if want credentials; then  # acceptance 3: offline against the TypeScript verifier, online ≥ 1,000/s (PostgreSQL:
  # on the default SQLite file every request reopens the database and commits the rate limiter's counter)
  pg_start 54378 cred15
  say "bench/credentials.py (PostgreSQL, fsync on)"
  $PY bench/credentials.py --database-url postgres://postgres@127.0.0.1:54378/cred15 --output "$R/credentials-$TAG.json" 2>&1 | tee -a "$LOG" || true
  pg_stop
fi
if want steps; then  # acceptance 5: where a login's time goes
  say "bench/oidc.py --quick --no-peer --only login --profile (gunicorn: the profile needs its hooks)"
  $PY bench/oidc.py --quick --no-peer --only login --profile --server gunicorn-gthread \
    --output "$R/oidc-$TAG-profile.json" 2>&1 | tee -a "$LOG" || true
fi
if want cc; then  # the sixth round's question: granian's threads and workers for client_credentials
  for c in 16 64; do
    say "bench/cc_account.py --connections $c"
    $PY bench/cc_account.py --connections "$c" --seconds 20 --rounds 3 --variant t8= --variant t16=threads:16 \
      --variant w4=workers:4,threads:4 --output "$R/cc-account-$TAG-$c.json" 2>&1 | tee -a "$LOG" || true
  done
fi
say "done"
