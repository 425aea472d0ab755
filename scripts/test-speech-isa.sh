#!/usr/bin/env bash
# Run the speech tests once per CPU instruction set CTranslate2 can use here (CT2_FORCE_CPU_ISA): Whisper's int8
# kernels differ by instruction set, and so do its decodes. GENERIC always; AVX, AVX2, AVX512 when /proc/cpuinfo
# has avx, avx2, avx512f. Fails if any run fails; prints the accuracy lines (class/road x/10) of each run.
#
#   scripts/test-speech-isa.sh                 # the speech tests without Asterisk
#   scripts/test-speech-isa.sh --with-asterisk # also tests/integration/test_speech_calls.py (serialised with flock)
#   SPEECH_ISAS="GENERIC AVX512" scripts/test-speech-isa.sh   # only these (must be supported)
#   scripts/test-speech-isa.sh -- -k whisper   # arguments after -- go to pytest
#   SPEECH_ISA_LOGS=/tmp/isa scripts/test-speech-isa.sh   # keep every run's full output in /tmp/isa/ISA.log
set -euo pipefail
cd "$(dirname "$0")/.."

with_asterisk=0
pytest_args=()
while (($#)); do
    case "$1" in
        --with-asterisk) with_asterisk=1 ;;
        --) shift; pytest_args=("$@"); break ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

supported_isas() {
    local flags
    flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
    echo GENERIC
    [[ $flags == *" avx "* ]] && echo AVX
    [[ $flags == *" avx2 "* ]] && echo AVX2
    [[ $flags == *" avx512f "* ]] && echo AVX512
    return 0
}

supported=$(supported_isas | tr '\n' ' ')
isas=${SPEECH_ISAS:-$supported}
for isa in $isas; do
    if [[ " $supported " != *" $isa "* ]]; then
        echo "this CPU does not support $isa (it supports: $supported)" >&2
        exit 2
    fi
done

shopt -s nullglob
tests=(tests/integration/test_speech_api.py tests/integration/test_speech_whisper.py
       tests/integration/test_speech_vosk.py tests/unit/test_understand.py tests/unit/test_normalize.py
       tests/unit/test_speech_*.py tests/unit/test_ivr_speech.py)
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if [[ -n ${SPEECH_ISA_LOGS:-} ]]; then  # keep each run's full output there ($SPEECH_ISA_LOGS/ISA.log)
    logs=$SPEECH_ISA_LOGS
    mkdir -p "$logs"
else
    logs=$(mktemp -d)
    trap 'rm -rf "$logs"' EXIT
fi

failed=()
for isa in $isas; do
    echo "=== CT2_FORCE_CPU_ISA=$isa"
    status=0
    CT2_FORCE_CPU_ISA=$isa .venv/bin/python -m pytest -p no:cacheprovider -q -s "${tests[@]}" \
        ${pytest_args[@]+"${pytest_args[@]}"} >"$logs/$isa.log" 2>&1 || status=$?
    if ((with_asterisk)); then
        CT2_FORCE_CPU_ISA=$isa flock /tmp/hotline-asterisk.lock .venv/bin/python -m pytest -p no:cacheprovider \
            -q -s tests/integration/test_speech_calls.py ${pytest_args[@]+"${pytest_args[@]}"} \
            >>"$logs/$isa.log" 2>&1 || status=$?
    fi
    grep -E '(^|live: )class [0-9]+/10' "$logs/$isa.log" | sed "s/^/  $isa /" || true
    grep -E '[0-9]+ (passed|failed|errors?|skipped).* in [0-9.]+s' "$logs/$isa.log" | sed "s/^/  $isa /" || true
    if ((status != 0)); then
        failed+=("$isa")
        grep -E '^(FAILED|ERROR) ' "$logs/$isa.log" | sed "s/^/  $isa /" || true
    fi
done

if ((${#failed[@]})); then
    echo "speech tests failed under: ${failed[*]}" >&2
    exit 1
fi
echo "speech tests passed under: $isas"
