#!/bin/bash
# End-to-end tests of the model package: metrics.json in SageMaker's
# model-quality shapes (checked against scikit-learn/numpy on the model's own
# predictions), model-package.json, the manifest's feature profiles,
# reproducibility (byte-identical model files and manifests from the same
# inputs and seed; one changed input byte changes the fingerprint), and
# `plantfit inspect` (checked against R mgcv's fit, live) with its bad-input
# catalogue.  Every success case also validates its manifest, metrics.json and
# model-package.json against docs/schema (expect_ok in e2e_lib.sh).
#
# Usage: PLANTFIT=build/plantfit bash tests/e2e_package.sh [filter]
. "$(dirname "$0")/e2e_lib.sh"
unset GIT_URL GIT_BRANCH TRAINING_JOB_ARN
TESTS_DIR=$(readlink -f "$(dirname "$0")")

validate() { # validate SCHEMA FILE: against docs/schema/SCHEMA
    "$PY" "$SCHEMA_DIR/validate.py" "$1" "$2" 2> "$BASE.val" || fail "$2 vs $1: $(head -c 600 "$BASE.val")"
}

iforest_csv() { # iforest_csv FILE [ROWS]: features a,b,c and a 0/1 label, 1% planted anomalies
    "$PY" - "$1" "${2:-600}" <<'PYEOF'
import math, sys
with open(sys.argv[1], "w") as f:
    f.write("a,b,c,label\n")
    for i in range(int(sys.argv[2])):
        a = math.sin(i * 0.37); b = math.cos(i * 0.11); c = (i * 7919 % 101) / 101.0
        lab = 0
        if i % 100 == 99:
            a += 6.0; lab = 1
        if i % 100 == 42:  # near misses, so precision and recall are not both 1
            a += 1.5
        if i % 200 == 149:
            lab = 1
        f.write("%.8g,%.8g,%.8g,%d\n" % (a, b, c, lab))
PYEOF
}

gam_setup() { # gam_setup TRAIN_ROWS [VALID_ROWS]: a GAM job in $BASE
    gam_csv "$BASE/input/data/train/plant.csv" "$1"
    if [ -n "${2:-}" ]; then
        mkdir -p "$BASE/input/data/validation"
        gam_csv "$BASE/input/data/validation/v.csv" "$2"
        echo '{"train": {}, "validation": {}}' > "$BASE/input/config/inputdataconfig.json"
    fi
    echo '{"algorithm": "gam", "formula": "y ~ s(x) + s(z, k=8) + factor(g)", "categorical": "g"}' \
        > "$BASE/input/config/hyperparameters.json"
}

iforest_setup() {
    iforest_csv "$BASE/input/data/train/plant.csv" 600
    echo '{"algorithm": "iforest", "label": "label", "seed": "7", "contamination": "0.02"}' \
        > "$BASE/input/config/hyperparameters.json"
}

# ------------------------------------------------------------ GAM package

if want gam_package; then
    begin gam_package
    gam_setup 400 250
    GIT_COMMIT=0123abcd TRAINING_JOB_NAME=yield-gam-7 GIT_URL=https://git.example/plant/plantfit.git \
        GIT_BRANCH=main run_train
    expect_ok
    M="$BASE/model"
    cmp -s "$BASE/output/data/metrics.json" "$M/metrics.json" || fail "output/data/metrics.json differs from model/metrics.json"
    [ "$(json "$M/manifest.json" '[a["sha256"] for a in d["artifacts"] if a["name"] == "metrics.json"][0]')" = \
      "$(sha256sum "$M/metrics.json" | cut -d' ' -f1)" ] || fail "manifest artifacts: metrics.json sha256"
    # regression_metrics against numpy on the model's own predictions of the validation channel
    "$PLANTFIT" predict --model "$M" --input "$BASE/input/data/validation/v.csv" --output "$BASE/pred.csv" \
        2> "$BASE.pred.err" || fail "predict: $(cat "$BASE.pred.err")"
    "$PY" - "$M/metrics.json" "$BASE/input/data/validation/v.csv" "$BASE/pred.csv" > "$BASE.chk" 2>&1 <<'PYEOF' || fail "regression_metrics: $(cat "$BASE.chk")"
