#!/usr/bin/env bash
# csv_ingest.sh: CSV ingest benchmark (not a test).  Called by tests/bench/run.sh.
#
# Generates, once and deterministically (seed 42), a ROWS x 10 numeric CSV file
# with a header in $BENCH_DIR (default build/bench): about 70 MB for 1e6 rows.
# Then times, in this one run and on a warm page cache, the best of 3 reads by
#   plantfit  build/bench_csv FILE --threads 1 and --threads 2 (csv_read_file,
#             SHA-256 of the file included),
#   fread     R data.table::fread(FILE, nThread = 1),
#   pandas    pandas.read_csv(FILE) (single-threaded C parser),
# each timed inside its own process so interpreter start-up is not counted.
# Every line gives seconds, MB/s, rows/s and checksums (sum of all values and
# of column 0, %.10e) so that a fast but wrong parse shows; the last lines
# give the time ratios plantfit/fread and plantfit/pandas (< 1: plantfit faster).
#
# Environment: B (build dir, default build), BENCH_DIR, ROWS (default 1000000).
set -euo pipefail
cd "$(dirname "$0")/../.."

B=${B:-build}
BENCH_DIR=${BENCH_DIR:-$B/bench}
ROWS=${ROWS:-1000000}
BIN=$B/bench_csv
PY=/usr/bin/python3

if [ ! -x "$BIN" ]; then
    echo "csv_ingest: $BIN is missing (run: make bench-bin)" >&2
    exit 1
fi
mkdir -p "$BENCH_DIR"
FILE=$BENCH_DIR/csv_ingest_${ROWS}x10.csv
if [ ! -s "$FILE" ]; then
    "$BIN" --generate "$FILE.tmp" --rows "$ROWS" --cols 10 --seed 42
    mv "$FILE.tmp" "$FILE"
fi
cat "$FILE" > /dev/null   # warm the page cache for every contender alike
MB=$(awk -v b="$(stat -c %s "$FILE")" 'BEGIN { printf "%.1f", b / 1e6 }')
echo "csv_ingest: $FILE ($MB MB, $ROWS rows x 10 columns), best of 3"

secs() { sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$1"; }

P1=$("$BIN" "$FILE" --threads 1 --repeat 3)
echo "$P1"
P2=$("$BIN" "$FILE" --threads 2 --repeat 3)
echo "$P2"

FR=""
if command -v Rscript > /dev/null && Rscript -e 'library(data.table)' > /dev/null 2>&1; then
    FR=$(Rscript -e '
        suppressMessages(library(data.table))
        f <- commandArgs(TRUE)[1]
        best <- Inf
        for (i in 1:3) {
            t0 <- as.numeric(Sys.time())
            d <- fread(f, nThread = 1, showProgress = FALSE)
            best <- min(best, as.numeric(Sys.time()) - t0)
        }
        s <- sum(vapply(d, function(x) sum(as.numeric(x)), 0))
        cat(sprintf("fread    threads=1 seconds=%.3f MB/s=%.1f rows/s=%.0f rows=%d cols=%d sum=%.10e sum0=%.10e\n",
                    best, file.size(f) / 1e6 / best, nrow(d) / best, nrow(d), ncol(d), s,
                    sum(as.numeric(d[[1]]))))' "$FILE")
    echo "$FR"
else
    echo "fread    skipped (Rscript or data.table missing)"
fi

PD=""
if "$PY" -c 'import pandas' > /dev/null 2>&1; then
    PD=$("$PY" -c '
import os, sys, time
import pandas as pd
f = sys.argv[1]
best = float("inf")
for _ in range(3):
    t0 = time.perf_counter()
    d = pd.read_csv(f)
    best = min(best, time.perf_counter() - t0)
v = d.to_numpy(dtype="float64")
print("pandas   threads=1 seconds=%.3f MB/s=%.1f rows/s=%.0f rows=%d cols=%d sum=%.10e sum0=%.10e"
      % (best, os.path.getsize(f) / 1e6 / best, len(d) / best, len(d), d.shape[1],
         float(v.sum()), float(v[:, 0].sum())))' "$FILE")
    echo "$PD"
else
    echo "pandas   skipped ($PY cannot import pandas)"
fi

ratio() {   # ratio NAME REF_LINE
    [ -n "$2" ] || return 0
    awk -v a="$(secs "$P1")" -v b="$(secs "$P2")" -v r="$(secs "$2")" -v n="$1" \
        'BEGIN { printf "ratio plantfit/%s (time): threads=1 %.2f, threads=2 %.2f\n", n, a / r, b / r }'
}
ratio fread "$FR"
ratio pandas "$PD"
