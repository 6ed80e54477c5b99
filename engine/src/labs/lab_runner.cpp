// Running a lab step headless: each variant trained (runTrainingSession, the one place runs
// start) or pre-flight checked, one after another, then the observations judged from the store.
#include "nnlab/lab.h"

#include "nnlab/data.h"
#include "nnlab/experiment.h"
#include "nnlab/run_session.h"
#include "nnlab/store.h"

#include <chrono>

namespace nnlab {

namespace {

std::string checkVariant(const ExperimentSpec& spec, TrainControl& control, const PreflightProgress& progress,
                         std::vector<CheckResult>& checks)
{
    const Preparation prepared = prepareExperiment(spec);
    if (!prepared.ok())
        return prepared.errorText();
    DataBundle data;
    try {
        data = loadData(spec.data, spec.isClassification(), spec.seed);
    } catch (const std::exception& e) {
        return e.what();
    }
    const PreflightReport report = runPreflight(prepared.experiment, data, progress, control);
    checks = report.checks;
    return report.error;
}

} // namespace

LabStepOutcome runLabStep(const LabStep& step, const ExperimentSpec& base, TrainControl& control,
                          const LabRunOptions& options, const LabStepCallbacks& callbacks)
{
    const auto started = std::chrono::steady_clock::now();
    LabStepOutcome outcome;
    const int count = static_cast<int>(step.runs.size());
    for (int i = 0; i < count && !outcome.cancelled; ++i) {
        const LabVariant& variant = step.runs[static_cast<size_t>(i)];
        ExperimentSpec spec;
        const Problems problems = variantSpec(base, variant, spec);
        if (!problems.empty()) {
            outcome.error += "run " + variant.name + ": " + problems.front().text() + "\n";
            continue;
        }
        if (callbacks.runStarted)
            callbacks.runStarted(variant.name, i, count, spec);
        if (step.action == LabAction::Check) {
            std::vector<CheckResult> checks;
            const std::string error = checkVariant(spec, control, callbacks.checkProgress, checks);
            if (!error.empty())
                outcome.error += "run " + variant.name + ": " + error + "\n";
            outcome.runs.checks[variant.name] = checks;
            outcome.cancelled = control.isCancelled();
            if (callbacks.runFinished)
                callbacks.runFinished(variant.name, "", TrainResult{});
            continue;
        }
        const Preparation prepared = prepareExperiment(spec);
        if (!prepared.ok()) {
            outcome.error += "run " + variant.name + ": " + prepared.errorText();
            continue;
        }
        RunSessionOptions session;
        session.databasePath = options.databasePath;
        session.runName = (options.labName.empty() ? std::string() : options.labName + "/") + step.id + "/" + variant.name;
        if (!options.labName.empty())
            session.tags = {"lab:" + options.labName};
        RunSessionHooks hooks;
        hooks.callbacks = callbacks.train;
        const RunSessionResult result = runTrainingSession(prepared.experiment, control, session, hooks);
        outcome.runs.runIds[variant.name] = result.runId;
        if (!result.storeError.empty())
            outcome.error += "run " + variant.name + ": run store: " + result.storeError + "\n";
        // A failed run (a diverging loss) is what some labs show: its metrics are judged as they are.
        if (result.result.status == TrainStatus::Cancelled)
            outcome.cancelled = true;
        if (callbacks.runFinished)
            callbacks.runFinished(variant.name, result.runId, result.result);
    }
    std::unique_ptr<RunStore> store;
    if (step.action == LabAction::Train) {
        StoreOptions readOnly;
        readOnly.readOnly = true;
        auto opened = RunStore::open(options.databasePath, readOnly);
        if (opened.ok())
            store = std::move(opened.value);
        else
            outcome.error += opened.error.message + "\n";
    }
    outcome.observations = evaluateObservations(step, store.get(), outcome.runs);
    outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return outcome;
}

} // namespace nnlab
