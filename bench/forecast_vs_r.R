# R's side of bench/forecast_vs_r: the reference forecasts (R's forecast
# package, Hyndman & Khandakar 2008) and the scoring of both sides with one
# piece of code, so R and salesflow are judged by the same definitions.
#
#   Rscript bench/forecast_vs_r.R prepare DATADIR OUTDIR SAMPLE
#       writes OUTDIR/series.csv: every SAMPLE-th series of each set, training
#       part and held-out part as PostgreSQL array literals (what both sides read)
#   Rscript bench/forecast_vs_r.R fit OUTDIR
#       fits R's methods, writes OUTDIR/r_forecasts.csv and OUTDIR/r_timing.csv
#   Rscript bench/forecast_vs_r.R score DATADIR OUTDIR
#       scores R's and salesflow's forecasts (OUTDIR/sf_*.csv) and prints the report
#
# Sets. M3 (Makridakis & Hibon 2000; the 1,470 series in ../shared/data: all
# quarterly, the odd-numbered monthly ones): train t <= n, test the next h,
# period 12 / 4. Car parts (Hyndman et al. 2008, expsmooth::carparts): the
# series with all 51 months and at least two non-zero demands in the first 39
# months (the 2,404 series of carparts_baseline_accuracy_h12.csv; Croston
# needs two demands), last 12 months held out.
#
# Measures. M3: sMAPE on the 0-200 scale and MASE scaled by the in-sample
# mean absolute seasonal difference (as m3_accuracy_per_series.csv). Car parts:
# RMSE; RMSSE (the M5 competition's scaled squared error: RMSE over the root
# in-sample mean squared one-step naive error); MAE only for context, since it
# rewards the all-zero forecast on intermittent data. Each is averaged over
# series.

suppressPackageStartupMessages(library(forecast))

args <- commandArgs(trailingOnly = TRUE)
mode <- args[1]

to_pg_array <- function(x) paste0("{", paste(format(x, digits = 15, scientific = FALSE, trim = TRUE), collapse = ","), "}")
from_pg_array <- function(s) as.numeric(strsplit(gsub("[{}]", "", s), ",", fixed = TRUE)[[1]])

every_nth <- function(x, n) x[seq(1, length(x), by = n)]

prepare <- function(datadir, outdir, sample) {
  meta <- read.csv(file.path(datadir, "m3", "m3_meta.csv"), stringsAsFactors = FALSE)
  vals <- read.csv(file.path(datadir, "m3", "m3_values.csv"), stringsAsFactors = FALSE)
  vals <- vals[order(vals$series, vals$t), ]
  byser <- split(vals$value, vals$series)
  rows <- list()
  for (per in c("MONTHLY", "QUARTERLY")) {
    m <- meta[meta$period == per, ]
    m <- m[every_nth(seq_len(nrow(m)), sample), ]
    for (i in seq_len(nrow(m))) {
      v <- byser[[m$series[i]]]
      n <- m$n[i]; h <- m$h[i]
      rows[[length(rows) + 1]] <- data.frame(set = paste0("M3_", per), series = m$series[i], period = m$freq[i], h = h,
                                             y = to_pg_array(v[1:n]), actual = to_pg_array(v[(n + 1):(n + h)]))
    }
  }
  cp <- read.csv(file.path(datadir, "carparts", "carparts_long.csv"), colClasses = c("character", "character", "numeric"))
  cp <- cp[order(match(cp$part, unique(cp$part)), cp$month), ]
  parts <- split(cp$qty, factor(cp$part, levels = unique(cp$part)))
  keep <- names(parts)[vapply(parts, function(v) length(v) == 51 && sum(v[1:39] > 0) >= 2, logical(1))]
  for (p in every_nth(keep, sample)) {
    v <- parts[[p]]
    rows[[length(rows) + 1]] <- data.frame(set = "CARPARTS", series = p, period = 12L, h = 12L,
                                           y = to_pg_array(v[1:39]), actual = to_pg_array(v[40:51]))
  }
  out <- do.call(rbind, rows)
  write.csv(out, file.path(outdir, "series.csv"), row.names = FALSE)
  for (s in unique(out$set)) cat(sprintf("  %-13s %5d series\n", s, sum(out$set == s)))
}

