// Store files from elsewhere: `nnlab-cli runs` opening a store file (schema checks,
// migrations, owner checks, metric chunk decoding) and `runs import` merging one into a
// store of ours. SQLite's own robustness is well tested; what is under test is nnlab's use of
// what it reads. The input is the whole database file; each run starts from a fresh copy.
#include "fuzz_targets.h"
#include "fuzz_util.h"

#include "nnlab/run_export.h"
#include "nnlab/store.h"

#include <algorithm>
#include <sstream>

namespace nnlab::fuzz {

namespace {

// A busy timeout well under the fuzzer's 1 s limit: nothing else holds these files.
constexpr int kBusyMs = 100;

std::string messageOf(const StoreError& e)
{
    fuzzCheck(!e.ok() && !e.message.empty(), "a store error without a message");
    return e.message;
}

// Everything `runs list`, `runs show`, `runs export` and the Runs dock read, for a few runs.
void readEverything(const RunStore& store)
{
    RunFilter byMetric;
    byMetric.sortBy = "val/accuracy";
    RunFilter byName;
    byName.sortBy = "name";
    byName.nameGlob = "*[a-m]?*";
    byName.reverse = true;
    byName.limit = 3;
    RunFilter byDuration;
    byDuration.sortBy = "duration";
    byDuration.status = RunStatus::Interrupted;
    for (const RunFilter& filter : {RunFilter{}, byMetric, byName, byDuration})
        store.listRuns(filter);

    const auto runs = store.listRuns();
    if (!runs.ok())
        return;
    std::vector<RunDetails> details;
    for (size_t r = 0; r < std::min<size_t>(runs.value.size(), 4); ++r) {
        const std::string& id = runs.value[r].id;
        store.resolveRunId(id.substr(0, std::max<size_t>(1, id.size() / 2)));
        const auto run = store.getRun(id);
        if (run.ok()) {
            details.push_back(run.value);
            flattenJson(run.value.experimentJson);
            prettyJson(run.value.infoJson);
        }
        store.events(id);
        store.artifacts(id);
        const auto tags = store.metricTags(id);
        if (tags.ok())
            for (size_t t = 0; t < std::min<size_t>(tags.value.size(), 4); ++t) {
                store.series(id, tags.value[t]);
                store.series(id, tags.value[t], 10, 100);
                store.seriesDownsampled(id, tags.value[t], std::numeric_limits<int64_t>::min(),
                                        std::numeric_limits<int64_t>::max(), 7);
                store.seriesDownsampled(id, tags.value[t], 0, 50, 1);
            }
        std::ostringstream out;
        exportRun(store, id, ExportFormat::Csv, out);
        exportRun(store, id, ExportFormat::Json, out);
    }
    if (details.size() >= 2)
        diffRuns(details[0], details[1]);
}

} // namespace

// The store opened read-only (browsing someone's file), then for writing (which migrates it
// and marks dead owners' runs interrupted), then edited as the CLI edits runs.
std::string storeOpen(const uint8_t* data, size_t size)
{
    removeScratch("runs.db");
    const std::string path = writeScratch("runs.db", data, size);
    std::string errors;
    StoreOptions options;
    options.busyTimeoutMs = kBusyMs;
    options.readOnly = true;
    if (auto ro = RunStore::open(path, options); ro.ok())
        readEverything(*ro.value);
    else
        errors = messageOf(ro.error);

    options.readOnly = false;
    auto opened = RunStore::open(path, options);
    if (!opened.ok())
        return errors + "\n" + messageOf(opened.error);
    RunStore& store = *opened.value;
    readEverything(store);
    const auto runs = store.listRuns();
    if (runs.ok() && !runs.value.empty()) {
        const std::string id = runs.value.front().id;
        store.rename(id, "renamed");
        store.setNotes(id, "notes");
        store.setTags(id, {"a", "b"});
        store.deleteRun(runs.value.back().id, DeleteFiles::None);
        readEverything(store);
    }
    return errors;
}

// A fresh store of ours imports the fuzzed one, twice (the second finds everything present).
std::string storeImport(const uint8_t* data, size_t size)
{
    removeScratch("source.db");
    removeScratch("target.db");
    const std::string source = writeScratch("source.db", data, size);
    StoreOptions options;
    options.busyTimeoutMs = kBusyMs;
    auto target = RunStore::open(scratchDir() + "/target.db", options);
    fuzzCheck(target.ok(), "cannot create the target store: " + target.error.message);
    RunStore& store = *target.value;
    const auto first = store.importFrom(source);
    if (!first.ok())
        return messageOf(first.error);
    const auto second = store.importFrom(source);
    fuzzCheck(second.ok(), "a second import failed: " + second.error.message);
    fuzzCheck(second.value.imported.empty(), "a second import imported runs again");
    readEverything(store);
    const auto runs = store.listRuns();
    fuzzCheck(runs.ok(), "cannot list runs after an import: " + runs.error.message);
    for (const std::string& id : first.value.imported) {
        const auto run = store.getRun(id);
        fuzzCheck(run.ok(), "imported run " + id + " cannot be read: " + run.error.message);
    }
    return "";
}

} // namespace nnlab::fuzz
