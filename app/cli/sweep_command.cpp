#include "sweep_command.h"

#include "cli_args.h"
#include "interrupt.h"

#include "nnlab/model_info.h"
#include "nnlab/runtime.h"
#include "nnlab/spec_json.h"
#include "nnlab/trainer.h"

#include <algorithm>
#include <chrono>

#include <optional>
#include <cstdio>
#include <map>
#include <mutex>

namespace nnlab::cli {

namespace {

const char* kSweepHelp = R"(Usage: nnlab-cli sweep EXPERIMENT.json [options]

Runs the hyperparameter sweep of the experiment's "sweep" section, or one defined here: each
trial is an ordinary recorded run tagged sweep:<id>, named "<experiment> #N <values>". Ends with
the trials ranked by the sweep's metric.

Defining the sweep (these change the file's sweep section):
  --set key.path=v1,v2,...   a grid parameter: the values to try (repeatable); a --set with one
                             value is a plain override, as in 'nnlab-cli train'
  --random N                 random search: N trials drawn from the values and ranges
  --trials N                 random search: number of trials
  --concurrent N             trials trained at once (default 1)
  --metric TAG               rank and prune by val/accuracy, val/loss, train/accuracy or
                             train/loss (default: training.best_metric's)
  --pruner none|asha|median  stop weak trials early (successive halving, median stopping)
  --reduction-factor N       asha: keep 1 in N trials at each rung (default 3)
  --min-epochs N             asha: epochs of the first rung; median: epochs before stopping

Running it:
  --list                     print the trials and exit
  --db PATH                  run store file (default: $NNLAB_DB, else $XDG_DATA_HOME/nnlab/runs.db)
  --no-store                 do not record the trials
  --quiet                    no progress bar
  --slurm                    submit the trials as a Slurm job array (sbatch --array) instead;
                             each task records into DIR/trial-<index>.db (pruning is off there)
  --partition P              Slurm partition
  --slurm-dir DIR            folder for the job script, the experiment and the trial stores
                             (default: ./nnlab-sweep-<id>)
  --wait                     wait for the array (sbatch --wait), then import its stores into
                             --db and print the table; without it, 'nnlab-cli runs import
                             DIR/trial-*.db' merges them later
  -h, --help                 this help

Exit status: 0 every trial finished, 1 a trial failed, 2 bad arguments or experiment,
130 interrupted.
)";

std::optional<int64_t> integerFlag(Args& args, const std::string& name, std::string& error)
{
    const auto text = args.value(name);
    if (!text)
        return std::nullopt;
    try {
        size_t used = 0;
        const long long v = std::stoll(*text, &used);
        if (used == text->size())
            return v;
    } catch (const std::exception&) {
    }
    error = name + " takes an integer, got \"" + *text + "\"";
    return std::nullopt;
}

// The command line's sweep definition, over the file's. `plain` gets the single-value --sets.
bool applySweepFlags(Args& args, SweepSpec& sweep, std::vector<std::string>& plain, std::string& error)
{
    for (const std::string& set : args.values("--set")) {
        const auto parameter = sweepParameterFromSet(set, error);
        if (!parameter)
            return false;
        if (parameter->values.size() < 2) {
            plain.push_back(set);
            continue;
        }
        auto same = std::find_if(sweep.parameters.begin(), sweep.parameters.end(),
                                 [&](const SweepParameter& p) { return p.path == parameter->path; });
        if (same != sweep.parameters.end())
            *same = *parameter;
        else
            sweep.parameters.push_back(*parameter);
    }
    if (const auto n = integerFlag(args, "--random", error)) {
        sweep.method = SweepMethod::Random;
        sweep.trials = *n;
    }
    if (const auto n = integerFlag(args, "--trials", error))
        sweep.trials = *n;
    if (const auto n = integerFlag(args, "--concurrent", error))
        sweep.concurrent = *n;
    if (const auto n = integerFlag(args, "--reduction-factor", error))
        sweep.reductionFactor = *n;
    if (const auto n = integerFlag(args, "--min-epochs", error))
        sweep.minEpochs = *n;
    if (const auto metric = args.value("--metric"))
        sweep.metric = *metric;
    if (const auto pruner = args.value("--pruner")) {
        const auto p = sweepPrunerFromString(*pruner);
        if (!p)
            error = "--pruner takes none, asha or median, got \"" + *pruner + "\"";
        else
            sweep.pruner = *p;
    }
    return error.empty();
}

std::string statusText(const SweepTrialResult& t)
{
    if (t.pruned)
        return "pruned at epoch " + std::to_string(t.epochs);
    return toString(t.status);
}

// The bar across trials: done trials plus the running ones' share of their steps.
class SweepBar {
public:
    SweepBar(bool enabled, size_t trials, std::string metric, int direction)
        : m_enabled(enabled), m_terminal(isTerminal(2)), m_trials(trials), m_metric(std::move(metric)),
          m_direction(direction)
    {
    }

    void progress(int64_t trial, const Progress& p)
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_running[trial] = p.totalSteps > 0 ? static_cast<double>(p.step) / static_cast<double>(p.totalSteps) : 0.0;
        draw(false);
    }

    void finished(const SweepTrialResult& t)
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_running.erase(t.trial.index);
        ++m_done;
        if (t.hasValue && (!m_hasBest || (m_direction > 0 ? t.value > m_best : t.value < m_best))) {
            m_best = t.value;
            m_hasBest = true;
        }
        if (!m_enabled)
            return;
        char value[48] = "no value";
        if (t.hasValue)
            std::snprintf(value, sizeof value, "%s %.4f", m_metric.c_str(), t.value);
        clear();
        std::fprintf(stderr, "trial %lld/%zu %s: %s, %s, %lld steps%s\n", static_cast<long long>(t.trial.index + 1),
                     m_trials, t.trial.label().c_str(), statusText(t).c_str(), value, static_cast<long long>(t.steps),
                     t.status == TrainStatus::Failed ? (" (" + t.message + ")").c_str() : "");
        draw(true);
    }

