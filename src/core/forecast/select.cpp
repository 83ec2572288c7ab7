// Method dispatch, the rolling-origin backtest and automatic selection
// (Hyndman & Athanasopoulos, FPP 3rd ed., 5.10 on time series cross-validation
// and 13.4 on combinations; Hyndman et al. 2008, 7.2 on selection by AICc).
//
// 'auto' works in two tiers. Within the ETS family an information criterion
// (AICc) picks the model, as R's ets() does: that is cheap and does not need
// held-out data. Across families (ETS, Theta, the ETS/Theta combination,
// Croston/SBA/TSB for intermittent series, the baselines) likelihoods are not
// comparable, so each candidate is fitted once on the series minus its last k
// values and scored by the MASE of its 1..h-step forecasts from each of the k
// last origins, parameters held fixed (refitting per origin would multiply the
// cost by k for little change in the ranking). The winner is refitted on the
// whole series. The combination averages ETS and Theta point forecasts (with
// two members the median and the mean coincide), a simple combination that
// was among the strongest in M3 and M4.
#include "core/forecast/select.hpp"

#include "core/common/cancel.hpp"
#include "core/forecast/accuracy.hpp"
#include "core/forecast/baselines.hpp"
#include "core/forecast/common.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace salesflow::forecast {

namespace {

const EtsSpec ann{ErrorType::additive, TrendType::none, SeasonType::none};

bool is_ets_code(const std::string& method, EtsSpec* spec) { return parse_ets_code(method, spec); }

int default_backtest_horizon(int period) { return period > 1 ? period : 6; }

struct Plan {
    bool ok = false;
    int n0 = 0;        // training length
    double scale = 0;  // MASE denominator
};

Plan make_plan(span<double> y, int period, int horizon) {
    Plan p;
    const int n = static_cast<int>(y.size());
    const int k = std::min(2 * horizon, n / 4);
    p.n0 = n - k;
    if (k < 1 || p.n0 < std::max(2 * period, 8)) return p;
    const span<double> train(y.data(), p.n0);
    p.scale = mase_scale(train, period);
    if (!(p.scale > 0.0)) {
        // A flat training window: scale by its mean level instead, so the
        // score stays finite and comparable across candidates.
        double s = 0.0;
        for (double v : train) s += std::fabs(v);
        p.scale = s / p.n0 > 0.0 ? s / p.n0 : 1.0;
    }
    p.ok = true;
    return p;
}

std::vector<std::vector<double>> average(const std::vector<std::vector<double>>& a,
                                         const std::vector<std::vector<double>>& b);

// Forecasts from every origin: paths[i] starts at origin n0 + i. ETS and
// Theta filter y once and forecast from each origin on the way; the others
// are cheap enough to forecast from each prefix.
std::vector<std::vector<double>> origin_paths(const FittedMethod& f, span<double> y, const Plan& plan, int horizon) {
    check_cancel();
    switch (f.family) {
        case Family::ets: return ets_origin_forecasts(f.ets, y, plan.n0, horizon);
        case Family::theta: return theta_origin_forecasts(f.theta, y, plan.n0, horizon);
        case Family::combo:
            return average(ets_origin_forecasts(f.ets, y, plan.n0, horizon),
                           theta_origin_forecasts(f.theta, y, plan.n0, horizon));
        default: break;
    }
    const int n = static_cast<int>(y.size());
    std::vector<std::vector<double>> paths;
    for (int o = plan.n0; o < n; ++o) {
        const int h = std::min(horizon, n - o);
        paths.push_back(point_forecast(f, span<double>(y.data(), o), h));
    }
    return paths;
}

double score(const std::vector<std::vector<double>>& paths, span<double> y, const Plan& plan) {
    double s = 0.0;
    long c = 0;
    for (std::size_t i = 0; i < paths.size(); ++i)
        for (std::size_t h = 0; h < paths[i].size(); ++h) {
            s += std::fabs(y[plan.n0 + i + h] - paths[i][h]);
            ++c;
        }
    const double v = s / c / plan.scale;
    return std::isfinite(v) ? v : std::numeric_limits<double>::max();
}

std::vector<std::vector<double>> average(const std::vector<std::vector<double>>& a,
                                         const std::vector<std::vector<double>>& b) {
    std::vector<std::vector<double>> out = a;
    for (std::size_t i = 0; i < out.size(); ++i)
        for (std::size_t h = 0; h < out[i].size(); ++h) out[i][h] = 0.5 * (a[i][h] + b[i][h]);
    return out;
}

FittedMethod ets_method(const EtsModel& model, int period) {
    FittedMethod f;
    f.family = Family::ets;
    f.period = period;
    f.ets = model;
    f.name = ets_code(model.spec);
    return f;
}

FitAndForecast finish_fit(const FittedMethod& f, span<double> y, int horizon, bool non_negative, double bt) {
    FitAndForecast out;
    out.fit = describe(f);
    out.fit.backtest_mase = bt;
    out.forecast = interval_forecast(f, y, horizon);
    finish(out.forecast, non_negative);
    return out;
}

FitAndForecast auto_fit(span<double> y, int period, int horizon, bool non_negative) {
    const int n = static_cast<int>(y.size());
    if (n < 4) return finish_fit(fit_method(y, period, "mean"), y, horizon, non_negative, -1.0);
    const Plan plan = make_plan(y, period, horizon);
    const std::vector<std::string> cands = auto_candidates(y, period);
    if (!plan.ok) {
        // Too short to hold anything out: ETS by AICc when it fits, SBA for
        // intermittent demand, else the naive forecast.
        const bool intermittent = is_intermittent(y);
        for (const char* m : {intermittent ? "sba" : "ets", "naive"}) {
            try {
                return finish_fit(fit_method(y, period, m), y, horizon, non_negative, -1.0);
            } catch (const std::invalid_argument&) {
            }
        }
        return finish_fit(fit_method(y, period, "mean"), y, horizon, non_negative, -1.0);
    }
    const span<double> train(y.data(), plan.n0);
    std::string best;
    double best_score = std::numeric_limits<double>::infinity();
    std::vector<std::vector<double>> ets_paths, theta_paths;
    std::vector<EtsModel> ets_train;  // every ETS candidate fitted on the training part
    auto consider = [&](const std::string& name, double s) {
        if (s < best_score) {
            best_score = s;
            best = name;
        }
    };
    for (const std::string& c : cands) {
        check_cancel();
        try {
            if (c == "combo") {
                if (ets_paths.empty() || theta_paths.empty()) continue;
                consider(c, score(average(ets_paths, theta_paths), y, plan));
                continue;
            }
            FittedMethod f;
            if (c == "ets") {
                ets_train = fit_ets_all(train, period);
                f = ets_method(best_by_aicc(ets_train), period);
            } else {
                f = fit_method(train, period, c);
            }
            std::vector<std::vector<double>> paths = origin_paths(f, y, plan, horizon);
            consider(c, score(paths, y, plan));
            if (c == "ets") ets_paths = std::move(paths);
            if (c == "theta") theta_paths = std::move(paths);
        } catch (const std::invalid_argument&) {
            // This candidate cannot handle the training window; the others compete.
        }
    }
    if (best.empty()) best = "naive";
    try {
        if ((best == "ets" || best == "combo") && !ets_train.empty()) {
            // The winner is refitted on the whole series, ETS by AICc over all
            // candidates as 'ets' does. (Starting those fits from their
            // training-window estimates, fit_ets_all's `warm`, saves a quarter
            // of auto's time on long series but lands in other local optima
            // often enough to cost accuracy on the M3 sample, so we do not.)
            FittedMethod f = ets_method(fit_ets_auto(y, period), period);
            if (best == "combo") {
                f.family = Family::combo;
                f.name = "combo";
                f.theta = fit_theta(y, period);
            }
            return finish_fit(f, y, horizon, non_negative, best_score);
        }
        return finish_fit(fit_method(y, period, best), y, horizon, non_negative, best_score);
    } catch (const std::invalid_argument&) {
        return finish_fit(fit_method(y, period, "naive"), y, horizon, non_negative, -1.0);
    }
}

void check_method_name(const std::string& method) {
    if (method.empty()) throw std::invalid_argument("method must not be empty");
}

}  // namespace

