// libFuzzer target for the array kernels behind the SQL functions that take
// user arrays and numbers: forecast (every method), anomaly detection (MAD
// and S-H-ESD), the no-storm rule, the inventory policy and the runway.
// Besides crashes and sanitizer reports it checks the promises the binding
// layer relies on: results are finite numbers (forecasts and bounds never
// negative when asked so), intervals are ordered, indexes are in range, and
// the only exceptions are the ones SF_FUNCTION maps to data-error SQLSTATEs
// (invalid_argument, domain_error, range_error, overflow_error).
//
// Input layout: byte 0 = kernel, byte 1 = option bits, byte 2 = period /
// horizon seed, then values: each pair of bytes is one value (a signed
// 16-bit integer scaled by 1/16, so series hold zeros, repeats, negatives,
// spikes and plateaus — what real sales look like — rather than random
// doubles that are all distinct).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/anomaly/anomaly.hpp"
#include "core/forecast/forecast.hpp"
#include "core/inventory/inventory.hpp"

namespace {

[[noreturn]] void broken(const char* promise) {
    std::fprintf(stderr, "array kernel fuzz: broken promise: %s\n", promise);
    std::abort();
}

void finite(double v, const char* what) {
    if (!std::isfinite(v)) broken(what);
}

const char* const kMethods[] = {"auto", "ets", "ANN", "AAN", "AAdN", "ANA", "AAA", "MNN", "MAM", "MAdM", "theta",
                                "combo", "croston", "sba", "tsb", "naive", "snaive", "mean", "ses"};

void run_forecast(const std::vector<double>& y, std::uint8_t opts, std::uint8_t seed) {
    const std::string method = kMethods[opts % (sizeof kMethods / sizeof kMethods[0])];
    const int period = 1 + seed % 13;
    const int horizon = 1 + (seed >> 4) % 30;
    salesflow::forecast::FitAndForecast r =
        salesflow::forecast::fit_and_forecast(salesflow::span<double>(y.data(), y.size()), horizon, period, method, true);
    if (r.forecast.point.size() != static_cast<std::size_t>(horizon)) broken("one point per step");
    if (r.forecast.intervals.size() != r.forecast.point.size()) broken("one interval per step");
    for (std::size_t h = 0; h < r.forecast.point.size(); ++h) {
        const auto& iv = r.forecast.intervals[h];
        const double p = r.forecast.point[h];
        for (double v : {p, iv.lo80, iv.hi80, iv.lo95, iv.hi95}) {
            finite(v, "finite forecast");
            if (v < 0) broken("non-negative forecast");
        }
        if (!(iv.lo95 <= iv.lo80 + 1e-9 && iv.lo80 <= iv.hi80 + 1e-9 && iv.hi80 <= iv.hi95 + 1e-9)) broken("ordered intervals");
    }
    for (const auto& kv : r.fit.params) finite(kv.second, "finite parameter");
}

void run_mad(const std::vector<double>& y, std::uint8_t opts, std::uint8_t seed) {
    salesflow::anomaly::MadOptions o;
    o.decomposition.period = 1 + seed % 8;
    o.threshold = 1.0 + (opts & 7);
    o.direction = static_cast<salesflow::anomaly::Direction>((opts >> 3) % 3);
    o.min_history = (opts & 64) ? 0 : 56;
    const std::size_t from = y.empty() ? 0 : (seed >> 3) % (y.size() + 1);
    for (const auto& a : salesflow::anomaly::detect_mad(salesflow::span<double>(y.data(), y.size()), o, from)) {
        if (a.index < from || a.index >= y.size()) broken("anomaly index in range");
        finite(a.expected, "finite expected");
        finite(a.score, "finite score");
    }
}

void run_esd(const std::vector<double>& y, std::uint8_t opts, std::uint8_t seed) {
    salesflow::anomaly::EsdOptions o;
    o.period = 1 + seed % 10;
    o.max_anoms = 0.01 + (opts % 48) / 100.0;
    o.direction = static_cast<salesflow::anomaly::Direction>((opts >> 6) % 3);
    if (opts & 32) o.longterm_window = salesflow::anomaly::longterm_window(o.period);
    for (const auto& a : salesflow::anomaly::seasonal_hybrid_esd(salesflow::span<double>(y.data(), y.size()), o)) {
        if (a.index >= y.size()) broken("esd index in range");
        finite(a.expected, "finite esd expected");
        finite(a.score, "finite esd score");
    }
}

void run_storms(const std::vector<double>& y, std::uint8_t opts) {
    std::vector<salesflow::anomaly::Alert> candidates, history;
    for (std::size_t i = 0; i + 2 < y.size(); i += 3) {
        salesflow::anomaly::Alert a{static_cast<std::int64_t>(y[i]) % 5, static_cast<std::int64_t>(y[i + 1]), y[i + 2]};
        ((i / 3) % 2 ? history : candidates).push_back(a);
    }
    salesflow::anomaly::StormOptions o;
    o.cooldown_days = opts % 15;
    o.escalation = 1.0 + (opts >> 4) / 4.0;
    const auto kept = salesflow::anomaly::suppress_storms(salesflow::span<salesflow::anomaly::Alert>(candidates.data(), candidates.size()),
                                                          salesflow::span<salesflow::anomaly::Alert>(history.data(), history.size()), o);
    if (kept.size() > candidates.size()) broken("storm rule keeps a subset");
}

void run_inventory(const std::vector<double>& y, std::uint8_t opts) {
    if (y.size() < 12) return;
    salesflow::inventory::PolicyInput in{};
    in.daily_demand_mean = std::fabs(y[0]);
    in.daily_demand_sd = std::fabs(y[1]);
    in.intermittent = opts & 1;
    in.lead_time_days = std::fabs(y[2]);
    in.lead_time_sd_days = std::fabs(y[3]);
    in.review_period_days = std::fabs(y[4]);
    in.on_hand = y[5];
    in.on_order = std::fabs(y[6]);
    in.backorders = std::fabs(y[7]);
    in.moq = std::fabs(y[8]);
    in.pack_size = std::fabs(y[9]);
    in.ordering_cost = std::fabs(y[10]);
    in.unit_cost = std::fabs(y[11]);
    in.holding_rate = (opts & 2) ? 0.25 : 0.0;
    in.service_type = (opts & 4) ? salesflow::inventory::ServiceType::fill_rate : salesflow::inventory::ServiceType::cycle;
    in.service_level = 0.5 + (opts >> 3) / 64.0;
    const auto p = salesflow::inventory::compute_policy(in);
    for (double v : {p.safety_stock, p.reorder_point, p.order_up_to, p.eoq, p.recommended_qty}) finite(v, "finite policy");
    if (p.safety_stock < 0 || p.recommended_qty < 0) broken("non-negative safety stock and order");
    std::vector<double> f;
    for (std::size_t i = 12; i < y.size(); ++i) f.push_back(std::fabs(y[i]));
    if (!f.empty()) {
        const auto r = salesflow::inventory::runway(y[5], salesflow::span<double>(f.data(), f.size()));
        finite(r.runway_days, "finite runway");
        if (r.runway_days < 0 || r.runway_days > static_cast<double>(f.size()) + 1e-9) broken("runway within horizon");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3) return 0;
    const std::uint8_t kernel = data[0], opts = data[1], seed = data[2];
    std::vector<double> y;
    for (std::size_t i = 3; i + 1 < size && y.size() < 2000; i += 2) {
        const auto v = static_cast<std::int16_t>(static_cast<std::uint16_t>(data[i]) | (static_cast<std::uint16_t>(data[i + 1]) << 8));
        y.push_back(v / 16.0);
    }
    try {
        switch (kernel % 5) {
            case 0: run_forecast(y, opts, seed); break;
            case 1: run_mad(y, opts, seed); break;
            case 2: run_esd(y, opts, seed); break;
            case 3: run_storms(y, opts); break;
            default: run_inventory(y, opts); break;
        }
    } catch (const std::invalid_argument&) {  // 22023
    } catch (const std::domain_error&) {      // 22023
    } catch (const std::range_error&) {       // 22000
    } catch (const std::overflow_error&) {    // 22000
    }                                         // anything else escapes: XX000 would be a bug
    return 0;
}
