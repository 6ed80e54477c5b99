// The table of LibTorch-backed engine functions that libnnlab_torch_engine.so hands the
// window (engine_module.cpp fills it, the forwarders call through it). Only engine public
// types cross it: both sides compile them from the same headers, so an object made on one
// side is used on the other as is. The module exports nothing else (engine_module.map).
//
// When the window starts calling another engine function: if its .cpp needs no LibTorch,
// list that file in CMakeLists.txt (nnlab_engine_lazy); otherwise add it here, set it in
// engine_module.cpp and forward it in forward_*.cpp. The nnlab link names what is missing.
#pragma once

#include "nnlab/compress.h"
#include "nnlab/distill.h"
#include "nnlab/inspect.h"
#include "nnlab/lr_finder.h"
#include "nnlab/preflight.h"
#include "nnlab/run_session.h"
#include "nnlab/runtime.h"
#include "nnlab/sensitivity.h"
#include "nnlab/trained_model.h"

#include <cstddef>
#include <cstdint>

namespace nnlab::lazy {

// Raise when the table changes; with the size, it keeps a stale module from being used.
constexpr int kEngineTableVersion = 1;

struct EngineTable {
    int version = 0;
    size_t size = 0;

    // nnlab/runtime.h
    decltype(&nnlab::prepareProcess) prepareProcess = nullptr;
    decltype(&nnlab::probeRuntime) probeRuntime = nullptr;
    decltype(&nnlab::torchVersion) torchVersion = nullptr;
    // nnlab/run_session.h, preflight.h, lr_finder.h
    decltype(&nnlab::runTrainingSession) runTrainingSession = nullptr;
    decltype(&nnlab::runPreflight) runPreflight = nullptr;
    decltype(&nnlab::findLearningRate) findLearningRate = nullptr;
    // nnlab/trained_model.h, inspect.h
    decltype(&nnlab::loadTrainedWeights) loadTrainedWeights = nullptr;
    decltype(&nnlab::inspectableLayers) inspectableLayers = nullptr;
    decltype(&nnlab::featureMaps) featureMaps = nullptr;
    decltype(&nnlab::firstLayerFilters) firstLayerFilters = nullptr;
    decltype(&nnlab::confusionReport) confusionReport = nullptr;
    // Predictor: the window's Predictor holds the module's.
    Predictor* (*predictorNew)(const TrainedWeights& weights, int threads) = nullptr;
    void (*predictorDelete)(Predictor* predictor) = nullptr;
    const ModelInterface& (*predictorInterface)(const Predictor& predictor) = nullptr;
    const ExperimentSpec& (*predictorSpec)(const Predictor& predictor) = nullptr;
    int64_t (*predictorOutputs)(const Predictor& predictor) = nullptr;
    std::vector<float> (*predictorPredict)(const Predictor& predictor, const float* raw, int64_t count,
                                           PredictOutput output) = nullptr;
    // nnlab/compress.h, distill.h, sensitivity.h
    decltype(&nnlab::compressRun) compressRun = nullptr;
    decltype(&nnlab::measureRun) measureRun = nullptr;
    decltype(&nnlab::compareRuns) compareRuns = nullptr;
    decltype(&nnlab::describeTeacher) describeTeacher = nullptr;
    decltype(&nnlab::checkStudentFits) checkStudentFits = nullptr;
    decltype(&nnlab::distillSession) distillSession = nullptr;
    decltype(&nnlab::resumeDistillSession) resumeDistillSession = nullptr;
    decltype(&nnlab::runSensitivity) runSensitivity = nullptr;
};

} // namespace nnlab::lazy

// The module's one exported symbol.
extern "C" const nnlab::lazy::EngineTable* nnlab_torch_engine_table();
