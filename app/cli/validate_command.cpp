#include "validate_command.h"

#include "cli_args.h"

#include "nnlab/data.h"
#include "nnlab/model_info.h"
#include "nnlab/spec_json.h"

#include <cstdio>

namespace nnlab::cli {

namespace {

const char* kValidateHelp = R"(Usage: nnlab-cli validate EXPERIMENT.json [--set key.path=value ...]

Checks an experiment file without training: prints every layer with its output shape,
parameter count and multiply-accumulates per sample, or every problem with its JSON path.
A model that leaves its input shape or its number of classes to the data (model.input or
the last linear layer's out_features omitted) has its data loaded to know them.
Exit status: 0 valid, 2 problems found (a data file that cannot be read included).
)";

void printModelTable(const ModelInfo& info)
{
    std::printf("%-28s %-20s %-16s %12s %14s\n", "layer", "type", "output", "params", "MACs");
    for (const auto& row : info.layers) {
        const std::string name = std::string(static_cast<size_t>(row.depth) * 2, ' ') + row.name;
        std::printf("%-28s %-20s %-16s %12lld %14lld\n", name.c_str(), row.type.c_str(),
                    shapeText(row.outputShape).c_str(), static_cast<long long>(row.parameters),
                    static_cast<long long>(row.macs));
    }
    std::printf("%-28s %-20s %-16s %12lld %14lld\n", "total", "", shapeText(info.outputShape).c_str(),
                static_cast<long long>(info.parameters), static_cast<long long>(info.macs));
}

} // namespace

int validateCommand(const std::vector<std::string>& argv)
{
    Args args(argv);
    if (args.wantsHelp()) {
        std::fputs(kValidateHelp, stdout);
        return kExitOk;
    }
    const auto overrides = args.values("--set");
    std::string error;
    const auto files = args.positionals(error);
    if (!error.empty())
        return usageError("validate", error);
    if (files.size() != 1)
        return usageError("validate", "expected one experiment file");
    const ParseResult parsed = loadExperimentFile(files[0], overrides);
    if (!parsed.ok()) {
        std::fprintf(stderr, "%s: %zu problem%s\n", files[0].c_str(), parsed.problems.size(),
                     parsed.problems.size() == 1 ? "" : "s");
        for (const auto& p : parsed.problems)
            std::fprintf(stderr, "  %s\n", p.text().c_str());
        return kExitUsage;
    }
    ModelInfo info = parsed.model;
    std::string dataNote;
    if (!info.shapesKnown) {
        // The shapes wait for the data: load it, as training would.
        const ExperimentSpec& spec = parsed.spec;
        Problems problems;
        try {
            const DataBundle data = loadData(spec.data, spec.isClassification(), spec.seed);
            const ExperimentSpec completed = completeFromData(spec, data);
            if (completed.model.input != data.train.sampleShape)
                problems.push_back({"model.input", shapeText(completed.model.input) + " does not match the data's samples "
                                                       + shapeText(data.train.sampleShape)});
            else
                info = inspectModel(completed.model, problems);
            dataNote = "shapes from the data: " + data.description + "\n";
        } catch (const DataError& e) {
            problems.push_back({"", e.what()});
        }
        if (!problems.empty()) {
            std::fprintf(stderr, "%s: the model's shapes depend on the data:\n", files[0].c_str());
            for (const auto& p : problems)
                std::fprintf(stderr, "  %s\n", p.text().c_str());
            return kExitUsage;
        }
    }
    std::printf("%s: valid\n%s\n", parsed.spec.name.c_str(), dataNote.c_str());
    printModelTable(info);
    return kExitOk;
}

} // namespace nnlab::cli
