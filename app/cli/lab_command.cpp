#include "lab_command.h"

#include "cli_args.h"
#include "interrupt.h"
#include "progress_bar.h"

#include "nnlab/atomic_file.h"
#include "nnlab/lab.h"
#include "nnlab/runtime.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <unistd.h>

namespace nnlab::cli {

namespace {

namespace fs = std::filesystem;

const char* kLabHelp = R"(Usage: nnlab-cli lab run LAB.json [options]
       nnlab-cli lab new [FILE] [--force]

lab run: runs every step of a teaching lab (format nnlab.lab/1) headless: each step's runs
are trained one after another (a "check" step runs the pre-flight checks instead), then
each of its observations is checked against the recorded metrics and printed ticked or
crossed with the values measured. Teachers verify their labs with it.

  --db PATH      record the runs in this run store (kept, to look at in the GUI); without
                 it they go to a temporary store that is deleted at the end
  --step ID      run only this step (its id)
  --seed N       every step's experiment with this seed instead of its own (runs that set
                 a seed keep theirs): do the observations hold for other seeds too?
  --quiet        no progress bars
  -h, --help     this help

lab new: writes a lab template (every key shown and explained by "_comment" keys, which
the parser ignores) to FILE, or to standard output without one. --force overwrites FILE.

Exit status: 0 every observation holds, 1 one fails (or a run could not be recorded),
2 bad arguments or a bad lab file (the message names the field), 130 interrupted.
)";

// The step's text without its Markdown marks, indented.
std::string plainText(const std::string& text)
{
    std::string out = "  ";
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '*' || c == '`')
            continue;
        out += c;
        if (c == '\n')
            out += "  ";
    }
    return out;
}

int newLab(Args& args)
{
    const bool force = args.flag("--force");
    std::string error;
    const auto files = args.positionals(error);
    if (!error.empty() || files.size() > 1)
        return usageError("lab new", error.empty() ? "expected at most one file" : error);
    if (files.empty()) {
        std::fputs(labTemplate().c_str(), stdout);
        return kExitOk;
    }
    if (fs::exists(files[0]) && !force)
        return usageError("lab new", files[0] + " exists (--force overwrites it)");
    try {
        writeFileAtomically(files[0], labTemplate());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "nnlab-cli lab new: %s\n", e.what());
        return kExitFailed;
    }
    std::printf("wrote %s; check it with: nnlab-cli lab run %s\n", files[0].c_str(), files[0].c_str());
    return kExitOk;
}

// A temporary store for a run without --db, removed with its checkpoints at the end.
class TempStore {
public:
    TempStore()
    {
        char pattern[] = "/tmp/nnlab-lab-XXXXXX";
        if (const char* dir = mkdtemp(pattern))
            m_dir = dir;
    }
    ~TempStore()
    {
        std::error_code ec;
        if (!m_dir.empty())
            fs::remove_all(m_dir, ec);
    }
    std::string path() const { return m_dir.empty() ? std::string() : m_dir + "/runs.db"; }

private:
    std::string m_dir;
};

