#!/usr/bin/env bash
# The persistence tests run against PostgreSQL at 127.0.0.1:5432, database `test`, user postgres
# (override with HOTLINE_TEST_PG). Start the local cluster if it is installed but stopped; install one
# only when none exists (a fresh machine), trusting loopback connections to the `test` database only.
set -euo pipefail
[ -n "${HOTLINE_TEST_PG:-}" ] && exit 0
ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
command -v pg_isready >/dev/null 2>&1 && ready && exit 0
if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  version=$(ls /etc/postgresql | sort -V | tail -1)
  sed -i '1i host test postgres 127.0.0.1/32 trust' "/etc/postgresql/$version/main/pg_hba.conf"
fi
version=$(ls /etc/postgresql | sort -V | tail -1)
pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
for _ in $(seq 1 30); do ready && break; sleep 0.5; done
ready || { echo "PostgreSQL does not answer at 127.0.0.1:5432" >&2; exit 1; }
runuser -u postgres -- psql -tAc "SELECT 1 FROM pg_database WHERE datname='test'" | grep -q 1 \
  || runuser -u postgres -- createdb test
