// Median, MAD and the shifted-edge centred rolling median (see robust.hpp;
// Hampel 1974, Rousseeuw & Croux 1993).
#include "core/anomaly/robust.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace salesflow::anomaly {
namespace {

// Median of a mutable buffer (reorders it).
double median_inplace(std::vector<double>& v) {
    const std::size_t n = v.size();
    if (n == 0) return 0.0;
    const std::size_t mid = n / 2;
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
    const double hi = v[mid];
    if (n % 2 == 1) return hi;
    const double lo = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid));
    return lo + (hi - lo) / 2.0;  // no overflow for huge same-sign values
}

double sorted_median(const std::vector<double>& s) {
    const std::size_t n = s.size();
    if (n == 0) return 0.0;
    if (n % 2 == 1) return s[n / 2];
    return s[n / 2 - 1] + (s[n / 2] - s[n / 2 - 1]) / 2.0;
}

}  // namespace

double median(span<double> x) {
    std::vector<double> v(x.begin(), x.end());
    return median_inplace(v);
}

double mad(span<double> x, double center) {
    std::vector<double> v;
    v.reserve(x.size());
    for (double xi : x) v.push_back(std::fabs(xi - center));
    return median_inplace(v);
}

void require_non_negative(double v, const char* what) {
    if (!std::isfinite(v) || v < 0.0) throw std::invalid_argument(std::string(what) + " must be a finite number >= 0");
}

void require_finite(span<double> x, const char* what) {
    for (double v : x)
        if (!std::isfinite(v)) throw std::invalid_argument(std::string(what) + " must be finite (no NaN or infinity)");
}

std::vector<double> rolling_median(span<double> x, std::size_t window) {
    require_finite(x, "rolling median input");
    const std::size_t n = x.size();
    std::vector<double> out(n, 0.0);
    if (n == 0) return out;
    const std::size_t w = std::clamp<std::size_t>(window, 1, n);
    const std::size_t h = (w - 1) / 2;
    // Window start for point t: clamp(t - h, 0, n - w).
    auto start_of = [&](std::size_t t) { return t < h ? 0 : std::min(t - h, n - w); };

    std::vector<double> buf(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(w));
    std::sort(buf.begin(), buf.end());
    std::size_t cur = 0;
    for (std::size_t t = 0; t < n; ++t) {
        const std::size_t s = start_of(t);
        while (cur < s) {  // slide by one: drop x[cur], add x[cur + w]
            const double out_v = x[cur], in_v = x[cur + w];
            auto it = std::lower_bound(buf.begin(), buf.end(), out_v);
            buf.erase(it);
            buf.insert(std::upper_bound(buf.begin(), buf.end(), in_v), in_v);
            ++cur;
        }
        out[t] = sorted_median(buf);
    }
    return out;
}

}  // namespace salesflow::anomaly
