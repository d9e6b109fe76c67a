#!/usr/bin/env bash
# gam_fit.sh: GAM fit benchmark, issue 3 "Performance" (not a test).  Called
# by tests/bench/run.sh.
#
# Model: Gaussian, y ~ s(x1, k=20) + ... + s(x8, k=20), P-splines (mgcv
# bs = "ps"), REML.  For each size n in GAM_BENCH_SIZES (default
# "1e4 1e5 1e6") the data (x1..x8 uniform, y = sum of 7 smooth functions +
# N(0, 1); see bench_gamdata.c) are written once, seed 42, %.6g, to
# $BENCH_DIR/gam_<n>.csv (about 80 bytes a row: 80 MB at 1e6, 800 MB at 1e7).
# Then, in this one run and on a warm page cache, one line per case:
#   plantfit   `plantfit train` end to end (read CSV, fit, write model and
#              manifest), algorithm=gam, threads=2; read_s and fit_s are the
#              manifest's timings_seconds "read train" and "fit: estimation"
#              (the model fit alone, as R's system.time around bam; the whole
#              "fit" stage, which adds the training metrics and writing
#              gam.h5, is printed beside it as fit_stage);
#              e2e_s is the wall time of the process.
#   mgcv-gam   gam(..., method = "REML")                      n <= 1e5 only
#   mgcv-bam   bam(..., method = "fREML")                     n <= 1e6
#   mgcv-bamd  bam(..., discrete = TRUE, nthreads = 2)        n <= 1e6
#              (R runs at 1e7 only with BENCH_BIG=1: they take very long)
#              read_s is data.table::fread(nThread = 2), fit_s the fit alone
#              (system.time elapsed); e2e_s = read_s + fit_s (R start-up and
#              loading mgcv are not counted).
# Each case runs in its own process; rss_MiB is its peak RSS (/usr/bin/time
# %M).  reml is fit$gcv.ubre (plantfit: metric train.reml; bam's fREML score
# is on its own scale), edf the total EDF.  The checksum is of the fitted
# values at the training rows: their sum, the first three and the RMSE
# against y (plantfit: the written model/gam.h5 loaded and predicted, by
# `plantfit predict` when it exists, else by bench_gamdata --predict, the
# line says which; mgcv: fitted(fit)).  Then per n: the REML/EDF agreement, and the ratios issue 3
# sets goals for at n = 1e6: fit vs bam(discrete) (>= 20x), end to end vs
# fread + bam(discrete) (>= 8x), peak RSS vs CSV size (<= 3x), and fit time
# vs the time to stream the data once (the read stage).
#
# Environment: B (build dir, default build), BENCH_DIR (default $B/bench),
# GAM_BENCH_SIZES (e.g. "1e4 1e5"), BENCH_BIG=1 (R at 1e7 too).  A size of
# 1e7 or more is skipped, loudly, when BENCH_DIR has less than 10 GB free.
set -euo pipefail
cd "$(dirname "$0")/../.."

B=${B:-build}
BENCH_DIR=${BENCH_DIR:-$B/bench}
SIZES=${GAM_BENCH_SIZES:-1e4 1e5 1e6}
BIG=${BENCH_BIG:-0}
PF=$B/plantfit
GEN=$B/bench_gamdata
TIME=/usr/bin/time
REF=tests/bench/gam_ref.R
FORMULA="y ~ s(x1,k=20) + s(x2,k=20) + s(x3,k=20) + s(x4,k=20)"
FORMULA+=" + s(x5,k=20) + s(x6,k=20) + s(x7,k=20) + s(x8,k=20)"

for b in "$PF" "$GEN"; do
    if [ ! -x "$b" ]; then
        echo "gam_fit: $b is missing (run: make all bench-bin)" >&2
        exit 1
    fi
