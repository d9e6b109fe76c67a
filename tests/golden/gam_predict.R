# Predictions of an mgcv fit on new data, for tests/test_gam_mgcv.c.
# Usage: Rscript gam_predict.R TRAIN.csv FORMULA FAMILY NEW.csv OUT
# OUT: per new row one line "eta se_eta mu se_mu", then a line "TERMS k" and
# k columns of type="terms" fits and their se per row, then "LP p" and the
# linear-predictor matrix rows.
suppressPackageStartupMessages(library(mgcv))
a <- commandArgs(trailingOnly = TRUE)
d <- read.csv(a[1], stringsAsFactors = TRUE)
nd <- read.csv(a[4], stringsAsFactors = TRUE)
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
fam <- switch(a[3], gaussian = gaussian(), binomial = binomial(), poisson = poisson(),
              Gamma = Gamma(), Gamma_log = Gamma(link = "log"))
fit <- gam(f, data = d, method = "REML", family = fam)
pl <- predict(fit, nd, type = "link", se.fit = TRUE)
pr <- predict(fit, nd, type = "response", se.fit = TRUE)
pt <- predict(fit, nd, type = "terms", se.fit = TRUE)
lp <- predict(fit, nd, type = "lpmatrix")
out <- file(a[5], "w")
writeLines(sprintf("%.17g %.17g %.17g %.17g", pl$fit, pl$se.fit, pr$fit, pr$se.fit), out)
writeLines(sprintf("TERMS %d", ncol(pt$fit)), out)
for (i in seq_len(nrow(pt$fit)))
  writeLines(paste(sprintf("%.17g", c(pt$fit[i, ], pt$se.fit[i, ])), collapse = " "), out)
writeLines(sprintf("LP %d", ncol(lp)), out)
for (i in seq_len(nrow(lp)))
  writeLines(paste(sprintf("%.17g", lp[i, ]), collapse = " "), out)
close(out)
