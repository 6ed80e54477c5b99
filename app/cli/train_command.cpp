#include "train_command.h"

#include "cli_args.h"
#include "experiment_arg.h"
#include "interrupt.h"
#include "progress_bar.h"

#include "nnlab/data.h"
#include "nnlab/distill.h"
#include "nnlab/monitor_alert.h"
#include "nnlab/run_session.h"
#include "nnlab/runtime.h"
#include "nnlab/spec_json.h"
#include "nnlab/trainer.h"

#include <cmath>

#include <optional>
#include <cstdio>
#include <filesystem>
#include <ctime>

namespace nnlab::cli {

namespace {

const char* kTrainHelp = R"(Usage: nnlab-cli train [EXPERIMENT.json] [options]

Trains an experiment (the built-in Fashion-MNIST CNN when no file is given) with a live
progress bar, records the run in the run store and prints the final metrics. The
experiment's monitor rules ("monitors") print a line for each alert (time, rule, value,
threshold, action) above the bar, also with --quiet; 'nnlab-cli runs show' lists them.

Options:
  --epochs N               shorthand for --set training.epochs=N
  --workers N              data-parallel: N processes on this machine (shorthand for --set
                           training.workers=N); under `srun` (a Slurm step of several tasks)
                           each task is a worker already, rank 0 records the run
  --set key.path=value     override any experiment field, e.g. --set optimizer.lr=0.01
                           or --set model.layers[0].out_channels=32 (repeatable)
  --db PATH                run store file (default: $NNLAB_DB, else
                           $XDG_DATA_HOME/nnlab/runs.db)
  --init-weights FILE      start from these weights (a .safetensors from `nnlab-cli export`)
                           instead of a fresh initialization: fine-tuning; they must fit the
                           experiment's model (every tensor named, each shape right)
  --no-store               do not record the run
  --quiet                  no progress bar
  -h, --help               this help

Exit status: 0 finished, 1 failed, 2 bad arguments or experiment, 130 interrupted.
)";

// One line: "alert 14:03:07 train/loss above_min: value 8.31, threshold 2.77, step 120 -> rollback x0.1 (1 of 3)"
std::string alertLine(const std::string& detail)
{
    const std::optional<MonitorAlert> a = alertFromDetail(detail);
    if (!a)
        return "alert " + detail;
    const std::time_t now = std::time(nullptr);
    char clock[16];
    std::strftime(clock, sizeof clock, "%H:%M:%S", std::localtime(&now));
    char value[48], threshold[48] = "";   // not_finite has no threshold
    std::snprintf(value, sizeof value, "value %.4g, ", a->value);
    if (!std::isnan(a->threshold))
        std::snprintf(threshold, sizeof threshold, "threshold %.4g, ", a->threshold);
    return std::string("alert ") + clock + " " + a->rule + ": " + value + threshold + "step " + std::to_string(a->step)
           + " -> " + a->action;
}

void printMetrics(const std::map<std::string, double>& metrics)
{
    for (const char* tag : {"train/loss", "train/accuracy", "val/loss", "val/accuracy", "test/loss", "test/accuracy"}) {
        auto it = metrics.find(tag);
        if (it != metrics.end())
            std::printf("  %-16s %.4f\n", tag, it->second);
    }
}

} // namespace

