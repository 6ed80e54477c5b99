// `nnlab-cli train`: trains an experiment with a progress bar and records the run.
#pragma once

#include "nnlab/distributed.h"
#include "nnlab/experiment.h"
#include "nnlab/run_session.h"

#include <functional>

#include <string>
#include <vector>

namespace nnlab::cli {

struct TrainRunOptions {
    std::string initWeights;       // --init-weights: a safetensors file to start from
    DistributedSetup distributed;  // this process's rank in a data-parallel run (from the environment)
    std::string databasePath;      // run store file; empty = defaultDatabasePath()
    bool store = true;             // false with --no-store
    std::string resumeRunId;       // continue this stored run from its last checkpoint
    bool quiet = false;            // no progress bar
    // Runs the new run's session instead of runTrainingSession (distill: the teacher's loss
    // in the loop); the bar, the messages and the exit status stay train's.
    std::function<RunSessionResult(const PreparedExperiment&, TrainControl&, const RunSessionOptions&,
                                   const RunSessionHooks&)> session;
};

// Loads data, trains and prints the final metrics: the prepared experiment as a new run, or
// with options.resumeRunId the stored run's own experiment (`experiment` is then unused).
// Returns the process exit status: 0 finished, 1 failed, 130 cancelled (Ctrl+C).
int trainExperiment(const PreparedExperiment& experiment, const TrainRunOptions& options);

int trainCommand(const std::vector<std::string>& args);     // argv after "train"

} // namespace nnlab::cli
