#!/usr/bin/env bash
# iforest.sh: Isolation Forest benchmark of the issue (performance goals:
# score 1e6 rows x 8 features with 100 trees, psi 256, in < 1.3 s on one
# thread and < 0.7 s on two; fit in < 10 ms).  Not a test; called by
# tests/bench/run.sh.
#
# Data: bench_iforest gen (8 features, 99% correlated Gaussians on different
# scales, 1% uniform outliers, seed 42, float32-representable values) as raw
# float64 column-major in $BENCH_DIR/iforest_<n>.bin, written once.
# For each n in IFOREST_BENCH_SIZES (default "1e5 1e6"; BENCH_BIG=1 adds
# 1e7), in this one run:
#   plantfit   iforest_fit + iforest_score of every row, threads 1 and 2,
#              best of 3 (1 at 1e7); score_cpu_s is the process CPU time of
#              the scoring (a wall time well above it means the machine was
#              busy)
#   sklearn    IsolationForest(n_estimators=100, max_samples=256,
#              random_state=1).fit(X), then score_samples(X) with the default
#              working_memory (1024 MiB) and with
#              sklearn.set_config(working_memory=4096); one run each
# checksum = sum of the paper score s over all rows (sklearn: sum of
# -score_samples), so a fast but wrong build shows; for n <= 1e6 also
# checksum_exact_c, scikit-learn's trees scored with the paper's exact c(n)
# as plantfit does (shipped scikit-learn approximates H(i) by ln i + gamma,
# which moves this sum by ~0.4%).  The two sides grow different random
# forests, and one forest's sum varies from seed to seed by ~0.5-1% on this
# data, so the sums agree to that, not exactly.  Then the ratios sklearn /
# plantfit.  isotree is not installable
# here (no Debian package, no PyPI access): its figures are the ones quoted
# in the issue, printed as such.
#
# Environment: B (build dir, default build), BENCH_DIR (default $B/bench),
# IFOREST_BENCH_SIZES, BENCH_BIG=1.
set -euo pipefail
cd "$(dirname "$0")/../.."

B=${B:-build}
BENCH_DIR=${BENCH_DIR:-$B/bench}
SIZES=${IFOREST_BENCH_SIZES:-1e5 1e6}
if [ "${BENCH_BIG:-0}" = 1 ]; then
    SIZES="$SIZES 1e7"
fi
BIN=$B/bench_iforest
PY=/usr/bin/python3

if [ ! -x "$BIN" ]; then
    echo "iforest: $BIN is missing (run: make bench-bin)" >&2
    exit 1
fi
mkdir -p "$BENCH_DIR"
HAVE_SK=1
if ! "$PY" -c 'import sklearn, numpy' > /dev/null 2>&1; then
    HAVE_SK=0
    echo "iforest: !!! scikit-learn NOT INSTALLED: the reference side did NOT run !!!"
fi
echo "iforest: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

num() { "$PY" -c "print(int(float('$1')))"; }

for s in $SIZES; do
    n=$(num "$s")
    data=$BENCH_DIR/iforest_$n.bin
    if [ ! -f "$data" ] || [ "$(stat -c %s "$data")" != "$((n * 8 * 8))" ]; then
        "$BIN" gen "$n" "$data"
    fi
    reps=3
    [ "$n" -ge 10000000 ] && reps=1
    pf1=$("$BIN" run "$data" "$n" 1 $reps)
    pf2=$("$BIN" run "$data" "$n" 2 $reps)
    echo "$pf1"
    echo "$pf2"
    if [ $HAVE_SK = 1 ]; then
        sk=$("$PY" - "$data" "$n" <<'EOF'
import sys, time
import numpy as np
import sklearn
from sklearn.ensemble import IsolationForest

path, n = sys.argv[1], int(sys.argv[2])
sys.path.insert(0, "tests/golden")
import iforest_sklearn as ref  # c(n) both ways, leaf depths

x = np.fromfile(path, dtype=np.float64).reshape(8, n).T
for wm in (None, 4096):
    if wm is not None:
        sklearn.set_config(working_memory=wm)
    t0 = time.perf_counter()
    clf = IsolationForest(n_estimators=100, max_samples=256, random_state=1).fit(x)
    t1 = time.perf_counter()
    s = -clf.score_samples(x)
    t2 = time.perf_counter()
    extra = ""
    if wm is None and n <= 1000000:
        # the same trees with the paper's exact c(n), as plantfit scores
        x32 = x.astype(np.float32)
        h = np.zeros(n)
        for est in clf.estimators_:
            leaves = est.apply(x32)
            h += ref.node_depths(est.tree_)[leaves] + ref.c_exact(est.tree_.n_node_samples[leaves])
        se = 2.0 ** (-(h / len(clf.estimators_)) / ref.c_exact([clf.max_samples_])[0])
        extra = " checksum_exact_c=%.6f" % float(np.sum(se))
    print("sklearn-%s n=%d threads=1 fit_s=%.6f score_s=%.4f checksum=%.6f%s"
          % ("wm4096" if wm else "default", n, t1 - t0, t2 - t1, float(np.sum(s)), extra))
EOF
)
        echo "$sk"
    else
        sk=""
    fi
    "$PY" - "$pf1" "$pf2" "$sk" <<'EOF'
import re, sys
def parse(line):
    return {k: v for k, v in re.findall(r"(\w+)=(\S+)", line)}
pf1, pf2 = parse(sys.argv[1]), parse(sys.argv[2])
n = int(pf1["n"])
print("ratio n=%d plantfit score 1 thread / 2 threads = %.2f"
      % (n, float(pf1["score_s"]) / float(pf2["score_s"])))
for line in sys.argv[3].splitlines():
    sk = parse(line)
    name = line.split()[0]
    cmp = ""
    if "checksum_exact_c" in sk:
        cmp = ", vs its exact-c checksum %.2e" % (float(pf1["checksum"]) /
                                                 float(sk["checksum_exact_c"]) - 1)
    print("ratio n=%d %s score / plantfit 1 thread = %.1f, / plantfit 2 threads = %.1f; "
          "fit ratio %.1f; plantfit checksum rel diff %.2e%s"
          % (n, name, float(sk["score_s"]) / float(pf1["score_s"]),
             float(sk["score_s"]) / float(pf2["score_s"]),
             float(sk["fit_s"]) / float(pf1["fit_s"]),
             float(pf1["checksum"]) / float(sk["checksum"]) - 1, cmp))
if n == 1000000:
    print("goal n=1e6: plantfit score %.3f s on 1 thread (goal < 1.3), %.3f s on 2 (goal < 0.7), "
          "fit %.4f s (goal < 0.01)"
          % (float(pf1["score_s"]), float(pf2["score_s"]), float(pf1["fit_s"])))
EOF
done
echo "isotree (QUOTED from the issue, NOT measured here: not installable on this machine):" \
     "n=1e6 score 5.3 s on 1 thread, 2.8 s on 2 threads"
