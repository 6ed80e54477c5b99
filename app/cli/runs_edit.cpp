// `runs export`, `runs delete`, `runs resume` and `runs import`: what writes a file or the store.
#include "runs_subcommands.h"

#include "nnlab/run_export.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <unistd.h>

namespace nnlab::cli {
namespace {

// A temporary file beside the target, renamed over it: no half-written export.
int exportToFile(const RunsInvocation& invocation, const RunStore& store, const std::string& id,
                 ExportFormat format, const std::string& out)
{
    const std::string temporary = out + ".tmp-" + std::to_string(getpid());
    StoreError error;
    {
        std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
        if (!file)
            return failure(invocation, out + ": cannot write: " + std::strerror(errno));
        error = exportRun(store, id, format, file);
        file.close();
        if (error.ok() && !file)
            error = StoreError{StoreErrorCode::Io, out + ": write failed (disk full?)"};
    }
    std::error_code ec;
    if (error.ok())
        std::filesystem::rename(temporary, out, ec);
    if (!error.ok() || ec) {
        std::filesystem::remove(temporary);
        return failure(invocation, error.ok() ? out + ": " + ec.message() : error.message);
    }
    std::fprintf(stderr, "wrote %s\n", out.c_str());
    return kExitOk;
}

} // namespace

int exportRunCommand(RunsInvocation& invocation)
{
    const std::optional<std::string> format = invocation.args.value("--format");
    const std::optional<std::string> out = invocation.args.value("--out");
    const auto ids = takePositionals(invocation, 1);
    if (!ids)
        return kExitUsage;
    if (format && *format != "csv" && *format != "json")
        return usageError("runs export", "--format must be csv or json, got '" + *format + "'");
    const ExportFormat exportFormat = format == "json" ? ExportFormat::Json : ExportFormat::Csv;
    const auto store = openExisting(invocation, false);
    if (!store)
        return kExitFailed;
    if (out)
        return exportToFile(invocation, *store, ids->front(), exportFormat, *out);
    const StoreError error = exportRun(*store, ids->front(), exportFormat, std::cout);
    std::cout.flush();
    return error.ok() ? kExitOk : failure(invocation, error.message);
}

int deleteRunCommand(RunsInvocation& invocation)
{
    const RunArgument argument = takeRunArgument(invocation, true);
    if (argument.status != kExitOk)
        return argument.status;
    const RunDetails& run = argument.run;
    int64_t points = 0;
    for (const auto& entry : run.metrics)
        points += entry.second.count;
    const auto deleted = argument.store->deleteRun(run.id, DeleteFiles::Checkpoints);
    if (deleted.value.id.empty())
        return failure(invocation, deleted.error.message);
    const size_t files = deleted.value.removedFiles.size();
    std::printf("Deleted run %s (%s): %s metric points, %zu checkpoint file%s.\n", run.id.c_str(),
                run.name.c_str(), withSeparators(points).c_str(), files, files == 1 ? "" : "s");
    // The run is gone; a checkpoint file that could not be removed is still worth a failure.
    return deleted.ok() ? kExitOk : failure(invocation, deleted.error.message);
}

int importRunsCommand(RunsInvocation& invocation)
{
    // Several files at once: a Slurm array's trial-*.db.
    std::string error;
    const std::vector<std::string> files = invocation.args.positionals(error);
    if (error.empty() && files.empty())
        error = "expected " + std::string(invocation.command->arguments);
    if (!error.empty())
        return usageError("runs import", error);
    auto store = RunStore::open(invocation.database);
    if (!store.ok())
        return failure(invocation, store.error.message);
    int status = kExitOk;
    for (const std::string& other : files) {
        const auto report = store.value->importFrom(other);
        if (!report.ok() && report.value.imported.empty()) {
            status = failure(invocation, report.error.message);
            continue;
        }
        const ImportReport& r = report.value;
        for (const std::string& id : r.imported)
            std::printf("imported %s\n", id.c_str());
        for (const std::string& id : r.stillRunning)
            std::printf("skipped  %s (still running there; import again once it ends)\n", id.c_str());
        std::printf("Imported %zu run%s from %s; %zu already here, %zu still running.\n", r.imported.size(),
                    r.imported.size() == 1 ? "" : "s", other.c_str(), r.alreadyPresent.size(), r.stillRunning.size());
        if (!report.ok())
            status = failure(invocation, report.error.message);
    }
    return status;
}

} // namespace nnlab::cli