# TSB (Teunter, Syntetos & Babai 2011) is not in forecast 8.20. Written out
# here with the smoothing constants fixed at alpha = beta = 0.1 and started at
# the first demand (size = that demand, probability = 1 / periods up to it),
# Croston's own start: no tuning. On all 2,404 series this gives RMSE 0.8080,
# the TSB row of carparts_baseline_accuracy_h12.csv (0.8079).
tsb <- function(y, h, alpha = 0.1, beta = 0.1) {
  first <- which(y > 0)[1]
  z <- y[first]; p <- 1 / first
  for (v in y[-seq_len(first)]) {
    if (v > 0) { p <- p + beta * (1 - p); z <- z + alpha * (v - z) } else p <- (1 - beta) * p
  }
  rep(p * z, h)
}

r_methods <- list(
  M3 = list(
    "ets()" = function(y, h) as.numeric(forecast(ets(y), h = h)$mean),
    "thetaf()" = function(y, h) as.numeric(thetaf(y, h = h)$mean)),
  CARPARTS = list(
    "croston()" = function(y, h) as.numeric(croston(y, h = h, alpha = 0.1)$mean),
    # SBA (Syntetos & Boylan 2005): Croston times 1 - alpha/2.
    "croston() SBA" = function(y, h) 0.95 * as.numeric(croston(y, h = h, alpha = 0.1)$mean),
    "TSB (in R)" = function(y, h) tsb(as.numeric(y), h),
    "ses()" = function(y, h) as.numeric(ses(y, h = h)$mean),
    # The definition behind SES in carparts_baseline_accuracy_h12.csv.
    "ses(a=0.1, simple)" = function(y, h) as.numeric(ses(y, h = h, alpha = 0.1, initial = "simple")$mean),
    "ets()" = function(y, h) as.numeric(forecast(ets(y), h = h)$mean)))

fit <- function(outdir) {
  s <- read.csv(file.path(outdir, "series.csv"), stringsAsFactors = FALSE)
  fc <- list(); tm <- list()
  for (set in unique(s$set)) {
    ss <- s[s$set == set, ]
    meths <- r_methods[[if (startsWith(set, "M3")) "M3" else "CARPARTS"]]
    for (mname in names(meths)) {
      f <- meths[[mname]]
      wall <- 0; cpu <- 0
      out <- vector("list", nrow(ss))
      for (i in seq_len(nrow(ss))) {
        y <- ts(from_pg_array(ss$y[i]), frequency = ss$period[i])
        h <- ss$h[i]
        t0 <- proc.time()
        p <- f(y, h)
        d <- proc.time() - t0
        wall <- wall + d[["elapsed"]]
        cpu <- cpu + d[["user.self"]] + d[["sys.self"]]
        out[[i]] <- data.frame(set = set, series = ss$series[i], method = paste("R", mname), step = seq_len(h), point = p)
      }
      fc[[length(fc) + 1]] <- do.call(rbind, out)
      tm[[length(tm) + 1]] <- data.frame(set = set, method = paste("R", mname), series = nrow(ss), wall_s = wall, cpu_s = cpu)
      cat(sprintf("  %-13s %-22s %5d series %8.1f s\n", set, paste("R", mname), nrow(ss), wall))
    }
  }
  write.csv(do.call(rbind, fc), file.path(outdir, "r_forecasts.csv"), row.names = FALSE)
  write.csv(do.call(rbind, tm), file.path(outdir, "r_timing.csv"), row.names = FALSE)
}

