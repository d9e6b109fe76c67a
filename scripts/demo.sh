#!/bin/bash
# `make demo`: train on the committed sample plant data exactly as SageMaker
# would run the container, in an /opt/ml-shaped folder under demo/ (git-ignored),
# then show where the artifacts are and a short summary.
#
# It trains every algorithm the binary offers: the data profile, the GAM for
# the plant's yield and an Isolation Forest on the plant's inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
PLANTFIT=${PLANTFIT:-build/plantfit}
DATA=datasets/plant.csv
[ -f "$DATA" ] || { echo "demo: $DATA is missing (make sample regenerates it)" >&2; exit 1; }
rm -rf demo
COMMIT=$(git rev-parse HEAD 2>/dev/null || true)

run_job() { # run_job NAME HYPERPARAMETERS-JSON
    local name=$1 hp=$2 base="demo/$1/opt/ml"
    mkdir -p "$base/input/config" "$base/input/data/train" "$base/input/data/validation"
    # First 80% of the rows (time order) train, the rest validate.
    local n; n=$(($(wc -l < "$DATA") - 1))
    local ntrain=$((n * 8 / 10))
    head -n $((ntrain + 1)) "$DATA" > "$base/input/data/train/plant.csv"
    { head -n 1 "$DATA"; tail -n +$((ntrain + 2)) "$DATA"; } > "$base/input/data/validation/plant.csv"
    echo "$hp" > "$base/input/config/hyperparameters.json"
    cat > "$base/input/config/inputdataconfig.json" <<'JSON'
{"train": {"ContentType": "text/csv", "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"},
 "validation": {"ContentType": "text/csv", "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}}
JSON
    echo '{"current_host": "algo-1", "hosts": ["algo-1"], "network_interface_name": "eth0"}' \
        > "$base/input/config/resourceconfig.json"
    echo
    echo "== training job demo-$name (algorithm from $base/input/config/hyperparameters.json)"
    GIT_COMMIT=$COMMIT TRAINING_JOB_NAME="demo-$name" SAGEMAKER_BASE_DIR="$base" "$PLANTFIT" train
    echo "-- artifacts:"
    find "$base/model" "$base/output" -type f | sort | sed 's/^/   /'
}

t0=$(date +%s.%N)
run_job profile '{"algorithm": "profile", "categorical": "line"}'
YIELD_FORMULA='yield ~ factor(line) + s(reactor1_temp, by=line) + s(reactor2_temp) + s(feed_rate) + s(catalyst_rate) + s(air_flow) + s(feed_purity) + s(evaporator_temp) + s(reflux_ratio)'
run_job gam-yield "{\"algorithm\": \"gam\", \"categorical\": \"line\", \"formula\": \"$YIELD_FORMULA\"}"
INPUTS='["feed_rate", "catalyst_rate", "air_flow", "feed_purity", "reactor1_temp", "reactor1_pressure", "reactor2_temp", "reactor2_pressure", "coolant_temp", "evaporator_temp", "evaporator_pressure", "reflux_ratio"]'
run_job iforest "{\"algorithm\": \"iforest\", \"categorical\": \"line\", \"label\": \"abnormal\", \"missing\": \"divide\", \"contamination\": \"0.03\", \"seed\": \"1\", \"features\": $INPUTS}"
# Score the validation week with both models side by side.
mkdir -p demo/both
cp demo/gam-yield/opt/ml/model/gam.h5 demo/iforest/opt/ml/model/iforest.h5 demo/both/
"$PLANTFIT" predict --model demo/both --input demo/iforest/opt/ml/input/data/validation/plant.csv \
    --output demo/predictions.csv

/usr/bin/python3 - demo/profile/opt/ml <<'PY'
import json, sys
base = sys.argv[1]
m = json.load(open(base + "/model/manifest.json"))
p = json.load(open(base + "/model/profile.json"))
print("-- summary (profile of the training channel):")
print("   commit %s (%s), data fingerprint %s" % (m["commit"]["id"], m["commit"]["source"],
      m["data"]["fingerprint_sha256"][:16]))
print("   %d train rows, %d validation rows" % (m["data"]["train"]["rows"], m["data"]["validation"]["rows"]))
print("   %-22s %10s %10s %10s %8s" % ("column", "min", "mean", "max", "missing"))
for c in p["columns"]:
    if c["type"] == "numeric":
        print("   %-22s %10.4g %10.4g %10.4g %8d" % (c["name"], c["min"], c["mean"], c["max"], c["missing"]))
    else:
        print("   %-22s levels %s" % (c["name"], ", ".join("%s=%d" % kv for kv in c["levels"].items())))
ab = [c for c in p["columns"] if c["name"] == "abnormal"]
if ab:
    print("   labelled abnormal rows: %.2f%%" % (100 * ab[0]["mean"]))
PY
/usr/bin/python3 - demo/gam-yield/opt/ml <<'PY'
import json, sys
base = sys.argv[1]
m = json.load(open(base + "/model/manifest.json"))
x = json.load(open(base + "/output/data/metrics.json"))["metrics"]
print("-- summary (GAM for yield, REML as mgcv's gam(bs=\"ps\")):")
print("   formula: %s" % m["hyperparameters"]["formula"])
print("   EDF %.2f, deviance explained %.1f%%, REML %.4f, %d iterations (converged: %s)" % (
      x["train.edf"], 100 * x["train.deviance_explained"], x["train.reml"],
      x["train.iterations"], "yes" if x["train.converged"] else "NO"))
print("   RMSE train %.4f, validation %.4f; R2 train %.4f, validation %.4f (yield in %%)" % (
      x["train.rmse"], x["validation.rmse"], x["train.r2"], x["validation.r2"]))
print("   model file: %s/model/gam.h5" % base)
PY
/usr/bin/python3 - demo/iforest/opt/ml demo/predictions.csv <<'PY'
import csv, json, sys
x = json.load(open(sys.argv[1] + "/output/data/metrics.json"))["metrics"]
print("-- summary (Isolation Forest on 12 plant inputs, label 'abnormal' for metrics only):")
print("   threshold %.4f; anomaly rate train %.2f%%, validation %.2f%%" % (
      x["train.threshold"], 100 * x["train.anomaly_rate"], 100 * x["validation.anomaly_rate"]))
print("   ROC AUC train %.3f, validation %.3f; PR AUC validation %.3f" % (
      x["train.roc_auc"], x["validation.roc_auc"], x["validation.pr_auc"]))
rows = list(csv.DictReader(open(sys.argv[2])))
flagged = [r for r in rows if r["is_anomaly"] == "1"]
print("-- demo/predictions.csv: %d validation rows scored by both models, %d flagged; first flagged:" % (
      len(rows), len(flagged)))
for r in flagged[:3]:
    print("   yield %.2f  score %.3f  top features %s" % (float(r["prediction"]) if r["prediction"] else float("nan"),
          float(r["score"]), r["top_features"]))
PY
echo
echo "demo finished in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}') s; artifacts under demo/"
