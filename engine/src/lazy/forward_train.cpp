// The window's definitions of the LibTorch-backed training functions (nnlab/runtime.h,
// run_session.h, preflight.h, lr_finder.h, trained_model.h, inspect.h): each waits for the
// engine module and calls the module's own (engine_loader.h).
#include "engine_access.h"

#include "process_memory.h"

namespace nnlab {

void prepareProcess()
{
    detail::tuneAllocator();
    lazy::engine("prepareProcess").prepareProcess();
}

// The measurement is the loading thread's, made before anything else could use the engine.
RuntimeInfo probeRuntime(bool measure)
{
    const lazy::EngineTable& engine = lazy::engine("probeRuntime");
    if (measure)
        if (std::optional<RuntimeInfo> probe = lazy::startupProbe())
            return *probe;
    return engine.probeRuntime(measure);
}

std::string torchVersion() { return lazy::engine("torchVersion").torchVersion(); }

RunSessionResult runTrainingSession(const PreparedExperiment& experiment, TrainControl& control,
                                    const RunSessionOptions& options, const RunSessionHooks& hooks)
{
    return lazy::engine("runTrainingSession").runTrainingSession(experiment, control, options, hooks);
}

PreflightReport runPreflight(const PreparedExperiment& experiment, const DataBundle& data,
                             const PreflightProgress& progress, TrainControl& control, const PreflightOptions& options)
{
    return lazy::engine("runPreflight").runPreflight(experiment, data, progress, control, options);
}

LrFinderResult findLearningRate(const PreparedExperiment& experiment, const DataBundle& data, TrainControl& control,
                                const LrFinderOptions& options, const LrFinderCallback& progress)
{
    return lazy::engine("findLearningRate").findLearningRate(experiment, data, control, options, progress);
}

TrainedWeights loadTrainedWeights(const RunStore& store, const std::string& runIdOrPrefix, CheckpointChoice choice)
{
    return lazy::engine("loadTrainedWeights").loadTrainedWeights(store, runIdOrPrefix, choice);
}

std::vector<InspectableLayer> inspectableLayers(const TrainedWeights& weights)
{
    return lazy::engine("inspectableLayers").inspectableLayers(weights);
}

FeatureMaps featureMaps(const TrainedWeights& weights, const std::string& layerPath, const std::vector<float>& rawInput)
{
    return lazy::engine("featureMaps").featureMaps(weights, layerPath, rawInput);
}

FilterBank firstLayerFilters(const TrainedWeights& weights)
{
    return lazy::engine("firstLayerFilters").firstLayerFilters(weights);
}

ConfusionReport confusionReport(const TrainedWeights& weights, const ConfusionOptions& options)
{
    return lazy::engine("confusionReport").confusionReport(weights, options);
}

// The window's Predictor holds the module's: a different Impl from trained_model.cpp's,
// in another binary.
struct Predictor::Impl {
    Predictor* inModule = nullptr;
};

Predictor::Predictor(const TrainedWeights& weights, int threads) : m_impl(std::make_unique<Impl>())
{
    m_impl->inModule = lazy::engine("Predictor").predictorNew(weights, threads);
}

Predictor::~Predictor()
{
    if (m_impl->inModule)   // made by the module, which stays loaded
        lazy::loadedEngine()->predictorDelete(m_impl->inModule);
}

const ModelInterface& Predictor::interface() const { return lazy::loadedEngine()->predictorInterface(*m_impl->inModule); }

const ExperimentSpec& Predictor::spec() const { return lazy::loadedEngine()->predictorSpec(*m_impl->inModule); }

int64_t Predictor::outputs() const { return lazy::loadedEngine()->predictorOutputs(*m_impl->inModule); }

std::vector<float> Predictor::predict(const float* raw, int64_t count, PredictOutput output) const
{
    return lazy::loadedEngine()->predictorPredict(*m_impl->inModule, raw, count, output);
}

} // namespace nnlab