    void finish()
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        if (m_enabled && m_terminal && m_drawn)
            std::fputs("\n", stderr);
        m_drawn = false;
    }

private:
    void clear()
    {
        if (m_terminal && m_drawn)
            std::fputs("\r\033[K", stderr);
        m_drawn = false;
    }

    void draw(bool force)
    {
        if (!m_enabled)
            return;
        const auto now = std::chrono::steady_clock::now();
        const double since = std::chrono::duration<double>(now - m_lastDraw).count();
        if (!force && since < (m_terminal ? 0.1 : 5.0))
            return;
        if (!m_terminal && force)
            return;   // a log gets the trial lines, and a bar line every few seconds
        m_lastDraw = now;
        double done = static_cast<double>(m_done);
        for (const auto& [trial, share] : m_running)
            done += share;
        const double fraction = m_trials ? done / static_cast<double>(m_trials) : 1.0;
        constexpr int kWidth = 24;
        const int filled = std::clamp(static_cast<int>(fraction * kWidth + 0.5), 0, kWidth);
        char best[64] = "";
        if (m_hasBest)
            std::snprintf(best, sizeof best, "  best %s %.4f", m_metric.c_str(), m_best);
        std::fprintf(stderr, "%strials %zu/%zu done, %zu running [%s%s] %3.0f%%%s%s", m_terminal ? "\r\033[K" : "",
                     m_done, m_trials, m_running.size(), std::string(static_cast<size_t>(filled), '#').c_str(),
                     std::string(static_cast<size_t>(kWidth - filled), '-').c_str(), fraction * 100, best,
                     m_terminal ? "" : "\n");
        std::fflush(stderr);
        m_drawn = m_terminal;
    }

    std::mutex m_mutex;
    const bool m_enabled;
    const bool m_terminal;
    const size_t m_trials;
    const std::string m_metric;
    const int m_direction;
    std::map<int64_t, double> m_running;
    size_t m_done = 0;
    double m_best = 0.0;
    bool m_hasBest = false;
    bool m_drawn = false;
    std::chrono::steady_clock::time_point m_lastDraw{};
};

