#include "check_command.h"

#include "cli_args.h"
#include "experiment_arg.h"
#include "interrupt.h"

#include "nnlab/data.h"
#include "nnlab/preflight.h"
#include "nnlab/runtime.h"
#include "nnlab/spec_json.h"

#include <algorithm>
#include <cmath>

#include <optional>
#include <cstdio>

namespace nnlab::cli {

namespace {

const char* kCheckHelp = R"(Usage: nnlab-cli check [EXPERIMENT.json] [options]

Runs the recipe pre-flight (Karpathy, "A Recipe for Training Neural Networks") on an
experiment (the built-in Fashion-MNIST CNN when no file is given) before a long run:
  - the last layer before the loss (no ReLU or sigmoid before cross_entropy)
  - label balance, and classes with fewer than --min-class-examples examples
  - the input's range as the network sees it (normalised?), with per-feature ranges
  - the loss at initialisation near ln(K) for K classes
  - real inputs train to a clearly lower loss than zeroed inputs
  - a fresh model overfits one small batch to near-zero loss
  - per-layer gradient flow: vanishing, exploding, non-finite, dead ReLUs
Fresh models built from the experiment's seed do the training; nothing is recorded.

Options:
  --set key.path=value     override any experiment field (repeatable), e.g.
                           --set data.train_limit=2000 for a quicker check
  --overfit-steps N        steps allowed to overfit one batch (default 200)
  --min-class-examples N   warn for classes with fewer training examples (default 10)
  --quiet                  no progress bar
  -h, --help               this help

Exit status: 0 every check passed (warnings allowed), 1 a check failed, 2 bad arguments
or an experiment that cannot be loaded, 130 interrupted.
)";

// "[#####-------]  40% overfitting one batch", redrawn in place on a terminal; elsewhere a
// line per stage.
class StageBar {
public:
    explicit StageBar(bool enabled) : m_enabled(enabled), m_terminal(isTerminal(2)) {}
    void update(double fraction, const std::string& stage)
    {
        if (!m_enabled)
            return;
        if (!m_terminal) {
            if (stage != m_stage && stage != "done")
                std::fprintf(stderr, "%s...\n", stage.c_str());
            m_stage = stage;
            return;
        }
        constexpr int kWidth = 24;
        const int filled = static_cast<int>(fraction * kWidth + 0.5);
        std::fprintf(stderr, "\r\033[K[%s%s] %3.0f%% %s", std::string(static_cast<size_t>(filled), '#').c_str(),
                     std::string(static_cast<size_t>(kWidth - filled), '-').c_str(), fraction * 100, stage.c_str());
        std::fflush(stderr);
        m_drawn = true;
    }
    void finish()
    {
        if (m_drawn)
            std::fputs("\r\033[K", stderr);
        m_drawn = false;
    }

private:
    bool m_enabled, m_terminal;
    bool m_drawn = false;
    std::string m_stage;
};

void printInput(const InputView& input)
{
    if (input.features.empty())
        return;
    const std::string unit = input.images ? "channel" : "feature";
    std::printf("\nWhat enters the network, per %s (%s):\n", unit.c_str(),
                input.normalized ? "raw = before normalisation" : "no normalisation: raw = as seen");
    std::printf("  %-12s %10s %10s %10s %10s   %10s %10s\n", unit.c_str(), "min", "max", "mean", "std", "raw min", "raw max");
    const size_t shown = std::min<size_t>(input.features.size(), 12);
    for (size_t i = 0; i < shown; ++i) {
        const FeatureRange& r = input.features[i];
        std::printf("  %-12s %10.4g %10.4g %10.4g %10.4g   %10.4g %10.4g\n", r.name.c_str(), r.min, r.max, r.mean, r.std,
                    r.rawMin, r.rawMax);
    }
    if (input.features.size() > shown)
        std::printf("  ... %zu more\n", input.features.size() - shown);
    if (!input.labels.empty()) {
        std::string labels;
        for (int64_t id : input.labels) {
            const auto c = static_cast<size_t>(id);
            labels += (labels.empty() ? "" : ", ") + (c < input.classNames.size() ? input.classNames[c] : std::to_string(id));
        }
        std::printf("  labels of the first %lld samples of the batch: %s\n", static_cast<long long>(input.sampleCount()),
                    labels.c_str());
    }
}

void printLayers(const std::vector<LayerFlow>& layers)
{
    bool header = false;
    for (const auto& f : layers) {
        if (f.status == CheckStatus::Pass)
            continue;
        if (!header)
            std::printf("\nLayers with a gradient-flow problem:\n");
        header = true;
        if (f.deadFraction >= 0)
            std::printf("  %-4s %-16s %-12s %.0f%% of units dead\n", toString(f.status), f.name.c_str(), f.type.c_str(),
                        100 * f.deadFraction);
        else
            std::printf("  %-4s %-16s %-12s %s: grad norm %.3g, weight norm %.3g\n", toString(f.status), f.name.c_str(),
                        f.type.c_str(), f.problem.c_str(), f.gradNorm, f.weightNorm);
    }
}

} // namespace

