# predict_sklearn.py: the scikit-learn side of tests/bench/predict.sh (not a
# test).
#
#   /usr/bin/python3 tests/bench/predict_sklearn.py DATA.bin N DATA.csv OUT.csv
#
# IsolationForest(n_estimators=100, max_samples=256, random_state=1) fitted
# on the N x 8 rows of DATA.bin (raw float64, column-major, bench_iforest gen),
# then timed on the same rows: score_samples in memory (default
# working_memory), and the CSV path a scikit-learn batch job would take:
# pandas.read_csv(DATA.csv), score_samples, predict, decision_function, and
# to_csv of score, is_anomaly, decision_function.  Prints one line: the times,
# rows/s, and the checksum sum(-score_samples) (the paper's s, as plantfit's
# score column), plus the share of rows flagged.
import sys, time
import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

path, n, csv, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
x = np.fromfile(path, dtype=np.float64).reshape(8, n).T
clf = IsolationForest(n_estimators=100, max_samples=256, random_state=1).fit(x)
t0 = time.perf_counter()
s = clf.score_samples(x)
t1 = time.perf_counter()
d = pd.read_csv(csv)
t2 = time.perf_counter()
xs = d.to_numpy()
ss = clf.score_samples(xs)
dec = ss - clf.offset_
pred = (dec < 0).astype(int)
t3 = time.perf_counter()
pd.DataFrame({"score": -ss, "is_anomaly": pred, "decision_function": dec}).to_csv(out, index=False)
t4 = time.perf_counter()
print("sklearn-predict n=%d score_s=%.3f score_rows_per_s=%.3g read_s=%.3f e2e_score_s=%.3f "
      "write_s=%.3f e2e_s=%.3f e2e_rows_per_s=%.3g checksum=%.6f flagged=%.4f"
      % (n, t1 - t0, n / (t1 - t0), t2 - t1, t3 - t2, t4 - t3, t4 - t1, n / (t4 - t1),
         float(np.sum(-s)), float(np.mean(pred))))