import json, sys
import numpy as np, pandas as pd
d = json.load(open(sys.argv[1]))
y = pd.read_csv(sys.argv[2])["y"].to_numpy(); f = pd.read_csv(sys.argv[3])["prediction"].to_numpy()
e = y - f
want = {"mae": np.mean(np.abs(e)), "mse": np.mean(e * e), "rmse": np.sqrt(np.mean(e * e)),
        "r2": 1 - np.sum(e * e) / np.sum((y - y.mean()) ** 2)}
rm = d["regression_metrics"]
assert d["dataset"] == {"item_count": 250, "channel": "validation"}, d["dataset"]
for k, v in want.items():
    got = rm[k]["value"]
    assert abs(got - v) <= 1e-9 * max(1, abs(v)), (k, got, v)
    sd = rm[k]["standard_deviation"]
    # 250 rows >= 200: a standard deviation, small against the value's scale
    assert isinstance(sd, float) and 0 < sd < 0.1 * max(abs(v), 0.01), (k, sd)
PYEOF
    # model-package.json: the registry fragment
    P="$BASE/output/data/model-package.json"
    "$PY" - "$P" "$M/manifest.json" "$M/metrics.json" > "$BASE.chk" 2>&1 <<'PYEOF' || fail "model-package.json: $(cat "$BASE.chk")"
import base64, hashlib, json, sys
p = json.load(open(sys.argv[1])); m = json.load(open(sys.argv[2]))
mp = p["MetadataProperties"]
assert mp == {"CommitId": "0123abcd", "GeneratedBy": "yield-gam-7",
              "Repository": "https://git.example/plant/plantfit.git"}, mp
c = p["CustomerMetadataProperties"]
assert c["plantfit:algorithm"] == "gam"
assert c["plantfit:data_fingerprint_sha256"] == m["data"]["fingerprint_sha256"]
assert base64.b64decode(c["plantfit:formula_base64"]).decode() == m["hyperparameters"]["formula"]
assert c["plantfit:quality_channel"] == "validation"
st = p["ModelMetrics"]["ModelQuality"]["Statistics"]
assert st["ContentDigest"] == "sha256:" + hashlib.sha256(open(sys.argv[3], "rb").read()).hexdigest()
t = p["MlflowTags"]
assert t["mlflow.source.git.commit"] == "0123abcd" and t["mlflow.source.git.branch"] == "main"
assert t["mlflow.source.git.repoURL"] == "https://git.example/plant/plantfit.git"
assert t["plantfit.formula"] == "y ~ s(x) + s(z, k=8) + factor(g)"
assert m["hyperparameters"]["formula"] in p["ModelPackageDescription"]
PYEOF
    # the manifest's feature profiles against pandas on the training file
    "$PY" - "$M/manifest.json" "$BASE/input/data/train/plant.csv" > "$BASE.chk" 2>&1 <<'PYEOF' || fail "features: $(cat "$BASE.chk")"
import json, sys
import pandas as pd
m = json.load(open(sys.argv[1])); t = pd.read_csv(sys.argv[2])
assert [f["name"] for f in m["features"]] == ["x", "z", "g"], m["features"]
assert m["target"]["name"] == "y" and m["seed"] == 1
for f in m["features"] + [m["target"]]:
    col = t[f["name"]]
    assert f["missing"] == int(col.isna().sum()) and f["count"] == int(col.notna().sum())
    if f["type"] == "numeric":
        for k, v in (("min", col.min()), ("max", col.max()), ("mean", col.mean()), ("sd", col.std(ddof=1))):
            assert abs(f[k] - v) <= 1e-12 * max(1, abs(v)), (f["name"], k, f[k], v)
    else:
        assert f["levels"] == sorted(col.dropna().unique().tolist()), f
