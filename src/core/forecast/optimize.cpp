// Nelder–Mead simplex (Nelder & Mead 1965; coefficients of Lagarias et al.
// 1998). See optimize.hpp for why the forecast module carries its own.
#include "core/forecast/optimize.hpp"

namespace salesflow::forecast {

NelderMeadResult nelder_mead(const std::function<double(const std::vector<double>&)>& f,
                             const std::vector<double>& x0, const std::vector<double>& step,
                             const NelderMeadOptions& options) {
    return nelder_mead_min(f, x0, step, options);
}

}  // namespace salesflow::forecast
