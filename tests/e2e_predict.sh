#!/bin/bash
# End-to-end tests of `plantfit predict` (issue 5): streaming batch scoring
# of CSV and JSON Lines with the models of a model directory, --se checked
# against mgcv's predict.gam run live (tests/golden/gam_predict.R), the
# model-directory checks (manifest format version, SHA-256 of the model
# files, truncated files) and the bad-input catalogue (missing column, extra
# columns, empty input, non-numeric cell, --on-error=skip, no partial output
# file, a non-zero exit on stdout).  Ends with "e2e_predict: N passed, N failed".
#
# Usage: PLANTFIT=build/plantfit bash tests/e2e_predict.sh [filter]
. "$(dirname "$0")/e2e_lib.sh"

HAVE_R=0
if command -v Rscript > /dev/null && Rscript -e 'suppressMessages(library(mgcv))' > /dev/null 2>&1; then
    HAVE_R=1
fi

# train_model NAME HYPERPARAMETERS-JSON DATA-WRITER...: trains into $ROOT/NAME,
# leaves the model directory at $ROOT/NAME/model.
train_model() {
    local name=$1 hp=$2
    shift 2
    begin "$name"
    "$@" "$BASE/input/data/train/plant.csv"
    echo "$hp" > "$BASE/input/config/hyperparameters.json"
    run_train
    expect_ok
    end
}

binomial_csv() { # binomial_csv FILE: 0/1 y, logistic in x, smooth in z
    "$PY" - "$1" <<'PYEOF'
import math, sys
with open(sys.argv[1], "w") as f:
    f.write("y,x,z\n")
    for i in range(400):
        x = i / 399.0; z = ((53 * i) % 400) / 399.0
        p = 1 / (1 + math.exp(-(3 * (x - 0.5) + math.sin(4 * z))))
        u = ((i * 7919) % 1000 + 0.5) / 1000.0
        f.write("%d,%.10g,%.10g\n" % (1 if u < p else 0, x, z))
PYEOF
}

forest_csv() { # forest_csv FILE: a, b, c with planted anomalies, label
    "$PY" - "$1" <<'PYEOF'
import math, sys
with open(sys.argv[1], "w") as f:
    f.write("a,b,c,label\n")
    for i in range(600):
        a = math.sin(i * 0.37); b = math.cos(i * 0.11); c = (i * 7919 % 101) / 101.0
        lab = 0
        if i % 100 == 99:
            a += 6.0; lab = 1
        f.write("%.8g,%.8g,%.8g,%d\n" % (a, b, c, lab))
PYEOF
}

gam300() { gam_csv "$1" 300; }

train_model m_gam '{"algorithm": "gam", "formula": "y ~ s(x) + s(z) + factor(g)", "categorical": "g"}' gam300
GAM=$ROOT/m_gam/model
GAM_DATA=$ROOT/m_gam/input/data/train/plant.csv
train_model m_bin '{"algorithm": "gam", "formula": "y ~ s(x) + s(z)", "family": "binomial"}' binomial_csv
BIN=$ROOT/m_bin/model
BIN_DATA=$ROOT/m_bin/input/data/train/plant.csv
train_model m_forest '{"algorithm": "iforest", "label": "label", "seed": "7", "contamination": "0.02"}' forest_csv
FOREST=$ROOT/m_forest/model
FOREST_DATA=$ROOT/m_forest/input/data/train/plant.csv

# predict ARGS...: runs predict, sets RC and ERR (stderr file); stdout to $BASE.out
predict() {
    ERR="$BASE.err"
    "$PLANTFIT" predict "$@" > "$BASE.out" 2> "$ERR"
    RC=$?
    if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$ERR"; then
        fail "sanitizer report:"
        sed -n '1,30p' "$ERR"
    fi
}
ok() { [ "$RC" = 0 ] || fail "exit status $RC, want 0: $(head -c 600 "$ERR")"; }
bad_rc() { # bad_rc PATTERN...: exit 1 and stderr matching every pattern
    [ "$RC" = 1 ] || fail "exit status $RC, want 1: $(head -c 600 "$ERR")"
    for p in "$@"; do
        grep -qE -- "$p" "$ERR" || fail "stderr lacks /$p/: $(head -c 600 "$ERR")"
    done
}
rows() { echo $(($(wc -l < "$1") - ${2:-1})); }

# ------------------------------------------------------------------ GAM

