// One recorded training run, the same for nnlab-cli and the GUI worker: open the run store,
// begin (or resume) the run, load the data, fit the experiment to it, train, and finish the
// record whatever happens. The one place runs start and resume.
#pragma once

#include "nnlab/data.h"
#include "nnlab/experiment.h"
#include "nnlab/spec.h"
#include "nnlab/trainer.h"

#include <functional>
#include <string>

namespace nnlab {

class RunRecorder;

struct RunSessionOptions {
    bool store = true;              // record the run (a resume always records)
    std::string databasePath;       // empty = defaultDatabasePath()
    std::string runName;            // a new run's name; empty = the experiment's name
    std::vector<std::string> tags;  // a new run's tags (a sweep's trials: "sweep:<id>")
    std::string notes;              // a new run's notes
    std::string initWeights;        // a new run starts from these safetensors weights (TrainOptions::initWeights)
    std::string parentId;           // a new run derives from this stored run (fine-tuning, distillation); "" = none
    // This process's rank when it is one of several data-parallel workers started elsewhere
    // (Slurm, or LocalWorkers of another process). Inactive: the session itself starts
    // training.workers - 1 local workers running `workerExecutable train ...`.
    DistributedSetup distributed;
    std::string workerExecutable;   // nnlab-cli; empty = this program (/proc/self/exe)
};

struct RunSessionHooks {
    TrainCallbacks callbacks;                                  // called after the recorder saw each report
    // The run's id and the experiment it trains (a resume's is the stored one), before data loads.
    std::function<void(const std::string& runId, const ExperimentSpec& spec)> recorded;
    std::function<void(const std::string& stage)> stage;       // "loading data", "training"
    DataProgress dataProgress;
    std::vector<std::shared_ptr<detail::TrainHook>> trainHooks;   // passed to the trainer (TrainOptions::hooks)
    // A recorded run that trained to the end, before its status is final: the place to add
    // what belongs to it (a compressed model's measurement, its files) through `recorder`.
    // Throwing fails the run with the exception's message.
    std::function<void(RunRecorder& recorder, const std::string& runId, TrainResult& result)> beforeFinish;
};

struct RunSessionResult {
    std::string runId;              // empty when not recorded
    TrainResult result;
    std::string storeError;         // the store could not be opened or written; "" if fine
};

// A new run. Never throws. A store that cannot be opened fails the session before training
// (say store = false to train without one); a data error is recorded as a failed run.
RunSessionResult runTrainingSession(const PreparedExperiment& experiment, TrainControl& control,
                                    const RunSessionOptions& options, const RunSessionHooks& hooks = {});

// Continues an interrupted, cancelled or failed stored run (an id or a unique prefix) from
// its last checkpoint, as the same run, with the experiment it was recorded with. A run that
// cannot resume (finished, running elsewhere, no checkpoint, its experiment no longer valid)
// fails with a message saying why.
RunSessionResult resumeTrainingSession(const std::string& runId, TrainControl& control,
                                       const RunSessionOptions& options, const RunSessionHooks& hooks = {});

} // namespace nnlab
