# predict_ref.R: the mgcv side of tests/bench/predict.sh (not a test).
#
#   Rscript tests/bench/predict_ref.R TRAIN.csv DATA.csv OUT.csv
#
# Fits y ~ s(x1, bs = "ps", k = 20) + ... + s(x8, bs = "ps", k = 20) with
# gam(method = "REML") on TRAIN (the same rows and model plantfit trains on),
# then times, on DATA: fread (nThread = 2), predict.gam(type = "response")
# (mgcv's own blocking, block.size = 50000 rows), and fwrite of the
# predictions (%.17g-equivalent: data.table's full precision) to OUT.  Prints
# one line of key=value pairs: the three times, rows/s of predict alone and
# of the three together, and the checksum of the predictions in the format
# bench_predict prints: sum (%.10e) and the first three (%.6f).
suppressMessages({
    library(data.table)
    library(mgcv)
})
a <- commandArgs(TRUE)
tr <- fread(a[1], showProgress = FALSE)
form <- as.formula(paste("y ~", paste(sprintf("s(x%d, bs = \"ps\", k = 20)", 1:8),
                                      collapse = " + ")))
fit <- gam(form, data = tr, method = "REML")
t_read <- system.time(d <- fread(a[2], nThread = 2, showProgress = FALSE))[["elapsed"]]
t_pred <- system.time(p <- as.numeric(predict(fit, d, type = "response")))[["elapsed"]]
t_write <- system.time(fwrite(data.table(prediction = p), a[3], nThread = 2))[["elapsed"]]
n <- nrow(d)
cat(sprintf(paste("mgcv-predict n=%d read_s=%.3f predict_s=%.3f write_s=%.3f",
                  "predict_rows_per_s=%.3g e2e_rows_per_s=%.3g sum=%.10e f1=%.6f f2=%.6f f3=%.6f\n"),
            n, t_read, t_pred, t_write, n / t_pred, n / (t_read + t_pred + t_write),
            sum(p), p[1], p[2], p[3]))
