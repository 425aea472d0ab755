#!/usr/bin/env bash
# Run the whole test suite: installs what is missing, makes sure PostgreSQL answers, then pytest.
# The tests start (and stop) their own Asterisk, SIP peers, browsers and service instances on loopback.
# Afterwards no process the run started may still be running: every child inherits HOTLINE_TEST_RUN, and
# tests/leftovers.py fails the run (listing them) when a marked process is alive.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
bash scripts/ensure-postgres.sh
export HOTLINE_TEST_RUN="${HOTLINE_TEST_RUN:-$(date +%s)-$$}"
# Two xdist workers: the real-Asterisk tests stay together on one (tests/asterisk_plugin.py), the rest is
# spread over both. HOTLINE_TEST_WORKERS=0 runs everything in this process.
workers="${HOTLINE_TEST_WORKERS:-2}"
parallel=()
[ "$workers" = 0 ] || parallel=(-n "$workers" --dist loadgroup)
rc=0
.venv/bin/pytest -p no:cacheprovider "${parallel[@]}" "$@" || rc=$?
if ! .venv/bin/python -m tests.leftovers "$HOTLINE_TEST_RUN"; then
  [ "$rc" -ne 0 ] || rc=1
fi
exit "$rc"
