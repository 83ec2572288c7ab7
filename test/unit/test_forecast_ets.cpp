// ETS against R's ets()/forecast.ets() (fixtures from make_fixtures.R): the
// recursions, likelihood and interval formulas with R's own estimates plugged
// in, our maximum-likelihood fits and AICc choices, plus behaviour on
// simulated series of known structure.
#include "core/forecast/ets.hpp"

#include "test_forecast_fixtures.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace fc = salesflow::forecast;
namespace fx = forecast_fixtures;

namespace {

double rel(double a, double b) { return std::fabs(a - b) / std::max(1.0, std::fabs(b)); }

const fx::Series& find_series(const std::vector<fx::Series>& all, const std::string& name) {
    for (const auto& s : all)
        if (s.name == name) return s;
    throw std::runtime_error("no series " + name);
}

}  // namespace

// With R's parameters and initial states, our recursions give R's likelihood
// and sigma², and our class 1/2/3 variance formulas R's intervals.
TEST(ForecastEts, ReproducesRWithRParameters) {
    const auto all = fx::series();
    const auto fits = fx::ets_fits();
    const auto fcs = fx::forecasts("ets_forecasts.csv");
    int checked = 0;
    for (const auto& [name, models] : fits.values) {
        const fx::Series& s = find_series(all, name);
        for (const auto& [key, p] : models) {
            if (key == "ses" || key == "theta") continue;
            const std::string code = key == "auto" ? fits.auto_models.at(name) : key;
            SCOPED_TRACE(name + " " + key + " " + code);
            fc::EtsModel m = fx::model_from_r(code, s.period, p);
            fc::ets_evaluate(m, s.y);
            EXPECT_LT(rel(m.loglik, p.at("loglik")), 1e-6) << m.loglik << " vs " << p.at("loglik");
            EXPECT_LT(rel(m.aicc, p.at("aicc")), 1e-6);
            EXPECT_LT(std::fabs(m.sigma2 - p.at("sigma2")) / p.at("sigma2"), 1e-6);
            const auto& rows = fcs.at(name).at(key);
            const fc::Forecast f = fc::ets_forecast(m, s.y, static_cast<int>(rows.size()));
            // Where we follow the book rather than R 8.20 (see ets.hpp): the
            // step-m variance of seasonal class 1/2 models, and MAdM's moments.
            const bool damped_mult_season = code == "MAdM";
            const bool seasonal_linear = code.back() == 'A';
            for (std::size_t h = 0; h < rows.size(); ++h) {
                const double scale = std::max(1.0, std::fabs(rows[h].mean));
                const double tol = damped_mult_season ? 0.02 * scale : 1e-6 * scale;
                EXPECT_NEAR(f.point[h], rows[h].mean, tol) << "step " << h + 1;
                if (seasonal_linear && (h + 1) % s.period == 0) continue;
                // Class 2 seasonal: R's extra γ term feeds the θ recursion of
                // every later step, so there we compare the first season only.
                if (seasonal_linear && code[0] == 'M' && h + 1 > static_cast<std::size_t>(s.period)) continue;
                const double itol = tol;
                EXPECT_NEAR(f.intervals[h].lo80, rows[h].lo80, itol) << "step " << h + 1;
                EXPECT_NEAR(f.intervals[h].hi80, rows[h].hi80, itol) << "step " << h + 1;
                EXPECT_NEAR(f.intervals[h].lo95, rows[h].lo95, itol) << "step " << h + 1;
                EXPECT_NEAR(f.intervals[h].hi95, rows[h].hi95, itol) << "step " << h + 1;
            }
            ++checked;
        }
    }
    EXPECT_GT(checked, 100);
}

