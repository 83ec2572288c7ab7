// A small Nelder–Mead simplex minimiser for the forecast fits (Nelder & Mead
// 1965, with the standard reflection/expansion/contraction/shrink coefficients
// 1, 2, 1/2, 1/2 of Lagarias, Reeds, Wright & Wright 1998). R's ets() also
// maximises its likelihood with Nelder–Mead; we use the same relative stopping
// rule (spread of the simplex values below reltol·(|f_best| + reltol)) and a
// budget of objective evaluations. Infeasible points return +inf and the
// simplex retreats from them. Every iteration polls salesflow::check_cancel().
//
// The minimiser is a template over the objective so that the ETS fits, which
// spend nearly all their time here, call their likelihood directly (inlined,
// no std::function per evaluation) and allocate nothing per iteration.
#pragma once

#include "core/common/cancel.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <stdexcept>
#include <vector>

namespace salesflow::forecast {

struct NelderMeadOptions {
    int max_evaluations = 2000;  // R's optim() default maxit for Nelder–Mead
    double reltol = 1e-8;        // R's default reltol
};

struct NelderMeadResult {
    std::vector<double> x;
    double value;
    int evaluations;
};

// Minimises f(const std::vector<double>&) -> double from x0, with the initial
// simplex x0 + step_i·e_i.
template <class F>
NelderMeadResult nelder_mead_min(F&& f, const std::vector<double>& x0, const std::vector<double>& step,
                                 const NelderMeadOptions& options = {}) {
    const std::size_t d = x0.size();
    if (step.size() != d) throw std::invalid_argument("nelder-mead step has the wrong size");
    int evals = 0;
    // NaN counts as infeasible so comparisons stay well ordered.
    auto eval = [&](const std::vector<double>& x) {
        ++evals;
        const double v = f(x);
        return std::isnan(v) ? std::numeric_limits<double>::infinity() : v;
    };
    if (d == 0) return {x0, eval(x0), evals};

    std::vector<std::vector<double>> pts(d + 1, x0);
    std::vector<double> val(d + 1);
    val[0] = eval(x0);
    for (std::size_t i = 0; i < d; ++i) {
        pts[i + 1][i] += step[i];
        val[i + 1] = eval(pts[i + 1]);
    }
    std::vector<std::size_t> order(d + 1);
    std::vector<double> centroid(d), xr(d), xe(d), xc(d);
    auto along = [&](double t, const std::vector<double>& worst, std::vector<double>& out) {
        // centroid + t·(centroid − worst)
        for (std::size_t j = 0; j < d; ++j) out[j] = centroid[j] + t * (centroid[j] - worst[j]);
    };

    while (true) {
        check_cancel();
        for (std::size_t k = 0; k <= d; ++k) order[k] = k;
        std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return val[a] < val[b]; });
        const std::size_t best = order[0], worst = order[d], second = order[d - 1];
        const double fb = val[best], fw = val[worst];
        if (evals >= options.max_evaluations) break;
        if (std::isfinite(fw) && fw - fb <= options.reltol * (std::fabs(fb) + options.reltol)) break;

        std::fill(centroid.begin(), centroid.end(), 0.0);
        for (std::size_t k = 0; k < d; ++k)
            for (std::size_t j = 0; j < d; ++j) centroid[j] += pts[order[k]][j];
        for (double& c : centroid) c /= static_cast<double>(d);

        along(1.0, pts[worst], xr);
        const double fr = eval(xr);
        if (fr < fb) {
            along(2.0, pts[worst], xe);
            const double fe = eval(xe);
            if (fe < fr) {
                pts[worst].swap(xe);
                val[worst] = fe;
            } else {
                pts[worst].swap(xr);
                val[worst] = fr;
            }
            continue;
        }
        if (fr < val[second]) {
            pts[worst].swap(xr);
            val[worst] = fr;
            continue;
        }
        // Contract: outside if the reflection helped a little, inside if not.
        const bool outside = fr < fw;
        along(outside ? 0.5 : -0.5, pts[worst], xc);
        const double fc = eval(xc);
        if (outside ? fc <= fr : fc < fw) {
            pts[worst].swap(xc);
            val[worst] = fc;
            continue;
        }
        // Shrink towards the best vertex.
        for (std::size_t k = 0; k <= d; ++k) {
            if (k == best) continue;
            for (std::size_t j = 0; j < d; ++j) pts[k][j] = pts[best][j] + 0.5 * (pts[k][j] - pts[best][j]);
            val[k] = eval(pts[k]);
        }
    }
    const std::size_t best = static_cast<std::size_t>(std::min_element(val.begin(), val.end()) - val.begin());
    return {pts[best], val[best], evals};
}

// The same through std::function, for callers that do not need the speed.
NelderMeadResult nelder_mead(const std::function<double(const std::vector<double>&)>& f,
                             const std::vector<double>& x0, const std::vector<double>& step,
                             const NelderMeadOptions& options = {});

}  // namespace salesflow::forecast
