#include "experiment_arg.h"

#include "nnlab/spec_json.h"

#include <cstdio>

namespace nnlab::cli {

ExperimentArgument experimentArgument(const std::string& command, const Args& args,
                                      const std::vector<std::string>& overrides)
{
    ExperimentArgument out;
    std::string error;
    const auto files = args.positionals(error);
    if (error.empty() && files.size() > 1)
        error = "expected at most one experiment file";
    if (!error.empty()) {
        out.exitStatus = usageError(command, error);
        return out;
    }
    out.name = files.empty() ? "default experiment" : files[0];
    const ParseResult parsed = files.empty() ? parseExperiment(experimentToJson(defaultExperiment()), overrides)
                                             : loadExperimentFile(files[0], overrides);
    const Preparation prepared = prepareExperiment(parsed);
    if (!prepared.ok()) {
        std::fprintf(stderr, "%s: %zu problem%s\n", out.name.c_str(), prepared.problems.size(),
                     prepared.problems.size() == 1 ? "" : "s");
        for (const auto& p : prepared.problems)
            std::fprintf(stderr, "  %s\n", p.text().c_str());
        out.exitStatus = kExitUsage;
        return out;
    }
    out.experiment = prepared.experiment;
    return out;
}

} // namespace nnlab::cli