int printProblems(const std::string& what, const Problems& problems)
{
    std::fprintf(stderr, "%s: %zu problem%s\n", what.c_str(), problems.size(), problems.size() == 1 ? "" : "s");
    for (const auto& p : problems)
        std::fprintf(stderr, "  %s\n", p.text().c_str());
    return kExitUsage;
}

int runLocalSweep(const PreparedExperiment& experiment, SweepOptions options, bool quiet)
{
    prepareProcess();
    const std::string metric = sweepMetric(experiment.spec);
    const int direction = sweepMetricDirection(metric);
    const size_t count = static_cast<size_t>(sweepTrialCount(experiment.spec.sweep));
    SweepBar bar(!quiet, count, metric, direction);
    options.progress = [&](int64_t trial, const Progress& p) { bar.progress(trial, p); };
    options.trialFinished = [&](const SweepTrialResult& t) { bar.finished(t); };
    std::printf("sweep %s: %zu trials of %s, %s search, pruner %s, ranked by %s\n", options.sweepId.c_str(), count,
                experiment.spec.name.c_str(), toString(experiment.spec.sweep.method),
                toString(experiment.spec.sweep.pruner), metric.c_str());
    std::fflush(stdout);

    TrainControl control;
    std::optional<CancelOnSignal> interrupt(std::in_place, control);
    const SweepResult result = runSweep(experiment, control, options);
    interrupt.reset();
    bar.finish();
    if (!result.error.empty()) {
        std::fprintf(stderr, "nnlab-cli sweep: %s\n", result.error.c_str());
        return kExitFailed;
    }
    std::vector<SweepRow> rows;
    bool failed = false;
    bool cancelled = control.isCancelled();
    for (const auto& t : result.trials) {
        rows.push_back({t.trial.index, t.trial.label(), statusText(t), t.hasValue, t.value, t.steps, t.seconds, t.runId});
        failed = failed || t.status == TrainStatus::Failed;
        cancelled = cancelled || t.status == TrainStatus::Cancelled;
    }
    printSweepTable(rows, result.metric, result.direction);
    std::printf("%zu trials, %lld steps in %s; the runs carry the tag %s\n", result.trials.size(),
                static_cast<long long>(result.totalSteps), formatDuration(result.seconds).c_str(),
                sweepTag(result.sweepId).c_str());
    return cancelled ? kExitCancelled : failed ? kExitFailed : kExitOk;
}

} // namespace

void printSweepTable(std::vector<SweepRow> rows, const std::string& metric, int direction)
{
    std::stable_sort(rows.begin(), rows.end(), [&](const SweepRow& a, const SweepRow& b) {
        if (a.hasValue != b.hasValue)
            return a.hasValue;
        return a.hasValue && (direction > 0 ? a.value > b.value : a.value < b.value);
    });
    size_t labelWidth = 6;
    for (const auto& r : rows)
        labelWidth = std::max(labelWidth, r.label.size());
    std::printf("%-4s %-5s  %-*s  %-18s %12s %8s %8s  %s\n", "rank", "trial", static_cast<int>(labelWidth), "values",
                "status", metric.c_str(), "steps", "time", "run");
    for (size_t i = 0; i < rows.size(); ++i) {
        const SweepRow& r = rows[i];
        char value[32] = "-";
        if (r.hasValue)
            std::snprintf(value, sizeof value, "%.4f", r.value);
        std::printf("%-4zu #%-4lld  %-*s  %-18s %12s %8lld %8s  %s\n", i + 1, static_cast<long long>(r.trial + 1),
                    static_cast<int>(labelWidth), r.label.c_str(), r.status.c_str(), value,
                    static_cast<long long>(r.steps), formatDuration(r.seconds).c_str(), r.runId.c_str());
    }
}