PYEOF
    # inspect: text and JSON; the numbers it shows against R mgcv's own fit (live)
    "$PLANTFIT" inspect --model "$M" > "$BASE.insp" 2> "$BASE.insp.err" || fail "inspect: $(cat "$BASE.insp.err")"
    for pat in 'Family: gaussian' 'Link function: identity' 'y ~ s\(x\) \+ s\(z, k=8\) \+ factor\(g\)' \
               '^s\(x\) +[0-9.]+ +9 ' '^factor\(g\)B ' 'Commit: 0123abcd \(from GIT_COMMIT\)' \
               "$(json "$M/manifest.json" 'd["data"]["fingerprint_sha256"]')" 'rmse +[0-9.]+ +\(sd ' \
               'R-sq.\(adj\) = 0\.9' 'n = 400'; do
        grep -qE -- "$pat" "$BASE.insp" || fail "inspect output lacks /$pat/"
    done
    "$PLANTFIT" inspect --model "$M" --json > "$BASE.insp.json" 2> "$BASE.insp.err" || fail "inspect --json: $(cat "$BASE.insp.err")"
    validate inspect.schema.json "$BASE.insp.json"
    if command -v Rscript > /dev/null && Rscript -e 'library(mgcv)' > /dev/null 2>&1; then
        Rscript "$TESTS_DIR/golden/gam_fit.R" "$BASE/input/data/train/plant.csv" \
            "y ~ s(x) + s(z, k=8) + factor(g)" REML gaussian "$BASE.mgcv" 2> "$BASE.r.err" || fail "mgcv: $(cat "$BASE.r.err")"
        "$PY" - "$BASE.insp.json" "$BASE.mgcv" > "$BASE.chk" 2>&1 <<'PYEOF' || fail "inspect vs mgcv: $(cat "$BASE.chk")"
import json, sys
g = json.load(open(sys.argv[1]))["models"][0]
lines = open(sys.argv[2]).read().split("\n")
score, edf_total, scale, sig2, n = map(float, lines[0].split())
sp = list(map(float, lines[1].split())); edf = list(map(float, lines[2].split()))
def close(a, b, tol):
    assert abs(a - b) <= tol * max(1, abs(b)), (a, b)
close(g["score"], score, 1e-5); close(g["edf_total"], edf_total, 1e-4); close(g["scale"], scale, 1e-5)
assert g["n"] == n
assert len(g["smooth_terms"]) == len(edf)
for t, e, s in zip(g["smooth_terms"], edf, sp):
    close(t["edf"], e, 1e-4); close(t["lambda"][0], s, 1e-3)
PYEOF
    else
        echo "    SKIPPED gam_package: inspect vs mgcv (Rscript with mgcv not installed)"
    fi
    end
fi

if want gam_train_only_small; then
    # No validation channel: quality from train; under 200 rows no standard deviation.
    begin gam_train_only_small
    gam_setup 150
    run_train
    expect_ok
    [ "$(json "$BASE/output/data/metrics.json" '(d["dataset"]["channel"], d["dataset"]["item_count"])')" = "('train', 150)" ] ||
        fail "dataset: $(json "$BASE/output/data/metrics.json" 'd.get("dataset")')"
    [ "$(json "$BASE/output/data/metrics.json" 'set(v["standard_deviation"] for v in d["regression_metrics"].values())')" = "{'NaN'}" ] ||
        fail "standard deviations below 200 rows must be \"NaN\""
    [ "$(json "$BASE/output/data/model-package.json" '("MetadataProperties" in d, "mlflow.source.git.commit" in d["MlflowTags"])')" = "(False, False)" ] ||
        fail "no commit ID: it must not be invented in model-package.json"
    end
fi

# ------------------------------------------------------------ Isolation Forest package

if want iforest_package; then
    begin iforest_package
    iforest_setup
    run_train
    expect_ok
    M="$BASE/model"
    "$PLANTFIT" predict --model "$M" --input "$BASE/input/data/train/plant.csv" --output "$BASE/pred.csv" \
        2> "$BASE.pred.err" || fail "predict: $(cat "$BASE.pred.err")"
    "$PY" - "$M/metrics.json" "$BASE/input/data/train/plant.csv" "$BASE/pred.csv" > "$BASE.chk" 2>&1 <<'PYEOF' || fail "binary_classification_metrics: $(cat "$BASE.chk")"