int checkCommand(const std::vector<std::string>& argv)
{
    Args args(argv);
    if (args.wantsHelp()) {
        std::fputs(kCheckHelp, stdout);
        return kExitOk;
    }
    const bool quiet = args.flag("--quiet");
    PreflightOptions options;
    try {
        if (auto n = args.value("--overfit-steps"))
            options.overfitSteps = std::max(1, std::stoi(*n));
        if (auto n = args.value("--min-class-examples"))
            options.minClassExamples = std::max(0, std::stoi(*n));
    } catch (const std::exception&) {
        return usageError("check", "--overfit-steps and --min-class-examples take a whole number");
    }
    const auto overrides = args.values("--set");
    const ExperimentArgument argument = experimentArgument("check", args, overrides);
    if (argument.exitStatus != 0)
        return argument.exitStatus;
    const std::string& name = argument.name;
    prepareProcess();
    const ExperimentSpec& spec = argument.experiment.spec;
    DataBundle data;
    try {
        data = loadData(spec.data, spec.isClassification(), spec.seed);
    } catch (const DataError& e) {
        std::fprintf(stderr, "nnlab-cli check: %s\n", e.what());
        return kExitUsage;
    }
    const Preparation fitted = fitToData(argument.experiment, data);
    if (!fitted.ok()) {
        std::fprintf(stderr, "%s: %s\n", name.c_str(), fitted.errorText().c_str());
        return kExitUsage;
    }
    if (!quiet)
        std::fprintf(stderr, "%s: %s\n", spec.name.c_str(), data.description.c_str());

    StageBar bar(!quiet);
    TrainControl control;
    std::optional<CancelOnSignal> interrupt(std::in_place, control);
    const PreflightReport report = runPreflight(fitted.experiment, data, [&](double f, const std::string& s) { bar.update(f, s); },
                                                control, options);
    bar.finish();
    interrupt.reset();

    for (const auto& c : report.checks)
        std::printf("%-4s  %-28s %s\n", toString(c.status), c.title.c_str(), c.explanation.c_str());
    printLayers(report.layers);
    printInput(report.input);
    std::printf("\n%d passed, %d warning%s, %d failed, %d skipped in %.2f s\n", report.count(CheckStatus::Pass),
                report.count(CheckStatus::Warn), report.count(CheckStatus::Warn) == 1 ? "" : "s",
                report.count(CheckStatus::Fail), report.count(CheckStatus::Skipped), report.seconds);
    if (report.cancelled) {
        std::fprintf(stderr, "interrupted\n");
        return kExitCancelled;
    }
    if (!report.error.empty()) {
        std::fprintf(stderr, "nnlab-cli check: %s\n", report.error.c_str());
        return kExitFailed;
    }
    return report.failed() ? kExitFailed : kExitOk;
}

} // namespace nnlab::cli
