#!/bin/bash
# End-to-end tests of champion/challenger (issue 5): `plantfit compare` on
# model directories and model.tar.gz artifacts, the verdict's metrics checked
# against values computed independently (Python, scikit-learn's
# roc_auc_score) from `plantfit predict` outputs, the rule grammar's errors,
# hostile archives, and train's `baseline` channel with the compare_rule
# hyperparameter.  Ends with "e2e_compare: N passed, N failed".
#
# Usage: PLANTFIT=build/plantfit bash tests/e2e_compare.sh [filter]
. "$(dirname "$0")/e2e_lib.sh"

train_model() { # train_model NAME HP-JSON WRITER: model at $ROOT/NAME/model
    local name=$1 hp=$2 writer=$3
    begin "$name"
    $writer "$BASE/input/data/train/plant.csv"
    echo "$hp" > "$BASE/input/config/hyperparameters.json"
    run_train
    expect_ok
    end
}
forest_csv() {
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

train_model c_good '{"algorithm": "gam", "formula": "y ~ s(x) + s(z) + factor(g)", "categorical": "g"}' gam300
train_model c_weak '{"algorithm": "gam", "formula": "y ~ s(x)", "categorical": "g"}' gam300
train_model c_f1 '{"algorithm": "iforest", "label": "label", "seed": "7"}' forest_csv
train_model c_f2 '{"algorithm": "iforest", "label": "label", "seed": "8", "n_trees": "10", "sample_size": "16"}' forest_csv
GOOD=$ROOT/c_good/model
WEAK=$ROOT/c_weak/model
F1=$ROOT/c_f1/model
F2=$ROOT/c_f2/model
DATA=$ROOT/c_good/input/data/train/plant.csv
FDATA=$ROOT/c_f1/input/data/train/plant.csv

compare() { # compare ARGS...: RC, ERR, verdict on stdout in $BASE.out
    ERR="$BASE.err"
    "$PLANTFIT" compare "$@" > "$BASE.out" 2> "$ERR"
    RC=$?
    if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$ERR"; then
        fail "sanitizer report:"
        sed -n '1,30p' "$ERR"
    fi
}
ok() { [ "$RC" = 0 ] || fail "exit status $RC, want 0: $(head -c 600 "$ERR")"; }
bad_rc() {
    [ "$RC" = 1 ] || fail "exit status $RC, want 1: $(head -c 600 "$ERR")"
    for p in "$@"; do
        grep -qE -- "$p" "$ERR" || fail "stderr lacks /$p/: $(head -c 600 "$ERR")"
    done
}

if want compare_gam; then
    begin compare_gam
    compare --model "$GOOD" --baseline "$WEAK" --data "$DATA" --output "$BASE/v.json"
    ok
    [ "$(json "$BASE/v.json" 'd["pass"]')" = True ] || fail "the better model should pass: $(cat "$BASE/v.json")"
    [ "$(json "$BASE/v.json" 'd["rule"]')" = "rmse <= 1.02 * baseline.rmse" ] || fail "default rule"
    # the metrics, recomputed from each model's own predictions
    "$PLANTFIT" predict --model "$GOOD" --input "$DATA" --output "$BASE/pg.csv" 2> /dev/null
    "$PLANTFIT" predict --model "$WEAK" --input "$DATA" --output "$BASE/pw.csv" 2> /dev/null
    "$PY" - "$BASE/v.json" "$DATA" "$BASE/pg.csv" "$BASE/pw.csv" <<'PYEOF' || fail "verdict metrics differ from an independent computation"
import csv, json, math, sys
v = json.load(open(sys.argv[1]))
y = [float(r["y"]) for r in csv.DictReader(open(sys.argv[2]))]
for side, f in (("new", sys.argv[3]), ("baseline", sys.argv[4])):
    p = [float(r["prediction"]) for r in csv.DictReader(open(f))]
    n = len(y)
    rmse = math.sqrt(sum((a - b) ** 2 for a, b in zip(y, p)) / n)
    mae = sum(abs(a - b) for a, b in zip(y, p)) / n
    my = sum(y) / n
    r2 = 1 - sum((a - b) ** 2 for a, b in zip(y, p)) / sum((a - my) ** 2 for a in y)
    for k, want in (("rmse", rmse), ("mae", mae), ("r2", r2), ("rows", n)):
        got = v[side][k]
        assert abs(got - want) <= 1e-12 * max(1, abs(want)), (side, k, got, want)
assert v["reasons"][0].endswith("holds"), v["reasons"]
assert v["data"]["rows"] == 300 and v["target"] == "y"
PYEOF
    # swapped: the weak model as the challenger fails -- still exit 0
    compare --model "$WEAK" --baseline "$GOOD" --data "$DATA"
    ok
    [ "$(json "$BASE.out" 'd["pass"]')" = False ] || fail "the weaker model should fail"
    grep -q 'FAIL' "$ERR" || fail "stderr should say FAIL"
    # a rule of our own
    compare --model "$WEAK" --baseline "$GOOD" --data "$DATA" --rule "rmse <= 10 * baseline.rmse and r2 > 0"
    ok
    [ "$(json "$BASE.out" 'd["pass"]')" = True ] || fail "a loose rule should pass"
    [ "$(json "$BASE.out" 'len(d["reasons"])')" = 2 ] || fail "one reason per clause"
    end
fi

if want compare_archive; then
    begin compare_archive
    # model.tar.gz as SageMaker writes it: the model directory's files at the root
    tar -C "$WEAK" -czf "$BASE/model.tar.gz" .
    compare --model "$GOOD" --baseline "$BASE/model.tar.gz" --data "$DATA" --output "$BASE/v.json"
    ok
    compare --model "$GOOD" --baseline "$WEAK" --data "$DATA" --output "$BASE/v2.json"
    "$PY" - "$BASE/v.json" "$BASE/v2.json" <<'PYEOF' || fail "archive and directory give other metrics"
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert a["baseline"]["rmse"] == b["baseline"]["rmse"] and a["pass"] == b["pass"]
PYEOF
    ls /tmp | grep -q "plantfit-model-" && ls -d /tmp/plantfit-model-* > "$BASE.left"
    # the same archive written by Python's tarfile (pax, a directory entry)
    "$PY" - "$WEAK" "$BASE/py.tar.gz" <<'PYEOF'
import os, sys, tarfile
with tarfile.open(sys.argv[2], "w:gz", format=tarfile.PAX_FORMAT) as t:
    t.add(sys.argv[1], arcname="model")
PYEOF
    compare --model "$GOOD" --baseline "$BASE/py.tar.gz" --data "$DATA"
    ok
    # hostile archives: refused, nothing written outside the extraction directory
    "$PY" - "$BASE" <<'PYEOF'
import io, os, sys, tarfile
base = sys.argv[1]
def make(name, entries):
    with tarfile.open(os.path.join(base, name), "w:gz", format=tarfile.GNU_FORMAT) as t:
        for ename, kind in entries:
            ti = tarfile.TarInfo(ename)
            if kind == "sym":
                ti.type = tarfile.SYMTYPE; ti.linkname = "/etc/passwd"; t.addfile(ti)
            else:
                data = b"x" * 10; ti.size = len(data); t.addfile(ti, io.BytesIO(data))
make("dotdot.tar.gz", [("../evil.txt", "file")])
make("abs.tar.gz", [("/tmp/plantfit-evil.txt", "file")])
make("sym.tar.gz", [("gam.h5", "sym")])
open(os.path.join(base, "junk.tar.gz"), "wb").write(b"\x1f\x8b\x08\x00garbage")
PYEOF
    for a in dotdot abs sym junk; do
        compare --model "$GOOD" --baseline "$BASE/$a.tar.gz" --data "$DATA"
        case $a in
            dotdot) bad_rc 'refused' '\.\.' ;;
            abs) bad_rc 'refused' 'absolute' ;;
            sym) bad_rc 'refused' 'symbolic link' ;;
            junk) bad_rc 'model\.tar|junk' ;;
        esac
    done
    [ ! -e "$BASE/../evil.txt" ] && [ ! -e /tmp/plantfit-evil.txt ] || fail "an entry was written outside"
    end
