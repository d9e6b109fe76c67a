#!/usr/bin/env bash
# predict.sh: batch-scoring benchmark of issue 5 (goal: `plantfit predict` at
# least 20x mgcv's predict.gam and scikit-learn's score_samples on 1e6 rows).
# Not a test; called by tests/bench/run.sh.
#
# GAM: y ~ s(x1, k=20) + ... + s(x8, k=20) (P-splines), data from
# bench_gamdata (x1..x8 uniform, seed 42, 1e6 rows, %.6g: $BENCH_DIR/
# gam_1000000.csv, shared with gam_fit.sh).  Both sides fit the same model
# on the same 2e4 rows (seed 7) -- plantfit `train`, mgcv gam(method =
# "REML") -- then predict the 1e6 rows:
#   plantfit   `plantfit predict` end to end (stream-parse, score, write
#              %.17g, rename), --threads 2 and 1, wall time and peak RSS;
#              bench_predict gam: the stages alone (parse, gam_predict on one
#              thread in memory, %.17g formatting);
#   mgcv       fread + predict.gam(type = "response") + fwrite
#              (tests/bench/predict_ref.R), each timed.
# The two fits are the same REML fit to ~1e-6, so the checksums (sum of the
# 1e6 predictions and the first three) agree to about that: printed side by
# side with their relative difference.
#
# Isolation Forest: 100 trees, psi 256, on bench_iforest's 1e6 x 8 data
# ($BENCH_DIR/iforest_1000000.bin, shared with iforest.sh; CSV %.9g for the
# CLI).  plantfit trains on the CSV (seed 1), scikit-learn fits
# IsolationForest(random_state=1) on the same rows; then:
#   plantfit   `plantfit predict` end to end, with and without top_features
#              (explaining every anomalous row), --threads 2; bench_predict
#              iforest: iforest_score in memory, 1 and 2 threads;
#   sklearn    score_samples in memory; and read_csv + score_samples +
#              decision_function + to_csv (tests/bench/predict_sklearn.py).
# The two sides grow different random forests, so the checksums (sum of s)
# agree to the ~1% one forest's sum varies by, not exactly (see iforest.sh).
#
# Environment: B (build dir, default build), BENCH_DIR (default $B/bench).
set -euo pipefail
cd "$(dirname "$0")/../.."

B=${B:-build}
BENCH_DIR=${BENCH_DIR:-$B/bench}
PF=$B/plantfit
PY=/usr/bin/python3
N=1000000
for b in "$PF" "$B/bench_gamdata" "$B/bench_iforest" "$B/bench_predict"; do
    if [ ! -x "$b" ]; then
        echo "predict: $b is missing (run: make all bench-bin)" >&2
        exit 1
    fi
done
mkdir -p "$BENCH_DIR"
echo "predict: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
W=$(mktemp -d "$BENCH_DIR/predict-XXXXXX")
trap 'rm -rf "$W"' EXIT

train() { # train DIR HP-JSON DATA
    mkdir -p "$1/input/config" "$1/input/data/train"
    ln -sf "$(readlink -f "$3")" "$1/input/data/train/data.csv"
    echo '{"train": {}}' > "$1/input/config/inputdataconfig.json"
    echo "$2" > "$1/input/config/hyperparameters.json"
    "$PF" train --base-dir "$1" > /dev/null 2> "$1.log" || { cat "$1.log" >&2; exit 1; }
}
timed() { # timed LABEL CMD...: one line with wall seconds and peak RSS
    local label=$1
    shift
    /usr/bin/time -f "%e %M" -o "$W/time" "$@" 2> "$W/err" > /dev/null || { cat "$W/err" >&2; exit 1; }
    read -r wall rss < "$W/time"
    echo "$label n=$N wall_s=$wall rows_per_s=$("$PY" -c "print('%.3g' % ($N / max($wall, 1e-3)))") rss_MiB=$((rss / 1024))"
}
sum_col() { # sum_col FILE COLUMN: sum and first three of a CSV column
    "$PY" - "$1" "$2" <<'EOF'
import sys
import pandas as pd
v = pd.read_csv(sys.argv[1])[sys.argv[2]].to_numpy()
print("sum=%.10e f1=%.6f f2=%.6f f3=%.6f" % (v.sum(), v[0], v[1], v[2]))
EOF
}