// Our maximum-likelihood fits reach R's likelihood (or better: R's optimiser
// works in the raw parameter space and often stops early). Tolerance: our
// criterion may be worse than R's by at most 0.5% of |loglik| + 1 per model,
// and on average over all models it must not be worse.
TEST(ForecastEts, MaximumLikelihoodAtLeastAsGoodAsR) {
    const auto all = fx::series();
    const auto fits = fx::ets_fits();
    double total_gain = 0.0;
    int n = 0, better_or_equal = 0;
    for (const auto& [name, models] : fits.values) {
        const fx::Series& s = find_series(all, name);
        for (const auto& [key, p] : models) {
            if (key == "auto" || key == "ses" || key == "theta") continue;
            SCOPED_TRACE(name + " " + key);
            fc::EtsSpec spec;
            ASSERT_TRUE(fc::parse_ets_code(key, &spec));
            const fc::EtsModel m = fc::fit_ets(s.y, s.period, spec);
            const double r = p.at("loglik");
            EXPECT_GT(m.loglik, r - (0.005 * std::fabs(r) + 1.0)) << "ours " << m.loglik << " R " << r;
            total_gain += m.loglik - r;
            if (m.loglik >= r - 1e-3) ++better_or_equal;
            ++n;
        }
    }
    EXPECT_GE(total_gain, 0.0);
    RecordProperty("models", n);
    RecordProperty("at_least_as_good", better_or_equal);
    std::printf("ets fits: %d of %d at least as likely as R's, mean loglik gain %.3f\n", better_or_equal, n,
                total_gain / n);
}

// AICc selection picks R's model on most fixture series.
TEST(ForecastEts, AutoSelectsRsModelOnMostSeries) {
    const auto fits = fx::ets_fits();
    int same = 0, total = 0;
    for (const auto& s : fx::series()) {
        const fc::EtsModel m = fc::fit_ets_auto(s.y, s.period);
        const std::string r = fits.auto_models.at(s.name);
        const double r_aicc = fits.values.at(s.name).at("auto").at("aicc");
        std::printf("%-14s ours %-5s aicc %10.3f   R %-5s aicc %10.3f\n", s.name.c_str(), fc::ets_code(m.spec).c_str(),
                    m.aicc, r.c_str(), r_aicc);
        // Whatever we pick must be at least as good by AICc as R's choice (up to
        // optimiser noise).
        EXPECT_LT(m.aicc, r_aicc + 0.005 * std::fabs(r_aicc) + 1.0) << s.name;
        same += fc::ets_code(m.spec) == r;
        ++total;
    }
    EXPECT_GE(same * 3, total * 2) << same << " of " << total;  // at least two thirds
}

// The backtest's one-pass origin forecasts equal a fresh filter over every
// prefix, for each model class.
TEST(ForecastEts, OriginForecastsMatchRefilteringEachPrefix) {
    const auto all = fx::series();
    const fx::Series& s = find_series(all, "AirPassengers");
    for (const char* code : {"ANN", "AAdN", "ANA", "AAA", "MNM", "MAdM", "MAdA"}) {
        SCOPED_TRACE(code);
        fc::EtsSpec spec;
        ASSERT_TRUE(fc::parse_ets_code(code, &spec));
        const fc::EtsModel m = fc::fit_ets(s.y, s.period, spec);
        const int n = static_cast<int>(s.y.size()), first = n - 30, h = 14;
        const auto paths = fc::ets_origin_forecasts(m, s.y, first, h);
        ASSERT_EQ(static_cast<int>(paths.size()), n - first);
        for (int o = first; o < n; ++o) {
            const int hh = std::min(h, n - o);
            const std::vector<double> prefix(s.y.begin(), s.y.begin() + o);
            const std::vector<double> ref = fc::ets_point_forecast(m, prefix, hh);
            ASSERT_EQ(paths[o - first].size(), ref.size());
            for (int k = 0; k < hh; ++k) EXPECT_NEAR(paths[o - first][k], ref[k], 1e-9 * std::max(1.0, std::fabs(ref[k])));
        }
    }
}

