#!/usr/bin/python3
"""iforest_sklearn.py: scikit-learn's IsolationForest as the live reference of
tests/test_iforest.c (run by the tests, never by hand; nothing in the output is
typed in).

Usage:
  iforest_sklearn.py --train TRAIN.csv --score A.csv [--score B.csv ...]
                     --features f1,f2,... --seeds FIRST:END --out OUT.csv
                     [--sep ,] [--n-estimators 100] [--max-samples 256]
                     [--per-seed] [--contamination C]

For each seed in range(FIRST, END) it fits
  IsolationForest(n_estimators, max_samples, random_state=seed)
on the feature columns of TRAIN.csv and scores every row of each score file.
Cells that are empty, NA or NaN are missing; scikit-learn cannot take them,
so the caller passes files without them (exit status 3 if it finds one).

Two scores per row and seed, both on scikit-learn's trees:
  s       = -score_samples(X): scikit-learn as shipped, whose c(n) uses
            H(i) ~ ln(i) + Euler's gamma for every n > 2;
  s_exact = the same trees and leaves with the paper's c(n) = 2H(n-1) -
            2(n-1)/n and H exact (math.fsum of 1/k up to n = 1000, else the
            asymptotic series), as plantfit computes it.
s is rebuilt from the trees (leaf depth + c(leaf size)) and checked against
score_samples for the first seed (exit status 4 if they differ by > 1e-12).

Output (CSV with header): file,row,mean,sd,mean_exact,sd_exact[,s<seed>...]
  file      0-based index of the score file in the order given
  row       0-based data row in that file
  mean, sd  mean and standard deviation (ddof = 1) of s over the seeds
  *_exact   the same for s_exact
  s<seed>   with --per-seed: s for each seed
  pred, decision, offset
            with --contamination C (a fraction): every forest is fitted
            with contamination=C (same trees: it only sets offset_), and for
            the first seed predict() (+1 inlier, -1 anomaly),
            decision_function() and offset_ (the same on every row)
Numbers are written with repr() (17 significant digits, round-trip).
Exit status 77 if scikit-learn or numpy is not installed.
"""
import argparse
import csv
import math
import sys

try:
    import numpy as np
    import sklearn
    from sklearn.ensemble import IsolationForest
except ImportError as e:  # the C test turns this into a loud SKIPPED line
    print("iforest_sklearn.py: %s" % e, file=sys.stderr)
    sys.exit(77)


def read_features(path, features, sep):
    with open(path, newline="") as fh:
        rd = csv.reader(fh, delimiter=sep)
        header = next(rd)
        try:
            cols = [header.index(f) for f in features]
        except ValueError:
            print("%s: a feature of %s is not a column" % (path, features), file=sys.stderr)
            sys.exit(2)
        rows = []
        for line in rd:
            if not line:
                continue
            vals = []
            for c in cols:
                cell = line[c].strip()
                if cell in ("", "NA", "NaN", "nan"):
                    print("%s: row %d, column %s is missing" % (path, len(rows) + 1,
                                                                header[c]), file=sys.stderr)
                    sys.exit(3)
                vals.append(float(cell))
            rows.append(vals)
    return np.asarray(rows, dtype=np.float64)


_H = [0.0]


def harmonic(m):
    """H(m) exactly rounded for m < 1000; asymptotic series above."""
    if m < 1000 and m == int(m):
        while len(_H) <= m:
            k = len(_H)
            _H.append(math.fsum(1.0 / i for i in range(1, k + 1)))
        return _H[int(m)]
    t = 1.0 / (m * m)
    return math.log(m) + (np.euler_gamma + (0.5 / m - t * (1.0 / 12 - t * (1.0 / 120 - t / 252))))


def c_exact(n):
    n = np.asarray(n, dtype=np.float64)
    out = np.zeros(n.shape)
    for v in np.unique(n):
        if v <= 1:
            val = 0.0
        elif v == 2:
            val = 1.0
        else:
            val = 2.0 * harmonic(v - 1) - 2.0 * (v - 1) / v
        out[n == v] = val
    return out


