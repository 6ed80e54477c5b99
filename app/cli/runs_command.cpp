// `nnlab-cli runs ...`: the run store from the command line. Tables go to stdout, errors to
// stderr; exit status 0 on success, 1 when the store or a run says no, 2 for bad arguments.
#include "runs_command.h"

#include "cli_args.h"
#include "train_command.h"

#include "nnlab/run_export.h"
#include "nnlab/spec_json.h"
#include "nnlab/store.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>

#include <unistd.h>

namespace nnlab::cli {
namespace {

const char* kRunsHelp = R"(Usage: nnlab-cli runs COMMAND [options]

Browse and manage the runs that 'nnlab-cli train' and the GUI record.

Commands:
  list              a table of runs, newest first
  show ID           a run's summary, metrics, events, artifacts and experiment
  export ID         every metric point at full resolution, as CSV or JSON
  diff ID1 ID2      what differs between two runs' experiments and results
  delete ID         delete a run with its metrics (checkpoint files stay on disk)
  resume ID         continue an interrupted or cancelled run from its last checkpoint
  import OTHER.db   merge the runs of another run store, skipping those already here

Every command takes:
  --db PATH         run store file (default: $NNLAB_DB, else $XDG_DATA_HOME/nnlab/runs.db,
                    else ~/.local/share/nnlab/runs.db)
  -h, --help        help for the command

A run ID may be shortened to any prefix that matches one run.
)";

const char* kListHelp = R"(Usage: nnlab-cli runs list [--status S] [--name GLOB] [--sort KEY] [--reverse]
                          [--limit N] [--db PATH]

Lists runs: id, name, status, dataset, parameters, best val/accuracy and duration.

  --status S    running, finished, failed, cancelled or interrupted
  --name GLOB   names matching a glob: * any text, ? one character, [abc] one of (case matters)
  --sort KEY    created (default, newest first), name, duration, status, or a metric tag
                such as val/loss: best value first, runs without it last
  --reverse     reverse the order
  --limit N     show at most N runs
)";

const char* kShowHelp = R"(Usage: nnlab-cli runs show ID [--db PATH]

Prints a run's summary, the final, best, min and max of each metric, its events (checkpoints,
pauses, resumes), its artifacts and the experiment it trained.
)";

const char* kExportHelp = R"(Usage: nnlab-cli runs export ID [--format csv|json] [--out FILE] [--db PATH]

Writes every metric point of the run at full resolution.
  --format csv    columns run_id,tag,step,wall_time,value (the default)
  --format json   {"run": {...}, "metrics": {"TAG": [[step, wall_time, value], ...]}}
  --out FILE      write to FILE (atomically: a temporary file renamed) instead of stdout
)";

const char* kDiffHelp = R"(Usage: nnlab-cli runs diff ID1 ID2 [--db PATH]

Shows the experiment settings that differ (as dotted paths, e.g. optimizer.lr), the results
that differ (status, duration, steps...) and each metric's final and best values side by side.
)";

const char* kDeleteHelp = R"(Usage: nnlab-cli runs delete ID [--db PATH]

Deletes the run, its metrics, events and artifact records. Checkpoint and model files stay
on disk. A run still training in a live process is refused.
)";

const char* kResumeHelp = R"(Usage: nnlab-cli runs resume ID [--quiet] [--db PATH]

Continues an interrupted, cancelled or failed run from its last checkpoint, as the same run:
its metrics continue where the checkpoint was taken. Exit status as 'nnlab-cli train'.
)";

const char* kImportHelp = R"(Usage: nnlab-cli runs import OTHER.db [--db PATH]

Merges the runs of another run store (another machine, a cluster job) into this one. Runs
already here are skipped, as are runs still training there; OTHER.db is not changed.
)";

int failure(const std::string& command, const std::string& message)
{
    std::fprintf(stderr, "nnlab-cli runs %s: %s\n", command.c_str(), message.c_str());
    return kExitFailed;
}

// Display width in terminal columns, counting UTF-8 code points.
size_t displayWidth(const std::string& text)
{
    size_t width = 0;
    for (unsigned char c : text)
        width += (c & 0xC0) != 0x80;
    return width;
}

std::string clip(const std::string& text, size_t width)
{
    if (displayWidth(text) <= width)
        return text;
    std::string out;
    size_t used = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        if ((c & 0xC0) != 0x80 && ++used > width - 1)
            break;
        out += text[i];
    }
    return out + "…";
}

