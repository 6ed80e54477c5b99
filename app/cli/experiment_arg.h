// The experiment a command (train, check, lr-find) works on, from its arguments: at most one
// EXPERIMENT.json (data paths relative to it), else the built-in default, with the --set
// overrides applied, parsed and prepared once.
#pragma once

#include "cli_args.h"

#include "nnlab/experiment.h"

#include <string>
#include <vector>

namespace nnlab::cli {

struct ExperimentArgument {
    PreparedExperiment experiment;   // usable when exitStatus is 0
    std::string name;                // the file, or "default experiment", for messages
    int exitStatus = 0;              // else what the command returns (2): the reason is printed
};

// Reads the positionals of `args`; a usage error or every problem of the experiment (a line
// each, with its JSON path) goes to stderr.
ExperimentArgument experimentArgument(const std::string& command, const Args& args,
                                      const std::vector<std::string>& overrides);

} // namespace nnlab::cli