def c_sklearn(n):
    """scikit-learn's _average_path_length, restated."""
    n = np.asarray(n, dtype=np.float64)
    out = np.zeros(n.shape)
    out[n == 2] = 1.0
    big = n > 2
    out[big] = 2.0 * (np.log(n[big] - 1.0) + np.euler_gamma) - 2.0 * (n[big] - 1.0) / n[big]
    return out


def node_depths(tree):
    """Depth of every node; children always follow their parent."""
    left, right = tree.children_left, tree.children_right
    depth = np.zeros(tree.node_count, dtype=np.int64)
    inner = np.flatnonzero(left >= 0)
    for _ in range(tree.max_depth):
        depth[left[inner]] = depth[inner] + 1
        depth[right[inner]] = depth[inner] + 1
    return depth


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--score", action="append", required=True)
    ap.add_argument("--features", required=True)
    ap.add_argument("--seeds", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--sep", default=",")
    ap.add_argument("--n-estimators", type=int, default=100)
    ap.add_argument("--max-samples", type=int, default=256)
    ap.add_argument("--per-seed", action="store_true")
    ap.add_argument("--contamination", type=float, default=None)
    a = ap.parse_args()

    features = a.features.split(",")
    first, end = (int(v) for v in a.seeds.split(":"))
    seeds = list(range(first, end))
    xtrain = read_features(a.train, features, a.sep)
    xs = [read_features(p, features, a.sep) for p in a.score]
    xall = np.vstack(xs)
    x32 = xall.astype(np.float32)
    m = xall.shape[0]
    s_all = np.empty((len(seeds), m))
    e_all = np.empty((len(seeds), m))
    cont = "auto" if a.contamination is None else a.contamination
    pred = dec = None
    offset = 0.0
    for k, seed in enumerate(seeds):
        clf = IsolationForest(n_estimators=a.n_estimators, max_samples=a.max_samples,
                              contamination=cont, random_state=seed).fit(xtrain)
        if k == 0 and a.contamination is not None:
            pred = clf.predict(xall)
            dec = clf.decision_function(xall)
            offset = float(clf.offset_)
        h_sk = np.zeros(m)
        h_ex = np.zeros(m)
        for est in clf.estimators_:
            tree = est.tree_
            leaves = est.apply(x32)
            dep = node_depths(tree)[leaves]
            size = tree.n_node_samples[leaves]
            h_sk += dep + c_sklearn(size)
            h_ex += dep + c_exact(size)
        psi = clf.max_samples_
        t = len(clf.estimators_)
        s_sk = 2.0 ** (-h_sk / (t * c_sklearn([psi])[0]))
        s_ex = 2.0 ** (-(h_ex / t) / c_exact([psi])[0])
        if k == 0:
            ref = -clf.score_samples(xall)
            worst = float(np.max(np.abs(ref - s_sk)))
            if not worst <= 1e-12:
                print("rebuilt scores differ from score_samples by %g" % worst, file=sys.stderr)
                sys.exit(4)
        s_all[k] = s_sk
        e_all[k] = s_ex

    ddof = 1 if len(seeds) > 1 else 0
    mean, sd = s_all.mean(axis=0), s_all.std(axis=0, ddof=ddof)
    mean_e, sd_e = e_all.mean(axis=0), e_all.std(axis=0, ddof=ddof)
    with open(a.out, "w") as fh:
        head = ["file", "row", "mean", "sd", "mean_exact", "sd_exact"]
        if a.per_seed:
            head += ["s%d" % s for s in seeds]
        if pred is not None:
            head += ["pred", "decision", "offset"]
        fh.write(",".join(head) + "\n")
        i = 0
        for fidx, x in enumerate(xs):
            for r in range(x.shape[0]):
                cells = [str(fidx), str(r), repr(float(mean[i])), repr(float(sd[i])),
                         repr(float(mean_e[i])), repr(float(sd_e[i]))]
                if a.per_seed:
                    cells += [repr(float(v)) for v in s_all[:, i]]
                if pred is not None:
                    cells += [str(int(pred[i])), repr(float(dec[i])), repr(offset)]
                fh.write(",".join(cells) + "\n")
                i += 1
    print("sklearn %s, numpy %s, %d seeds, %d rows" % (sklearn.__version__, np.__version__,
                                                       len(seeds), m))


if __name__ == "__main__":
    main()