import json, sys
import numpy as np, pandas as pd
from sklearn import metrics as skm
d = json.load(open(sys.argv[1]))
y = pd.read_csv(sys.argv[2])["label"].to_numpy().astype(int)
p = pd.read_csv(sys.argv[3]); s = p["score"].to_numpy(); yhat = p["is_anomaly"].to_numpy().astype(int)
b = d["binary_classification_metrics"]
assert d["dataset"] == {"item_count": 600, "channel": "train"}, d["dataset"]
tn, fp, fn, tp = skm.confusion_matrix(y, yhat, labels=[0, 1]).ravel()
assert b["confusion_matrix"] == {"0": {"0": tn, "1": fp}, "1": {"0": fn, "1": tp}}, b["confusion_matrix"]
assert 0 < fp + fn and tp > 0, "the data should give an imperfect detector"
prev = y.mean()
want = {"recall": skm.recall_score(y, yhat), "precision": skm.precision_score(y, yhat),
        "accuracy": skm.accuracy_score(y, yhat), "auc": skm.roc_auc_score(y, s),
        "f0_5": skm.fbeta_score(y, yhat, beta=0.5), "f1": skm.f1_score(y, yhat),
        "f2": skm.fbeta_score(y, yhat, beta=2), "true_positive_rate": tp / (tp + fn),
        "true_negative_rate": tn / (tn + fp), "false_positive_rate": fp / (fp + tn),
        "false_negative_rate": fn / (fn + tp),
        "recall_best_constant_classifier": 1.0, "precision_best_constant_classifier": prev,
        "accuracy_best_constant_classifier": prev,
        "f1_best_constant_classifier": skm.f1_score(y, np.ones_like(y)),
        "f2_best_constant_classifier": skm.fbeta_score(y, np.ones_like(y), beta=2),
        "f0_5_best_constant_classifier": skm.fbeta_score(y, np.ones_like(y), beta=0.5)}
for k, v in want.items():
    assert abs(b[k]["value"] - v) <= 1e-12, (k, b[k]["value"], v)
    assert isinstance(b[k]["standard_deviation"], (int, float)), (k, b[k])  # 600 rows >= 200
# curves: start at the origin / (recall 0, precision 1), end at (1, 1) / recall 1
roc = b["receiver_operating_characteristic_curve"]; pr = b["precision_recall_curve"]
fpr, tpr = roc["false_positive_rates"], roc["true_positive_rates"]
assert fpr[0] == 0 and tpr[0] == 0 and fpr[-1] == 1 and tpr[-1] == 1 and len(fpr) <= 101
assert all(a <= c for a, c in zip(fpr, fpr[1:])) and all(a <= c for a, c in zip(tpr, tpr[1:]))
assert np.trapz(tpr, fpr) <= b["auc"]["value"] + 1e-9 and abs(np.trapz(tpr, fpr) - b["auc"]["value"]) < 0.02
assert pr["recalls"][0] == 0 and pr["precisions"][0] == 1 and pr["recalls"][-1] == 1
assert abs(pr["precisions"][-1] - prev) < 1e-12
PYEOF
    "$PLANTFIT" inspect --model "$M" > "$BASE.insp" 2> "$BASE.insp.err" || fail "inspect: $(cat "$BASE.insp.err")"
    for pat in '^Trees: 100 +sample size \(psi\): 256 +height limit: 8' 'contamination 0\.02' '^  a +\[' \
               '^  c +\[' 'seed: 7' 'auc +[0-9.]+'; do
        grep -qE -- "$pat" "$BASE.insp" || fail "inspect output lacks /$pat/"
    done
    "$PLANTFIT" inspect --model "$M" --json > "$BASE.insp.json" 2> "$BASE.insp.err" || fail "inspect --json: $(cat "$BASE.insp.err")"
    validate inspect.schema.json "$BASE.insp.json"
    [ "$(json "$BASE.insp.json" 'd["models"][0]["threshold"] == json.load(open(sys.argv[1].replace(".insp.json", "/model/manifest.json")))["metrics"]["train.threshold"]')" = True ] ||
        fail "inspect threshold differs from the manifest's train.threshold"
    [ "$(json "$BASE/model/manifest.json" '([f["name"] for f in d["features"]], d["target"]["name"])')" = "(['a', 'b', 'c'], 'label')" ] ||
        fail "manifest features/target"
    end
