// Robust seasonal-trend decomposition of a daily series: x = trend + seasonal
// + residual, with a centred rolling-median trend and a per-phase median
// seasonal component.
//
// This is the robust variant of classical decomposition (Kendall & Stuart;
// Hyndman & Athanasopoulos, "Forecasting: Principles and Practice", 3rd ed.,
// §3.4) with every mean replaced by a median, in the spirit of the robust STL
// of Cleveland, Cleveland, McRae & Terpenning (1990, J. Official Statistics
// 6(1)): an inner loop alternates "trend from the deseasonalised series" and
// "seasonal from the detrended cycle-subseries". Medians instead of loess
// smoothers make a single-day spike or drop invisible to both components, so
// it lands whole in the residual, which is what an anomaly detector needs.
#pragma once

#include "core/common/span.hpp"

#include <cstddef>
#include <vector>

namespace salesflow::anomaly {

// How the weekday effect scales with the level. Sales usually scale
// (Saturday = 1.3 x the weekly level, whatever the level): multiplicative.
enum class SeasonalMode {
    additive,        // seasonal = per-phase median of x - trend
    multiplicative,  // seasonal = trend * (per-phase median of x / trend - 1); needs trend > 0
    automatic,       // multiplicative when the trend is > 0 everywhere, else additive
};

struct DecompositionOptions {
    // Observations per seasonal cycle: 7 for a daily series with a weekday
    // pattern (1440 for minutely data with a daily pattern). < 2 = no seasonal.
    std::size_t period = 7;
    // Width of the centred rolling median of the trend, in observations
    // (clamped to the series length; edges use a shifted full-width window,
    // see rolling_median). 29 days = four weeks plus the centre day, so every
    // weekday is in the window four or five times.
    std::size_t trend_window = 29;
    // Seasonal smoothing: 0 = one fixed pattern, the median of each phase over
    // the whole series (STL's s.window = "periodic"); K > 0 = for each point,
    // the median of its phase over K cycles centred on it (shifted at the
    // edges), so a weekday pattern may drift slowly (STL's finite s.window).
    std::size_t seasonal_cycles = 0;
    // Trend/seasonal alternations (STL's inner loop), >= 1.
    int passes = 2;
    SeasonalMode mode = SeasonalMode::automatic;
};

struct Decomposition {
    std::vector<double> trend;
    // Always in units of the series, so x = trend + seasonal + residual in
    // both modes. Additive: mean 0 over every full cycle; multiplicative:
    // trend * (factor - 1), the factors averaging 1 over a cycle.
    std::vector<double> seasonal;
    std::vector<double> residual;  // x - trend - seasonal
    bool multiplicative = false;   // the mode used in the last pass
};

// Robust decomposition of x. Each pass: trend = rolling median of
// x - seasonal, then the seasonal from x - trend (additive) or x / trend - 1
// (multiplicative). Series with fewer than two full cycles
// (n < 2 * period) or period < 2 get seasonal = 0: one cycle cannot tell a
// weekday effect from noise. Empty input gives empty vectors. Throws
// std::invalid_argument on non-finite values or passes < 1.
Decomposition decompose_robust(span<double> x, const DecompositionOptions& options = {});

// The seasonal component of a detrended series alone (medians per phase,
// centred by a moving average of one period), as used by decompose_robust
// and by the S-H-ESD test. Zero when n < 2 * period or period < 2.
std::vector<double> seasonal_medians(span<double> detrended, std::size_t period, std::size_t seasonal_cycles);

}  // namespace salesflow::anomaly
