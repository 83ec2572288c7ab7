// The anomaly module's public API in one include: robust seasonal-trend
// decomposition of daily series (decompose.hpp), the modified z-score
// detector on its residuals (Iglewicz & Hoaglin 1993; mad_detector.hpp), the
// local leave-one-out detector with a false-alarm budget (local_detector.hpp),
// Twitter's Seasonal Hybrid ESD test (Hochenbaum, Vallis & Kejariwal 2017;
// shesd.hpp), and the no-storm alert rule (alerts.hpp).
#pragma once

#include "core/anomaly/alerts.hpp"
#include "core/anomaly/decompose.hpp"
#include "core/anomaly/local_detector.hpp"
#include "core/anomaly/mad_detector.hpp"
#include "core/anomaly/robust.hpp"
#include "core/anomaly/shesd.hpp"
#include "core/anomaly/types.hpp"
