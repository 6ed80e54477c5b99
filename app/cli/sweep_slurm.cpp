// `nnlab-cli sweep --slurm`: the trials as one Slurm job array. Each array task runs the hidden
// `nnlab-cli sweep-trial` on the sweep's own copy of the experiment and records into its own
// store file, so tasks on different nodes never share a SQLite file over a network file
// system; `runs import` (or --wait) merges the files back.
#include "sweep_command.h"

#include "cli_args.h"

#include "nnlab/spec_json.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <unistd.h>

namespace nnlab::cli {

namespace {

namespace fs = std::filesystem;

std::string shellQuote(const std::string& text)
{
    std::string out = "'";
    for (char c : text)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string selfPath()
{
    std::error_code ec;
    const fs::path self = fs::read_symlink("/proc/self/exe", ec);
    return ec ? std::string("nnlab-cli") : self.string();
}

// Runs a command; its standard output, and its exit status in `status`.
std::string capture(const std::string& command, int& status)
{
    std::string out;
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) {
        status = -1;
        return out;
    }
    char buffer[512];
    while (size_t n = fread(buffer, 1, sizeof buffer, pipe))
        out.append(buffer, n);
    const int raw = pclose(pipe);
    status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    return out;
}

std::string scriptText(const std::string& sweepId, int64_t trials, const fs::path& dir, const SlurmOptions& options)
{
    const std::string d = dir.string();
    std::string s = "#!/bin/bash\n";
    s += "# nnlab sweep " + sweepId + ": one array task per trial; each records into its own store.\n";
    s += "#SBATCH --job-name=nnlab-sweep-" + sweepId + "\n";
    s += "#SBATCH --array=0-" + std::to_string(trials - 1) + "\n";
    s += "#SBATCH --output=" + d + "/trial-%a.out\n";
    s += "#SBATCH --ntasks=1\n";
    if (!options.partition.empty())
        s += "#SBATCH --partition=" + options.partition + "\n";
    s += "exec " + shellQuote(selfPath()) + " sweep-trial " + shellQuote(d + "/sweep.json")
         + " --index \"$SLURM_ARRAY_TASK_ID\" --sweep-id " + shellQuote(sweepId) + " --db " + shellQuote(d)
         + "/trial-\"$SLURM_ARRAY_TASK_ID\".db --quiet\n";
    return s;
}

// Imports every DIR/trial-*.db into the store; the table from the imported trials.
int importAndReport(const fs::path& dir, const std::string& sweepId, const ExperimentSpec& spec,
                    const std::string& databasePath)
{
    auto store = RunStore::open(databasePath);
    if (!store.ok()) {
        std::fprintf(stderr, "nnlab-cli sweep: %s\n", store.error.message.c_str());
        return kExitFailed;
    }
    size_t files = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("trial-", 0) != 0 || entry.path().extension() != ".db")
            continue;
        ++files;
        const auto report = store.value->importFrom(entry.path().string());
        if (!report.ok())
            std::fprintf(stderr, "nnlab-cli sweep: importing %s: %s\n", name.c_str(), report.error.message.c_str());
    }
    const auto runs = store.value->listRuns();
    if (!runs.ok()) {
        std::fprintf(stderr, "nnlab-cli sweep: %s\n", runs.error.message.c_str());
        return kExitFailed;
    }
    const std::string metric = sweepMetric(spec);
    std::vector<SweepRow> rows;
    bool failed = false;
    for (const RunSummary& run : runs.value) {
        const std::set<std::string> tags(run.tags.begin(), run.tags.end());
        if (!tags.count(sweepTag(sweepId)))
            continue;
        SweepRow row;
        const auto note = parseSweepNote(run.notes);
        row.trial = note ? note->trial : 0;
        if (note)
            for (const auto& [path, value] : note->values)
                row.label += (row.label.empty() ? "" : " ") + path.substr(path.rfind('.') + 1) + "=" + value;
        row.status = toString(run.status);
        const auto m = run.metrics.find(metric);
        if (m != run.metrics.end() && m->second.bestValue == m->second.bestValue) {
            row.value = m->second.bestValue;
            row.hasValue = true;
        }
        row.steps = run.lastStep;
        row.seconds = run.duration;
        row.runId = run.id;
        failed = failed || run.status != RunStatus::Finished;
        rows.push_back(row);
    }
    printSweepTable(rows, metric, sweepMetricDirection(metric));
    const int64_t expected = sweepTrialCount(spec.sweep);
    std::printf("%zu of %lld trials in %s (imported from %zu store files); tag %s\n", rows.size(),
                static_cast<long long>(expected), databasePath.c_str(), files, sweepTag(sweepId).c_str());
    return failed || static_cast<int64_t>(rows.size()) != expected ? kExitFailed : kExitOk;
}

} // namespace

int submitSlurmSweep(const ExperimentSpec& spec, const std::string& sweepId, const SlurmOptions& options)
{
    std::error_code ec;
    const fs::path dir = fs::absolute(options.directory, ec).lexically_normal();
    fs::create_directories(dir, ec);
    if (ec) {
        std::fprintf(stderr, "nnlab-cli sweep: cannot create %s: %s\n", dir.c_str(), ec.message().c_str());
        return kExitFailed;
    }
    // The array's tasks read this copy: the sweep as this command resolved it (--set included).
    const std::string experiment = (dir / "sweep.json").string();
    if (const std::string e = saveExperimentFile(spec, experiment); !e.empty()) {
        std::fprintf(stderr, "nnlab-cli sweep: %s\n", e.c_str());
        return kExitFailed;
    }
    const int64_t trials = sweepTrialCount(spec.sweep);
    const fs::path script = dir / "sweep.sbatch";
    {
        std::ofstream out(script);
        out << scriptText(sweepId, trials, dir, options);
        if (!out) {
            std::fprintf(stderr, "nnlab-cli sweep: cannot write %s\n", script.c_str());
            return kExitFailed;
        }
    }
    if (spec.sweep.pruner != SweepPruner::None)
        std::fprintf(stderr, "note: the pruner (%s) is off in a Slurm array: each task trains its trial to the end\n",
                     toString(spec.sweep.pruner));
    const std::string command = std::string("sbatch --parsable") + (options.wait ? " --wait" : "") + " "
                                + shellQuote(script.string()) + " 2>&1";
    if (!options.quiet)
        std::fprintf(stderr, "submitting %lld trials: %s\n", static_cast<long long>(trials), command.c_str());
    int status = 0;
    const std::string output = capture(command, status);
    if (status != 0 && !(options.wait && output.find_first_of("0123456789") == 0)) {
        std::fprintf(stderr, "nnlab-cli sweep: sbatch failed (%d): %s\n", status, output.c_str());
        return kExitFailed;
    }
    const std::string job = output.substr(0, output.find_first_of(";\n"));
    std::printf("sweep %s: Slurm job %s, %lld array tasks; script %s\n", sweepId.c_str(), job.c_str(),
                static_cast<long long>(trials), script.c_str());
    if (!options.wait) {
        std::printf("when it ends: nnlab-cli runs import %s/trial-*.db\n", dir.c_str());
        return kExitOk;
    }
    return importAndReport(dir, sweepId, spec, options.databasePath);
}

} // namespace nnlab::cli
