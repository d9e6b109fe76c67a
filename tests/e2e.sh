#!/bin/bash
# End-to-end tests of `plantfit train` against the SageMaker training contract:
# each case lays out a fresh /opt/ml-shaped base directory in a temporary
# folder, runs the real binary, and checks its exit status, outputs and
# artifacts.  The bad-input catalogue checks, for every case: exit status 1,
# a failure file naming the file/line/column/key/value at fault, nothing in
# model/, and (under ASan/UBSan, PLANTFIT=build-asan/plantfit) no sanitizer
# report.  Ends with "e2e: N passed, N failed".
#
# Usage: PLANTFIT=build/plantfit bash tests/e2e.sh [filter]
. "$(dirname "$0")/e2e_lib.sh"

# ---------------------------------------------------------------- good runs

if want basic_csv; then
    begin basic_csv
    sample_csv "$BASE/input/data/train/plant.csv" 50
    GIT_COMMIT=abc123def TRAINING_JOB_NAME=job-42 run_train
    expect_ok
    m="$BASE/model/manifest.json"
    [ "$(json "$m" 'd["commit"]["id"]')" = abc123def ] || fail "commit id not from GIT_COMMIT"
    [ "$(json "$m" 'd["commit"]["source"]')" = GIT_COMMIT ] || fail "commit source"
    [ "$(json "$m" 'd["training_job_name"]')" = job-42 ] || fail "TRAINING_JOB_NAME not recorded"
    sha=$(sha256sum "$BASE/input/data/train/plant.csv" | cut -d' ' -f1)
    [ "$(json "$m" 'd["data"]["train"]["files"][0]["sha256"]')" = "$sha" ] || fail "sha256 differs from sha256sum"
    [ "$(json "$m" 'd["data"]["train"]["files"][0]["bytes"]')" = "$(stat -c %s "$BASE/input/data/train/plant.csv")" ] || fail "byte count"
    [ "$(json "$m" 'd["data"]["train"]["files"][0]["rows"]')" = 50 ] || fail "row count"
    [ "$(json "$m" 'len(d["data"]["fingerprint_sha256"])')" = 64 ] || fail "fingerprint"
    [ "$(json "$m" 'd["hyperparameters"]["algorithm"]')" = profile ] || fail "defaults not recorded"
    [ "$(json "$m" 'd["libraries"]["hdf5"]')" != "" ] || fail "library versions"
    [ "$(json "$BASE/output/data/metrics.json" 'd["metrics"]["train.rows"]')" = 50 ] || fail "metrics.json rows"
    grep -qE '^#metric train\.rows=50;$' "$OUT" || fail "no metric line '#metric train.rows=50;' on stdout: $(head -3 "$OUT")"
    # Every stdout line is a metric line matching the documented regex.
    if grep -vqE '^#metric [A-Za-z0-9_.:-]+=[-+0-9.eE]+;$' "$OUT"; then fail "non-metric line on stdout"; fi
    grep -q 'rows' "$ERR" || fail "no progress on stderr"
    grep -qE 'MB/s' "$ERR" || fail "no MB/s on stderr"
    [ -f "$BASE/model/profile.json" ] || fail "no profile.json"
    [ "$(json "$BASE/model/profile.json" 'd["columns"][1]["min"]')" = 300.25 ] || fail "profile min"
    ls -A "$BASE/model" | grep -q '^\.' && fail "temporary file left in model/"
    end
fi

if want commit_from_hyperparameter; then
    begin commit_from_hyperparameter
    sample_csv "$BASE/input/data/train/a.csv"
    echo '{"commit_id": "0123456789", "sagemaker_program": "x", "_tuning_objective_metric": "m"}' \
        > "$BASE/input/config/hyperparameters.json"
    GIT_COMMIT=fromenv run_train
    expect_ok
    m="$BASE/model/manifest.json"
    [ "$(json "$m" 'd["commit"]["id"]')" = 0123456789 ] || fail "commit_id hyperparameter must win, verbatim"
    [ "$(json "$m" 'd["commit"]["source"]')" = hyperparameter ] || fail "commit source"
    [ "$(json "$m" '",".join(sorted(d["ignored_hyperparameters"]))')" = "_tuning_objective_metric,sagemaker_program" ] || fail "ignored keys"
    end
