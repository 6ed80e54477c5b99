// One recorded training run, the same for nnlab-cli and the GUI worker: open the run store,
// begin (or resume) the run, load the data, train, and finish the record whatever happens.
#pragma once

#include "nnlab/data.h"
#include "nnlab/spec.h"
#include "nnlab/trainer.h"

#include <functional>
#include <string>

namespace nnlab {

struct RunSessionOptions {
    bool store = true;              // record the run
    std::string databasePath;       // empty = defaultDatabasePath()
    std::string resumeRunId;        // continue this stored run from its last checkpoint
};

struct RunSessionHooks {
    TrainCallbacks callbacks;                                  // called after the recorder saw each report
    std::function<void(const std::string& runId)> recorded;    // the run's id, before data loads
    std::function<void(const std::string& stage)> stage;       // "loading data", "training"
    DataProgress dataProgress;
};

struct RunSessionResult {
    std::string runId;              // empty when not recorded
    TrainResult result;
    std::string storeError;         // the store could not be opened or written; "" if fine
};

// Never throws. A store that cannot be opened fails the session before training (say
// --no-store / store=false to train without one); a data error is recorded as a failed run.
RunSessionResult runTrainingSession(const ExperimentSpec& spec, TrainControl& control,
                                    const RunSessionOptions& options, const RunSessionHooks& hooks = {});

// The checkpoint file of a run: <store folder>/checkpoints/<run id>.pt
std::string checkpointPathFor(const std::string& databasePath, const std::string& runId);

} // namespace nnlab
