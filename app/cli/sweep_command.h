// `nnlab-cli sweep`: a hyperparameter sweep on a local queue or as a Slurm job array, and the
// hidden `sweep-trial` that one array task runs.
#pragma once

#include "nnlab/store.h"
#include "nnlab/sweep.h"

#include <string>
#include <vector>

namespace nnlab::cli {

int sweepCommand(const std::vector<std::string>& args);        // argv after "sweep"
int sweepTrialCommand(const std::vector<std::string>& args);   // argv after "sweep-trial"

// One line of the final table.
struct SweepRow {
    int64_t trial = 0;           // 0-based
    std::string label;           // "lr=0.01 out_features=32"
    std::string status;          // "finished", "pruned at epoch 3", "failed", ...
    bool hasValue = false;
    double value = 0.0;
    int64_t steps = 0;
    double seconds = 0.0;
    std::string runId;
};

// Best first by `direction` (+1 higher is better); rows without a value last.
void printSweepTable(std::vector<SweepRow> rows, const std::string& metric, int direction);

struct SlurmOptions {
    std::string partition;       // empty = the cluster's default
    std::string directory;       // where the script, the experiment and the trial stores go
    std::string databasePath;    // the store --wait imports into
    bool wait = false;           // sbatch --wait, then import and print the table
    bool quiet = false;
};

// Writes DIR/sweep.json and DIR/sweep.sbatch, submits the array with sbatch and, with wait,
// imports DIR/trial-*.db. Returns the exit status.
int submitSlurmSweep(const ExperimentSpec& spec, const std::string& sweepId, const SlurmOptions& options);

} // namespace nnlab::cli
