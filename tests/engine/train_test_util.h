// What the trainer tests share: the shipped spiral example and the one way into train().
#pragma once

#include "nnlab/experiment.h"
#include "nnlab/run_session.h"
#include "nnlab/spec_json.h"
#include "nnlab/trainer.h"

#include <QtGlobal>

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace nnlab::test {

inline ExperimentSpec spiralSpec()
{
    const ParseResult r = loadExperimentFile(NNLAB_SOURCE_DIR "/resources/experiments/spiral-mlp.json");
    if (!r.ok())
        qFatal("%s", r.errorText().c_str());
    return r.spec;
}

inline PreparedExperiment prepared(const ExperimentSpec& spec)
{
    const Preparation p = prepareExperiment(spec);
    if (!p.ok())
        qFatal("%s", p.errorText().c_str());
    return p.experiment;
}

// Prepare (validate, inspect, hash) and train.
inline TrainResult trainSpec(const ExperimentSpec& spec, const DataBundle& data, TrainControl& control,
                             const TrainCallbacks& callbacks, const TrainOptions& options = {})
{
    return train(prepared(spec), data, control, callbacks, options);
}

// Trains a parsed experiment as a run recorded in the store `db` (threads as the experiment
// says); stops the test process with the reason when it does not validate or finish.
inline RunSessionResult recordRun(const std::string& db, const ParseResult& parsed)
{
    if (!parsed.ok())
        qFatal("%s", parsed.errorText().c_str());
    const Preparation p = prepareExperiment(parsed);
    if (!p.ok())
        qFatal("%s", p.errorText().c_str());
    TrainControl control;
    RunSessionOptions options;
    options.databasePath = db;
    const RunSessionResult run = runTrainingSession(p.experiment, control, options);
    if (run.result.status != TrainStatus::Finished)
        qFatal("training failed: %s", run.result.message.c_str());
    return run;
}

// Everything a run reports through its callbacks: metric points and timeline events with
// their steps. The callbacks may be called from the training thread.
struct Timeline {
    std::mutex mutex;
    std::vector<MetricPoint> points;
    std::vector<std::pair<EventKind, std::string>> events;
    std::map<EventKind, std::vector<int64_t>> steps;   // of each kind's events, in order

    TrainCallbacks callbacks()
    {
        TrainCallbacks c;
        c.metrics = [this](const std::vector<MetricPoint>& batch) {
            std::lock_guard<std::mutex> lock(mutex);
            points.insert(points.end(), batch.begin(), batch.end());
        };
        c.event = [this](EventKind kind, int64_t step, const std::string& detail) {
            std::lock_guard<std::mutex> lock(mutex);
            events.emplace_back(kind, detail);
            steps[kind].push_back(step);
        };
        return c;
    }
    int count(EventKind kind)
    {
        std::lock_guard<std::mutex> lock(mutex);
        return static_cast<int>(std::count_if(events.begin(), events.end(), [&](const auto& e) { return e.first == kind; }));
    }
    std::vector<std::string> details(EventKind kind)
    {
        std::lock_guard<std::mutex> lock(mutex);
        std::vector<std::string> out;
        for (const auto& [k, d] : events)
            if (k == kind)
                out.push_back(d);
        return out;
    }
    std::vector<MetricPoint> series(const std::string& tag)
    {
        std::lock_guard<std::mutex> lock(mutex);
        std::vector<MetricPoint> out;
        for (const auto& p : points)
            if (p.tag == tag)
                out.push_back(p);
        return out;
    }
};

} // namespace nnlab::test