fi

# ------------------------------------------------------------ reproducibility

# same_twice NAME SETUP: train twice on copies of the same inputs (different
# base directories, a second apart); model files, metrics.json and
# model-package.json byte-identical, manifests identical but for created/timings.
same_twice() {
    begin "$1"
    eval "$2"
    cp -r "$BASE" "$BASE.copy"
    GIT_COMMIT=feed01 run_train
    expect_ok
    local first=$BASE
    sleep 1
    BASE="$first.copy"
    GIT_COMMIT=feed01 run_train
    expect_ok
    BASE=$first
    for f in $(json "$first/model/manifest.json" '" ".join(m["name"] for m in d["model_files"] + d["artifacts"])'); do
        cmp -s "$first/model/$f" "$first.copy/model/$f" || fail "model/$f differs between identical runs"
    done
    cmp -s "$first/output/data/model-package.json" "$first.copy/output/data/model-package.json" ||
        fail "model-package.json differs between identical runs"
    "$PY" - "$first/model/manifest.json" "$first.copy/model/manifest.json" > "$BASE.chk" 2>&1 <<'PYEOF' || fail "manifests: $(cat "$BASE.chk")"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for d in (a, b):
    del d["created"], d["timings_seconds"]
diff = [k for k in set(a) | set(b) if a.get(k) != b.get(k)]
assert not diff, "differ in %s" % diff
PYEOF
    end
}

if want reproducible_gam; then
    same_twice reproducible_gam 'gam_setup 300 120'
fi
if want reproducible_iforest; then
    same_twice reproducible_iforest iforest_setup
fi

if want reproducible_gam_blas_threads; then
    # The model must not depend on OpenBLAS's thread count (one per CPU by
    # default, so on the instance size): a fit large enough for OpenBLAS to
    # thread, once with 1 and once with 2 BLAS threads.
    begin reproducible_gam_blas_threads
    "$PLANTFIT" sample-data --rows 20000 --seed 3 --out "$BASE/input/data/train" 2> "$BASE.sd.err" ||
        fail "sample-data: $(cat "$BASE.sd.err")"
    echo '{"algorithm": "gam", "categorical": "line", "formula": "yield ~ s(feed_rate) + s(catalyst_rate) + s(air_flow) + te(reactor1_temp, reactor1_pressure) + s(reactor2_temp) + s(coolant_temp) + s(evaporator_temp) + s(reflux_ratio) + s(feed_purity, by=factor(line)) + factor(line)"}' \
        > "$BASE/input/config/hyperparameters.json"
    cp -r "$BASE" "$BASE.copy"
    OPENBLAS_NUM_THREADS=1 run_train
    expect_ok
    first=$BASE
    BASE="$first.copy"
    OPENBLAS_NUM_THREADS=2 run_train
    expect_ok
    BASE=$first
    cmp -s "$first/model/gam.h5" "$first.copy/model/gam.h5" || fail "gam.h5 differs between 1 and 2 OpenBLAS threads"
    cmp -s "$first/model/metrics.json" "$first.copy/model/metrics.json" || fail "metrics.json differs between 1 and 2 OpenBLAS threads"
    end
fi

if want fingerprint_one_byte; then
    begin fingerprint_one_byte
    gam_setup 300
    cp -r "$BASE" "$BASE.copy"
    run_train
    expect_ok
    fp1=$(json "$BASE/model/manifest.json" 'd["data"]["fingerprint_sha256"]')
    sha1=$(json "$BASE/model/manifest.json" 'd["data"]["train"]["files"][0]["sha256"]')
    first=$BASE
    BASE="$first.copy"
    # one byte: the last digit of the last value of the file
    "$PY" - "$BASE/input/data/train/plant.csv" <<'PYEOF'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
