#!/bin/bash
# e2e_lib.sh: shared set-up and helpers of the end-to-end test files
# (tests/e2e*.sh), which source it.  Each case lays out a fresh
# /opt/ml-shaped base directory under $ROOT, runs the real binary ($PLANTFIT)
# and checks its exit status, outputs and artifacts.  Files end with
# `e2e_finish NAME`, which prints "NAME: N passed, N failed".
set -u
PLANTFIT=${PLANTFIT:-build/plantfit}
PLANTFIT=$(readlink -f "$PLANTFIT")
FILTER=${1:-}
ROOT=$(mktemp -d /tmp/plantfit-e2e-XXXXXX)
trap 'rm -rf "$ROOT"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:exitcode=99}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=99}
unset SAGEMAKER_BASE_DIR GIT_COMMIT TRAINING_JOB_NAME
PY=/usr/bin/python3
SCHEMA_DIR=$(readlink -f "$(dirname "${BASH_SOURCE[0]}")/../docs/schema")

passed=0
failed=0
CASE=""
CASE_FAILED=0

fail() {
    echo "    $CASE: $*"
    CASE_FAILED=1
}

begin() {
    CASE=$1
    CASE_FAILED=0
    BASE="$ROOT/$CASE"
    mkdir -p "$BASE/input/config" "$BASE/input/data/train" "$BASE/model" "$BASE/output"
    echo '{}' > "$BASE/input/config/hyperparameters.json"
    cat > "$BASE/input/config/inputdataconfig.json" <<'EOF'
{"train": {"ContentType": "text/csv", "TrainingInputMode": "File",
           "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}}
EOF
    cat > "$BASE/input/config/resourceconfig.json" <<'EOF'
{"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "eth0"}
EOF
}

end() {
    if [ "$CASE_FAILED" = 0 ]; then
        echo "ok   e2e.$CASE"
        passed=$((passed + 1))
    else
        echo "FAIL e2e.$CASE"
        failed=$((failed + 1))
    fi
}

want() { # run only cases matching the filter
    [ -z "$FILTER" ] || [[ "$1" == *"$FILTER"* ]]
}

# run_train [extra args...]: runs train on $BASE, sets RC, OUT, ERR files.
run_train() {
    OUT="$BASE.stdout"
    ERR="$BASE.stderr"
    "$PLANTFIT" train --base-dir "$BASE" "$@" > "$OUT" 2> "$ERR"
    RC=$?
    if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$ERR"; then
        fail "sanitizer report:"
        sed -n '1,30p' "$ERR"
    fi
}

sample_csv() { # sample_csv FILE [ROWS]: numeric CSV with header
    local rows=${2:-50}
    { echo "y,temp,flow"
      for ((i = 0; i < rows; i++)); do echo "$((i % 7)).5,$((300 + i)).25,1.$i"; done; } > "$1"
}

expect_ok() {
    [ "$RC" = 0 ] || { fail "exit status $RC, want 0"; sed -n '1,20p' "$ERR"; }
    [ -f "$BASE/output/success" ] || fail "no output/success"
    [ ! -e "$BASE/output/failure" ] || fail "output/failure exists: $(head -c 300 "$BASE/output/failure")"
    [ -f "$BASE/model/manifest.json" ] || fail "no model/manifest.json"
    [ -f "$BASE/output/data/metrics.json" ] || fail "no output/data/metrics.json"
    # every manifest (and metrics.json, model-package.json) against docs/schema
    [ ! -f "$BASE/model/manifest.json" ] || "$PY" "$SCHEMA_DIR/validate.py" --base "$BASE" 2> "$BASE.schema" ||
        fail "schema: $(head -c 600 "$BASE.schema")"
}

# expect_fail PATTERN...: exit 1, failure file matching every (extended regex) pattern,
# nothing in model/, no success marker.
expect_fail() {
    [ "$RC" = 1 ] || { fail "exit status $RC, want 1"; sed -n '1,20p' "$ERR"; }
    if [ ! -s "$BASE/output/failure" ]; then
        fail "no output/failure"
    else
        for p in "$@"; do
            head -c 1024 "$BASE/output/failure" | grep -qE -- "$p" ||
                fail "failure file lacks /$p/: $(head -c 400 "$BASE/output/failure")"
        done
    fi
    [ ! -e "$BASE/output/success" ] || fail "output/success exists after a failure"
    if [ -d "$BASE/model" ] && [ -n "$(ls -A "$BASE/model" 2>/dev/null)" ]; then
        fail "model/ not empty: $(ls -A "$BASE/model" | tr '\n' ' ')"
    fi
}

json() { # json FILE PYTHON-EXPR (d is the parsed document)
    "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

gam_csv() { # gam_csv FILE [ROWS]: y smooth in x and z plus a factor g
    "$PY" - "$1" "${2:-300}" <<'PYEOF'
import math, sys
path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    f.write("y,x,z,g\n")
    for i in range(n):
        x = i / (n - 1); z = ((37 * i) % n) / (n - 1)
        g = "AB"[i % 2]
        y = math.sin(2 * math.pi * x) + 0.5 * z * z + (0.3 if g == "B" else 0) + 0.2 * math.cos(17 * i)
        f.write("%.10g,%.10g,%.10g,%s\n" % (y, x, z, g))
PYEOF
}

bad() { # bad NAME: begin a bad-input case
    begin "bad_$1"
    sample_csv "$BASE/input/data/train/plant.csv" 20
}

e2e_finish() { # e2e_finish NAME: summary line and exit status
    echo "$1: $passed passed, $failed failed"
    [ "$failed" = 0 ]
}