int runLab(Args& args)
{
    const bool quiet = args.flag("--quiet");
    const auto db = args.value("--db");
    const auto onlyStep = args.value("--step");
    std::optional<uint64_t> seed;
    if (const auto text = args.value("--seed")) {
        const auto n = parseNumber(*text);
        if (!n || *n < 0 || *n != static_cast<double>(static_cast<uint64_t>(*n)))
            return usageError("lab run", "--seed takes a whole number >= 0, got " + *text);
        seed = static_cast<uint64_t>(*n);
    }
    std::string error;
    const auto files = args.positionals(error);
    if (!args.missingValue().empty())
        return usageError("lab run", args.missingValue() + " needs a value");
    if (error.empty() && files.size() != 1)
        error = "expected one lab file";
    if (!error.empty())
        return usageError("lab run", error);
    const LabParseResult parsed = loadLabFile(files[0]);
    if (!parsed.ok()) {
        std::fprintf(stderr, "%s: %zu problem%s\n", files[0].c_str(), parsed.problems.size(),
                     parsed.problems.size() == 1 ? "" : "s");
        for (const auto& p : parsed.problems)
            std::fprintf(stderr, "  %s\n", p.text().c_str());
        return kExitUsage;
    }
    const Lab& lab = parsed.lab;
    if (onlyStep && !lab.findStep(*onlyStep)) {
        std::string ids;
        for (const auto& s : lab.steps)
            ids += (ids.empty() ? "" : ", ") + s.id;
        return usageError("lab run", "--step " + *onlyStep + ": no such step; one of " + ids);
    }
    prepareProcess();
    std::optional<TempStore> temp;
    LabRunOptions options;
    options.labName = fs::path(files[0]).stem().string();
    if (db)
        options.databasePath = *db;
    else {
        temp.emplace();
        options.databasePath = temp->path();
        if (options.databasePath.empty())
            return usageError("lab run", "cannot create a temporary run store in /tmp (--db PATH records elsewhere)");
    }

    std::printf("Lab: %s (%zu step%s)\n", lab.title.c_str(), lab.steps.size(), lab.steps.size() == 1 ? "" : "s");
    if (!lab.summary.empty())
        std::printf("%s\n", lab.summary.c_str());
    TrainControl control;
    std::optional<CancelOnSignal> interrupt(std::in_place, control);
    int held = 0, total = 0;
    bool failed = false, cancelled = false;
    double seconds = 0.0;
    for (size_t i = 0; i < lab.steps.size() && !cancelled; ++i) {
        const LabStep& step = lab.steps[i];
        if (onlyStep && step.id != *onlyStep)
            continue;
        std::printf("\n== Step %zu/%zu %s: %s ==\n", i + 1, lab.steps.size(), step.id.c_str(), step.title.c_str());
        if (!step.text.empty())
            std::printf("%s\n", plainText(step.text).c_str());
        if (!step.question.prompt.empty()) {
            std::printf("  Question: %s\n", step.question.prompt.c_str());
            for (size_t c = 0; c < step.question.choices.size(); ++c)
                std::printf("    %c) %s%s\n", static_cast<char>('a' + c), step.question.choices[c].c_str(),
                            static_cast<int>(c) == step.question.answer ? "   <- answer" : "");
        }
        std::fflush(stdout);
        ProgressBar bar(!quiet);
        LabStepCallbacks callbacks;
        callbacks.runStarted = [&](const std::string& name, int index, int count, const ExperimentSpec&) {
            bar = ProgressBar(!quiet);
            if (!quiet)
                bar.message("  run " + name + " (" + std::to_string(index + 1) + " of " + std::to_string(count) + ")");
        };
        callbacks.train.progress = [&](const Progress& p) { bar.update(p); };
        callbacks.checkProgress = [&](double fraction, const std::string& stage) {
            bar.updateItems(static_cast<int64_t>(fraction * 100), 100, "% " + stage);
        };
        callbacks.runFinished = [&](const std::string& name, const std::string&, const TrainResult& result) {
            bar.finish();
            if (step.action == LabAction::Check)
                std::printf("  run %s: pre-flight checked\n", name.c_str());
            else
                std::printf("  run %s: %s in %s%s%s\n", name.c_str(), toString(result.status),
                            formatDuration(result.seconds).c_str(), result.message.empty() ? "" : ": ",
                            result.message.c_str());
            std::fflush(stdout);
        };
        ExperimentSpec base = step.experiment;
        if (seed)
            base.seed = *seed;
        const LabStepOutcome outcome = runLabStep(step, base, control, options, callbacks);
        bar.finish();
        seconds += outcome.seconds;
        cancelled = outcome.cancelled;
        if (!outcome.error.empty()) {
            std::fprintf(stderr, "%s", outcome.error.c_str());
            failed = true;
        }
        for (const auto& r : outcome.observations) {
            ++total;
            held += r.holds ? 1 : 0;
            std::printf("  %s %s\n      %s\n", r.holds ? "\u2713" : "\u2717", r.claim.c_str(), r.measured.c_str());
            if (!r.explanation.empty())
                std::printf("      %s\n", r.explanation.c_str());
        }
        if (!step.question.explanation.empty())
            std::printf("  About the question: %s\n", step.question.explanation.c_str());
        std::printf("  (step took %s)\n", formatDuration(outcome.seconds).c_str());
        std::fflush(stdout);
    }
    interrupt.reset();
    std::printf("\n%d of %d observation%s hold in %s%s\n", held, total, total == 1 ? "" : "s",
                formatDuration(seconds).c_str(), db ? (", runs recorded in " + *db).c_str() : "");
    if (cancelled) {
        std::fprintf(stderr, "interrupted\n");
        return kExitCancelled;
    }
    return failed || held != total ? kExitFailed : kExitOk;
}

} // namespace

int labCommand(std::vector<std::string> argv)
{
    if (argv.empty() || argv[0] == "--help" || argv[0] == "-h") {
        std::fputs(kLabHelp, argv.empty() ? stderr : stdout);
        return argv.empty() ? kExitUsage : kExitOk;
    }
    const std::string sub = argv.front();
    Args args(std::vector<std::string>(argv.begin() + 1, argv.end()));
    if (args.wantsHelp()) {
        std::fputs(kLabHelp, stdout);
        return kExitOk;
    }
    if (sub == "run")
        return runLab(args);
    if (sub == "new")
        return newLab(args);
    return usageError("lab", "unknown subcommand '" + sub + "'; 'lab run LAB.json' or 'lab new [FILE]'");
}

} // namespace nnlab::cli