// Columns padded to their widest cell; those in `right` (by index) right-aligned.
void printTable(const std::vector<std::vector<std::string>>& rows, const std::vector<size_t>& right = {},
                const std::string& indent = "")
{
    std::vector<size_t> widths;
    for (const auto& row : rows) {
        widths.resize(std::max(widths.size(), row.size()));
        for (size_t c = 0; c < row.size(); ++c)
            widths[c] = std::max(widths[c], displayWidth(row[c]));
    }
    for (const auto& row : rows) {
        std::string line = indent;
        for (size_t c = 0; c < row.size(); ++c) {
            const std::string pad(widths[c] - displayWidth(row[c]), ' ');
            const bool alignRight = std::find(right.begin(), right.end(), c) != right.end();
            const bool last = c + 1 == row.size();
            line += alignRight ? pad + row[c] : row[c] + (last ? "" : pad);
            if (!last)
                line += "  ";
        }
        std::printf("%s\n", line.c_str());
    }
}

std::string localTime(double unixTime)
{
    if (unixTime <= 0)
        return "-";
    const std::time_t seconds = static_cast<std::time_t>(unixTime);
    std::tm local{};
    localtime_r(&seconds, &local);
    char text[32];
    std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &local);
    return text;
}

std::string value(double v)
{
    if (std::isnan(v))
        return "-";
    char text[32];
    std::snprintf(text, sizeof(text), "%.6g", v);
    return text;
}

std::string withSeparators(int64_t n)
{
    std::string digits = std::to_string(n < 0 ? -n : n);
    for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3)
        digits.insert(static_cast<size_t>(i), ",");
    return (n < 0 ? "-" : "") + digits;
}

std::string bytes(int64_t size)
{
    char text[32];
    if (size >= (1 << 20))
        std::snprintf(text, sizeof(text), "%.1f MB", static_cast<double>(size) / (1 << 20));
    else if (size >= 1024)
        std::snprintf(text, sizeof(text), "%.1f kB", static_cast<double>(size) / 1024);
    else
        std::snprintf(text, sizeof(text), "%lld B", static_cast<long long>(size));
    return text;
}

std::string best(const RunSummary& run, const std::string& tag)
{
    const auto it = run.metrics.find(tag);
    if (it == run.metrics.end())
        return "-";
    return value(std::isnan(it->second.bestValue) ? it->second.finalValue : it->second.bestValue);
}

// Opens an existing store, never creating one. Writable when possible, so runs of dead
// processes get recorded as interrupted; a command that only reads falls back to read-only.
StoreResult<std::unique_ptr<RunStore>> openExisting(const std::string& path, bool forWriting)
{
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        return RunStore::open(path, {true, 5000});   // reports "no run database here"
    auto store = RunStore::open(path);
    if (store.error.code == StoreErrorCode::ReadOnly && !forWriting)
        return RunStore::open(path, {true, 5000});
    return store;
}

int listRuns(Args& args, const std::string& db)
{
    RunFilter filter;
    if (auto status = args.value("--status")) {
        filter.status = runStatusFromString(*status);
        if (!filter.status)
            return usageError("runs list", "unknown status '" + *status
                                               + "' (running, finished, failed, cancelled, interrupted)");
    }
    filter.nameGlob = args.value("--name").value_or("");
    filter.sortBy = args.value("--sort").value_or("");
    filter.reverse = args.flag("--reverse");
    if (auto limit = args.value("--limit")) {
        try {
            filter.limit = std::stoi(*limit);
        } catch (const std::exception&) {
            filter.limit = -1;
        }
        if (filter.limit < 1)
            return usageError("runs list", "--limit needs a number >= 1, got '" + *limit + "'");
    }
    std::string error;
    if (!args.positionals(error).empty() || !error.empty())
        return usageError("runs list", error.empty() ? "takes no arguments" : error);

    std::error_code ec;
    if (!std::filesystem::exists(db, ec)) {
        std::printf("No runs yet (%s does not exist).\n", db.c_str());
        return kExitOk;
    }
    auto store = openExisting(db, false);
    if (!store.ok())
        return failure("list", store.error.message);
    const auto runs = store.value->listRuns(filter);
    if (!runs.ok())
        return failure("list", runs.error.message);
    if (runs.value.empty()) {
        std::printf("No runs%s in %s.\n", filter.status || !filter.nameGlob.empty() ? " match" : "",
                    db.c_str());
        return kExitOk;
    }
    // Sorting by another metric shows it too.
    const bool extra = !filter.sortBy.empty() && filter.sortBy != "val/accuracy"
                       && filter.sortBy != "created" && filter.sortBy != "name"
                       && filter.sortBy != "duration" && filter.sortBy != "status";
    std::vector<std::string> header{"ID", "NAME", "STATUS", "DATASET", "PARAMS", "BEST VAL/ACC"};
    if (extra)
        header.push_back("BEST " + filter.sortBy);
    header.push_back("DURATION");
    std::vector<std::vector<std::string>> rows{header};
    for (const RunSummary& run : runs.value) {
        std::vector<std::string> row{run.id, clip(run.name, 32), toString(run.status),
                                     run.dataset.empty() ? "-" : run.dataset,
                                     run.parameters > 0 ? formatCount(run.parameters) : "-",
                                     best(run, "val/accuracy")};
        if (extra)
            row.push_back(best(run, filter.sortBy));
        row.push_back(nnlab::formatDuration(run.duration));
        rows.push_back(std::move(row));
    }
    printTable(rows, extra ? std::vector<size_t>{4, 5, 6, 7} : std::vector<size_t>{4, 5, 6});
    return kExitOk;
}