i = max(i for i, c in enumerate(b) if chr(c).isdigit())
b[i] = ord("1") if b[i] != ord("1") else ord("2")
open(sys.argv[1], "wb").write(b)
PYEOF
    [ "$(cmp -l "$first/input/data/train/plant.csv" "$BASE/input/data/train/plant.csv" | wc -l)" = 1 ] || fail "test set-up: not one byte"
    run_train
    expect_ok
    fp2=$(json "$BASE/model/manifest.json" 'd["data"]["fingerprint_sha256"]')
    sha2=$(json "$BASE/model/manifest.json" 'd["data"]["train"]["files"][0]["sha256"]')
    [ "$sha2" = "$(sha256sum "$BASE/input/data/train/plant.csv" | cut -d' ' -f1)" ] || fail "file sha256"
    [ "$fp1" != "$fp2" ] || fail "one changed input byte left the fingerprint unchanged"
    [ "$sha1" != "$sha2" ] || fail "one changed input byte left the file sha256 unchanged"
    [ "$(json "$BASE/output/data/model-package.json" 'd["CustomerMetadataProperties"]["plantfit:data_fingerprint_sha256"]')" = "$fp2" ] ||
        fail "model-package.json fingerprint"
    BASE=$first
    end
fi

# ------------------------------------------------------------ inspect: several models, profile

if want inspect_two_models; then
    # A directory with the GAM and the anomaly detector side by side (what
    # predict scores with both): one manifest listing both files.
    begin inspect_two_models
    gam_setup 300
    run_train
    expect_ok
    g=$BASE
    BASE="$g.if"
    mkdir -p "$BASE/input/config" "$BASE/input/data/train"
    cp "$g/input/config/inputdataconfig.json" "$g/input/config/resourceconfig.json" "$BASE/input/config/"
    iforest_setup
    run_train
    expect_ok
    mkdir -p "$g/both"
    cp "$g/model/gam.h5" "$g/model/metrics.json" "$BASE/model/iforest.h5" "$g/both/"
    "$PY" - "$g/model/manifest.json" "$BASE/model/manifest.json" > "$g/both/manifest.json" <<'PYEOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
a["model_files"] += b["model_files"]
print(json.dumps(a, indent=1))
PYEOF
    BASE=$g
    "$PLANTFIT" inspect --model "$g/both" > "$BASE.insp" 2> "$BASE.insp.err" || fail "inspect: $(cat "$BASE.insp.err")"
    grep -q '^== gam.h5 ' "$BASE.insp" && grep -q '^== iforest.h5 ' "$BASE.insp" || fail "both models must be summarised"
    "$PLANTFIT" inspect --model "$g/both" --json > "$BASE.insp.json" 2>> "$BASE.insp.err" || fail "inspect --json"
    validate inspect.schema.json "$BASE.insp.json"
    [ "$(json "$BASE.insp.json" '[m["type"] for m in d["models"]]')" = "['gam', 'iforest']" ] || fail "models in --json"
    end
fi

if want inspect_profile; then
    begin inspect_profile
    sample_csv "$BASE/input/data/train/plant.csv" 30
    run_train
    expect_ok
    "$PLANTFIT" inspect --model "$BASE/model" --json > "$BASE.insp.json" 2> "$BASE.insp.err" || fail "inspect: $(cat "$BASE.insp.err")"
    validate inspect.schema.json "$BASE.insp.json"
    [ "$(json "$BASE.insp.json" '(d["models"][0]["type"], d["models"][0]["rows"], d["model_quality"])')" = "('profile', 30, None)" ] ||
        fail "profile summary: $(head -c 300 "$BASE.insp.json")"
    end
fi

# ------------------------------------------------------------ inspect: bad model directories