if want predict_threads_same_bytes; then
    # formatting is split across threads for chunks of >= 4096 rows: the
    # bytes must be those of one thread (GAM with --se, and the forest with
    # its top features, 12000 rows)
    begin predict_threads_same_bytes
    { head -1 "$GAM_DATA"; for k in $(seq 40); do tail -n +2 "$GAM_DATA"; done; } > "$BASE/big.csv"
    predict --model "$GAM" --input "$BASE/big.csv" --output "$BASE/t1.csv" --se --threads 1
    ok
    predict --model "$GAM" --input "$BASE/big.csv" --output "$BASE/t2.csv" --se --threads 2
    ok
    [ "$(rows "$BASE/t2.csv")" = 12000 ] || fail "rows: $(rows "$BASE/t2.csv")"
    cmp -s "$BASE/t1.csv" "$BASE/t2.csv" || fail "GAM output differs between 1 and 2 threads"
    { head -1 "$FOREST_DATA"; for k in $(seq 40); do tail -n +2 "$FOREST_DATA"; done; } > "$BASE/bigf.csv"
    predict --model "$FOREST" --input "$BASE/bigf.csv" --output "$BASE/f1.csv" --threads 1
    ok
    predict --model "$FOREST" --input "$BASE/bigf.csv" --output "$BASE/f2.csv" --threads 2 --output-format jsonl
    ok
    predict --model "$FOREST" --input "$BASE/bigf.csv" --output "$BASE/f3.csv" --threads 2
    ok
    cmp -s "$BASE/f1.csv" "$BASE/f3.csv" || fail "forest output differs between 1 and 2 threads"
    [ "$(wc -l < "$BASE/f2.csv")" = "$(( $(wc -l < "$BASE/bigf.csv") - 1 ))" ] || fail "JSON Lines row count"
    end
fi

if want predict_gam_stream; then
    begin predict_gam_stream
    predict --model "$GAM" --input "$GAM_DATA" --output "$BASE/p.csv"
    ok
    [ "$(head -1 "$BASE/p.csv")" = prediction ] || fail "header: $(head -1 "$BASE/p.csv")"
    [ "$(rows "$BASE/p.csv")" = 300 ] || fail "rows: $(rows "$BASE/p.csv")"
    grep -q '300 rows in, 300 written' "$ERR" || fail "summary: $(cat "$ERR")"
    # chunks of 7 rows, stdin -> stdout, gzip input: the same bytes
    predict --model "$GAM" --input "$GAM_DATA" --output "$BASE/p7.csv" --chunk-rows 7
    ok
    cmp -s "$BASE/p.csv" "$BASE/p7.csv" || fail "chunk size changed the output"
    "$PLANTFIT" predict --model "$GAM" < "$GAM_DATA" > "$BASE/pipe.csv" 2> "$BASE.err2" ||
        fail "stdin/stdout run failed: $(cat "$BASE.err2")"
    cmp -s "$BASE/p.csv" "$BASE/pipe.csv" || fail "stdin -> stdout differs from file -> file"
    gzip -c "$GAM_DATA" > "$BASE/in.csv.gz"
    predict --model "$GAM" --input "$BASE/in.csv.gz" --output "$BASE/pgz.csv" --threads 1
    ok
    cmp -s "$BASE/p.csv" "$BASE/pgz.csv" || fail "gzip input / 1 thread differs"
    # extra columns (text, in front) are ignored; column order does not matter
    "$PY" - "$GAM_DATA" "$BASE/extra.csv" <<'PYEOF'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