# ---- GAM
G=$BENCH_DIR/gam_$N.csv
[ -f "$G" ] || "$B/bench_gamdata" --generate "$G" --rows $N
"$B/bench_gamdata" --generate "$W/gam_train.csv" --rows 20000 --seed 7
FORMULA="y ~ s(x1,k=20) + s(x2,k=20) + s(x3,k=20) + s(x4,k=20)"
FORMULA+=" + s(x5,k=20) + s(x6,k=20) + s(x7,k=20) + s(x8,k=20)"
train "$W/gam" "{\"algorithm\": \"gam\", \"formula\": \"$FORMULA\"}" "$W/gam_train.csv"
gam2=$(timed "plantfit-gam-cli threads=2" "$PF" predict --model "$W/gam/model" --input "$G" --output "$W/p2.csv" --threads 2)
echo "$gam2"
pf_sum=$(sum_col "$W/p2.csv" prediction)
echo "plantfit-gam-cli checksum $pf_sum"
timed "plantfit-gam-cli threads=1" "$PF" predict --model "$W/gam/model" --input "$G" --output "$W/p1.csv" --threads 1
cmp -s "$W/p1.csv" "$W/p2.csv" || echo "predict: !!! 1 and 2 threads wrote different files !!!"
stages=$("$B/bench_predict" gam "$W/gam/model/gam.h5" "$G")
echo "$stages"
r_line=""
if command -v Rscript > /dev/null &&
    Rscript -e 'suppressMessages({library(data.table); library(mgcv)})' > /dev/null 2>&1; then
    r_line=$(Rscript tests/bench/predict_ref.R "$W/gam_train.csv" "$G" "$W/r.csv")
    echo "$r_line"
else
    echo "predict: !!! mgcv side SKIPPED (Rscript, mgcv or data.table missing) !!!"
fi

# ---- Isolation Forest
F=$BENCH_DIR/iforest_$N.bin
FC=$BENCH_DIR/iforest_$N.csv
[ -f "$F" ] && [ "$(stat -c %s "$F")" = $((N * 64)) ] || "$B/bench_iforest" gen $N "$F"
[ -f "$FC" ] || "$B/bench_predict" bin2csv "$F" $N 8 "$FC"
train "$W/forest" '{"algorithm": "iforest", "n_trees": "100", "sample_size": "256", "seed": "1"}' "$FC"
f2=$(timed "plantfit-iforest-cli threads=2 top_features" "$PF" predict --model "$W/forest/model" --input "$FC" --output "$W/f.csv" --threads 2)
echo "$f2"
f0=$(timed "plantfit-iforest-cli threads=2 no-top-features" "$PF" predict --model "$W/forest/model" --input "$FC" --output "$W/f0.csv" --threads 2 --no-top-features)
echo "$f0"
echo "plantfit-iforest-cli checksum $(sum_col "$W/f.csv" score) flagged=$("$PY" -c "import pandas as pd; print('%.4f' % pd.read_csv('$W/f.csv')['is_anomaly'].mean())")"
fm1=$("$B/bench_predict" iforest "$W/forest/model/iforest.h5" "$F" $N 1)
fm2=$("$B/bench_predict" iforest "$W/forest/model/iforest.h5" "$F" $N 2)
echo "$fm1"
echo "$fm2"
sk_line=""
if "$PY" -c 'import sklearn, pandas' > /dev/null 2>&1; then
    sk_line=$("$PY" tests/bench/predict_sklearn.py "$F" $N "$FC" "$W/sk.csv")
    echo "$sk_line"
else
    echo "predict: !!! scikit-learn side SKIPPED (not installed) !!!"
fi
"$PY" - "$gam2" "$stages" "$pf_sum" "$r_line" "$f2" "$f0" "$fm1" "$fm2" "$sk_line" <<'EOF'
import re, sys
def kv(line):
    return {k: v for k, v in re.findall(r"(\w+)=(\S+)", line)}
gam2, st, pfsum, r, f2, f0, fm1, fm2, sk = (kv(a) for a in sys.argv[1:])
if r:
    r_e2e = float(r["read_s"]) + float(r["predict_s"]) + float(r["write_s"])
    print("ratio gam: CLI end to end (2 threads) %.1fx fread+predict.gam+fwrite, %.1fx predict.gam "
          "alone; in memory gam_predict (1 thread) %.1fx predict.gam"
          % (r_e2e / float(gam2["wall_s"]), float(r["predict_s"]) / float(gam2["wall_s"]),
             float(r["predict_s"]) / float(st["score_s"])))
    print("checksum gam: plantfit sum %s, mgcv sum %s, relative difference %.2e"
          % (pfsum["sum"], r["sum"], float(pfsum["sum"]) / float(r["sum"]) - 1))
if sk:
    print("ratio iforest: CLI end to end (2 threads) %.1fx read_csv+score_samples+to_csv with "
          "top_features, %.1fx without; in memory iforest_score %.1fx score_samples on 1 thread, "
          "%.1fx on 2"
          % (float(sk["e2e_s"]) / float(f2["wall_s"]), float(sk["e2e_s"]) / float(f0["wall_s"]),
             float(sk["score_s"]) / float(fm1["score_s"]), float(sk["score_s"]) / float(fm2["score_s"])))
    print("checksum iforest: plantfit sum(s) %s, sklearn %s, relative difference %.2e "
          "(different random forests)" % (fm1["checksum"], sk["checksum"],
                                           float(fm1["checksum"]) / float(sk["checksum"]) - 1))
EOF
echo "predict: load average after $(cut -d' ' -f1-3 /proc/loadavg)"