int showRun(const RunStore& store, const std::string& id)
{
    const auto run = store.getRun(id);
    if (!run.ok())
        return failure("show", run.error.message);
    const RunDetails& r = run.value;
    std::vector<std::vector<std::string>> summary{
        {"Run", r.id},
        {"Name", r.name},
        {"Status", toString(r.status)},
        {"Dataset", r.dataset.empty() ? "-" : r.dataset},
        {"Parameters", withSeparators(r.parameters)},
        {"Seed", std::to_string(r.seed)},
        {"Created", localTime(r.createdAt)},
        {"Started", localTime(r.startedAt)},
        {"Ended", localTime(r.endedAt)},
        {"Duration", nnlab::formatDuration(r.duration)},
        {"Steps", std::to_string(r.lastStep)},
        {"Device", (r.device.empty() ? std::string("-") : r.device) + " (" + std::to_string(r.threads)
                       + (r.threads == 1 ? " thread)" : " threads)")},
        {"Host", r.host + " (pid " + std::to_string(r.pid) + ")"},
        {"Versions", "nnlab " + r.nnlabVersion + ", LibTorch "
                         + (r.torchVersion.empty() ? std::string("?") : r.torchVersion)},
        {"Experiment", r.experimentHash},
    };
    if (!r.parentId.empty())
        summary.push_back({"Parent", r.parentId});
    if (!r.tags.empty()) {
        std::string tags;
        for (const auto& tag : r.tags)
            tags += (tags.empty() ? "" : ", ") + tag;
        summary.push_back({"Tags", tags});
    }
    if (!r.notes.empty())
        summary.push_back({"Notes", r.notes});
    if (!r.message.empty())
        summary.push_back({"Message", r.message});
    printTable(summary);

    std::printf("\nMetrics\n");
    std::vector<std::vector<std::string>> metrics{
        {"TAG", "FINAL", "BEST", "AT STEP", "MIN", "MAX", "POINTS", "LAST STEP"}};
    for (const auto& [tag, m] : r.metrics)
        metrics.push_back({tag, value(m.finalValue), value(m.bestValue),
                           m.bestStep >= 0 ? std::to_string(m.bestStep) : "-", value(m.minValue),
                           value(m.maxValue), std::to_string(m.count), std::to_string(m.lastStep)});
    if (metrics.size() == 1)
        std::printf("  (none)\n");
    else
        printTable(metrics, {1, 2, 3, 4, 5, 6, 7}, "  ");

    const auto events = store.events(r.id);
    std::printf("\nEvents\n");
    if (events.ok() && !events.value.empty()) {
        // A long run checkpoints every epoch: the latest events tell most.
        constexpr size_t kShown = 20;
        const size_t skipped = events.value.size() > kShown ? events.value.size() - kShown : 0;
        if (skipped > 0)
            std::printf("  (%zu earlier events; 'runs export %s --format json' lists all)\n", skipped,
                        r.id.c_str());
        std::vector<std::vector<std::string>> rows{{"TIME", "STEP", "KIND", "DETAIL"}};
        for (size_t i = skipped; i < events.value.size(); ++i) {
            const RunEvent& e = events.value[i];
            rows.push_back({localTime(e.time), e.step >= 0 ? std::to_string(e.step) : "-", e.kind, e.detail});
        }
        printTable(rows, {1}, "  ");
    } else {
        std::printf("  (none)\n");
    }

    const auto artifacts = store.artifacts(r.id);
    std::printf("\nArtifacts\n");
    if (artifacts.ok() && !artifacts.value.empty()) {
        constexpr size_t kShown = 10;
        const size_t skipped = artifacts.value.size() > kShown ? artifacts.value.size() - kShown : 0;
        if (skipped > 0)
            std::printf("  (%zu earlier artifacts)\n", skipped);
        std::vector<std::vector<std::string>> rows{{"KIND", "STEP", "SIZE", "HASH", "PATH"}};
        std::error_code ec;
        for (size_t i = skipped; i < artifacts.value.size(); ++i) {
            const RunArtifact& a = artifacts.value[i];
            rows.push_back({a.kind, a.step >= 0 ? std::to_string(a.step) : "-", bytes(a.size), a.hash,
                            a.path + (std::filesystem::exists(a.path, ec) ? "" : " (missing)")});
        }
        printTable(rows, {1, 2}, "  ");
    } else {
        std::printf("  (none)\n");
    }

    std::printf("\nExperiment\n%s\n", prettyJson(r.experimentJson).c_str());
    return kExitOk;
}

