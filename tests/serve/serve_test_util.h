// What the serve tests share: a small Fashion-MNIST model trained into a temporary store, the
// raw test images (normalization off, pixels 0..255), JSON request bodies and an in-process
// server on a free loopback port.
#pragma once

#include "../engine/train_test_util.h"

#include "nnlab/data.h"
#include "nnlab/experiment.h"
#include "nnlab/run_session.h"
#include "nnlab/serve.h"
#include "nnlab/spec_json.h"
#include "nnlab/store.h"
#include "nnlab/trained_model.h"

#include <QtTest>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace nnlab::servetest {

// A small MLP: trains in seconds on 4,000 images and reaches about 80% test accuracy, enough
// for its predicted-class shares to follow the data.
inline const char* kMlp = R"({"name": "serve-mlp", "seed": 5,
  "data": {"source": "fashion-mnist", "train_limit": 4000, "validation_fraction": 0.1},
  "model": {"input": [1, 28, 28], "layers": [
    {"type": "flatten"}, {"type": "linear", "out_features": 64}, {"type": "relu"},
    {"type": "linear", "out_features": 10}]},
  "optimizer": {"type": "adam", "lr": 0.003},
  "training": {"epochs": 3, "batch_size": 64, "threads": 1}})";

inline std::string trainInto(const std::string& db)
{
    return test::recordRun(db, parseExperiment(kMlp)).runId;
}

inline TrainedWeights trainedWeights(const std::string& db)
{
    const std::string runId = trainInto(db);
    auto store = RunStore::open(db);
    if (!store.ok())
        qFatal("%s", store.error.message.c_str());
    return loadTrainedWeights(*store.value, runId);
}

// The official test split in raw units: what a client would send.
inline Dataset rawTestSet()
{
    DataSpec data = parseExperiment(kMlp).spec.data;
    data.normalize = "none";
    return loadData(data, true, 5).test;
}

// {"inputs": [...]} of samples [first, first + count) of `set`, each nested [1][28][28]
// (or flat when `flat`).
inline std::string inputsJson(const Dataset& set, int64_t first, int64_t count, bool flat = false)
{
    nlohmann::json inputs = nlohmann::json::array();
    const int64_t size = set.sampleSize();
    for (int64_t i = first; i < first + count; ++i) {
        const float* x = set.features.data() + i * size;
        if (flat) {
            inputs.push_back(std::vector<float>(x, x + size));
            continue;
        }
        nlohmann::json rows = nlohmann::json::array();
        for (int r = 0; r < 28; ++r)
            rows.push_back(std::vector<float>(x + r * 28, x + r * 28 + 28));
        inputs.push_back(nlohmann::json::array({rows}));
    }
    return nlohmann::json{{"inputs", inputs}}.dump();
}

inline std::unique_ptr<InferenceServer> startServer(const TrainedWeights& weights, ServeOptions options)
{
    options.port = 0;
    auto server = std::make_unique<InferenceServer>(weights, options);
    server->start();
    return server;
}

// Options for a test server: the monitors judge only when a test asks (evaluateMonitorsNow).
inline ServeOptions testOptions()
{
    ServeOptions options;
    options.monitors.intervalMs = 3600 * 1000;
    return options;
}

inline nlohmann::json jsonOf(const httplib::Result& result)
{
    if (!result)
        qFatal("no HTTP answer: %s", httplib::to_string(result.error()).c_str());
    return nlohmann::json::parse(result->body);
}

} // namespace nnlab::servetest
