// Seasonal Hybrid ESD (Hochenbaum, Vallis & Kejariwal 2017; generalized ESD of
// Rosner 1983 with median / MAD). See shesd.hpp for the steps and the one
// deliberate difference from Twitter's AnomalyDetection package.
#include "core/anomaly/shesd.hpp"

#include "core/anomaly/decompose.hpp"
#include "core/anomaly/robust.hpp"
#include "core/common/cancel.hpp"

#include <boost/math/distributions/students_t.hpp>
#include <boost/math/policies/policy.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace salesflow::anomaly {
namespace {

namespace bm = boost::math;
namespace bmp = boost::math::policies;

// Errors throw instead of returning NaN (the module's one Boost.Math policy).
using MathPolicy = bmp::policy<bmp::domain_error<bmp::throw_on_error>, bmp::pole_error<bmp::throw_on_error>,
                               bmp::overflow_error<bmp::throw_on_error>,
                               bmp::evaluation_error<bmp::throw_on_error>,
                               bmp::underflow_error<bmp::ignore_error>, bmp::promote_double<false>>;
using StudentsT = bm::students_t_distribution<double, MathPolicy>;

// Seasonal component of one window: detrend with a centred rolling median of
// about 1.5 periods (STL's default trend span for a periodic seasonal), take
// the per-phase medians, and alternate twice.
std::vector<double> esd_seasonal(span<double> x, std::size_t period) {
    DecompositionOptions d;
    d.period = period;
    d.trend_window = period + period / 2 + ((period + period / 2) % 2 == 0 ? 1 : 0);
    d.seasonal_cycles = 0;
    d.passes = 2;
    d.mode = SeasonalMode::additive;  // STL is additive
    return decompose_robust(x, d).seasonal;
}

// S-H-ESD on one window; indices are relative to the window.
std::vector<Anomaly> esd_window(span<double> x, const EsdOptions& o) {
    const std::size_t n = x.size();
    std::vector<Anomaly> out;
    if (n < 3) return out;
    const std::vector<double> seasonal = esd_seasonal(x, o.period);
    const double level = median(x);

    struct Point {
        std::size_t index;
        double r;
    };
    std::vector<Point> left(n);
    for (std::size_t t = 0; t < n; ++t) left[t] = {t, x[t] - seasonal[t] - level};

    const auto k = static_cast<std::size_t>(std::floor(static_cast<double>(n) * o.max_anoms));
    struct Removed {
        std::size_t index;
        double score;  // signed R_i
    };
    std::vector<Removed> removed;
    removed.reserve(k);
    std::vector<double> buf;
    std::size_t num_anoms = 0;
    for (std::size_t i = 1; i <= k; ++i) {
        if ((i & 63) == 0) check_cancel();
        const std::size_t m = left.size();  // n - i + 1
        if (m < 3) break;                   // t needs n - i - 1 >= 1 degrees of freedom
        buf.resize(m);
        for (std::size_t j = 0; j < m; ++j) buf[j] = left[j].r;
        const double med = median(buf);
        const double sigma = kMadToSd * mad(buf, med);
        if (!(sigma > 0.0)) break;  // as the package: no spread left, stop

        std::size_t best = 0;
        double best_stat = -std::numeric_limits<double>::infinity();
        for (std::size_t j = 0; j < m; ++j) {
            const double dev = left[j].r - med;
            const double stat = o.direction == Direction::both ? std::fabs(dev)
                                : o.direction == Direction::spike ? dev
                                                                   : -dev;
            if (stat > best_stat) {  // strict: the first (earliest) of ties, as R's which(...)[1]
                best_stat = stat;
                best = j;
            }
        }
        const double R = best_stat / sigma;
        removed.push_back({left[best].index, left[best].r >= med ? R : -R});
        left.erase(left.begin() + static_cast<std::ptrdiff_t>(best));

        const double nn = static_cast<double>(n), ii = static_cast<double>(i);
        const double tail = o.direction == Direction::both ? o.alpha / (2.0 * (nn - ii + 1.0)) : o.alpha / (nn - ii + 1.0);
        const double t = bm::quantile(bm::complement(StudentsT(nn - ii - 1.0), tail));
        const double lambda = t * (nn - ii) / std::sqrt((nn - ii - 1.0 + t * t) * (nn - ii + 1.0));
        if (R > lambda) num_anoms = i;
    }

    for (std::size_t j = 0; j < num_anoms; ++j) {
        const std::size_t t = removed[j].index;
        out.push_back({t, x[t], level + seasonal[t], removed[j].score});
    }
    return out;
}

}  // namespace

std::size_t longterm_window(std::size_t period, std::size_t weeks) {
    if (weeks == 0) throw std::invalid_argument("piecewise window weeks must be >= 1");
    return period == 7 ? 7 * weeks + 1 : period * 7 * weeks;
}

std::vector<Anomaly> seasonal_hybrid_esd(span<double> x, const EsdOptions& o) {
    require_finite(x, "series values");
    if (!(o.max_anoms > 0.0 && o.max_anoms <= 0.49)) throw std::invalid_argument("max_anoms must be in (0, 0.49]");
    if (!(o.alpha > 0.0 && o.alpha < 1.0)) throw std::invalid_argument("alpha must be strictly between 0 and 1");
    const std::size_t n = x.size();
    std::vector<Anomaly> all;
    if (n == 0) return all;
    // The package raises max_anoms to 1 / n so that at least one test runs.
    EsdOptions opt = o;
    opt.max_anoms = std::max(o.max_anoms, 1.0 / static_cast<double>(n));

    const std::size_t w = (o.longterm_window == 0 || o.longterm_window >= n) ? n : o.longterm_window;
    std::vector<char> seen(n, 0);
    for (std::size_t start = 0; start < n; start += w) {
        const std::size_t s = start + w <= n ? start : n - w;  // short tail: last full window
        for (Anomaly a : esd_window(span<double>(x.data() + s, w), opt)) {
            a.index += s;
            if (seen[a.index]) continue;  // overlapping last window: first verdict wins
            seen[a.index] = 1;
            all.push_back(a);
        }
    }
    std::sort(all.begin(), all.end(), [](const Anomaly& a, const Anomaly& b) { return a.index < b.index; });
    if (o.only_last > 0 && o.only_last < n) {
        const std::size_t first = n - o.only_last;
        all.erase(std::remove_if(all.begin(), all.end(), [&](const Anomaly& a) { return a.index < first; }), all.end());
    }
    return all;
}

}  // namespace salesflow::anomaly
