// `runs list`, `runs show` and `runs diff`: the stored runs as tables.
#include "runs_subcommands.h"

#include "nnlab/monitor_alert.h"
#include "nnlab/run_export.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>

namespace nnlab::cli {
namespace {

std::string best(const RunSummary& run, const std::string& tag)
{
    const auto it = run.metrics.find(tag);
    if (it == run.metrics.end())
        return "-";
    return number(std::isnan(it->second.bestValue) ? it->second.finalValue : it->second.bestValue);
}

// The first of `total` items to show when only the last `shown` fit; `note` says how many
// earlier ones were left out.
size_t firstShown(size_t total, size_t shown, const std::string& what, std::string& note)
{
    const size_t skipped = total > shown ? total - shown : 0;
    if (skipped > 0)
        note = std::to_string(skipped) + " earlier " + what;
    return skipped;
}

std::optional<RunFilter> listFilter(RunsInvocation& invocation)
{
    Args& args = invocation.args;
    RunFilter filter;
    if (auto status = args.value("--status")) {
        filter.status = runStatusFromString(*status);
        if (!filter.status) {
            usageError("runs list", "unknown status '" + *status
                                        + "' (running, finished, failed, cancelled, interrupted)");
            return std::nullopt;
        }
    }
    filter.nameGlob = args.value("--name").value_or("");
    filter.sortBy = args.value("--sort").value_or("");
    filter.reverse = args.flag("--reverse");
    // The table shows val/accuracy (and the sort key, which listRuns adds): only those
    // summaries are read, not every series of every run.
    filter.metrics = std::vector<std::string>{"val/accuracy"};
    if (auto limit = args.value("--limit")) {
        try {
            filter.limit = std::stoi(*limit);
        } catch (const std::exception&) {
            filter.limit = -1;
        }
        if (filter.limit < 1) {
            usageError("runs list", "--limit needs a number >= 1, got '" + *limit + "'");
            return std::nullopt;
        }
    }
    return filter;
}

// "x 2 workers" for a data-parallel run (its info says how many processes trained it).
std::string workersOf(const RunDetails& r)
{
    const nlohmann::json info = nlohmann::json::parse(r.infoJson, nullptr, false);
    const int64_t workers = info.is_object() ? info.value("workers", int64_t{1}) : 1;
    return workers > 1 ? " x " + std::to_string(workers) + " workers" : "";
}

void printRunSummary(const RunDetails& r)
{
    TextTable summary{
        {"Run", r.id},
        {"Name", r.name},
        {"Status", toString(r.status)},
        {"Dataset", orDash(r.dataset)},
        {"Parameters", withSeparators(r.parameters)},
        {"Seed", std::to_string(r.seed)},
        {"Created", localTime(r.createdAt)},
        {"Started", localTime(r.startedAt)},
        {"Ended", localTime(r.endedAt)},
        {"Duration", nnlab::formatDuration(r.duration)},
        {"Steps", std::to_string(r.lastStep)},
        {"Device", orDash(r.device) + " (" + std::to_string(r.threads) + (r.threads == 1 ? " thread)" : " threads)") + workersOf(r)},
        {"Host", r.host + " (pid " + std::to_string(r.pid) + ")"},
        {"Versions", "nnlab " + r.nnlabVersion + ", LibTorch " + (r.torchVersion.empty() ? "?" : r.torchVersion)},
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
}

} // namespace

int listRunsCommand(RunsInvocation& invocation)
{
    const std::optional<RunFilter> filter = listFilter(invocation);
    if (!filter || !takePositionals(invocation, 0))
        return kExitUsage;
    const std::string& db = invocation.database;
    std::error_code ec;
    if (!std::filesystem::exists(db, ec)) {
        std::printf("No runs yet (%s does not exist).\n", db.c_str());
        return kExitOk;
    }
    const auto store = openExisting(invocation, false);
    if (!store)
        return kExitFailed;
    const auto runs = store->listRuns(*filter);
    if (!runs.ok())
        return failure(invocation, runs.error.message);
    if (runs.value.empty()) {
        std::printf("No runs%s in %s.\n", filter->status || !filter->nameGlob.empty() ? " match" : "", db.c_str());
        return kExitOk;
    }
    // Sorting by another metric shows it too.
    const std::string& sortBy = filter->sortBy;
    const bool extra = !sortBy.empty() && sortBy != "val/accuracy" && sortBy != "created" && sortBy != "name"
                       && sortBy != "duration" && sortBy != "status";
    std::vector<std::string> header{"ID", "NAME", "STATUS", "DATASET", "PARAMS", "BEST VAL/ACC"};
    if (extra)
        header.push_back("BEST " + sortBy);
    header.push_back("DURATION");
    TextTable rows{header};
    for (const RunSummary& run : runs.value) {
        std::vector<std::string> row{run.id, clip(run.name, 32), toString(run.status), orDash(run.dataset),
                                     run.parameters > 0 ? formatCount(run.parameters) : "-",
                                     best(run, "val/accuracy")};
        if (extra)
            row.push_back(best(run, sortBy));
        row.push_back(nnlab::formatDuration(run.duration));
        rows.push_back(std::move(row));
    }
    printTable(rows, extra ? std::vector<size_t>{4, 5, 6, 7} : std::vector<size_t>{4, 5, 6});
    return kExitOk;
}

int showRunCommand(RunsInvocation& invocation)
{
    const RunArgument argument = takeRunArgument(invocation, false);
    if (argument.status != kExitOk)
        return argument.status;
    const RunStore& store = *argument.store;
    const RunDetails& r = argument.run;
    printRunSummary(r);

    TextTable metrics{{"TAG", "FINAL", "BEST", "AT STEP", "MIN", "MAX", "POINTS", "LAST STEP"}};
    for (const auto& [tag, m] : r.metrics)
        metrics.push_back({tag, number(m.finalValue), number(m.bestValue),
                           m.bestStep >= 0 ? std::to_string(m.bestStep) : "-", number(m.minValue),
                           number(m.maxValue), std::to_string(m.count), std::to_string(m.lastStep)});
    printSection("\nMetrics", metrics, "none", {1, 2, 3, 4, 5, 6, 7});

    // A long run checkpoints every epoch: the latest events tell most.
    const std::vector<RunEvent> events = store.events(r.id).value;
    std::string note;
    TextTable eventRows{{"TIME", "STEP", "KIND", "DETAIL"}};
    for (size_t i = firstShown(events.size(), 20, "events; 'runs export " + r.id + " --format json' lists all", note);
         i < events.size(); ++i) {
        const RunEvent& e = events[i];
        const std::optional<MonitorAlert> alert = e.kind == EventKind::Alert ? alertFromDetail(e.detail) : std::nullopt;
        const std::string detail = alert ? alert->rule + ": " + alert->message + " -> " + alert->action : e.detail;
        eventRows.push_back({localTime(e.time), e.step >= 0 ? std::to_string(e.step) : "-", toString(e.kind), detail});
    }
    printSection("\nEvents", eventRows, "none", {1}, note);

    const std::vector<RunArtifact> artifacts = store.artifacts(r.id).value;
    note.clear();
    TextTable artifactRows{{"KIND", "STEP", "SIZE", "HASH", "PATH"}};
    std::error_code ec;
    for (size_t i = firstShown(artifacts.size(), 10, "artifacts", note); i < artifacts.size(); ++i) {
        const RunArtifact& a = artifacts[i];
        artifactRows.push_back({a.kind, a.step >= 0 ? std::to_string(a.step) : "-", bytes(a.size), a.hash,
                                a.path + (std::filesystem::exists(a.path, ec) ? "" : " (missing)")});
    }
    printSection("\nArtifacts", artifactRows, "none", {1, 2}, note);

    std::printf("\nExperiment\n%s\n", prettyJson(r.experimentJson).c_str());
    return kExitOk;
}

int diffRunsCommand(RunsInvocation& invocation)
{
    const auto ids = takePositionals(invocation, 2);
    if (!ids)
        return kExitUsage;
    const auto store = openExisting(invocation, false);
    if (!store)
        return kExitFailed;
    const auto a = store->getRun((*ids)[0]);
    if (!a.ok())
        return failure(invocation, a.error.message);
    const auto b = store->getRun((*ids)[1]);
    if (!b.ok())
        return failure(invocation, b.error.message);
    const RunDiff diff = diffRuns(a.value, b.value);
    const std::string& idA = a.value.id;
    const std::string& idB = b.value.id;

    TextTable experiment{{"KEY", idA, idB}};
    for (const auto& v : diff.experiment)
        experiment.push_back({v.path, orDash(v.a), orDash(v.b)});
    printSection("Experiment", experiment, "identical: " + a.value.experimentHash);
    TextTable results{{"", idA, idB}};
    for (const auto& v : diff.summary)
        results.push_back({v.path, orDash(v.a), orDash(v.b)});
    printSection("\nResults", results, "no differences");
    TextTable metrics{{"TAG", "FINAL A", "FINAL B", "BEST A", "BEST B"}};
    for (const auto& m : diff.metrics)
        metrics.push_back({m.tag, number(m.a.finalValue), number(m.b.finalValue), number(m.a.bestValue),
                           number(m.b.bestValue)});
    printSection("\nMetrics", metrics, "none", {1, 2, 3, 4});
    if (!diff.metrics.empty())
        std::printf("  A = %s, B = %s\n", idA.c_str(), idB.c_str());
    return kExitOk;
}

} // namespace nnlab::cli