fi

if want commit_unknown; then
    begin commit_unknown
    sample_csv "$BASE/input/data/train/a.csv"
    run_train
    expect_ok
    [ "$(json "$BASE/model/manifest.json" 'd["commit"]["id"]')" = None ] || fail "commit id invented"
    [ "$(json "$BASE/model/manifest.json" 'd["commit"]["source"]')" = unknown ] || fail "commit source"
    end
fi

if want many_files; then
    begin many_files
    d="$BASE/input/data/train"
    sample_csv "$d/b.csv" 10
    sample_csv "$d/a.csv" 20
    mkdir -p "$d/sub"
    sample_csv "$d/sub/c.csv" 5
    gzip -c "$d/b.csv" > "$d/d.csv.gz"
    echo "junk" > "$d/.hidden"
    : > "$d/_SUCCESS"
    run_train
    expect_ok
    m="$BASE/model/manifest.json"
    [ "$(json "$m" '" ".join(f["path"] for f in d["data"]["train"]["files"])')" = "a.csv b.csv d.csv.gz sub/c.csv" ] ||
        fail "files not read in sorted order / markers not skipped: $(json "$m" '[f["path"] for f in d["data"]["train"]["files"]]')"
    [ "$(json "$m" 'd["data"]["train"]["rows"]')" = 45 ] || fail "rows"
    sha=$(sha256sum "$d/d.csv.gz" | cut -d' ' -f1)
    [ "$(json "$m" 'd["data"]["train"]["files"][2]["sha256"]')" = "$sha" ] || fail "gz fingerprint must be of the stored bytes"
    end
fi

if want header_absent; then
    begin header_absent
    printf '1.5,2,3\n2.5,3,4\n3.5,4,5\n' > "$BASE/input/data/train/x.csv"
    echo '{"train": {"ContentType": "text/csv;header=absent;label_size=1"}}' > "$BASE/input/config/inputdataconfig.json"
    run_train
    expect_ok
    [ "$(json "$BASE/model/manifest.json" '",".join(c["name"] for c in d["data"]["train"]["columns"])')" = "target,x1,x2" ] ||
        fail "header=absent names"
    end
fi

if want delimiter_semicolon; then
    begin delimiter_semicolon
    printf 'a;b\n1,5;2\n3;4\n' > "$BASE/input/data/train/x.csv"
    echo '{"csv_delimiter": ";", "categorical": "a"}' > "$BASE/input/config/hyperparameters.json"
    run_train
    expect_ok
    [ "$(json "$BASE/model/profile.json" 'sorted(d["columns"][0]["levels"])')" = "['1,5', '3']" ] ||
        fail "categorical levels with ; delimiter: $(json "$BASE/model/profile.json" 'd["columns"][0]')"
    end
fi

if want crlf_bom_quotes; then
    begin crlf_bom_quotes
    printf '\xef\xbb\xbf"y","t"\r\n"1.5",2\r\nNA,3\r\n,4\r\n' > "$BASE/input/data/train/x.csv"
    run_train
    expect_ok
    [ "$(json "$BASE/model/profile.json" 'd["columns"][0]["name"], d["columns"][0]["missing"]')" = "y 2" ] ||
        fail "BOM/CRLF/NA: $(json "$BASE/model/profile.json" 'd["columns"][0]')"
    end
fi

if want hdf5_channel; then
    begin hdf5_channel
    sample_csv "$BASE/plant.csv" 30
    "$PLANTFIT" convert "$BASE/plant.csv" "$BASE/input/data/train/plant.h5" 2> "$BASE.convert.err" ||
        fail "convert failed: $(cat "$BASE.convert.err")"
    echo '{"train": {"ContentType": "application/x-hdf5"}}' > "$BASE/input/config/inputdataconfig.json"
    run_train
    expect_ok
    [ "$(json "$BASE/model/manifest.json" 'd["data"]["train"]["rows"]')" = 30 ] || fail "rows from HDF5"
    [ "$(json "$BASE/model/manifest.json" 'd["data"]["train"]["files"][0]["format"]')" = hdf5 ] || fail "format"
    end
fi

