# gam_ref.R: the mgcv side of tests/bench/gam_fit.sh (not a test).
#
#   Rscript tests/bench/gam_ref.R FILE METHOD [NTHREADS]
#
# Reads FILE (x1..x8, y; written by bench_gamdata --generate) with
# data.table::fread, then fits
#   y ~ s(x1, bs = "ps", k = 20) + ... + s(x8, bs = "ps", k = 20)
# with METHOD one of
#   gam    mgcv::gam(..., method = "REML")
#   bam    mgcv::bam(..., method = "fREML")
#   bamd   mgcv::bam(..., method = "fREML", discrete = TRUE, nthreads = NTHREADS)
# fread and the fit are timed separately (system.time, elapsed).  Prints one
# line of key=value pairs: the two times, fit$gcv.ubre (the REML criterion),
# sum(fit$edf), and the checksum of fitted(fit) in the format bench_gamdata
# --predict prints: sum (%.10e), first three (%.6f), RMSE against y.
suppressMessages({
    library(data.table)
    library(mgcv)
})
args <- commandArgs(TRUE)
if (length(args) < 2) stop("usage: gam_ref.R FILE gam|bam|bamd [NTHREADS]")
file <- args[1]
method <- args[2]
nthreads <- if (length(args) >= 3) as.integer(args[3]) else 2L

t_read <- system.time(d <- fread(file, nThread = nthreads, showProgress = FALSE))[["elapsed"]]
form <- as.formula(paste("y ~", paste(sprintf("s(x%d, bs = \"ps\", k = 20)", 1:8),
                                      collapse = " + ")))
t_fit <- system.time({
    fit <- switch(method,
        gam = gam(form, data = d, method = "REML"),
        bam = bam(form, data = d, method = "fREML"),
        bamd = bam(form, data = d, method = "fREML", discrete = TRUE, nthreads = nthreads),
        stop("unknown method ", method))
})[["elapsed"]]
f <- as.numeric(fitted(fit))
cat(sprintf(paste("read_s=%.3f fit_s=%.3f reml=%.10g edf=%.6f sum=%.10e f1=%.6f f2=%.6f",
                  "f3=%.6f rmse=%.8f rows=%d\n"),
            t_read, t_fit, fit$gcv.ubre, sum(fit$edf), sum(f), f[1], f[2], f[3],
            sqrt(mean((d$y - f)^2)), nrow(d)))