int trainExperiment(const PreparedExperiment& experiment, const TrainRunOptions& options)
{
    prepareProcess();
    const RuntimeInfo runtime = probeRuntime(true);
    if (!runtime.warning.empty())
        std::fprintf(stderr, "warning: %s\n", runtime.warning.c_str());

    ProgressBar bar(!options.quiet);
    TrainControl control;
    std::optional<CancelOnSignal> interrupt(std::in_place, control);

    RunSessionOptions session;
    session.store = options.store;
    session.databasePath = options.databasePath;
    session.initWeights = options.initWeights;
    session.distributed = options.distributed;
    RunSessionHooks hooks;
    ExperimentSpec spec = experiment.spec;   // a resume's comes from the store
    hooks.recorded = [&](const std::string& id, const ExperimentSpec& recorded) {
        spec = recorded;
        if (id.empty())
            return;
        std::printf(options.resumeRunId.empty() ? "run %s\n" : "resuming run %s\n", id.c_str());
        std::fflush(stdout);
    };
    hooks.callbacks.started = [&](const TrainInfo& info) {
        if (options.quiet)
            return;
        bar.message(spec.name + ": " + info.dataDescription);
        bar.message("device " + info.device + ", " + std::to_string(info.threads) + " thread(s) (" + info.threadChoice
                    + "), " + std::to_string(info.parameters) + " parameters, " + std::to_string(info.totalSteps)
                    + " steps" + (info.startStep > 0 ? ", from step " + std::to_string(info.startStep) : ""));
    };
    hooks.callbacks.progress = [&](const Progress& p) { bar.update(p); };
    std::map<std::string, double> latest;
    hooks.callbacks.metrics = [&](const std::vector<MetricPoint>& points) {
        for (const auto& p : points)
            latest[p.tag] = p.value;
    };
    hooks.callbacks.event = [&](EventKind kind, int64_t, const std::string& detail) {
        if (kind == EventKind::Alert)
            bar.message(alertLine(detail));
        if (kind != EventKind::Epoch || options.quiet)
            return;
        std::string line = "epoch " + detail + "/" + std::to_string(spec.training.epochs);
        char value[64];
        for (const char* tag : {"train/loss", "val/loss", "val/accuracy"})
            if (latest.count(tag)) {
                std::snprintf(value, sizeof value, "  %s %.4f", tag, latest[tag]);
                line += value;
            }
        bar.message(line);
    };
    // A resume goes through distillation's, which resumes a distilled student still
    // distilling and any other run as resumeTrainingSession does.
    const RunSessionResult outcome = !options.resumeRunId.empty() ? resumeDistillSession(options.resumeRunId, control, session, hooks)
                                     : options.session ? options.session(experiment, control, session, hooks)
                                                       : runTrainingSession(experiment, control, session, hooks);
    bar.finish();
    interrupt.reset();

    const TrainResult& result = outcome.result;
    if (options.distributed.rank > 0) {   // a data-parallel worker: rank 0 reports the run; failures still show
        if (result.status == TrainStatus::Failed)
            std::fprintf(stderr, "nnlab-cli train (worker %d): failed: %s\n", options.distributed.rank, result.message.c_str());
        return result.status == TrainStatus::Finished ? kExitOk : result.status == TrainStatus::Cancelled ? kExitCancelled : kExitFailed;
    }
    if (!outcome.storeError.empty()) {
        std::fprintf(stderr, "nnlab-cli train: run store: %s\n", outcome.storeError.c_str());
        if (outcome.runId.empty())
            std::fprintf(stderr, "(--no-store trains without recording)\n");
    }
    switch (result.status) {
    case TrainStatus::Finished:
        std::printf("finished %lld steps in %s (%.0f samples/s)\n", static_cast<long long>(result.steps),
                    formatDuration(result.seconds).c_str(), result.samplesPerSec);
        if (!result.message.empty())   // ended early by a monitor rule
            std::printf("%s\n", result.message.c_str());
        printMetrics(result.finalMetrics);
        return outcome.storeError.empty() ? kExitOk : kExitFailed;
    case TrainStatus::Cancelled:
        std::fprintf(stderr, "interrupted: %s%s\n", result.message.c_str(),
                     outcome.runId.empty() ? "" : ("; 'nnlab-cli runs resume " + outcome.runId + "' continues it").c_str());
        printMetrics(result.finalMetrics);
        return kExitCancelled;
    case TrainStatus::Failed:
        if (outcome.storeError.empty() || !outcome.runId.empty())
            std::fprintf(stderr, "nnlab-cli train: failed: %s\n", result.message.c_str());
        return kExitFailed;
    }
    return kExitFailed;
}

int trainCommand(const std::vector<std::string>& argv)
{
    Args args(argv);
    if (args.wantsHelp()) {
        std::fputs(kTrainHelp, stdout);
        return kExitOk;
    }
    TrainRunOptions options;
    options.store = !args.flag("--no-store");
    options.quiet = args.flag("--quiet");
    if (auto db = args.value("--db"))
        options.databasePath = *db;
    if (auto weights = args.value("--init-weights")) {
        if (!std::filesystem::is_regular_file(*weights))
            return usageError("train", "--init-weights: " + *weights + ": no such file");
        options.initWeights = *weights;
    }
    std::vector<std::string> overrides = args.values("--set");
    if (auto epochs = args.value("--epochs"))
        overrides.push_back("training.epochs=" + *epochs);
    if (auto workers = args.value("--workers"))
        overrides.push_back("training.workers=" + *workers);
    // A worker of a data-parallel run (started by rank 0, or a task of a Slurm step): only
    // rank 0 records and prints.
    try {
        if (const auto setup = distributedFromEnvironment()) {
            options.distributed = *setup;
            if (setup->rank > 0) {
                options.store = false;
                options.quiet = true;
            }
        }
    } catch (const std::runtime_error& e) {
        return usageError("train", e.what());
    }
    const ExperimentArgument experiment = experimentArgument("train", args, overrides);
    if (experiment.exitStatus != 0)
        return experiment.exitStatus;
    return trainExperiment(experiment.experiment, options);
}

} // namespace nnlab::cli