if want validation_channel; then
    begin validation_channel
    mkdir -p "$BASE/input/data/validation"
    sample_csv "$BASE/input/data/train/a.csv" 40
    sample_csv "$BASE/input/data/validation/v.csv" 12
    echo '{"training": {"ContentType": "text/csv"}, "validation": {"ContentType": "text/csv"}}' \
        > "$BASE/input/config/inputdataconfig.json"
    mv "$BASE/input/data/train" "$BASE/input/data/training"
    run_train
    expect_ok
    grep -qE '^#metric validation\.rows=12;$' "$OUT" || fail "validation metric line"
    end
fi

if want pipe_mode; then
    begin pipe_mode
    rmdir "$BASE/input/data/train"
    echo '{"train": {"ContentType": "text/csv", "TrainingInputMode": "Pipe"}}' > "$BASE/input/config/inputdataconfig.json"
    mkfifo "$BASE/input/data/train_0"
    sample_csv "$BASE/src.csv" 25
    (cat "$BASE/src.csv" > "$BASE/input/data/train_0") &
    run_train
    wait
    expect_ok
    [ "$(json "$BASE/model/manifest.json" 'd["data"]["train"]["rows"]')" = 25 ] || fail "rows through the FIFO"
    [ "$(json "$BASE/model/manifest.json" 'd["data"]["train"]["input_mode"]')" = Pipe ] || fail "mode"
    end
fi

if want base_dir_env; then
    begin base_dir_env
    sample_csv "$BASE/input/data/train/a.csv"
    SAGEMAKER_BASE_DIR="$BASE" "$PLANTFIT" train > "$BASE.stdout" 2> "$BASE.stderr"
    RC=$?
    expect_ok
    end
fi

if want invoked_as_train; then
    begin invoked_as_train
    sample_csv "$BASE/input/data/train/a.csv"
    make -s install PREFIX="$ROOT/prefix" B="$(dirname "$PLANTFIT")" > /dev/null 2>&1 ||
        ln -sf "$PLANTFIT" "$ROOT/prefix-train" # fallback when not run from the repo
    TRAIN="$ROOT/prefix/bin/train"
    [ -x "$TRAIN" ] || { mkdir -p "$ROOT/prefix/bin"; ln -sf "$PLANTFIT" "$TRAIN"; }
    SAGEMAKER_BASE_DIR="$BASE" "$TRAIN" > "$BASE.stdout" 2> "$BASE.stderr"
    RC=$?
    expect_ok
    end
fi

if want rerun_clears_failure; then
    begin rerun_clears_failure
    echo 'a,b' > "$BASE/input/data/train/a.csv"
    run_train
    [ "$RC" = 1 ] || fail "first run should fail"
    sample_csv "$BASE/input/data/train/a.csv"
    run_train
    expect_ok
    end
fi

if want reproducible; then
    begin reproducible
    sample_csv "$BASE/input/data/train/a.csv" 100
    run_train
    cp "$BASE/model/profile.json" "$BASE.p1"
    run_train
    cmp -s "$BASE/model/profile.json" "$BASE.p1" || fail "profile.json differs between identical runs"
    end
fi

if want sigterm_stops; then
    begin sigterm_stops
    rmdir "$BASE/input/data/train"
    echo '{"train": {"ContentType": "text/csv", "TrainingInputMode": "Pipe"}}' > "$BASE/input/config/inputdataconfig.json"
    mkfifo "$BASE/input/data/train_0"   # nobody writes: train blocks reading it
    "$PLANTFIT" train --base-dir "$BASE" > "$BASE.stdout" 2> "$BASE.stderr" &
    pid=$!
    sleep 1
    t0=$(date +%s.%N)
    kill -TERM $pid
    wait $pid
    RC=$?
    t1=$(date +%s.%N)
    [ "$RC" = 143 ] || fail "exit status $RC after SIGTERM, want 143"
    grep -q 'stopped' "$BASE/output/failure" 2>/dev/null || fail "failure file does not say stopped"
    grep -q 'SIGTERM' "$BASE/output/failure" 2>/dev/null || fail "failure file does not name SIGTERM"
    awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 3) }' || fail "took $(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}') s to stop"
    [ -z "$(ls -A "$BASE/model")" ] || fail "model/ not empty"
    end