FittedMethod fit_method(span<double> y, int period, const std::string& method) {
    check_series(y, period);
    check_method_name(method);
    FittedMethod f;
    f.period = period;
    f.name = method;
    EtsSpec spec;
    if (method == "ets") {
        f.family = Family::ets;
        f.ets = fit_ets_auto(y, period);
        f.name = ets_code(f.ets.spec);
    } else if (method == "ses") {
        f.family = Family::ets;
        f.ets = fit_ets(y, period, ann);
    } else if (is_ets_code(method, &spec)) {
        f.family = Family::ets;
        f.ets = fit_ets(y, period, spec);
    } else if (method == "theta") {
        f.family = Family::theta;
        f.theta = fit_theta(y, period);
    } else if (method == "combo") {
        f.family = Family::combo;
        f.ets = fit_ets_auto(y, period);
        f.theta = fit_theta(y, period);
    } else if (method == "croston" || method == "sba" || method == "tsb") {
        f.family = Family::intermittent;
        const IntermittentMethod m = method == "croston" ? IntermittentMethod::croston
                                     : method == "sba"   ? IntermittentMethod::sba
                                                         : IntermittentMethod::tsb;
        f.intermittent = fit_intermittent(y, m);
    } else if (method == "naive") {
        f.family = Family::naive;
    } else if (method == "snaive") {
        f.family = Family::snaive;
    } else if (method == "mean") {
        f.family = Family::mean;
    } else {
        throw std::invalid_argument("unknown forecast method \"" + method + "\"");
    }
    return f;
}

