#!/usr/bin/env bash
# Anomaly accuracy on real data (issue #18): builds bench/anomaly_accuracy.cpp
# (Release) and runs it on the UCI Online Retail sample, the 280 M5 series
# and their store totals, and Twitter's raw_data, all from ../shared/data.
# Prints, per group of series, the 0.1.0 MAD detector next to the local
# detector: recall of injected drops / spikes, precision, false alarms per
# series-quarter on the clean series (raw flags and alerts after the no-storm
# rule) and the largest change of an untouched day's score with 20 points
# injected. --forecast adds forecast-interval scores (slow: one "auto" fit
# every 28 days per series).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
data=${SALESFLOW_DATA:-$root/../shared/data}
build=${SALESFLOW_BENCH_BUILD:-/tmp/salesflow-bench-anomaly}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target anomaly_accuracy >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
zcat "$data/m5/m5_tiny280_sales_validation.csv.gz" >"$tmp/m5.csv"
"$build/anomaly_accuracy" --uci "$data/online_retail/online_retail_400customers.csv" --m5 "$tmp/m5.csv" \
    --twitter "$data/twitter_anomaly/raw_data.csv" "$@"