# Per-series errors; one row per series and method.
series_errors <- function(s, fc) {
  key <- paste(fc$set, fc$series, fc$method)
  groups <- split(seq_len(nrow(fc)), key)
  sidx <- setNames(seq_len(nrow(s)), paste(s$set, s$series))
  res <- lapply(groups, function(ix) {
    r <- fc[ix[1], ]
    i <- sidx[[paste(r$set, r$series)]]
    y <- from_pg_array(s$y[i]); a <- from_pg_array(s$actual[i]); m <- s$period[i]
    f <- fc$point[ix][order(fc$step[ix])]
    if (length(f) != length(a)) stop("wrong number of forecasts for ", key[ix[1]])
    e <- a - f
    data.frame(set = r$set, series = r$series, method = r$method,
               smape = mean(200 * abs(e) / (abs(a) + abs(f))),
               mase = mean(abs(e)) / mean(abs(diff(y, lag = m))),
               rmse = sqrt(mean(e^2)),
               rmsse = sqrt(mean(e^2) / mean(diff(y)^2)),
               mae = mean(abs(e)))
  })
  do.call(rbind, res)
}

score <- function(datadir, outdir) {
  s <- read.csv(file.path(outdir, "series.csv"), stringsAsFactors = FALSE)
  rf <- read.csv(file.path(outdir, "r_forecasts.csv"), stringsAsFactors = FALSE)
  sf <- read.csv(file.path(outdir, "sf_forecasts.csv"), stringsAsFactors = FALSE)
  sf$method <- paste("salesflow", sf$method)
  cp <- s[s$set == "CARPARTS", ]
  zero <- do.call(rbind, lapply(seq_len(nrow(cp)), function(i)
    data.frame(set = "CARPARTS", series = cp$series[i], method = "zero (no model)", step = 1:12, point = 0)))
  err <- series_errors(s, rbind(rf, sf[, names(rf)], zero))
  tm <- rbind(read.csv(file.path(outdir, "r_timing.csv"), stringsAsFactors = FALSE),
              transform(read.csv(file.path(outdir, "sf_timing.csv"), stringsAsFactors = FALSE),
                        method = paste("salesflow", method))[, c("set", "method", "series", "wall_s", "cpu_s")])
  sff <- read.csv(file.path(outdir, "sf_failures.csv"), stringsAsFactors = FALSE)
  # What each salesflow method's time is compared with.
  counterpart <- c("salesflow ets" = "R ets()", "salesflow theta" = "R thetaf()", "salesflow auto" = "R ets()", "salesflow auto@1" = "R ets()",
                   "salesflow croston" = "R croston()", "salesflow sba" = "R croston() SBA",
                   "salesflow tsb" = "R TSB (in R)", "salesflow ses" = "R ses()")
  ms <- function(set, m, col) { r <- tm[tm$set == set & tm$method == m, ]; if (nrow(r)) 1000 * r[[col]] / r$series else NA }
  fmt <- function(x, d) ifelse(is.na(x), "", formatC(x, format = "f", digits = d))
  ref_series <- read.csv(gzfile(file.path(datadir, "m3", "m3_accuracy_per_series.csv.gz")), stringsAsFactors = FALSE)
  ref_period <- read.csv(file.path(datadir, "m3", "m3_accuracy_by_period.csv"), stringsAsFactors = FALSE)

  for (set in c("M3_MONTHLY", "M3_QUARTERLY", "CARPARTS")) {
    e <- err[err$set == set, ]
    if (!nrow(e)) next
    n <- sum(s$set == set); h <- s$h[s$set == set][1]
    m3 <- startsWith(set, "M3")
    cat(sprintf("\n%s: %d series, horizon %d, period %d\n", set, n, h, s$period[s$set == set][1]))
    if (m3) cat(sprintf("%-24s %8s %7s %12s %12s %16s\n", "method", "sMAPE", "MASE", "ms/series", "cpu ms/ser", "R/salesflow time"))
    else cat(sprintf("%-24s %7s %7s %7s %12s %12s %16s\n", "method", "RMSE", "RMSSE", "MAE", "ms/series", "cpu ms/ser", "R/salesflow time"))
    meths <- unique(e$method)
    meths <- c(sort(meths[startsWith(meths, "R ")]), sort(meths[startsWith(meths, "salesflow")]), meths[!grepl("^(R |salesflow)", meths)])
    for (m in meths) {
      x <- e[e$method == m, ]
      wall <- ms(set, m, "wall_s"); cpu <- ms(set, m, "cpu_s")
      ratio <- ""
      if (!is.na(counterpart[m])) {
        rw <- ms(set, counterpart[[m]], "wall_s"); rc <- ms(set, counterpart[[m]], "cpu_s")
        times <- function(r) if (is.finite(r) && r > 0) sprintf(if (r < 10) "%.1fx" else "%.0fx", r) else "n/a"
        if (!is.na(rw)) ratio <- sprintf("%s (cpu %s) vs %s", times(rw / wall), times(rc / cpu), counterpart[[m]])
      }
      nf <- sff$failed[sff$set == set & paste("salesflow", sff$method) == m]
      if (length(nf) && nf > 0) ratio <- paste0(ratio, sprintf(" [%d failed: naive used]", nf))
      if (m3) cat(sprintf("%-24s %8.3f %7.3f %12s %12s   %s\n", m, mean(x$smape), mean(x$mase), fmt(wall, 2), fmt(cpu, 2), ratio))
      else cat(sprintf("%-24s %7.4f %7.4f %7.4f %12s %12s   %s\n", m, mean(x$rmse), mean(x$rmsse), mean(x$mae), fmt(wall, 2), fmt(cpu, 2), ratio))
    }
    if (m3) {
      per <- sub("M3_", "", set)
      rs <- ref_series[ref_series$series %in% s$series[s$set == set] & ref_series$method %in% c("ETS", "THETAF", "orig_THETA"), ]
      cat("reference, R 4.2.2 + forecast 8.20 (m3_accuracy_per_series.csv.gz), these series:\n")
      for (m in c("ETS", "THETAF", "orig_THETA"))
        cat(sprintf("  %-22s %8.3f %7.3f\n", m, mean(rs$smape[rs$method == m]), mean(rs$mase[rs$method == m])))
      rp <- ref_period[ref_period$period == per & ref_period$method %in% c("ETS", "THETAF", "orig_THETA"), ]
      cat(sprintf("reference, m3_accuracy_by_period.csv (%s):\n",
                  if (per == "MONTHLY") "all 1,428 M3 monthly series; the data here holds the 714 odd-numbered ones"
                  else "all 756 M3 quarterly series"))
      for (i in seq_len(nrow(rp))) cat(sprintf("  %-22s %8.3f %7.3f\n", rp$method[i], rp$smape[i], rp$mase[i]))
    } else {
      b <- read.csv(file.path(datadir, "carparts", "carparts_baseline_accuracy_h12.csv"), stringsAsFactors = FALSE)
      cat("reference, carparts_baseline_accuracy_h12.csv (R forecast 8.20, all 2,404 series; smae = MAE / in-sample mean):\n")
      cat(sprintf("  %-22s %7s %7s %7s %7s\n", "method", "RMSE", "MAE", "ME", "sMAE"))
      for (i in seq_len(nrow(b))) cat(sprintf("  %-22s %7.4f %7.4f %7.4f %7.4f\n", b$method[i], b$rmse[i], b$mae[i], b$me[i], b$smae[i]))
    }
  }
  write.csv(err, file.path(outdir, "errors_per_series.csv"), row.names = FALSE)
}

switch(mode,
       prepare = prepare(args[2], args[3], as.integer(args[4])),
       fit = fit(args[2]),
       score = score(args[2], args[3]),
       stop("usage: forecast_vs_r.R prepare|fit|score ..."))
