#include "step_plan.h"

#include <algorithm>
#include <cmath>

namespace {
// Where the size cannot be known (idx, csv) and nothing limits it: a round guess, said so.
constexpr int64_t kAssumedSourceSize = 10000;
} // namespace

int64_t knownSourceSize(const nnlab::DataSpec& data)
{
    const std::string& s = data.source;
    if (s == "fashion-mnist")
        return 60000;
    if (s == "cifar10")
        return 50000;
    if (s == "spiral" || s == "moons" || s == "circles" || s == "xor" || s == "blobs")
        return data.samples;
    return 0;
}

int64_t trainingSamplesOf(int64_t total, const nnlab::DataSpec& data)
{
    // Mirrors splitOffValidation: keep train_limit samples, hold out round(f * kept), at
    // least one and never all of them.
    const int64_t kept = data.trainLimit > 0 ? std::min(total, data.trainLimit) : total;
    int64_t held = 0;
    if (data.validationFraction > 0 && kept >= 2)
        held = std::clamp<int64_t>(std::llround(data.validationFraction * double(kept)), 1, kept - 1);
    return kept - held;
}

StepPlan planSteps(const nnlab::ExperimentSpec& spec, int64_t loadedTrainSamples)
{
    StepPlan plan;
    if (loadedTrainSamples > 0) {
        plan.trainSamples = loadedTrainSamples;
        plan.exact = true;
        plan.basis = QStringLiteral("as loaded");
    } else if (const int64_t size = knownSourceSize(spec.data); size > 0) {
        plan.trainSamples = trainingSamplesOf(size, spec.data);
        plan.basis = QStringLiteral("%1 has %2 samples").arg(QString::fromStdString(spec.data.source)).arg(size);
    } else if (spec.data.trainLimit > 0) {
        plan.trainSamples = trainingSamplesOf(spec.data.trainLimit, spec.data);
        plan.basis = QStringLiteral("assuming the file has at least train_limit samples");
    } else {
        plan.trainSamples = trainingSamplesOf(kAssumedSourceSize, spec.data);
        plan.basis = QStringLiteral("size unknown until loaded; assuming %1 samples").arg(kAssumedSourceSize);
    }
    const int64_t batch = std::max<int64_t>(spec.training.batchSize, 1);
    plan.stepsPerEpoch = std::max<int64_t>((plan.trainSamples + batch - 1) / batch, 1);
    plan.totalSteps = plan.stepsPerEpoch * std::max<int64_t>(spec.training.epochs, 1);
    return plan;
}
