#include "nnlab/spec.h"

#include <algorithm>
#include <cmath>

namespace nnlab {

namespace {
constexpr double kPi = 3.14159265358979323846;

double cosineBetween(double from, double to, double fraction)
{
    fraction = std::clamp(fraction, 0.0, 1.0);
    return to + (from - to) * 0.5 * (1.0 + std::cos(kPi * fraction));
}
} // namespace

double learningRateAt(const ScheduleSpec& s, double baseLr, int64_t step, int64_t totalSteps,
                      int64_t stepsPerEpoch)
{
    totalSteps = std::max<int64_t>(totalSteps, 1);
    stepsPerEpoch = std::max<int64_t>(stepsPerEpoch, 1);
    const int64_t epoch = step / stepsPerEpoch;

    if (s.type == "onecycle") {
        // As torch.optim.lr_scheduler.OneCycleLR with cosine annealing: baseLr is max_lr.
        const double initial = baseLr / s.divFactor;
        const double final = initial / s.finalDivFactor;
        const double rise = std::max(1.0, s.pctStart * static_cast<double>(totalSteps) - 1.0);
        const double x = static_cast<double>(step);
        if (x <= rise)
            return cosineBetween(initial, baseLr, x / rise);
        const double fall = std::max(1.0, static_cast<double>(totalSteps) - 1.0 - rise);
        return cosineBetween(baseLr, final, (x - rise) / fall);
    }

    // Linear warm-up, then the schedule proper (cosine over the remaining steps).
    int64_t warmup = s.warmupSteps;
    if (s.type == "warmup_cosine" && warmup == 0)
        warmup = std::max<int64_t>(1, static_cast<int64_t>(kDefaultWarmupShare * static_cast<double>(totalSteps)));
    if (warmup > 0 && step < warmup)
        return baseLr * static_cast<double>(step + 1) / static_cast<double>(warmup);

    if (s.type == "step")
        return baseLr * std::pow(s.gamma, static_cast<double>(epoch / std::max<int64_t>(s.stepSize, 1)));
    if (s.type == "exponential")
        return baseLr * std::pow(s.gamma, static_cast<double>(epoch));
    if (s.type == "cosine" || s.type == "warmup_cosine") {
        const int64_t span = std::max<int64_t>(totalSteps - warmup, 1);
        const double fraction = static_cast<double>(step - warmup) / static_cast<double>(span);
        return cosineBetween(baseLr, s.minLr, fraction);
    }
    return baseLr; // constant
}

} // namespace nnlab
