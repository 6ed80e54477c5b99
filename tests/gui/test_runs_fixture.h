// Helpers for the charts and runs tests: a run store in a temporary folder, filled through
// the real RunRecorder.
#pragma once

#include "nnlab/run_recorder.h"
#include "nnlab/store.h"

#include <QString>
#include <QTest>

#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace fixture {

inline std::string experimentJson(const std::string& name, double lr, int epochs,
                                  const std::string& source = "spiral")
{
    std::ostringstream json;
    json << R"({"format": "nnlab.experiment/1", "name": ")" << name << R"(", "seed": 7, )"
         << R"("data": {"source": ")" << source << R"(", "samples": 500}, )"
         << R"("optimizer": {"type": "adamw", "lr": )" << lr << R"(}, )"
         << R"("training": {"epochs": )" << epochs << R"(, "batch_size": 32}})";
    return json.str();
}

struct RunSpec {
    std::string name = "run";
    std::string dataset = "spiral";
    double lr = 0.001;
    int epochs = 2;
    int64_t parameters = 1000;
    int64_t stepsPerEpoch = 0;
    nnlab::TrainStatus status = nnlab::TrainStatus::Finished;
    std::vector<std::string> tags;
};

// Begins a run and returns the recorder (the run stays "running" while it lives).
inline std::unique_ptr<nnlab::RunRecorder> beginRun(const QString& db, const RunSpec& run, std::string* id)
{
    auto recorder = nnlab::RunRecorder::open(db.toStdString());
    if (!recorder.ok()) {
        qWarning("%s", recorder.error.message.c_str());
        return nullptr;
    }
    nnlab::ExperimentSpec spec;
    spec.name = run.name;
    spec.seed = 7;
    spec.data.source = run.dataset;
    nnlab::RunStartInfo start;
    start.tags = run.tags;
    auto begun = recorder.value->begin(spec, experimentJson(run.name, run.lr, run.epochs, run.dataset), start);
    if (!begun.ok()) {
        qWarning("%s", begun.error.message.c_str());
        return nullptr;
    }
    *id = begun.value;
    nnlab::TrainInfo info;
    info.device = "cpu";
    info.threads = 1;
    info.parameters = run.parameters;
    info.stepsPerEpoch = run.stepsPerEpoch;
    recorder.value->updateInfo(info);
    return std::move(recorder.value);
}

// Records a whole run. `fill` adds its metric points through the callback (in batches).
inline QString recordRun(const QString& db, const RunSpec& run,
                         const std::function<void(nnlab::RunRecorder&)>& fill)
{
    std::string id;
    auto recorder = beginRun(db, run, &id);
    if (!recorder)
        return {};
    fill(*recorder);
    nnlab::TrainResult result;
    result.status = run.status;
    result.message = run.status == nnlab::TrainStatus::Failed ? "loss is NaN" : "";
    const nnlab::StoreError error = recorder->finish(result);
    if (!error.ok())
        qWarning("%s", error.message.c_str());
    return QString::fromStdString(id);
}

// `count` points of `tag` at steps first, first + every, ...
inline std::vector<nnlab::MetricPoint> points(const std::string& tag, int64_t count,
                                              const std::function<double(int64_t step)>& value,
                                              int64_t first = 0, int64_t every = 1)
{
    std::vector<nnlab::MetricPoint> out;
    out.reserve(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
        const int64_t step = first + i * every;
        out.push_back({tag, step, 1.7e9 + 0.01 * static_cast<double>(step), value(step)});
    }
    return out;
}

} // namespace fixture
