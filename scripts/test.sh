#!/usr/bin/env bash
# Run the whole test suite: installs what is missing, makes sure PostgreSQL answers, then pytest.
# The tests start (and stop) their own Asterisk, SIP peers and service instances on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
bash scripts/ensure-postgres.sh
exec .venv/bin/pytest -p no:cacheprovider "$@"
