# smooth_check.R: mgcv's side of the live comparison in tests/test_gam_smooth.c.
#
#   Rscript smooth_check.R DATA.csv NEW.csv OUT.txt SETTING...
#
# DATA.csv has columns x, z (the fitting data); NEW.csv has columns x, z (the
# prediction points, some outside the data range).  Each SETTING is
# "s:k:m1:m2" for smoothCon(s(x, bs="ps", k=k, m=c(m1, m2))) or "te:k" for
# smoothCon(te(x, z, bs="ps", k=k)).  For each setting, named `s<i>` or
# `te<i>` by its position (1-based), OUT.txt gets blocks
#
#   <name> <nrow> <ncol>
#   <values, row-major, %.17g, space separated>
#
# with, for absorb.cons=FALSE: knots (s only; te: knots1, knots2), X_u,
# S1_u (S2_u), S_scale, XP1, XP2 (te margins' G^-1), P_u (PredictMat at NEW);
# and for absorb.cons=TRUE: X, S1 (S2), P.  The data are echoed as echo.x,
# echo.z, echo.newx, echo.newz so the test can prove that R parsed them
# exactly.  Nothing is printed to stdout on success; exit status 77 means
# mgcv is not installed.
# Exit status 77 tells the test to skip (loudly) rather than fail.
if (!requireNamespace("mgcv", quietly = TRUE)) quit(save = "no", status = 77)
suppressPackageStartupMessages(library(mgcv))

args <- commandArgs(trailingOnly = TRUE)
if (length(args) < 4) stop("usage: smooth_check.R DATA.csv NEW.csv OUT.txt SETTING...")
dat <- read.csv(args[1], colClasses = "numeric")
new <- read.csv(args[2], colClasses = "numeric")
con <- file(args[3], open = "w")

put <- function(name, m) {
    m <- as.matrix(m)
    cat(name, nrow(m), ncol(m), "\n", file = con)
    cat(sprintf("%.17g", as.vector(t(m))), "\n", file = con)
}

put("echo.x", dat$x)
put("echo.z", dat$z)
put("echo.newx", new$x)
put("echo.newz", new$z)
put("version.mgcv", as.numeric(unlist(packageVersion("mgcv"))))

for (i in seq_along(args[-(1:3)])) {
    f <- strsplit(args[3 + i], ":", fixed = TRUE)[[1]]
    if (f[1] == "s") {
        k <- as.integer(f[2]); m <- as.integer(f[3:4])
        spec <- s(x, bs = "ps", k = k, m = m)
        nm <- paste0("s", i)
    } else if (f[1] == "te") {
        k <- as.integer(f[2])
        spec <- te(x, z, bs = "ps", k = k)
        nm <- paste0("te", i)
    } else stop("unknown setting ", args[3 + i])
    su <- smoothCon(spec, data = dat, absorb.cons = FALSE)[[1]]
    sc <- smoothCon(spec, data = dat, absorb.cons = TRUE)[[1]]
    if (f[1] == "s") {
        put(paste0(nm, ".knots"), su$knots)
    } else {
        for (j in seq_along(su$margin)) {
            put(paste0(nm, ".knots", j), su$margin[[j]]$knots)
            put(paste0(nm, ".XP", j), su$XP[[j]])
        }
    }
    put(paste0(nm, ".X_u"), su$X)
    for (j in seq_along(su$S)) put(paste0(nm, ".S", j, "_u"), su$S[[j]])
    put(paste0(nm, ".S_scale"), su$S.scale)
    put(paste0(nm, ".P_u"), PredictMat(su, new))
    put(paste0(nm, ".X"), sc$X)
    for (j in seq_along(sc$S)) put(paste0(nm, ".S", j), sc$S[[j]])
    put(paste0(nm, ".P"), PredictMat(sc, new))
}
close(con)
