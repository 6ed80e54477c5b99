// How many optimizer steps a run will take, worked out before any data is read, so the
// schedule preview can draw the learning rate over the whole run.
#pragma once

#include "nnlab/spec.h"

#include <QString>

struct StepPlan {
    int64_t trainSamples = 0;    // training samples after train_limit and the validation split
    int64_t stepsPerEpoch = 0;   // ceil(trainSamples / batch_size), as the trainer counts
    int64_t totalSteps = 0;
    bool exact = false;          // trainSamples came from loaded data, not an estimate
    QString basis;               // one line on where trainSamples comes from
};

// Samples a source has before train_limit and the split, when known without reading files
// (fashion-mnist 60000, cifar10 50000, the 2-D sets: data.samples); 0 otherwise.
int64_t knownSourceSize(const nnlab::DataSpec& data);

// Training samples left from `total` by train_limit and validation_fraction, exactly as the
// loader splits them.
int64_t trainingSamplesOf(int64_t total, const nnlab::DataSpec& data);

// `loadedTrainSamples` > 0: the count the data preview found for this very data spec.
StepPlan planSteps(const nnlab::ExperimentSpec& spec, int64_t loadedTrainSamples = 0);