int exportRunCommand(const RunStore& store, const std::string& id, ExportFormat format,
                     const std::optional<std::string>& out)
{
    if (!out) {
        const StoreError error = exportRun(store, id, format, std::cout);
        std::cout.flush();
        return error.ok() ? kExitOk : failure("export", error.message);
    }
    // A temporary file beside the target, renamed over it: no half-written export.
    const std::string temporary = *out + ".tmp-" + std::to_string(getpid());
    StoreError error;
    {
        std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
        if (!file)
            return failure("export", *out + ": cannot write: " + std::strerror(errno));
        error = exportRun(store, id, format, file);
        file.close();
        if (error.ok() && !file)
            error = StoreError{StoreErrorCode::Io, *out + ": write failed (disk full?)"};
    }
    std::error_code ec;
    if (error.ok())
        std::filesystem::rename(temporary, *out, ec);
    if (!error.ok() || ec) {
        std::filesystem::remove(temporary);
        return failure("export", error.ok() ? *out + ": " + ec.message() : error.message);
    }
    std::fprintf(stderr, "wrote %s\n", out->c_str());
    return kExitOk;
}

int diffCommand(const RunStore& store, const std::string& first, const std::string& second)
{
    const auto a = store.getRun(first);
    if (!a.ok())
        return failure("diff", a.error.message);
    const auto b = store.getRun(second);
    if (!b.ok())
        return failure("diff", b.error.message);
    const RunDiff diff = diffRuns(a.value, b.value);
    const std::string idA = a.value.id;
    const std::string idB = b.value.id;
    auto orDash = [](const std::string& text) { return text.empty() ? std::string("-") : text; };

    std::printf("Experiment\n");
    if (diff.experiment.empty()) {
        std::printf("  (identical: %s)\n", a.value.experimentHash.c_str());
    } else {
        std::vector<std::vector<std::string>> rows{{"KEY", idA, idB}};
        for (const auto& v : diff.experiment)
            rows.push_back({v.path, orDash(v.a), orDash(v.b)});
        printTable(rows, {}, "  ");
    }
    std::printf("\nResults\n");
    if (diff.summary.empty()) {
        std::printf("  (no differences)\n");
    } else {
        std::vector<std::vector<std::string>> rows{{"", idA, idB}};
        for (const auto& v : diff.summary)
            rows.push_back({v.path, orDash(v.a), orDash(v.b)});
        printTable(rows, {}, "  ");
    }
    std::printf("\nMetrics\n");
    if (diff.metrics.empty()) {
        std::printf("  (none)\n");
    } else {
        std::vector<std::vector<std::string>> rows{{"TAG", "FINAL A", "FINAL B", "BEST A", "BEST B"}};
        for (const auto& m : diff.metrics)
            rows.push_back({m.tag, value(m.a.finalValue), value(m.b.finalValue), value(m.a.bestValue),
                            value(m.b.bestValue)});
        printTable(rows, {1, 2, 3, 4}, "  ");
        std::printf("  A = %s, B = %s\n", idA.c_str(), idB.c_str());
    }
    return kExitOk;
}

int deleteCommand(RunStore& store, const std::string& id)
{
    const auto run = store.getRun(id);
    if (!run.ok())
        return failure("delete", run.error.message);
    int64_t points = 0;
    for (const auto& entry : run.value.metrics)
        points += entry.second.count;
    const StoreError error = store.deleteRun(run.value.id);
    if (!error.ok())
        return failure("delete", error.message);
    std::printf("Deleted run %s (%s): %s metric points.\n", run.value.id.c_str(), run.value.name.c_str(),
                withSeparators(points).c_str());
    return kExitOk;
}