done
if [ ! -x "$TIME" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
        echo "gam_fit: installing the Debian package time (for /usr/bin/time)" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time > /dev/null
    fi
    if [ ! -x "$TIME" ]; then
        echo "gam_fit: $TIME is missing (apt-get install time)" >&2
        exit 1
    fi
fi
HAVE_R=0
if command -v Rscript > /dev/null &&
    Rscript -e 'suppressMessages({library(data.table); library(mgcv)})' > /dev/null 2>&1; then
    HAVE_R=1
else
    echo "gam_fit: mgcv side SKIPPED (Rscript, mgcv or data.table missing)"
fi
HAVE_PREDICT=0
if "$PF" --help 2>&1 | grep -qE '^ +predict '; then
    HAVE_PREDICT=1
fi
mkdir -p "$BENCH_DIR"
# Times mean little while other work runs on the machine: say how busy it is.
load() { cut -d' ' -f1 /proc/loadavg; }
RVER=$(Rscript -e 'cat("mgcv", format(packageVersion("mgcv")),
                       "data.table", format(packageVersion("data.table")))' 2> /dev/null ||
    echo none)
echo "gam_fit: $(nproc) CPUs, load average $(load) at the start; R: $RVER"

kv() {   # kv LINE KEY: the value of KEY=value in LINE
    sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" <<<"$1"
}
now_ns() { date +%s%N; }

# Column headings; every case line follows with the same fields.
printf "%-9s %-10s %8s %8s %8s %8s %16s %10s  %s\n" n impl read_s fit_s e2e_s rss_MiB reml edf \
    "checksum of fitted values (sum, first 3, rmse)"
line() {   # line N IMPL READ FIT E2E RSS REML EDF CHECKSUM
    printf "%-9s %-10s %8.3f %8.3f %8.3f %8.1f %16.10g %10.4f  %s\n" "$@"
}