std::vector<double> point_forecast(const FittedMethod& f, span<double> y, int horizon) {
    switch (f.family) {
        case Family::ets: return ets_point_forecast(f.ets, y, horizon);
        case Family::theta: return theta_point_forecast(f.theta, y, horizon);
        case Family::combo: {
            std::vector<double> a = ets_point_forecast(f.ets, y, horizon);
            const std::vector<double> b = theta_point_forecast(f.theta, y, horizon);
            for (int h = 0; h < horizon; ++h) a[h] = 0.5 * (a[h] + b[h]);
            return a;
        }
        case Family::intermittent: return std::vector<double>(horizon, intermittent_level(f.intermittent, y));
        case Family::naive: return naive_forecast(y, horizon).point;
        case Family::snaive: return snaive_forecast(y, horizon, f.period).point;
        case Family::mean: return mean_forecast(y, horizon).point;
    }
    return {};
}

Forecast interval_forecast(const FittedMethod& f, span<double> y, int horizon) {
    check_horizon(horizon);
    switch (f.family) {
        case Family::ets: return ets_forecast(f.ets, y, horizon);
        case Family::theta: return theta_forecast(f.theta, y, horizon);
        case Family::combo: {
            // Averaging the members' bounds: a simple, conservative interval
            // for an equal-weight combination of two highly correlated forecasts.
            Forecast a = ets_forecast(f.ets, y, horizon);
            const Forecast b = theta_forecast(f.theta, y, horizon);
            for (int h = 0; h < horizon; ++h) {
                a.point[h] = 0.5 * (a.point[h] + b.point[h]);
                Interval& i = a.intervals[h];
                const Interval& j = b.intervals[h];
                i = {0.5 * (i.lo80 + j.lo80), 0.5 * (i.hi80 + j.hi80), 0.5 * (i.lo95 + j.lo95), 0.5 * (i.hi95 + j.hi95)};
            }
            return a;
        }
        case Family::intermittent: return intermittent_forecast(f.intermittent, y, horizon);
        case Family::naive: return naive_forecast(y, horizon);
        case Family::snaive: return snaive_forecast(y, horizon, f.period);
        case Family::mean: return mean_forecast(y, horizon);
    }
    return {};
}

FitResult describe(const FittedMethod& f) {
    FitResult r;
    r.method = f.name;
    switch (f.family) {
        case Family::ets:
            r.params = ets_params(f.ets);
            r.loglik = f.ets.loglik;
            r.aic = f.ets.aic;
            r.aicc = f.ets.aicc;
            r.bic = f.ets.bic;
            break;
        case Family::theta:
            r.params = {{"alpha", f.theta.alpha}, {"l", f.theta.l0}, {"drift", f.theta.drift},
                        {"seasonal", f.theta.seasonal ? 1.0 : 0.0}, {"sigma2", f.theta.sigma2}};
            break;
        case Family::combo:
            for (const auto& p : ets_params(f.ets)) r.params.emplace_back("ets_" + p.first, p.second);
            r.params.emplace_back("theta_alpha", f.theta.alpha);
            r.params.emplace_back("theta_drift", f.theta.drift);
            break;
        case Family::intermittent:
            r.params.emplace_back("alpha", f.intermittent.alpha);
            if (f.intermittent.method == IntermittentMethod::tsb) r.params.emplace_back("beta", f.intermittent.beta);
            break;
        case Family::naive:
        case Family::snaive:
        case Family::mean:
            break;
    }
    return r;
}

double backtest_mase(span<double> y, int period, const std::string& method, int horizon) {
    check_series(y, period);
    check_horizon(horizon);
    const Plan plan = make_plan(y, period, horizon);
    if (!plan.ok) return -1.0;
    try {
        const FittedMethod f = fit_method(span<double>(y.data(), plan.n0), period, method);
        return score(origin_paths(f, y, plan, horizon), y, plan);
    } catch (const std::invalid_argument&) {
        return -1.0;
    }
}

std::vector<std::string> auto_candidates(span<double> y, int period) {
    std::vector<std::string> c = {"ets", "theta", "combo"};
    if (is_intermittent(y)) {
        c.push_back("croston");
        c.push_back("sba");
        c.push_back("tsb");
    }
    if (period > 1) c.push_back("snaive");
    c.push_back("naive");
    c.push_back("mean");
    return c;
}

FitResult fit(span<double> y, int period, const std::string& method) {
    check_series(y, period);
    check_method_name(method);
    const int h = default_backtest_horizon(period);
    if (method == "auto") return auto_fit(y, period, h, true).fit;
    FitResult r = describe(fit_method(y, period, method));
    r.backtest_mase = backtest_mase(y, period, method, h);
    return r;
}

FitAndForecast fit_and_forecast(span<double> y, int horizon, int period, const std::string& method,
                                bool non_negative) {
    check_series(y, period);
    check_horizon(horizon);
    check_method_name(method);
    if (method == "auto") return auto_fit(y, period, horizon, non_negative);
    const FittedMethod f = fit_method(y, period, method);
    return finish_fit(f, y, horizon, non_negative, backtest_mase(y, period, method, horizon));
}

Forecast forecast(span<double> y, int horizon, int period, const std::string& method, bool non_negative) {
    check_series(y, period);
    check_horizon(horizon);
    check_method_name(method);
    if (method == "auto") return auto_fit(y, period, horizon, non_negative).forecast;
    Forecast f = interval_forecast(fit_method(y, period, method), y, horizon);
    finish(f, non_negative);
    return f;
}

}  // namespace salesflow::forecast