int resumeCommand(std::unique_ptr<RunStore> store, const std::string& id, const std::string& db,
                  bool quiet)
{
    const auto run = store->getRun(id);
    if (!run.ok())
        return failure("resume", run.error.message);
    if (run.value.status == RunStatus::Finished || run.value.status == RunStatus::Running)
        return failure("resume", "run " + run.value.id + " is " + toString(run.value.status)
                                     + "; only interrupted, cancelled or failed runs resume");
    store.reset();   // the recorder opens its own connection
    const ParseResult parsed = parseExperiment(run.value.experimentJson);
    if (!parsed.ok())
        return failure("resume", "the stored experiment of run " + run.value.id
                                     + " no longer parses:\n" + parsed.errorText());
    TrainRunOptions options;
    options.databasePath = db;
    options.resumeRunId = run.value.id;
    options.quiet = quiet;
    return trainExperiment(parsed.spec, options);
}

int importCommand(const std::string& db, const std::string& other)
{
    auto store = RunStore::open(db);
    if (!store.ok())
        return failure("import", store.error.message);
    const auto report = store.value->importFrom(other);
    if (!report.ok() && report.value.imported.empty())
        return failure("import", report.error.message);
    const ImportReport& r = report.value;
    for (const std::string& id : r.imported)
        std::printf("imported %s\n", id.c_str());
    for (const std::string& id : r.stillRunning)
        std::printf("skipped  %s (still running there; import again once it ends)\n", id.c_str());
    std::printf("Imported %zu run%s from %s; %zu already here, %zu still running.\n", r.imported.size(),
                r.imported.size() == 1 ? "" : "s", other.c_str(), r.alreadyPresent.size(),
                r.stillRunning.size());
    if (!report.ok())
        return failure("import", report.error.message);
    return kExitOk;
}

} // namespace

int runsCommand(const std::vector<std::string>& argv)
{
    // The command is the first word that is neither an option nor the value of --db.
    std::vector<std::string> rest = argv;
    std::string command;
    for (size_t i = 0; i < rest.size(); ++i) {
        if (rest[i] == "--db") {
            ++i;
            continue;
        }
        if (!rest[i].empty() && rest[i][0] == '-')
            continue;
        command = rest[i];
        rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(i));
        break;
    }
    Args args(rest);
    const bool help = args.wantsHelp();
    const std::string db = args.value("--db").value_or(defaultDatabasePath());
    if (command.empty()) {
        std::fputs(kRunsHelp, help ? stdout : stderr);
        return help ? kExitOk : kExitUsage;
    }
    const std::map<std::string, const char*> helps{
        {"list", kListHelp},     {"show", kShowHelp},     {"export", kExportHelp},
        {"diff", kDiffHelp},     {"delete", kDeleteHelp}, {"resume", kResumeHelp},
        {"import", kImportHelp},
    };
    const auto found = helps.find(command);
    if (found == helps.end())
        return usageError("runs", "unknown command '" + command + "'");
    if (help) {
        std::fputs(found->second, stdout);
        return kExitOk;
    }
    const std::string usage = "runs " + command;
    if (command == "list")
        return listRuns(args, db);

    // Options first: what remains must be the positionals.
    std::optional<std::string> format;
    std::optional<std::string> out;
    bool quiet = false;
    if (command == "export") {
        format = args.value("--format");
        out = args.value("--out");
    }
    if (command == "resume")
        quiet = args.flag("--quiet");
    std::string error;
    const std::vector<std::string> positionals = args.positionals(error);
    if (!error.empty())
        return usageError(usage, error);
    const size_t wanted = command == "diff" ? 2 : 1;
    if (positionals.size() != wanted)
        return usageError(usage, command == "diff" ? "expected two run IDs"
                                 : command == "import" ? "expected one database file"
                                                       : "expected one run ID");
    if (command == "import")
        return importCommand(db, positionals[0]);

    ExportFormat exportFormat = ExportFormat::Csv;
    if (format && *format == "json")
        exportFormat = ExportFormat::Json;
    else if (format && *format != "csv")
        return usageError(usage, "--format must be csv or json, got '" + *format + "'");

    auto store = openExisting(db, command == "delete");
    if (!store.ok())
        return failure(command, store.error.message);
    if (command == "show")
        return showRun(*store.value, positionals[0]);
    if (command == "export")
        return exportRunCommand(*store.value, positionals[0], exportFormat, out);
    if (command == "diff")
        return diffCommand(*store.value, positionals[0], positionals[1]);
    if (command == "delete")
        return deleteCommand(*store.value, positionals[0]);
    return resumeCommand(std::move(store.value), positionals[0], db, quiet);
}

} // namespace nnlab::cli
