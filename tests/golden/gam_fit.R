# Fit a GAM with R's mgcv exactly as plantfit is asked to, and write what the
# tests compare: the live reference for tests/test_gam_mgcv.c (no number is
# typed into a test by hand).
#
# Usage: Rscript gam_fit.R DATA.csv FORMULA METHOD FAMILY OUT
#   FORMULA  plantfit/mgcv syntax; every s() and te() is fitted with bs="ps"
#   METHOD   REML | GCV.Cp
#   FAMILY   gaussian | binomial | poisson | Gamma | Gamma_log
# OUT gets: line 1 "score edf_total scale sig2 n", line 2 the smoothing
# parameters, line 3 the per-term EDF (smooths, formula order), then one
# linear-predictor value per row used (na.omit order).
suppressPackageStartupMessages(library(mgcv))
a <- commandArgs(trailingOnly = TRUE)
d <- read.csv(a[1], stringsAsFactors = TRUE)
# P-splines everywhere: every s() and te() call in the formula gets bs = "ps"
# (the call tree is edited, so nested calls such as by=factor(g) are safe).
add_ps <- function(e) {
  if (is.call(e)) {
    if (identical(e[[1]], as.name("s")) || identical(e[[1]], as.name("te")))
      e$bs <- "ps"
    else
      for (i in seq_along(e)[-1]) e[[i]] <- add_ps(e[[i]])
  }
  e
}
f <- as.formula(add_ps(str2lang(a[2])))
fam <- switch(a[4], gaussian = gaussian(), binomial = binomial(), poisson = poisson(),
              Gamma = Gamma(), Gamma_log = Gamma(link = "log"))
fit <- gam(f, data = d, method = a[3], family = fam)
out <- file(a[5], "w")
writeLines(sprintf("%.17g %.17g %.17g %.17g %d", fit$gcv.ubre, sum(fit$edf), fit$scale,
                   fit$sig2, length(fit$y)), out)
writeLines(paste(sprintf("%.17g", fit$sp), collapse = " "), out)
edf <- sapply(fit$smooth, function(sm) sum(fit$edf[sm$first.para:sm$last.para]))
writeLines(paste(sprintf("%.17g", edf), collapse = " "), out)
writeLines(sprintf("%.17g", fit$linear.predictors), out)
close(out)
