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
rc=0
.venv/bin/pytest -p no:cacheprovider "$@" || rc=$?
if ! .venv/bin/python -m tests.leftovers "$HOTLINE_TEST_RUN"; then
  [ "$rc" -ne 0 ] || rc=1
fi
exit "$rc"