fi

if want compare_forest; then
    begin compare_forest
    compare --model "$F1" --baseline "$F2" --data "$FDATA" --output "$BASE/v.json"
    ok
    [ "$(json "$BASE/v.json" 'd["rule"]')" = "auc >= baseline.auc - 0.01 and anomaly_rate <= 2 * baseline.anomaly_rate" ] ||
        fail "default forest rule: $(json "$BASE/v.json" 'd["rule"]')"
    [ "$(json "$BASE/v.json" 'd["label"]')" = label ] || fail "label from the manifest"
    "$PLANTFIT" predict --model "$F1" --input "$FDATA" --output "$BASE/p1.csv" 2> /dev/null
    "$PLANTFIT" predict --model "$F2" --input "$FDATA" --output "$BASE/p2.csv" 2> /dev/null
    "$PY" - "$BASE/v.json" "$FDATA" "$BASE/p1.csv" "$BASE/p2.csv" <<'PYEOF' || fail "auc / anomaly_rate differ from scikit-learn"
import csv, json, sys
from sklearn.metrics import roc_auc_score, average_precision_score
v = json.load(open(sys.argv[1]))
lab = [int(r["label"]) for r in csv.DictReader(open(sys.argv[2]))]
for side, f in (("new", sys.argv[3]), ("baseline", sys.argv[4])):
    rows = list(csv.DictReader(open(f)))
    s = [float(r["score"]) for r in rows]
    rate = sum(int(r["is_anomaly"]) for r in rows) / len(rows)
    assert abs(v[side]["auc"] - roc_auc_score(lab, s)) < 1e-12, (side, v[side]["auc"], roc_auc_score(lab, s))
    assert abs(v[side]["pr_auc"] - average_precision_score(lab, s)) < 1e-12, side
    assert abs(v[side]["anomaly_rate"] - rate) < 1e-15, side
