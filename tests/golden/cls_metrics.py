# ROC AUC and average precision by scikit-learn for tests/test_metrics.c.
# Usage: python3 cls_metrics.py IN.csv OUT   (IN: columns score,label)
import sys
import numpy as np
from sklearn.metrics import roc_auc_score, average_precision_score

d = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1)
with open(sys.argv[2], "w") as f:
    f.write("%.17g %.17g\n" % (roc_auc_score(d[:, 1], d[:, 0]),
                               average_precision_score(d[:, 1], d[:, 0])))
