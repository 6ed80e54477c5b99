// What the trainer tests share: the shipped spiral example and the one way into train().
#pragma once

#include "nnlab/experiment.h"
#include "nnlab/spec_json.h"
#include "nnlab/trainer.h"

#include <QtGlobal>

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

} // namespace nnlab::test
