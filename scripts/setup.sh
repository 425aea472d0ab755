#!/usr/bin/env bash
# Set everything up and run the system on its embedded defaults: SQLite under var/, Asterisk on loopback,
# the service on http://127.0.0.1:8080, demo data for Haiyan County. Idempotent; Ctrl-C stops the service
# (and the Asterisk this script started).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh

# The embedded demo site: a local config file that is never committed.
if [ ! -f config/local.yaml ]; then
  cat > config/local.yaml <<'YAML'
# Written by scripts/setup.sh: the embedded demo site. Edit freely; see config/hotline.example.yaml.
environment: demo
security:
  demo_mode: true
  cookie_secure: false
telephony:
  enabled: true
YAML
fi

.venv/bin/hotline db upgrade
.venv/bin/hotline demo seed
if .venv/bin/hotline asterisk --help >/dev/null 2>&1; then
  .venv/bin/hotline asterisk setup
  .venv/bin/hotline asterisk start
  trap '.venv/bin/hotline asterisk stop || true' EXIT
fi
echo
echo "12319 platform: http://127.0.0.1:8080  (demo users: agent01, lead01, dispatcher01, inspector01, admin,"
echo "dept-<code>; password: $(cat var/demo-password))"
.venv/bin/hotline serve
