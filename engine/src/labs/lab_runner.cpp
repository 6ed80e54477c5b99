// Running a lab step headless: each variant trained (runTrainingSession, the one place runs
// start) or pre-flight checked, one after another, then the observations judged from the store.
#include "nnlab/lab.h"

#include "nnlab/compress.h"
#include "nnlab/data.h"
#include "nnlab/distill.h"
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

TrainResult finishedUnless(bool failed)
{
    TrainResult result;
    result.status = failed ? TrainStatus::Failed : TrainStatus::Finished;
    return result;
}

// A compression of an earlier run: recorded as a new run with compress/* and parent/* metrics.
std::string compressVariant(const LabVariant& variant, const LabRunOptions& options, const std::string& runName,
                            TrainControl& control, StepRuns& runs)
{
    const auto from = runs.runIds.find(variant.compressFrom);
    if (from == runs.runIds.end() || from->second.empty())
        return "run " + variant.compressFrom + " was not recorded";
    CompressRequest request;
    request.method = *compressMethodFromName(variant.compressMethod);
    request.prune.sparsity = variant.sparsity;
    request.prune.structured = request.method == CompressMethod::PruneStructured;
    request.prune.finetuneEpochs = variant.finetuneEpochs;
    request.quantize.mode = request.method == CompressMethod::QuantizeDynamic ? QuantizeMode::Dynamic : QuantizeMode::Static;
    request.databasePath = options.databasePath;
    request.runName = runName;
    request.latencyCalls = 10;   // a lab compares accuracy and size; latency is a side figure
    try {
        const CompressResult result = compressRun(from->second, request, control);
        runs.runIds[variant.name] = result.runId;
    } catch (const std::exception& e) {
        return e.what();
    }
    return {};
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
                callbacks.runFinished(variant.name, "", finishedUnless(!error.empty()));
            continue;
        }
        const std::string runName =
            (options.labName.empty() ? std::string() : options.labName + "/") + step.id + "/" + variant.name;
        if (!variant.compressFrom.empty()) {
            const std::string error = compressVariant(variant, options, runName, control, outcome.runs);
            if (!error.empty())
                outcome.error += "run " + variant.name + ": " + error + "\n";
            outcome.cancelled = control.isCancelled();
            if (callbacks.runFinished)
                callbacks.runFinished(variant.name, outcome.runs.runIds[variant.name], finishedUnless(!error.empty()));
            continue;
        }
        const Preparation prepared = prepareExperiment(spec);
        if (!prepared.ok()) {
            outcome.error += "run " + variant.name + ": " + prepared.errorText();
            continue;
        }
        RunSessionOptions session;
        session.databasePath = options.databasePath;
        session.runName = runName;
        if (!options.labName.empty())
            session.tags = {"lab:" + options.labName};
        RunSessionHooks hooks;
        hooks.callbacks = callbacks.train;
        RunSessionResult result;
        if (variant.distillTeacher.empty())
            result = runTrainingSession(prepared.experiment, control, session, hooks);
        else {
            DistillOptions distill;
            distill.teacherRun = outcome.runs.runIds[variant.distillTeacher];
            distill.alpha = variant.alpha;
            distill.temperature = variant.temperature;
            distill.measure = false;   // the lab judges the student's own val/ and test/ metrics
            if (distill.teacherRun.empty())
                outcome.error += "run " + variant.name + ": its teacher " + variant.distillTeacher + " was not recorded\n";
            else
                result = distillSession(prepared.experiment, distill, control, session, hooks);
        }
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