fi


if want gam_train; then
    begin gam_train
    gam_csv "$BASE/input/data/train/plant.csv" 400
    mkdir -p "$BASE/input/data/validation"
    gam_csv "$BASE/input/data/validation/v.csv" 120
    echo '{"train": {}, "validation": {}}' > "$BASE/input/config/inputdataconfig.json"
    echo '{"algorithm": "gam", "formula": "y ~ s(x) + s(z, k=8) + factor(g)", "categorical": "g"}' \
        > "$BASE/input/config/hyperparameters.json"
    run_train
    expect_ok
    [ -f "$BASE/model/gam.h5" ] || fail "no model/gam.h5"
    for k in train.rmse train.r2 train.edf train.reml validation.rmse validation.r2 train.converged; do
        grep -qE "^#metric ${k//./\\.}=[-+0-9.eE]+;$" "$OUT" || fail "no metric line for $k"
    done
    [ "$(json "$BASE/model/manifest.json" '[f["name"] for f in d["model_files"]]')" = "['gam.h5']" ] ||
        fail "manifest model_files"
    sha=$(sha256sum "$BASE/model/gam.h5" | cut -d' ' -f1)
    [ "$(json "$BASE/model/manifest.json" 'd["model_files"][0]["sha256"]')" = "$sha" ] || fail "gam.h5 sha256"
    [ "$(json "$BASE/output/data/metrics.json" 'd["metrics"]["train.converged"]')" = 1 ] || fail "not converged"
    end
fi

if want iforest_train; then
    begin iforest_train
    "$PY" - "$BASE/input/data/train/plant.csv" <<'PYEOF'
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
    echo '{"algorithm": "iforest", "label": "label", "seed": "7", "contamination": "0.02"}' \
        > "$BASE/input/config/hyperparameters.json"
    run_train
    expect_ok
    [ -f "$BASE/model/iforest.h5" ] || fail "no model/iforest.h5"
    for k in train.anomaly_rate train.roc_auc train.pr_auc train.precision train.recall train.threshold; do
        grep -qE "^#metric ${k//./\\.}=[-+0-9.eE]+;$" "$OUT" || fail "no metric line for $k"
    done
    auc=$(json "$BASE/output/data/metrics.json" 'd["metrics"]["train.roc_auc"]')
    "$PY" -c "import sys; sys.exit(0 if float('$auc') > 0.9 else 1)" || fail "ROC AUC $auc on planted anomalies"
    rate=$(json "$BASE/output/data/metrics.json" 'd["metrics"]["train.anomaly_rate"]')
    "$PY" -c "import sys; sys.exit(0 if abs(float('$rate') - 0.02) < 0.01 else 1)" || fail "anomaly rate $rate for contamination 0.02"
    # (predict with this model: tests/e2e_predict.sh, case predict_forest)
    # the same seed gives the same model file, byte for byte
    cp "$BASE/model/iforest.h5" "$BASE.m1"
    run_train
    cmp -s "$BASE/model/iforest.h5" "$BASE.m1" || fail "iforest.h5 differs between identical runs"
    end
fi

if want gam_predict; then
    begin gam_predict
    gam_csv "$BASE/input/data/train/plant.csv" 300
    echo '{"algorithm": "gam", "formula": "y ~ s(x) + s(z) + factor(g)", "categorical": "g"}' \
        > "$BASE/input/config/hyperparameters.json"
    run_train
    expect_ok
    "$PLANTFIT" predict --model "$BASE/model" --input "$BASE/input/data/train/plant.csv" \
        --output "$BASE/pred.csv" 2> "$BASE.pred.err" || fail "predict failed: $(cat "$BASE.pred.err")"
    [ "$(head -1 "$BASE/pred.csv")" = "prediction" ] || fail "predict header"
    [ "$(($(wc -l < "$BASE/pred.csv") - 1))" = 300 ] || fail "predict rows"
    printf 'x,z,g\n0.5,0.5,C\n' > "$BASE/unseen.csv"
    "$PLANTFIT" predict --model "$BASE/model" --input "$BASE/unseen.csv" --output "$BASE/p2.csv" \
        2> "$BASE.p2.err" && fail "an unseen factor level must fail"
    grep -q '"C"' "$BASE.p2.err" || fail "error should name the level: $(cat "$BASE.p2.err")"
    [ ! -e "$BASE/p2.csv" ] || fail "partial predict output left behind"
    end
