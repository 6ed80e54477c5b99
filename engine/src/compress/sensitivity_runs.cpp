// Sensitivity analyses without LibTorch (nnlab/sensitivity.h): checking the options, and
// finding and reading stored results. The window calls these on its GUI thread, before the
// engine module has loaded (engine/src/lazy); running an analysis is sensitivity.cpp.
#include "nnlab/sensitivity.h"

#include "nnlab/store.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace nnlab {

std::string checkSensitivityOptions(const SensitivityOptions& options)
{
    std::ostringstream out;
    if (options.sparsities.empty() && !options.int8)
        out << "--sparsities: nothing to analyse (no sparsities and no int8)\n";
    for (double s : options.sparsities)
        if (!std::isfinite(s) || s < 0.0 || s >= 1.0)
            out << "--sparsities: " << s << " is not in [0, 1)\n";
    if (options.int8 && options.calibrationSamples < 1)
        out << "--calibrate: at least 1 sample, got " << options.calibrationSamples << "\n";
    std::string text = out.str();
    if (!text.empty())
        text.pop_back();
    return text;
}

std::vector<std::string> sensitivityRunsOf(const RunStore& store, const std::string& sourceRunId)
{
    std::vector<std::string> out;
    const auto runs = store.listRuns();   // newest first
    if (!runs.ok())
        return out;
    for (const RunSummary& run : runs.value)
        if (run.parentId == sourceRunId && std::find(run.tags.begin(), run.tags.end(), "sensitivity") != run.tags.end())
            out.push_back(run.id);
    return out;
}

SensitivityResult loadSensitivity(const RunStore& store, const std::string& runIdOrPrefix)
{
    const auto id = store.resolveRunId(runIdOrPrefix);
    if (!id.ok())
        throw std::runtime_error("run " + runIdOrPrefix + ": " + id.error.message);
    std::string runId = id.value;
    auto artifacts = store.artifacts(runId);
    const auto hasResult = [](const std::vector<RunArtifact>& list) {
        return std::any_of(list.begin(), list.end(), [](const RunArtifact& a) { return a.kind == "sensitivity"; });
    };
    if (!artifacts.ok() || !hasResult(artifacts.value)) {   // a source run: its latest analysis
        const std::vector<std::string> analyses = sensitivityRunsOf(store, runId);
        if (analyses.empty())
            throw std::runtime_error("run " + runId + " has no sensitivity analysis ('nnlab-cli sensitivity " + runId.substr(0, 8) + "' makes one)");
        runId = analyses.front();
        artifacts = store.artifacts(runId);
        if (!artifacts.ok())
            throw std::runtime_error("run " + runId + ": " + artifacts.error.message);
    }
    for (const RunArtifact& a : artifacts.value)
        if (a.kind == "sensitivity") {
            std::ifstream in(a.path, std::ios::binary);
            if (!in)
                throw std::runtime_error("run " + runId + ": cannot read its sensitivity result " + a.path);
            std::stringstream text;
            text << in.rdbuf();
            try {
                SensitivityResult r = sensitivityFromJson(text.str());
                r.runId = runId;
                return r;
            } catch (const std::exception& e) {
                throw std::runtime_error(a.path + ": " + e.what());
            }
        }
    throw std::runtime_error("run " + runId + " has no sensitivity result");
}

} // namespace nnlab
