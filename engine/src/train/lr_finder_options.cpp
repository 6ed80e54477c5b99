// Checking an LR finder's options (nnlab/lr_finder.h). No LibTorch: the window's dialog
// checks what the user typed before the engine module has loaded (engine/src/lazy).
#include "nnlab/lr_finder.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace nnlab {

namespace {

std::string formatNumber(double v)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.4g", v);
    return text;
}

} // namespace

std::string validateLrFinderOptions(const LrFinderOptions& o)
{
    if (!(o.startLr > 0) || !std::isfinite(o.startLr))
        return "start_lr: must be > 0, got " + formatNumber(o.startLr);
    if (!(o.endLr > o.startLr) || !std::isfinite(o.endLr))
        return "end_lr: must be > start_lr (" + formatNumber(o.startLr) + "), got " + formatNumber(o.endLr);
    if (o.steps < 5 || o.steps > 100000)
        return "steps: must be 5..100000, got " + std::to_string(o.steps);
    if (!(o.smoothing >= 0 && o.smoothing < 1))
        return "smoothing: must be >= 0 and < 1, got " + formatNumber(o.smoothing);
    if (!(o.divergeFactor > 1))
        return "diverge_factor: must be > 1, got " + formatNumber(o.divergeFactor);
    return {};
}

} // namespace nnlab