// A refit started from a fit to a prefix (fit_ets with a start model, and
// fit_ets_all with `warm`) ends where a fresh fit does, up to optimiser noise.
TEST(ForecastEts, WarmStartedRefitReachesFreshLikelihood) {
    std::mt19937 rng(3);
    std::normal_distribution<double> eps(0.0, 1.0);
    std::vector<double> y;
    for (int t = 0; t < 200; ++t) y.push_back(100 + 0.2 * t + 15 * std::sin(2 * M_PI * t / 7) + 4 * eps(rng));
    const std::vector<double> prefix(y.begin(), y.end() - 28);
    for (const char* code : {"ANN", "AAdA", "MAM", "MNA"}) {
        SCOPED_TRACE(code);
        fc::EtsSpec spec;
        ASSERT_TRUE(fc::parse_ets_code(code, &spec));
        const fc::EtsModel start = fc::fit_ets(prefix, 7, spec);
        const fc::EtsModel warm = fc::fit_ets(y, 7, start);
        const fc::EtsModel fresh = fc::fit_ets(y, 7, spec);
        EXPECT_EQ(fc::ets_code(warm.spec), code);
        EXPECT_EQ(warm.n, 200);
        EXPECT_GT(warm.loglik, fresh.loglik - (0.005 * std::fabs(fresh.loglik) + 1.0));
    }
    const auto warm_all = fc::fit_ets_all(y, 7, {}, fc::fit_ets_all(prefix, 7));
    EXPECT_EQ(warm_all.size(), fc::ets_candidates(y, 7).size());
    const fc::EtsModel best = fc::fit_ets_auto(y, 7);
    EXPECT_LT(fc::best_by_aicc(warm_all).aicc, best.aicc + 0.005 * std::fabs(best.aicc) + 1.0);
}

// The stepwise search's starts: a fitted ETS(A,N,A) converted to the nested
// models the long-series search fits next, and the fits from those starts
// reaching the likelihood of a fresh fit.
TEST(ForecastEts, StartFromNeighbourConvertsAndReachesFreshLikelihood) {
    std::mt19937 rng(21);
    std::normal_distribution<double> eps(0.0, 1.0);
    std::vector<double> y;
    double level = 200.0;
    for (int t = 0; t < 400; ++t) {
        level += 0.15 + 2.0 * eps(rng);
        y.push_back(level * (1.0 + 0.25 * std::sin(2 * M_PI * t / 7)) + 5.0 * eps(rng));
    }
    const fc::EtsModel base = fc::fit_ets(y, 7, fc::EtsSpec{fc::ErrorType::additive, fc::TrendType::none, fc::SeasonType::additive});

    fc::EtsSpec mnm;
    ASSERT_TRUE(fc::parse_ets_code("MNM", &mnm));
    const fc::EtsModel s = fc::ets_start_from(base, mnm, 7);
    ASSERT_EQ(s.s0.size(), 7u);
    double sum = 0.0;
    for (double v : s.s0) {
        EXPECT_GT(v, 0.0);
        sum += v;
    }
    EXPECT_NEAR(sum, 7.0, 1e-9);  // multiplicative seasons average one
    // Additive season s becomes 1 + s/ℓ: the peak stays the peak.
    const auto peak = [](const std::vector<double>& v) { return std::max_element(v.begin(), v.end()) - v.begin(); };
    EXPECT_EQ(peak(s.s0), peak(base.s0));
    EXPECT_DOUBLE_EQ(s.alpha, base.alpha);
    EXPECT_DOUBLE_EQ(s.gamma, base.gamma);

    fc::EtsSpec aada;
    ASSERT_TRUE(fc::parse_ets_code("AAdA", &aada));
    const fc::EtsModel d = fc::ets_start_from(base, aada, 7);
    EXPECT_EQ(d.b0, 0.0);
    EXPECT_GT(d.beta, 0.0);
    EXPECT_LE(d.beta, d.alpha);
    EXPECT_GE(d.phi, 0.8);
    EXPECT_LE(d.phi, 0.98);
    EXPECT_EQ(d.s0, base.s0);

    for (const fc::EtsSpec& spec : {mnm, aada}) {
        SCOPED_TRACE(fc::ets_code(spec));
        fc::EtsFitOptions warm;
        warm.rounds = 1;
        const fc::EtsModel from_neighbour = fc::fit_ets(y, 7, fc::ets_start_from(base, spec, 7), warm);
        const fc::EtsModel fresh = fc::fit_ets(y, 7, spec);
        EXPECT_EQ(fc::ets_code(from_neighbour.spec), fc::ets_code(spec));
        EXPECT_GT(from_neighbour.loglik, fresh.loglik - 2.0);
    }
}
