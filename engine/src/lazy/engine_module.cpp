// libnnlab_torch_engine.so: the training engine (nnlab_engine, nnlab_compress and LibTorch)
// for the window, which loads it in the background (engine_loader.cpp). This file only
// fills the table; the engine code itself is linked in unchanged.
#include "engine_table.h"

namespace {

using namespace nnlab;

Predictor* predictorNew(const TrainedWeights& weights, int threads) { return new Predictor(weights, threads); }
void predictorDelete(Predictor* predictor) { delete predictor; }
const ModelInterface& predictorInterface(const Predictor& p) { return p.interface(); }
const ExperimentSpec& predictorSpec(const Predictor& p) { return p.spec(); }
int64_t predictorOutputs(const Predictor& p) { return p.outputs(); }
std::vector<float> predictorPredict(const Predictor& p, const float* raw, int64_t count, PredictOutput output)
{
    return p.predict(raw, count, output);
}

lazy::EngineTable makeTable()
{
    lazy::EngineTable t;
    t.version = lazy::kEngineTableVersion;
    t.size = sizeof(lazy::EngineTable);
    t.prepareProcess = &nnlab::prepareProcess;
    t.probeRuntime = &nnlab::probeRuntime;
    t.torchVersion = &nnlab::torchVersion;
    t.runTrainingSession = &nnlab::runTrainingSession;
    t.runPreflight = &nnlab::runPreflight;
    t.findLearningRate = &nnlab::findLearningRate;
    t.loadTrainedWeights = &nnlab::loadTrainedWeights;
    t.inspectableLayers = &nnlab::inspectableLayers;
    t.featureMaps = &nnlab::featureMaps;
    t.firstLayerFilters = &nnlab::firstLayerFilters;
    t.confusionReport = &nnlab::confusionReport;
    t.predictorNew = &predictorNew;
    t.predictorDelete = &predictorDelete;
    t.predictorInterface = &predictorInterface;
    t.predictorSpec = &predictorSpec;
    t.predictorOutputs = &predictorOutputs;
    t.predictorPredict = &predictorPredict;
    t.compressRun = &nnlab::compressRun;
    t.measureRun = &nnlab::measureRun;
    t.compareRuns = &nnlab::compareRuns;
    t.describeTeacher = &nnlab::describeTeacher;
    t.checkStudentFits = &nnlab::checkStudentFits;
    t.distillSession = &nnlab::distillSession;
    t.resumeDistillSession = &nnlab::resumeDistillSession;
    t.runSensitivity = &nnlab::runSensitivity;
    return t;
}

} // namespace

extern "C" __attribute__((visibility("default"))) const nnlab::lazy::EngineTable* nnlab_torch_engine_table()
{
    static const nnlab::lazy::EngineTable table = makeTable();
    return &table;
}
