#!/usr/bin/env bash
# The date runs (docs/testing.md, "Dates and clocks"): the `dates` group with the shared test clock started at
# awkward instants (HOTLINE_TEST_NOW), then the unit and contract tests in other machine time zones.
# Non-Asterisk tests only; one run after another. Exits non-zero if any run failed (and names it).
# Extra arguments go to every pytest run, e.g. `scripts/test-dates.sh -x` or `-m "dates and not postgres"`
# (a later -m replaces the script's own selection).
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

STARTS=(
  ""                          # the default start: Monday 2026-11-23 09:00 in Haiyan
  2026-12-31T23:59+08:00      # the last minute of the year
  2027-01-01T00:00+08:00      # beyond the chinese-calendar package: weekends only, with a warning
  2026-02-14T17:00+08:00      # a 调休 working Saturday, the last working half hour before 春节
  2026-02-16T10:00+08:00      # 除夕, inside the 春节 holiday: working-time clocks stand still
  2026-02-28T09:00+08:00      # the 调休 working Saturday after 春节
  2026-11-23T23:59:30+08:00   # half a minute before local midnight
)
DATE_TESTS=(tests/unit tests/contract tests/integration)
ZONES=(America/New_York UTC)
ZONE_TESTS=(tests/unit tests/contract)

# Two xdist workers per run (DATES_WORKERS=0: one process).
workers="${DATES_WORKERS:-2}"
parallel=()
[ "$workers" = 0 ] || parallel=(-n "$workers")
failed=()
run() {  # run LABEL ENV... -- PYTEST-ARGS...
  local label=$1; shift
  local env=()
  while [[ $1 != -- ]]; do env+=("$1"); shift; done; shift
  echo "=== $label"
  if ! env "${env[@]}" "$PYTHON" -m pytest -p no:cacheprovider -q "${parallel[@]}" "$@"; then
    failed+=("$label")
  fi
}

for start in "${STARTS[@]}"; do
  run "HOTLINE_TEST_NOW=${start:-(default)}" "HOTLINE_TEST_NOW=$start" -- \
    -m "dates and not asterisk and not slow" "${DATE_TESTS[@]}" "$@"
done
for zone in "${ZONES[@]}"; do
  run "TZ=$zone" "TZ=$zone" -- -m "not asterisk and not slow" "${ZONE_TESTS[@]}" "$@"
done
# The machine's zone and the clock's edge together: local midnight in Haiyan is mid-morning in New York.
run "TZ=America/New_York HOTLINE_TEST_NOW=2026-11-23T23:59:30+08:00" "TZ=America/New_York" \
  "HOTLINE_TEST_NOW=2026-11-23T23:59:30+08:00" -- -m "dates and not asterisk and not slow" "${DATE_TESTS[@]}" "$@"

if ((${#failed[@]})); then
  printf 'date runs FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "all date runs passed"