PYEOF
    # without the label column: no auc in the default rule
    cut -d, -f1-3 "$FDATA" > "$BASE/nolabel.csv"
    compare --model "$F1" --baseline "$F2" --data "$BASE/nolabel.csv"
    ok
    [ "$(json "$BASE.out" 'd["rule"]')" = "anomaly_rate <= 2 * baseline.anomaly_rate" ] || fail "rule without label"
    compare --model "$F1" --baseline "$F2" --data "$BASE/nolabel.csv" --rule "auc >= baseline.auc"
    bad_rc 'needs auc' 'no label column'
    # GAM against forest
    compare --model "$GOOD" --baseline "$F1" --data "$DATA"
    bad_rc 'not the same kind of model'
    end
fi

if want compare_bad_rules; then
    begin compare_bad_rules
    for r in "rmse <= 1.02 * baseline.rmsf|column 25|unknown metric" \
             "rmse 1.02|column 6|expected a comparison" \
             "rmse <= (1.02 * baseline.rmse|at the end|expected \")\"" \
             "rmse <= 1.02 * old.rmse|column 16|new\\.\" or \"baseline" \
             "rmse <= 1.02 baseline.rmse|column 14|expected \"and\"" \
             "auc >= 0.5|Isolation|no iforest\\.h5"; do
        IFS='|' read -r rule p1 p2 <<< "$r"
        compare --model "$GOOD" --baseline "$WEAK" --data "$DATA" --rule "$rule"
        bad_rc "$p1" "$p2"
    done
    compare --model "$GOOD" --data "$DATA"
    [ "$RC" = 2 ] || fail "no --baseline: exit $RC, want 2"
    printf 'x,z\n0.1,0.2\n' > "$BASE/nocol.csv"
    compare --model "$GOOD" --baseline "$WEAK" --data "$BASE/nocol.csv"
    bad_rc 'no column "y"'
    end
fi

if want train_baseline; then
    begin train_baseline
    gam_csv "$BASE/input/data/train/plant.csv" 300
    mkdir -p "$BASE/input/data/baseline"
    tar -C "$GOOD" -czf "$BASE/input/data/baseline/model.tar.gz" .
    cat > "$BASE/input/config/inputdataconfig.json" <<'EOF'
{"train": {"ContentType": "text/csv"}, "baseline": {"ContentType": "application/x-tar"}}
EOF
    echo '{"algorithm": "gam", "formula": "y ~ s(x)", "compare_rule": "rmse <= 1.001 * baseline.rmse", "categorical": "g"}' \
        > "$BASE/input/config/hyperparameters.json"
    run_train
    expect_ok
    v=$BASE/output/data/verdict.json
    [ -f "$v" ] || fail "no output/data/verdict.json"
    [ "$(json "$v" 'd["pass"]')" = False ] || fail "s(x) alone should not match the deployed model"
    [ "$(json "$v" 'd["rule"]')" = "rmse <= 1.001 * baseline.rmse" ] || fail "rule from the hyperparameter"
    grep -q 'not used by plantfit train' "$ERR" && fail "baseline channel reported as unused"
    # the baseline channel as a model directory, default rule
    rm -rf "$BASE/input/data/baseline" && cp -r "$WEAK" "$BASE/input/data/baseline"
    echo '{"algorithm": "gam", "formula": "y ~ s(x) + s(z) + factor(g)", "categorical": "g"}' \
        > "$BASE/input/config/hyperparameters.json"
    run_train
    expect_ok
    [ "$(json "$v" 'd["pass"]')" = True ] || fail "the full model should beat s(x): $(cat "$v")"
    end
fi

if want bad_train_compare_rule; then
    bad train_compare_rule
    echo '{"compare_rule": "rmse <== baseline.rmse"}' > "$BASE/input/config/hyperparameters.json"
    run_train; expect_fail 'compare_rule' 'column 8'; end
fi

e2e_finish e2e_compare
