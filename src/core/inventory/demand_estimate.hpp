// The demand estimate a re-run batch acts on: a level forecast of the demand
// per period updated with every new period, the out-of-sample one-step
// errors it made, and the per-period error sd to give compute_policy so that
// the safety stock covers the forecast error over the whole protection
// interval, estimation error of the level included.
//
// Level: simple exponential smoothing (Brown 1959; Hyndman & Athanasopoulos,
// "Forecasting: Principles and Practice", 3rd ed., §8.1) with a fixed alpha,
// started as the running mean: the smoothing weight of the t-th observation
// is max(alpha, 1/t), so the first 1/alpha periods average equally and no
// initial value has to be chosen.
//
// Error sd over the protection interval: with i.i.d. demand of variance
// sigma^2 and a level estimate F of variance c sigma^2 (independent of the
// demand still to come), the error of the H-period forecast H F is
//   Var(D_1 + ... + D_H - H F) = H sigma^2 + H^2 c sigma^2,
// larger than H times the one-step error variance (1 + c) sigma^2 that the
// textbook formula uses whenever H > 1 (Prak, Teunter & Syntetos, "On the
// calculation of safety stocks when demand is forecasted", European Journal
// of Operational Research 256(2), 2017, 454-461: c = alpha / (2 - alpha) for
// SES in steady state, 1/N for an N-period moving average). For a random
// protection interval H the second term is E[H^2] c sigma^2 (the lead-time
// variance enters once more through compute_policy's d^2 sigma_L^2).
//
// sigma^2 is estimated from the out-of-sample one-step errors e_t = D_t -
// F_{t-1}: under the model E[e_t^2] = (1 + c_{t-1}) sigma^2 with c_t the
// variance ratio of the level after t periods, which the smoothing weights
// give exactly (c_t = (1 - w_t)^2 c_{t-1} + w_t^2: 1/t while the running mean
// lasts, then -> alpha / (2 - alpha)), so sigma^2 = mean of e_t^2 / (1 +
// c_{t-1}) is unbiased from the second period on. A mean square, not a
// variance about the errors' mean: bias from drift counts too.
//
// Intermittent items: a variance that stays put while the level moves is the
// wrong model for counts. Under compound Poisson demand (customers arrive at
// a rate, each buying a quantity from one size distribution: Axsäter,
// "Inventory Control", 3rd ed., §5.3, of which the negative binomial is a
// case) or Croston's occurrence-times-size model (Croston 1972, Operational
// Research Quarterly 23(3)), a change in the rate moves the variance with the
// mean: Var = k mean. variance_to_mean() estimates k from the same scaled
// errors; k times the current level is then the demand variance. (With a
// constant variance and a level decaying towards 0 the moment-fitted negative
// binomial has variance / mean -> infinity, and so has a fill-rate s.)
#pragma once

namespace salesflow::inventory {

// SES level forecast with its out-of-sample one-step errors.
class LevelForecast {
public:
    // 0 < alpha <= 1; min_history >= 1: an error is counted only for a
    // forecast resting on at least min_history observed periods (the first
    // forecasts, from one or two periods, say little about the model).
    // Throws std::invalid_argument otherwise.
    LevelForecast(double alpha, int min_history);

    // One period's demand (finite, >= 0, else std::invalid_argument): its
    // error against the current forecast is recorded (if counted), then the
    // level is updated.
    void observe(double demand);

    double alpha() const { return alpha_; }
    int periods() const { return periods_; }
    int nonzero_periods() const { return nonzero_; }
    // Forecast of the demand of the next period (0 before any observation).
    double level() const { return level_; }
    // Smoothed probability that a period has demand: the indicator D_t > 0
    // smoothed with the same weights as the level (TSB: Teunter, Syntetos &
    // Babai 2011, which updates the demand probability every period); 0
    // before any observation. level() / occurrence_probability() is then the
    // implied size of a demand, which zero periods leave unchanged.
    double occurrence_probability() const { return occurrence_; }
    int errors() const { return errors_; }
    // c of the current level: Var(level) / sigma^2 under i.i.d. demand (1 after
    // one period, 1/t while the running mean lasts, -> alpha / (2 - alpha)).
    double estimate_variance_ratio() const { return ratio_; }
    // Mean squared counted one-step error; std::domain_error if none yet.
    double one_step_mse() const;
    // sigma^2: mean of e_t^2 / (1 + c_{t-1}) over the counted errors;
    // std::domain_error if none yet.
    double demand_variance() const;
    // Variance-to-mean ratio k for demand whose variance grows with its level
    // (compound Poisson: Var = k mean): sum of e_t^2 / (1 + c_{t-1}) over the
    // sum of the forecasts F_{t-1} of the counted errors, so that the
    // variance at level F is k F. std::domain_error while that sum is 0.
    double variance_to_mean() const;

private:
    double alpha_;
    int min_history_;
    int periods_ = 0, nonzero_ = 0, errors_ = 0;
    double level_ = 0.0, occurrence_ = 0.0, ratio_ = 0.0, squared_error_sum_ = 0.0, scaled_error_sum_ = 0.0,
           forecast_sum_ = 0.0;
};

// c = Var(level estimate) / sigma^2 of SES with the given alpha in steady
// state: alpha / (2 - alpha). 0 < alpha <= 1 (else std::invalid_argument).
double ses_estimate_variance_ratio(double alpha);

// The per-period sd sigma_e to pass to compute_policy / lead_time_demand as
// the demand sd, such that
//   H_mean sigma_e^2 = sigma^2 (H_mean + c (H_mean^2 + H_sd^2)),
// i.e. the variance of the forecast error over a protection interval H of
// mean H_mean and sd H_sd (Prak, Teunter & Syntetos 2017; see above).
// c = 0 (level known) gives sigma. Arguments finite and >= 0, H_mean > 0
// (else std::invalid_argument).
double forecast_error_demand_sd(double demand_variance, double estimate_variance_ratio, double horizon_mean,
                                double horizon_sd);

}  // namespace salesflow::inventory