fi

if want iforest_path_correction; then
    # path_correction=asymptotic: recorded, written as iforest.h5 format 2,
    # scored (predict) with scikit-learn's c(n): other scores than exact.
    begin iforest_path_correction
    sample_csv "$BASE/input/data/train/plant.csv" 300
    echo '{"algorithm": "iforest", "seed": "3", "path_correction": "asymptotic"}' \
        > "$BASE/input/config/hyperparameters.json"
    run_train
    expect_ok
    [ "$(json "$BASE/model/manifest.json" 'd["hyperparameters"]["path_correction"]')" = asymptotic ] ||
        fail "path_correction not recorded"
    "$PY" -c "import h5py,sys; f=h5py.File(sys.argv[1]); sys.exit(0 if f.attrs['format_version'] == 2 and f.attrs['correction'] == 1 else 1)" \
        "$BASE/model/iforest.h5" || fail "iforest.h5 is not format 2 with correction 1"
    sample_csv "$BASE/in.csv" 30
    "$PLANTFIT" predict --model "$BASE/model" --input "$BASE/in.csv" --output "$BASE/asym.csv" 2> /dev/null ||
        fail "predict with an asymptotic forest"
    echo '{"algorithm": "iforest", "seed": "3"}' > "$BASE/input/config/hyperparameters.json"
    rm -rf "$BASE/model"/* "$BASE/output"
    run_train
    expect_ok
    "$PLANTFIT" predict --model "$BASE/model" --input "$BASE/in.csv" --output "$BASE/exact.csv" 2> /dev/null ||
        fail "predict with an exact forest"
    "$PY" - "$BASE/asym.csv" "$BASE/exact.csv" <<'PYEOF' || fail "asymptotic and exact scores should differ on the same trees"
import csv, sys
a = [float(r["score"]) for r in csv.DictReader(open(sys.argv[1]))]
e = [float(r["score"]) for r in csv.DictReader(open(sys.argv[2]))]
sys.exit(0 if len(a) == len(e) == 30 and sum(x != y for x, y in zip(a, e)) == 30 else 1)
PYEOF
    end
fi

# ------------------------------------------------------------ bad input


if want bad_missing_hyperparameters; then
    bad missing_hyperparameters
    rm "$BASE/input/config/hyperparameters.json"
    run_train; expect_fail 'hyperparameters\.json' 'missing|No such file'; end
fi
if want bad_invalid_hyperparameters; then
    bad invalid_hyperparameters
    printf '{"threads": "2",\n "seed": }\n' > "$BASE/input/config/hyperparameters.json"
    run_train; expect_fail 'hyperparameters\.json' 'line 2'; end
fi
if want bad_unknown_hyperparameter; then
    bad unknown_hyperparameter
    echo '{"n_treez": "100"}' > "$BASE/input/config/hyperparameters.json"
    run_train; expect_fail 'n_treez' 'valid hyperparameters: .*algorithm'; end
fi
if want bad_wrong_type; then
    bad wrong_type
    echo '{"threads": "many"}' > "$BASE/input/config/hyperparameters.json"
    run_train; expect_fail '"threads"' 'many' 'integer'; end
fi
if want bad_too_many_hyperparameters; then
    bad too_many_hyperparameters
    "$PY" -c 'import json; print(json.dumps({"k%d" % i: "1" for i in range(101)}))' > "$BASE/input/config/hyperparameters.json"
    run_train; expect_fail '101' '100'; end
fi
if want bad_value_too_long; then
    bad value_too_long
    "$PY" -c 'import json; print(json.dumps({"commit_id": "x" * 257}))' > "$BASE/input/config/hyperparameters.json"
    run_train; expect_fail 'commit_id' '256'; end
fi
if want bad_bad_algorithm; then
    bad bad_algorithm
    echo '{"algorithm": "xgboost"}' > "$BASE/input/config/hyperparameters.json"
    run_train; expect_fail '"algorithm"' 'xgboost' 'profile'; end
fi
if want bad_missing_train_channel; then
    bad missing_train_channel
    echo '{"validation": {"ContentType": "text/csv"}}' > "$BASE/input/config/inputdataconfig.json"
    run_train; expect_fail '"train"' 'inputdataconfig\.json'; end
fi
if want bad_missing_inputdataconfig; then
    bad missing_inputdataconfig
    rm "$BASE/input/config/inputdataconfig.json"
    run_train; expect_fail 'inputdataconfig\.json'; end
fi
if want bad_missing_channel_dir; then
    bad missing_channel_dir
    rm -r "$BASE/input/data/train"
    run_train; expect_fail 'channel train' 'does not exist'; end
fi
if want bad_empty_channel; then
    bad empty_channel
    rm "$BASE/input/data/train/plant.csv"
    : > "$BASE/input/data/train/_SUCCESS"
    run_train; expect_fail 'channel train is empty'; end
fi
if want bad_ragged_row; then
    bad ragged_row
    printf 'a,b,c\n1,2,3\n4,5\n' > "$BASE/input/data/train/plant.csv"
    run_train; expect_fail 'plant\.csv' 'line 3'; end
fi
if want bad_non_numeric; then
    bad non_numeric
    printf 'a,temp,c\n1,2,3\n4,hot,6\n' > "$BASE/input/data/train/plant.csv"
    run_train; expect_fail 'plant\.csv' 'line 3' 'temp' '"hot"'; end
fi
if want bad_header_only; then
    bad header_only
    printf 'a,b,c\n' > "$BASE/input/data/train/plant.csv"
    run_train; expect_fail 'plant\.csv' 'no data rows'; end
fi
if want bad_empty_file; then
    bad empty_file
    : > "$BASE/input/data/train/plant.csv"
    run_train; expect_fail 'plant\.csv' 'empty'; end
fi
if want bad_duplicate_columns; then
    bad duplicate_columns
    printf 'a,b,a\n1,2,3\n' > "$BASE/input/data/train/plant.csv"
    run_train; expect_fail 'plant\.csv' 'duplicate column name "a"'; end
fi
if want bad_different_headers; then
    bad different_headers
    printf 'y,temp,pressure\n1,2,3\n' > "$BASE/input/data/train/z.csv"
    run_train; expect_fail 'z\.csv' 'pressure|flow'; end
fi
if want bad_not_hdf5; then
    bad not_hdf5
    echo 'this is not HDF5' > "$BASE/input/data/train/data.h5"
    rm "$BASE/input/data/train/plant.csv"
    run_train; expect_fail 'data\.h5' 'not an HDF5 file'; end
fi
if want bad_truncated_gz; then
    bad truncated_gz
    sample_csv "$BASE/big.csv" 3000
    gzip -c "$BASE/big.csv" | head -c 2000 > "$BASE/input/data/train/plant.csv.gz"
    rm "$BASE/input/data/train/plant.csv"
    run_train; expect_fail 'plant\.csv\.gz' 'truncated|corrupt|unexpected end'; end
fi
if want bad_unreadable_file; then
    bad unreadable_file
    ln -s /nonexistent/plant2.csv "$BASE/input/data/train/plant2.csv"
    run_train; expect_fail 'plant2\.csv'; end
fi
if want bad_all_missing_column; then
    bad all_missing_column
    printf 'a,b\n1,\n2,NA\n3,NaN\n' > "$BASE/input/data/train/plant.csv"
    run_train; expect_fail 'column "b"' 'missing in all 3 rows'; end
fi
if want bad_model_dir_unwritable; then
    bad model_dir_unwritable
    rmdir "$BASE/model"
    echo "a file, not a directory" > "$BASE/model"
    run_train
    expect_fail 'model directory' "$BASE/model"
    [ "$(cat "$BASE/model")" = "a file, not a directory" ] || fail "model file was touched"
    end
fi
if want bad_unknown_content_type; then
    bad unknown_content_type
    echo '{"train": {"ContentType": "application/x-parquet"}}' > "$BASE/input/config/inputdataconfig.json"
    run_train; expect_fail 'application/x-parquet'; end
fi
if want bad_target_missing; then
    bad target_missing
    echo '{"target": "yield"}' > "$BASE/input/config/hyperparameters.json"
    run_train; expect_fail '"target"' 'yield'; end
fi
if want bad_validation_schema; then
    bad validation_schema
    mkdir -p "$BASE/input/data/validation"
    printf 'y,temp\n1,2\n' > "$BASE/input/data/validation/v.csv"
    echo '{"train": {}, "validation": {}}' > "$BASE/input/config/inputdataconfig.json"
    run_train; expect_fail 'validation' 'flow'; end
fi

if want bad_gam_unknown_column; then
    bad gam_unknown_column
    echo '{"algorithm": "gam", "formula": "y ~ s(pressure)"}' > "$BASE/input/config/hyperparameters.json"
    run_train; expect_fail 'pressure' 'columns are: y, temp, flow'; end
fi
if want bad_gam_formula_syntax; then
    bad gam_formula_syntax
    echo '{"algorithm": "gam", "formula": "y ~ s(temp, q=3)"}' > "$BASE/input/config/hyperparameters.json"
    run_train; expect_fail 'unknown option "q"'; end
fi
if want bad_gam_k_too_large; then
    bad gam_k_too_large
    echo '{"algorithm": "gam", "formula": "y ~ s(temp, k=40)"}' > "$BASE/input/config/hyperparameters.json"
    run_train; expect_fail 's\(temp\)' 'distinct values' 'k = 40'; end
fi
if want bad_gam_no_formula; then
    bad gam_no_formula
    echo '{"algorithm": "gam"}' > "$BASE/input/config/hyperparameters.json"
    run_train; expect_fail '"formula"'; end
fi
if want bad_gam_family; then
    bad gam_family
    echo '{"algorithm": "gam", "formula": "y ~ s(temp)", "family": "tweedie"}' > "$BASE/input/config/hyperparameters.json"
    run_train; expect_fail '"family"' 'tweedie'; end
fi
if want bad_gam_nested_terms; then
    bad gam_nested_terms
    echo '{"algorithm": "gam", "formula": "y ~ temp + s(temp) + s(flow)"}' > "$BASE/input/config/hyperparameters.json"
    run_train; expect_fail 'temp is nested in s\(temp\)'; end
fi
if want bad_iforest_categorical_feature; then
    bad iforest_categorical_feature
    echo '{"algorithm": "iforest", "categorical": "y", "features": "y,temp"}' > "$BASE/input/config/hyperparameters.json"
    run_train; expect_fail '"features"' 'column "y" is categorical'; end
fi
if want bad_iforest_unknown_feature; then
    bad iforest_unknown_feature
    echo '{"algorithm": "iforest", "features": ["temp", "pressure"]}' > "$BASE/input/config/hyperparameters.json"
    run_train; expect_fail '"features"' 'pressure'; end
fi
if want bad_iforest_contamination; then
    bad iforest_contamination
    echo '{"algorithm": "iforest", "contamination": "0.7"}' > "$BASE/input/config/hyperparameters.json"
    run_train; expect_fail '"contamination"' '0.7' '\(0, 0.5\]'; end
fi
if want bad_iforest_missing_value; then
    bad iforest_missing_value
    printf 'y,temp,flow\n1,2,3\n2,NA,4\n3,4,5\n' > "$BASE/input/data/train/plant.csv"
    echo '{"algorithm": "iforest"}' > "$BASE/input/config/hyperparameters.json"
    run_train; expect_fail 'row 2' 'temp' 'missing'; end
fi
if want bad_formula_without_gam; then
    bad formula_without_gam
    echo '{"formula": "y ~ s(temp)"}' > "$BASE/input/config/hyperparameters.json"
    run_train; expect_fail '"formula" applies to algorithm=gam'; end
fi
if want bad_path_correction; then
    bad path_correction
    echo '{"algorithm": "iforest", "path_correction": "approx"}' > "$BASE/input/config/hyperparameters.json"
    run_train; expect_fail 'path_correction' 'approx' 'exact'; end
fi
if want bad_gam_binomial_domain; then
    bad gam_binomial_domain
    echo '{"algorithm": "gam", "formula": "temp ~ s(flow)", "family": "binomial"}' > "$BASE/input/config/hyperparameters.json"
    run_train; expect_fail 'temp' 'binomial'; end
fi

e2e_finish e2e