with open(sys.argv[2], "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["id", "g", "note", "z", "x", "y"])
    for i, r in enumerate(rows[1:]):
        y, x, z, g = r
        w.writerow(["id-%d" % i, g, "free text, with a comma", z, x, y])
PYEOF
    predict --model "$GAM" --input "$BASE/extra.csv" --output "$BASE/pextra.csv"
    ok
    cmp -s "$BASE/p.csv" "$BASE/pextra.csv" || fail "extra/reordered columns changed the predictions"
    # the values are the model's: gam_predict via the trained model equals mgcv (below) and
    # here each row's prediction is finite
    "$PY" -c "
import sys
v=[float(l) for l in open('$BASE/p.csv').read().split()[1:]]
sys.exit(0 if len(v)==300 and all(abs(x)<10 for x in v) else 1)" || fail "predictions not finite numbers"
    end
fi

# --se: standard errors and the interval against mgcv's predict.gam, run live
se_vs_mgcv() { # se_vs_mgcv MODEL DATA FORMULA FAMILY
    local model=$1 data=$2 formula=$3 family=$4
    predict --model "$model" --input "$data" --output "$BASE/se.csv" --se
    ok
    [ "$(head -1 "$BASE/se.csv")" = "prediction,se,lower,upper" ] || fail "header: $(head -1 "$BASE/se.csv")"
    predict --model "$model" --input "$data" --output "$BASE/nose.csv"
    ok
    cut -d, -f1 "$BASE/se.csv" | cmp -s - "$BASE/nose.csv" || fail "--se changed the prediction column"
    if [ $HAVE_R = 0 ]; then
        echo "    SKIPPED: mgcv comparison of --se (Rscript or mgcv missing)"
        return
    fi
    Rscript tests/golden/gam_predict.R "$data" "$formula" "$family" "$data" "$BASE/mgcv.txt" \
        > /dev/null 2>&1 || { fail "gam_predict.R failed"; return; }
    "$PY" - "$BASE/se.csv" "$BASE/mgcv.txt" "$family" <<'PYEOF' || fail "--se differs from mgcv"
import csv, math, sys
ours = list(csv.DictReader(open(sys.argv[1])))
ref = []
for line in open(sys.argv[2]):
    if line.startswith("TERMS"):
        break
    ref.append([float(v) for v in line.split()])
inv = (lambda e: 1 / (1 + math.exp(-e))) if sys.argv[3] == "binomial" else (lambda e: e)
assert len(ours) == len(ref), (len(ours), len(ref))
worst = 0.0
for o, (eta, se_eta, mu, se_mu) in zip(ours, ref):
    lo, hi = sorted((inv(eta - 1.959963984540054 * se_eta), inv(eta + 1.959963984540054 * se_eta)))
    for mine, theirs in ((o["prediction"], mu), (o["se"], se_mu), (o["lower"], lo), (o["upper"], hi)):
        worst = max(worst, abs(float(mine) - theirs) / (1e-3 + abs(theirs)))
    assert float(o["lower"]) <= float(o["prediction"]) <= float(o["upper"])
print("    max relative difference from mgcv (prediction, se, lower, upper): %.3g" % worst)
# Gaussian fits agree with mgcv to ~1e-9, GLMs to the 1e-4 of the GAM acceptance bound.
sys.exit(0 if worst < 1e-4 else 1)
PYEOF
}

if want predict_gam_se; then
    begin predict_gam_se
    se_vs_mgcv "$GAM" "$GAM_DATA" "y ~ s(x) + s(z) + factor(g)" gaussian
    end
fi
if want predict_binomial_se; then
    begin predict_binomial_se
    se_vs_mgcv "$BIN" "$BIN_DATA" "y ~ s(x) + s(z)" binomial
    "$PY" -c "
import csv,sys
r=list(csv.DictReader(open('$BASE/se.csv')))
sys.exit(0 if all(0<float(x['lower'])<=float(x['upper'])<1 for x in r) else 1)" ||
        fail "a logit interval must stay inside (0, 1)"
    end
fi

if want predict_missing_value; then
    begin predict_missing_value
    printf 'x,z,g\n0.5,0.5,A\nNA,0.2,B\n0.1,0.3,B\n' > "$BASE/in.csv"
    predict --model "$GAM" --input "$BASE/in.csv" --output "$BASE/p.csv" --se
    ok
    [ "$(sed -n 3p "$BASE/p.csv")" = '"","","",""' ] || fail "missing x: $(sed -n 3p "$BASE/p.csv")"
    [ "$(rows "$BASE/p.csv")" = 3 ] || fail "rows"
    grep -q '1 without a prediction' "$ERR" || fail "count of rows without a prediction"
    end
fi

# ------------------------------------------------------------------ JSON Lines

if want predict_jsonl; then
    begin predict_jsonl
    "$PY" - "$GAM_DATA" "$BASE/in.jsonl" <<'PYEOF'
import csv, json, sys
with open(sys.argv[2], "w") as f:
    for i, r in enumerate(csv.DictReader(open(sys.argv[1]))):
        o = {"id": i, "x": float(r["x"]), "z": r["z"] if i % 3 == 0 else float(r["z"]), "g": r["g"],
             "extra": [1, 2]}
        f.write(json.dumps(o) + ("\r\n" if i % 5 == 0 else "\n"))
        if i == 10:
            f.write("   \n")   # a blank line is not a row
PYEOF
    predict --model "$GAM" --input "$BASE/in.jsonl" --output "$BASE/p.jsonl" --format jsonl --se
    ok
    predict --model "$GAM" --input "$GAM_DATA" --output "$BASE/p.csv" --se
    ok
    "$PY" - "$BASE/p.jsonl" "$BASE/p.csv" <<'PYEOF' || fail "JSON Lines output differs from CSV"
import csv, json, sys
j = [json.loads(l) for l in open(sys.argv[1])]
c = list(csv.DictReader(open(sys.argv[2])))
assert len(j) == len(c) == 300, (len(j), len(c))
for a, b in zip(j, c):
    assert list(a) == ["prediction", "se", "lower", "upper"], list(a)
    for k in a:
        assert a[k] == float(b[k]), (k, a[k], b[k])
PYEOF
    end
fi

if want predict_jsonl_bad; then
    begin predict_jsonl_bad
    printf '{"x": 0.5, "z": 0.5, "g": "A"}\n{"x": 0.5, "g": "A"}\n' > "$BASE/nokey.jsonl"
    predict --model "$GAM" --input "$BASE/nokey.jsonl" --output "$BASE/p.jsonl" --format jsonl
    bad_rc 'row 2 \(line 2\)' 'no key "z"'
    [ ! -e "$BASE/p.jsonl" ] || fail "partial output left behind"
    printf '{"x": 0.5, "z": 0.5, "g": "A"}\n{"x": 0.5, "z": [1], "g": "A"}\nnot json\n{"x": "abc", "z": 1, "g": "B"}\n{"x": 0.2, "z": 0.1, "g": "B"}\n' > "$BASE/mixed.jsonl"
    predict --model "$GAM" --input "$BASE/mixed.jsonl" --output "$BASE/p.jsonl" --format jsonl --on-error=skip
    ok
    [ "$(wc -l < "$BASE/p.jsonl")" = 2 ] || fail "skip should keep 2 rows: $(cat "$BASE/p.jsonl")"
    grep -q 'row 2 (line 2), key "z": expected a number' "$ERR" || fail "array value: $(cat "$ERR")"
    grep -q 'row 3 (line 3): not valid JSON' "$ERR" || fail "bad JSON line: $(cat "$ERR")"
    grep -q 'row 4 (line 4), column "x": cannot parse "abc"' "$ERR" || fail "bad number: $(cat "$ERR")"
    grep -q '5 rows in, 2 written, 3 skipped' "$ERR" || fail "skip count: $(cat "$ERR")"
    end
fi

# ------------------------------------------------------------------ forest, both

if want predict_forest; then
    begin predict_forest
    predict --model "$FOREST" --input "$FOREST_DATA" --output "$BASE/p.csv"
    ok
    [ "$(head -1 "$BASE/p.csv")" = "score,is_anomaly,decision_function,top_features" ] ||
        fail "header: $(head -1 "$BASE/p.csv")"
    [ "$(rows "$BASE/p.csv")" = 600 ] || fail "rows"
    grep -q '^[0-9.e-]*,1,-[0-9.e-]*,a:' "$BASE/p.csv" || fail "anomalous rows should name feature a first"
    # decision_function = threshold - score, negative exactly for the flagged rows
    thr=$(json "$FOREST/manifest.json" 'd["metrics"]["train.threshold"]')
    "$PY" - "$BASE/p.csv" "$thr" <<'PYEOF' || fail "decision_function / is_anomaly inconsistent"
import csv, sys
thr = float(sys.argv[2])
for r in csv.DictReader(open(sys.argv[1])):
    s, dfn, a = float(r["score"]), float(r["decision_function"]), int(r["is_anomaly"])
    assert abs(dfn - (thr - s)) <= 1e-12, (dfn, thr, s)
    assert a == (1 if s > thr else 0) and a == (1 if dfn < 0 else 0), r
    assert (r["top_features"] != "") == (a == 1), r
PYEOF
    predict --model "$FOREST" --input "$FOREST_DATA" --output "$BASE/p0.csv" --no-top-features --threads 1
    ok
    cut -d, -f1-3 "$BASE/p.csv" | cmp -s - "$BASE/p0.csv" || fail "--no-top-features / 1 thread changed the other columns"
    predict --model "$FOREST" --input "$FOREST_DATA" --output "$BASE/p.jsonl" --output-format jsonl --chunk-rows 13
    ok
    "$PY" - "$BASE/p.jsonl" "$BASE/p.csv" <<'PYEOF' || fail "forest JSON Lines differs from CSV"
import csv, json, sys
j = [json.loads(l) for l in open(sys.argv[1])]
c = list(csv.DictReader(open(sys.argv[2])))
assert len(j) == len(c)
for a, b in zip(j, c):
    assert a["score"] == float(b["score"]) and a["is_anomaly"] == int(b["is_anomaly"])
    top = ";".join("%s:%.4g" % (t["feature"], t["attribution"]) for t in a["top_features"])
    assert top == b["top_features"], (top, b["top_features"])
PYEOF
    end
fi

if want predict_both_models; then
    begin predict_both_models
    mkdir -p "$BASE/both"
    cp "$GAM/gam.h5" "$FOREST/iforest.h5" "$BASE/both/"
    # the forest's features a, b, c next to the GAM's x, z, g
    "$PY" - "$GAM_DATA" "$BASE/in.csv" <<'PYEOF'
import csv, math, sys
with open(sys.argv[2], "w") as f:
    f.write("x,z,g,a,b,c\n")
    for i, r in enumerate(csv.DictReader(open(sys.argv[1]))):
        a = math.sin(i * 0.37) + (6 if i == 5 else 0)
        f.write("%s,%s,%s,%.8g,%.8g,%.8g\n" % (r["x"], r["z"], r["g"], a, math.cos(i * 0.11), (i * 7919 % 101) / 101.0))
PYEOF
    predict --model "$BASE/both" --input "$BASE/in.csv" --output "$BASE/p.csv"
    ok
    grep -q 'no manifest.json' "$ERR" || fail "a directory without manifest should be noted"
    [ "$(head -1 "$BASE/p.csv")" = "prediction,score,is_anomaly,decision_function,top_features" ] ||
        fail "header: $(head -1 "$BASE/p.csv")"
    [ "$(sed -n 7p "$BASE/p.csv" | cut -d, -f3)" = 1 ] || fail "row 6 should be anomalous: $(sed -n 7p "$BASE/p.csv")"
    end
fi

# ------------------------------------------------------------------ model directory

if want predict_manifest_checks; then
    begin predict_manifest_checks
    printf 'x,z,g\n0.5,0.5,A\n' > "$BASE/in.csv"
    cp -r "$GAM" "$BASE/newer"
    "$PY" - "$BASE/newer/manifest.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1])); d["manifest_format_version"] = "2"
json.dump(d, open(sys.argv[1], "w"))
PYEOF
    predict --model "$BASE/newer" --input "$BASE/in.csv" --output "$BASE/p.csv"
    bad_rc 'model directory format 2 is newer than this plantfit supports \(1\)' 'manifest.json'
    [ ! -e "$BASE/p.csv" ] || fail "output written for a newer format"
    # one flipped byte in gam.h5
    cp -r "$GAM" "$BASE/flip"
    "$PY" -c "
import sys
p='$BASE/flip/gam.h5'; b=bytearray(open(p,'rb').read()); b[len(b)//2]^=1; open(p,'wb').write(b)"
    predict --model "$BASE/flip" --input "$BASE/in.csv" --output "$BASE/p.csv"
    bad_rc 'manifest does not match .*gam\.h5' 'SHA-256'
    # truncated gam.h5: with a manifest the size says it; without, HDF5's reader does
    cp -r "$GAM" "$BASE/trunc"
    head -c 3000 "$GAM/gam.h5" > "$BASE/trunc/gam.h5"
    predict --model "$BASE/trunc" --input "$BASE/in.csv" --output "$BASE/p.csv"
    bad_rc 'manifest does not match .*gam\.h5' 'bytes'
    rm "$BASE/trunc/manifest.json"
    predict --model "$BASE/trunc" --input "$BASE/in.csv" --output "$BASE/p.csv"
    bad_rc 'gam\.h5' 'truncated|corrupt|not an HDF5|cannot'
    # a model file the manifest does not list
    cp -r "$GAM" "$BASE/extra"
    cp "$FOREST/iforest.h5" "$BASE/extra/"
    predict --model "$BASE/extra" --input "$BASE/in.csv" --output "$BASE/p.csv"
    bad_rc 'manifest does not match iforest\.h5' 'does not list it'
    # not a model directory
    predict --model "$BASE" --input "$BASE/in.csv" --output "$BASE/p.csv"
    bad_rc 'no gam\.h5 or iforest\.h5'
    [ ! -e "$BASE/p.csv" ] || fail "output written"
    end
fi

# ------------------------------------------------------------------ bad input

if want predict_bad_input; then
    begin predict_bad_input
    printf 'x,g\n0.5,A\n' > "$BASE/nocol.csv"
    predict --model "$GAM" --input "$BASE/nocol.csv" --output "$BASE/p.csv"
    bad_rc 'no column "z"'
    [ ! -e "$BASE/p.csv" ] || fail "partial output after a missing column"
    : > "$BASE/empty.csv"
    predict --model "$GAM" --input "$BASE/empty.csv" --output "$BASE/p.csv"
    bad_rc 'empty'
    printf 'x,z,g\n' > "$BASE/header.csv"
    predict --model "$GAM" --input "$BASE/header.csv" --output "$BASE/p.csv"
    bad_rc 'no data rows'
    [ ! -e "$BASE/p.csv" ] || fail "output written for an input without rows"
    : > "$BASE/empty.jsonl"
    predict --model "$GAM" --input "$BASE/empty.jsonl" --output "$BASE/p.csv" --format jsonl
    bad_rc 'no data rows'
    # a non-numeric cell far into the input (a later chunk): the error names it,
    # and no partial file is left even though earlier chunks were written
    { echo "x,z,g"; for i in $(seq 1 500); do echo "0.$i,0.5,A"; done; echo "0.1,abc,B"; echo "0.2,0.2,A"; } > "$BASE/nan.csv"
    # (--chunk-rows 16 makes the reader hand out chunks of ~16 rows, so rows
    # 1..496 were scored and written before row 501 is read)
    predict --model "$GAM" --input "$BASE/nan.csv" --output "$BASE/p.csv" --chunk-rows 16
    bad_rc 'row 501 \(line 502\), column "z": cannot parse "abc" as a number'
    [ ! -e "$BASE/p.csv" ] || fail "partial output file left behind"
    ls -a "$BASE" | grep -q '\.tmp-' && fail "temporary file left behind: $(ls -a "$BASE")"
    # the same to stdout: rows already written, so a non-zero exit and a message
    predict --model "$GAM" --input "$BASE/nan.csv" --chunk-rows 16
    bad_rc 'row 501' 'stdout is incomplete'
    # --on-error=skip: reported with its row, counted, the other rows written in order
    predict --model "$GAM" --input "$BASE/nan.csv" --output "$BASE/p.csv" --on-error=skip --chunk-rows 16
    ok
    [ "$(rows "$BASE/p.csv")" = 501 ] || fail "skip: rows $(rows "$BASE/p.csv")"
    grep -q 'skipped .*row 501 (line 502), column "z": cannot parse "abc"' "$ERR" || fail "skip report: $(cat "$ERR")"
    grep -q '502 rows in, 501 written, 1 skipped' "$ERR" || fail "skip count: $(cat "$ERR")"
    # a ragged row and an unknown factor level
    printf 'x,z,g\n0.5,0.5,A\n0.5,0.5\n0.5,0.5,C\n' > "$BASE/ragged.csv"
    predict --model "$GAM" --input "$BASE/ragged.csv" --output "$BASE/p.csv"
    bad_rc 'row 2 \(line 3\): 2 fields where the header has 3'
    predict --model "$GAM" --input "$BASE/ragged.csv" --output "$BASE/p.csv" --on-error=skip
    ok
    grep -q 'row 3 (line 4), column "g": "C" is a level the GAM was not trained on' "$ERR" ||
        fail "unknown level: $(cat "$ERR")"
    [ "$(rows "$BASE/p.csv")" = 1 ] || fail "skip ragged/level: rows"
    # a missing forest feature with missing = fail
    printf 'a,b,c\n0.1,0.2,0.3\n0.1,,0.3\n' > "$BASE/fmiss.csv"
    predict --model "$FOREST" --input "$BASE/fmiss.csv" --output "$BASE/p.csv"
    bad_rc 'row 2 \(line 3\), feature "b": the value is missing'
    # usage errors
    predict --model "$GAM" --format xml
    [ "$RC" = 2 ] || fail "bad --format: exit $RC, want 2"
    predict --input "$BASE/nan.csv"
    [ "$RC" = 2 ] || fail "no --model: exit $RC, want 2"
    end
fi

e2e_finish e2e_predict
