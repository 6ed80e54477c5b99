// `nnlab-cli lr-find`: the learning-rate range test (nnlab/lr_finder.h) with a progress bar,
// a table of the curve and the suggested learning rates.
#include "lr_find_command.h"

#include "cli_args.h"
#include "experiment_arg.h"
#include "interrupt.h"
#include "progress_bar.h"

#include "nnlab/lr_finder.h"
#include "nnlab/runtime.h"
#include "nnlab/spec_json.h"

#include <cmath>

#include <optional>
#include <cstdio>

namespace nnlab::cli {

namespace {

const char* kLrFindHelp = R"(Usage: nnlab-cli lr-find [EXPERIMENT.json] [options]

The learning-rate range test (Smith 2017; fast.ai's lr_find): trains a fresh copy of the
experiment's initial model (the built-in Fashion-MNIST CNN when no file is given) while the
learning rate grows exponentially, then prints the smoothed loss against the learning rate
and the suggested learning rates. The experiment's optimizer settings are used except its
learning rate; the schedule is ignored. Nothing is recorded and no checkpoint is touched.

Options:
  --steps N                steps from the start to the end learning rate (default 200)
  --start-lr X             learning rate of the first step (default 1e-7)
  --end-lr Y               learning rate of the last step (default 10)
  --set key.path=value     override any experiment field, e.g. --set training.batch_size=128
                           (repeatable)
  --rows N                 rows of the printed curve (default 20)
  --quiet                  no progress bar
  -h, --help               this help

The test stops early once the smoothed loss exceeds 4x its lowest value.
Suggestions: 'steepest' is where the loss falls fastest, 'minimum/10' the learning rate of
the lowest loss divided by 10; 'one-cycle max' is the max_lr for schedule.type onecycle.

Exit status: 0 finished, 1 failed, 2 bad arguments or experiment, 130 interrupted.
)";

// About `rows` points spread evenly in log lr, always with the first and the last.
std::vector<size_t> sampleRows(const std::vector<LrFinderPoint>& points, int64_t rows)
{
    std::vector<size_t> picked;
    if (points.empty() || rows < 1)
        return picked;
    const double lo = std::log(points.front().lr), hi = std::log(points.back().lr);
    for (int64_t r = 0; r < rows; ++r) {
        const double target = rows > 1 ? lo + (hi - lo) * static_cast<double>(r) / static_cast<double>(rows - 1) : hi;
        size_t best = 0;
        for (size_t i = 0; i < points.size(); ++i)
            if (std::abs(std::log(points[i].lr) - target) < std::abs(std::log(points[best].lr) - target))
                best = i;
        if (picked.empty() || picked.back() != best)
            picked.push_back(best);
    }
    return picked;
}

void printResult(const LrFinderResult& result, int64_t rows)
{
    std::printf("%12s  %10s  %10s\n", "lr", "loss", "smoothed");
    for (size_t i : sampleRows(result.points, rows)) {
        const LrFinderPoint& p = result.points[i];
        std::printf("%12.3e  %10.4f  %10.4f\n", p.lr, p.loss, p.smoothedLoss);
    }
    std::printf("%zu steps in %s%s%s\n", result.points.size(), formatDuration(result.seconds).c_str(),
                result.message.empty() ? "" : "; ", result.message.c_str());
    const LrSuggestions& s = result.suggestions;
    if (!s.valid) {
        std::printf("too few steps to suggest a learning rate; try more --steps\n");
        return;
    }
    std::printf("suggestions:\n");
    std::printf("  steepest        %.3e  (smoothed loss %.4f)\n", s.steepest, s.steepestLoss);
    std::printf("  minimum/10      %.3e  (lowest smoothed loss %.4f at lr %.3e)\n", s.minimum, s.minimumLoss,
                s.minimumLossLr);
    std::printf("  one-cycle max   %.3e\n", s.oneCycleMax);
    std::printf("hint: --set optimizer.lr=%.3g\n", s.steepest);
}

} // namespace

int lrFindCommand(const std::vector<std::string>& argv)
{
    Args args(argv);
    if (args.wantsHelp()) {
        std::fputs(kLrFindHelp, stdout);
        return kExitOk;
    }
    LrFinderOptions options;
    const bool quiet = args.flag("--quiet");
    int64_t rows = 20;
    struct NumberFlag {
        const char* name;
        double* target;
    };
    double steps = static_cast<double>(options.steps), rowsValue = static_cast<double>(rows);
    for (const NumberFlag& f : {NumberFlag{"--steps", &steps}, NumberFlag{"--start-lr", &options.startLr},
                                NumberFlag{"--end-lr", &options.endLr}, NumberFlag{"--rows", &rowsValue}}) {
        if (auto text = args.value(f.name)) {
            const auto v = parseNumber(*text);
            if (!v)
                return usageError("lr-find", std::string(f.name) + ": expected a number, got '" + *text + "'");
            *f.target = *v;
        }
    }
    if (steps != std::floor(steps) || rowsValue != std::floor(rowsValue) || rowsValue < 1)
        return usageError("lr-find", "--steps and --rows take whole numbers (--rows >= 1)");
    options.steps = static_cast<int64_t>(steps);
    rows = static_cast<int64_t>(rowsValue);
    const std::string invalid = validateLrFinderOptions(options);
    if (!invalid.empty())
        return usageError("lr-find", invalid);
    const std::vector<std::string> overrides = args.values("--set");
    if (!args.missingValue().empty())
        return usageError("lr-find", args.missingValue() + " needs a value");
    const ExperimentArgument prepared = experimentArgument("lr-find", args, overrides);
    if (prepared.exitStatus != 0)
        return prepared.exitStatus;

    prepareProcess();
    const ExperimentSpec& spec = prepared.experiment.spec;
    DataBundle data;
    try {
        data = loadData(spec.data, spec.isClassification(), spec.seed);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "nnlab-cli lr-find: data: %s\n", e.what());
        return kExitFailed;
    }
    const Preparation fitted = fitToData(prepared.experiment, data);
    if (!fitted.ok()) {
        std::fprintf(stderr, "%s", fitted.errorText().c_str());
        return kExitUsage;
    }

    ProgressBar bar(!quiet);
    if (!quiet) {
        char line[160];
        std::snprintf(line, sizeof line, "; %s, lr %g -> %g over %lld steps", spec.optimizer.type.c_str(),
                      options.startLr, options.endLr, static_cast<long long>(options.steps));
        bar.message(spec.name + ": " + data.description + line);
    }
    TrainControl control;
    std::optional<CancelOnSignal> interrupt(std::in_place, control);
    const LrFinderResult result = findLearningRate(fitted.experiment, data, control, options, [&](const LrFinderProgress& p) {
        Progress shown;
        shown.epoch = 1;
        shown.epochs = 1;
        shown.step = p.step;
        shown.totalSteps = p.totalSteps;
        shown.loss = p.smoothedLoss;
        shown.etaSeconds = p.etaSeconds;
        bar.update(shown);
    });
    bar.finish();
    interrupt.reset();

    switch (result.status) {
    case TrainStatus::Finished:
        printResult(result, rows);
        return kExitOk;
    case TrainStatus::Cancelled:
        std::fprintf(stderr, "interrupted: %s\n", result.message.c_str());
        return kExitCancelled;
    case TrainStatus::Failed:
        std::fprintf(stderr, "nnlab-cli lr-find: failed: %s\n", result.message.c_str());
        return kExitFailed;
    }
    return kExitFailed;
}

} // namespace nnlab::cli