int sweepCommand(const std::vector<std::string>& argv)
{
    Args args(argv);
    if (args.wantsHelp()) {
        std::fputs(kSweepHelp, stdout);
        return kExitOk;
    }
    SweepOptions options;
    options.store = !args.flag("--no-store");
    const bool quiet = args.flag("--quiet");
    const bool list = args.flag("--list");
    const bool slurm = args.flag("--slurm");
    SlurmOptions slurmOptions;
    slurmOptions.wait = args.flag("--wait");
    slurmOptions.quiet = quiet;
    slurmOptions.partition = args.value("--partition").value_or("");
    slurmOptions.directory = args.value("--slurm-dir").value_or("");
    if (auto db = args.value("--db"))
        options.databasePath = *db;

    ExperimentSpec flags;   // only its sweep: the flags' changes, applied once the file is read
    std::vector<std::string> plain;
    std::string error;
    // The file's sweep is needed first; read the flags into a list, apply after loading.
    Args flagArgs = args;
    if (!applySweepFlags(flagArgs, flags.sweep, plain, error))
        return usageError("sweep", error);
    const auto files = flagArgs.positionals(error);
    if (!error.empty())
        return usageError("sweep", error);
    if (files.size() != 1)
        return usageError("sweep", "expected one experiment file");

    const ParseResult parsed = loadExperimentFile(files[0], plain);
    if (!parsed.complete)
        return printProblems(files[0], parsed.problems);
    ExperimentSpec spec = parsed.spec;
    Args again = args;
    std::vector<std::string> ignored;
    applySweepFlags(again, spec.sweep, ignored, error);
    const Problems problems = validateExperiment(spec);
    if (!problems.empty())
        return printProblems(files[0], problems);
    if (spec.sweep.parameters.empty())
        return usageError("sweep", files[0] + " has no sweep section; give one, or --set key.path=value1,value2");
    const Preparation prepared = prepareExperiment(spec);
    if (!prepared.ok())
        return printProblems(files[0], prepared.problems);

    if (list) {
        for (const SweepTrial& t : sweepTrials(spec.sweep, spec.seed))
            std::printf("#%lld  %s\n", static_cast<long long>(t.index + 1), t.label().c_str());
        return kExitOk;
    }
    options.sweepId = newSweepId();
    if (slurm) {
        slurmOptions.databasePath = options.databasePath.empty() ? defaultDatabasePath() : options.databasePath;
        if (slurmOptions.directory.empty())
            slurmOptions.directory = "nnlab-sweep-" + options.sweepId;
        return submitSlurmSweep(prepared.experiment.spec, options.sweepId, slurmOptions);
    }
    return runLocalSweep(prepared.experiment, options, quiet);
}

int sweepTrialCommand(const std::vector<std::string>& argv)
{
    Args args(argv);
    SweepOptions options;
    options.store = !args.flag("--no-store");
    const bool quiet = args.flag("--quiet");
    if (auto db = args.value("--db"))
        options.databasePath = *db;
    options.sweepId = args.value("--sweep-id").value_or("");
    std::string error;
    const auto index = integerFlag(args, "--index", error);
    const auto files = args.positionals(error);
    if (!error.empty())
        return usageError("sweep-trial", error);
    if (files.size() != 1 || !index)
        return usageError("sweep-trial", "expected EXPERIMENT.json --index I [--sweep-id ID] [--db PATH]");
    const ParseResult parsed = loadExperimentFile(files[0]);
    if (!parsed.ok())
        return printProblems(files[0], parsed.problems);
    const Preparation prepared = prepareExperiment(parsed);
    if (!prepared.ok())
        return printProblems(files[0], prepared.problems);
    prepareProcess();
    TrainControl control;
    std::optional<CancelOnSignal> interrupt(std::in_place, control);
    const SweepTrialResult t = runSweepTrial(prepared.experiment, *index, control, options);
    interrupt.reset();
    if (!quiet || t.status != TrainStatus::Finished)
        std::printf("trial %lld %s: %s%s%s\n", static_cast<long long>(*index + 1), t.trial.label().c_str(),
                    toString(t.status), t.message.empty() ? "" : ": ", t.message.c_str());
    std::printf("run %s\n", t.runId.c_str());
    switch (t.status) {
    case TrainStatus::Finished: return kExitOk;
    case TrainStatus::Cancelled: return kExitCancelled;
    case TrainStatus::Failed: return kExitFailed;
    }
    return kExitFailed;
}

} // namespace nnlab::cli