# bad_inspect NAME MUTATION PATTERN...: train a GAM once (cached), copy its
# model directory, apply MUTATION (shell code on $D), expect exit 1, nothing on
# stdout and stderr matching every pattern.
GOOD_MODEL=""
bad_inspect() {
    local name=$1 mutation=$2 p
    shift 2
    begin "inspect_bad_$name"
    if [ -z "$GOOD_MODEL" ]; then
        gam_setup 200
        run_train
        expect_ok
        GOOD_MODEL="$ROOT/good_model"
        cp -r "$BASE/model" "$GOOD_MODEL"
    fi
    D="$BASE/m"
    rm -rf "$D"
    cp -r "$GOOD_MODEL" "$D"
    eval "$mutation"
    "$PLANTFIT" inspect --model "$D" > "$BASE.insp" 2> "$BASE.insp.err"
    RC=$?
    [ "$RC" = 1 ] || fail "exit status $RC, want 1; stderr: $(head -c 300 "$BASE.insp.err")"
    [ ! -s "$BASE.insp" ] || fail "stdout not empty on error: $(head -c 200 "$BASE.insp")"
    grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$BASE.insp.err" && fail "sanitizer report: $(head -c 600 "$BASE.insp.err")"
    for p in "$@"; do
        grep -qE -- "$p" "$BASE.insp.err" || fail "stderr lacks /$p/: $(head -c 400 "$BASE.insp.err")"
    done
    end
}

set_manifest() { # set_manifest PYTHON-STATEMENT on m (the manifest of $D)
    "$PY" - "$D/manifest.json" "$1" <<'PYEOF'
import json, sys
m = json.load(open(sys.argv[1]))
exec(sys.argv[2])
json.dump(m, open(sys.argv[1], "w"))
PYEOF
}

want inspect_bad_missing_dir && bad_inspect missing_dir 'rm -rf "$D"' "model directory .*/m: No such file"
want inspect_bad_no_manifest && bad_inspect no_manifest 'rm "$D/manifest.json"' "/m/manifest.json: no manifest"
want inspect_bad_manifest_json && bad_inspect manifest_json 'head -c 100 "$GOOD_MODEL/manifest.json" > "$D/manifest.json"' \
    "/m/manifest.json: not a valid JSON"
want inspect_bad_newer_format && bad_inspect newer_format 'set_manifest "m[\"manifest_format_version\"] = \"2\""' \
    "model directory format 2 is newer than this plantfit supports \(1\)" "/m/manifest.json"
want inspect_bad_newer_format_number && bad_inspect newer_format_number 'set_manifest "m[\"manifest_format_version\"] = 7"' \
    "model directory format 7 is newer than this plantfit supports \(1\)"
want inspect_bad_sha_mismatch && bad_inspect sha_mismatch \
    'printf "\x5a" | dd of="$D/gam.h5" bs=1 seek=3000 conv=notrunc status=none' \
    "manifest does not match .*/m/gam.h5: its SHA-256 is [0-9a-f]{64}"
want inspect_bad_truncated && bad_inspect truncated 'truncate -s 2000 "$D/gam.h5"' \
    "manifest does not match .*/m/gam.h5: the file has 2000 bytes, the manifest says [0-9]+ \(truncated"
# truncated, with a manifest rewritten to match: the HDF5 reader catches it
want inspect_bad_truncated_matching_manifest && bad_inspect truncated_matching_manifest \
    'truncate -s 2000 "$D/gam.h5"; set_manifest "import hashlib; m[\"model_files\"][0].update(sha256=hashlib.sha256(open(\"$D/gam.h5\",\"rb\").read()).hexdigest(), bytes=2000)"' \
    "/m/gam.h5.*truncated"
want inspect_bad_missing_model_file && bad_inspect missing_model_file 'rm "$D/gam.h5"' \
    "manifest does not match gam.h5: the manifest lists it but .*/m/gam.h5 does not exist"
want inspect_bad_metrics_changed && bad_inspect metrics_changed 'echo " " >> "$D/metrics.json"' \
    "manifest does not match .*/m/metrics.json: the file has [0-9]+ bytes"
want inspect_bad_path_in_name && bad_inspect path_in_name 'set_manifest "m[\"model_files\"][0][\"name\"] = \"../x/gam.h5\""' \
    "/m/manifest.json: model_files\[0\] name \"../x/gam.h5\" is not a plain file name"

e2e_finish e2e_package