# plantfit's checksum of the model in RUN/model on FILE, by `plantfit predict`
# when it exists.  predict is given the x columns only, through a pipe: given
# the file itself it reads y, a column the model does not use, as categorical
# text, and with ~n distinct levels that read is quadratic (hours at 1e6).
pf_checksum() {   # pf_checksum RUN FILE E2E_SECONDS
    local out limit
    limit=$(awk -v e="$3" 'BEGIN { printf "%d", 60 + 20 * e }')
    if [ "$HAVE_PREDICT" = 1 ] &&
        timeout "$limit" "$PF" predict --model "$1/model" --input <(cut -d, -f1-8 "$2") \
            --output "$1/preds.csv" > /dev/null 2> "$1/predict.stderr"; then
        # The fitted values: the column named prediction (or fit, ...), or the only one.
        out=$(paste -d, "$1/preds.csv" <(cut -d, -f9 "$2") | awk -F, '
            NR == 1 { for (i = 1; i < NF; i++)
                          if ($i ~ /^"?(fit|fitted|pred|prediction|predicted|yhat)"?$/) c = i
                      if (!c && NF == 2) c = 1
                      next }
            c { s += $c; d = $NF - $c; q += d * d; n++; if (n <= 3) f[n] = $c }
            END { if (n >= 3)
                      printf "sum=%.10e f1=%.6f f2=%.6f f3=%.6f rmse=%.8f rows=%d\n",
                             s, f[1], f[2], f[3], sqrt(q / n), n }')
        if [ -n "$out" ]; then
            echo "$out via=plantfit-predict"
            return 0
        fi
    fi
    [ "$HAVE_PREDICT" = 1 ] && echo "gam_fit: plantfit predict failed or timed out" \
        "($1/predict.stderr); checksum by bench_gamdata --predict" >&2
    echo "$("$GEN" --predict "$1/model/gam.h5" "$2" --threads 2) via=bench_gamdata"
}

checksum_of() {   # the checksum fields of a key=value line
    echo "sum=$(kv "$1" sum) f=$(kv "$1" f1),$(kv "$1" f2),$(kv "$1" f3) rmse=$(kv "$1" rmse)"
}

declare -A R   # R[n:impl:field]

for size in $SIZES; do
    ROWS=$(awk -v s="$size" 'BEGIN { printf "%d", s + 0 }')
    if [ "$ROWS" -lt 100 ]; then
        echo "gam_fit: bad size \"$size\" in GAM_BENCH_SIZES" >&2
        exit 1
    fi
    FILE=$BENCH_DIR/gam_${ROWS}.csv
    if [ ! -s "$FILE" ]; then
        if [ "$ROWS" -ge 10000000 ]; then
            FREE_KB=$(df -Pk "$BENCH_DIR" | awk 'NR == 2 { print $4 }')
            if [ "$FREE_KB" -lt 10000000 ]; then
                echo "######## gam_fit: n=$size SKIPPED: only $((FREE_KB / 1000000)) GB free in" \
                     "$BENCH_DIR (10 GB needed) ########"
                continue
            fi
        fi
        "$GEN" --generate "$FILE.tmp" --rows "$ROWS" --seed 42
        mv "$FILE.tmp" "$FILE"
    fi
    BYTES=$(stat -c %s "$FILE")
    cat "$FILE" > /dev/null   # warm the page cache for every contender alike

    # --- plantfit train, end to end
    RUN=$BENCH_DIR/gam_run_${ROWS}
    rm -rf "$RUN"
    mkdir -p "$RUN/input/config" "$RUN/input/data/train"
    ln -s "$(readlink -f "$FILE")" "$RUN/input/data/train/data.csv"
    printf '{"algorithm": "gam", "formula": "%s", "family": "gaussian", "method": "REML", %s}\n' \
        "$FORMULA" '"threads": "2"' > "$RUN/input/config/hyperparameters.json"
    echo '{"train": {"ContentType": "text/csv", "TrainingInputMode": "File"}}' \
        > "$RUN/input/config/inputdataconfig.json"
    t0=$(now_ns)
    if "$TIME" -f %M -o "$RUN/rss_kb" "$PF" train --base-dir "$RUN" \
        > "$RUN/stdout" 2> "$RUN/stderr"; then
        t1=$(now_ns)
        M=$(/usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
t, m = d["timings_seconds"], d["metrics"]
print("read_s=%.6f fit_s=%.6f stage_s=%.6f reml=%.10g edf=%.6f converged=%d"
      % (t["read train"], t.get("fit: estimation", t["fit"]), t["fit"], m["train.reml"],
         m["train.edf"], m["train.converged"]))' \
            "$RUN/model/manifest.json")
        E2E=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", (b - a) / 1e9 }')
        C=$(pf_checksum "$RUN" "$FILE" "$E2E") || C="checksum FAILED"
        K="$ROWS:plantfit"
        R[$K:read]=$(kv "$M" read_s)
        R[$K:fit]=$(kv "$M" fit_s)
        R[$K:e2e]=$E2E
        R[$K:rss]=$(awk '{ printf "%.1f", $1 / 1024 }' "$RUN/rss_kb")
        R[$K:reml]=$(kv "$M" reml)
        R[$K:edf]=$(kv "$M" edf)
        note=""
        [ "$(kv "$M" converged)" = 1 ] || note=" NOT CONVERGED"
        note+=" fit_stage=$(kv "$M" stage_s)"
        line "$size" plantfit "${R[$K:read]}" "${R[$K:fit]}" "${R[$K:e2e]}" "${R[$K:rss]}" \
            "${R[$K:reml]}" "${R[$K:edf]}" "$(checksum_of "$C")$note ($(kv "$C" via))"
    else
        echo "$size plantfit FAILED:" \
            "$(head -c 300 "$RUN/output/failure" 2> /dev/null || tail -3 "$RUN/stderr")"
    fi

    # --- mgcv, each fit in its own R process
    if [ "$HAVE_R" = 1 ]; then
        for impl in mgcv-gam mgcv-bam mgcv-bamd; do
            case $impl in
            mgcv-gam) meth=gam; [ "$ROWS" -le 100000 ] || continue ;;
            mgcv-bam) meth=bam ;;
            mgcv-bamd) meth=bamd ;;
            esac
            if [ "$ROWS" -gt 1000000 ] && [ "$BIG" != 1 ]; then
                echo "$size $impl skipped (set BENCH_BIG=1 to run R at n > 1e6)"
                continue
            fi
            if ! O=$("$TIME" -f %M -o "$RUN/rss_$meth" Rscript "$REF" "$FILE" "$meth" 2 \
                    2> "$RUN/$meth.stderr"); then
                echo "$size $impl FAILED: $(tail -3 "$RUN/$meth.stderr")"
                continue
            fi
            K="$ROWS:$impl"
            R[$K:read]=$(kv "$O" read_s)
            R[$K:fit]=$(kv "$O" fit_s)
            R[$K:e2e]=$(awk -v a="${R[$K:read]}" -v b="${R[$K:fit]}" \
                'BEGIN { printf "%.3f", a + b }')
            R[$K:rss]=$(awk '{ printf "%.1f", $1 / 1024 }' "$RUN/rss_$meth")
            R[$K:reml]=$(kv "$O" reml)
            R[$K:edf]=$(kv "$O" edf)
            line "$size" "$impl" "${R[$K:read]}" "${R[$K:fit]}" "${R[$K:e2e]}" "${R[$K:rss]}" \
                "${R[$K:reml]}" "${R[$K:edf]}" "$(checksum_of "$O")"
        done
    fi

    # --- agreement and ratios at this n
    P="$ROWS:plantfit"
    [ -n "${R[$P:fit]:-}" ] || continue
    for impl in mgcv-gam mgcv-bam mgcv-bamd; do
        Q="$ROWS:$impl"
        [ -n "${R[$Q:reml]:-}" ] || continue
        awk -v n="$size" -v i="$impl" -v a="${R[$P:reml]}" -v b="${R[$Q:reml]}" \
            -v c="${R[$P:edf]}" -v d="${R[$Q:edf]}" 'BEGIN {
            printf "agree n=%s plantfit vs %-9s REML %.10g vs %.10g (diff %+.3g)  ", n, i, a, b,
                   a - b
            printf "EDF %.4f vs %.4f (diff %+.4f)\n", c, d, c - d }'
    done
    Q="$ROWS:mgcv-bamd"
    awk -v n="$size" -v pf="${R[$P:fit]}" -v pe="${R[$P:e2e]}" -v pr="${R[$P:read]}" \
        -v rss="${R[$P:rss]}" -v bytes="$BYTES" -v bf="${R[$Q:fit]:-}" -v be="${R[$Q:e2e]:-}" '
        function goal(ok, what) {   # the issue sets its goals at n = 1e6
            if (n + 0 != 1e6)
                return ""
            return "  (goal " what ": " (ok ? "met" : "NOT MET") ")"
        }
        BEGIN {
            if (bf != "") {
                printf "ratio n=%s fit: bam(discrete,nthreads=2) / plantfit = %.1fx%s\n",
                       n, bf / pf, goal(bf / pf >= 20, ">= 20x")
                printf "ratio n=%s end to end: (fread + bam(discrete)) / plantfit train = %.1fx%s\n",
                       n, be / pe, goal(be / pe >= 8, ">= 8x")
            }
            m = rss * 1048576 / bytes
            printf "ratio n=%s peak RSS / CSV size = %.1f MiB / %.1f MiB = %.2fx%s\n", n, rss,
                   bytes / 1048576, m, goal(m <= 3, "<= 3x")
            printf "ratio n=%s fit / read stage (one pass over the data) = %.3f s / %.3f s",
                   n, pf, pr
            printf " = %.2fx\n", pf / pr
        }'
done
echo "gam_fit: load average $(load) at the end"
