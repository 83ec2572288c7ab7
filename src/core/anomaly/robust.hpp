// Robust location and scale, and the centred rolling median, shared by the
// anomaly module's decomposition, MAD detector and S-H-ESD test.
//
// Median and MAD (median absolute deviation) as in Hampel (1974) and
// Rousseeuw & Croux (1993): MAD(x) = med |x_i - med(x)|, and 1.4826 MAD is a
// consistent estimator of the standard deviation under normality (R's mad()).
// The even-length median is the mean of the two middle order statistics, as in
// R, so the S-H-ESD port reproduces the AnomalyDetection package.
#pragma once

#include "core/common/span.hpp"

#include <cstddef>
#include <vector>

namespace salesflow::anomaly {

// 1 / Phi^-1(3/4): MAD * kMadToSd estimates sigma for normal data.
inline constexpr double kMadToSd = 1.482602218505602;

// Median of x (0 for an empty input). Copies; O(n).
double median(span<double> x);

// Median of |x_i - center| (0 for an empty input). Unscaled.
double mad(span<double> x, double center);

// Centred rolling median with a window of `window` points (clamped to n).
// Interior point t uses [t - h, t - h + window) with h = (window - 1) / 2; near
// the edges the window keeps its full width and is shifted inside the series
// (the first / last `window` points), so every estimate rests on the same
// number of observations and the last days (the ones scored incrementally)
// get a trailing median rather than a noisier half-window one.
// window = 0 is treated as 1. O(n * window) with a sorted sliding buffer.
// Throws std::invalid_argument on a non-finite value.
std::vector<double> rolling_median(span<double> x, std::size_t window);

// Throws std::invalid_argument("<what> must be a finite number >= 0") unless v is.
void require_non_negative(double v, const char* what);

// Throws std::invalid_argument("<what> must be finite") unless every value is.
void require_finite(span<double> x, const char* what);

}  // namespace salesflow::anomaly
