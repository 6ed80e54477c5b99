// Shared by the RunStore's source files and the recorder: run lookup and row reading.
#pragma once

#include "sqlite_util.h"

#include "nnlab/store.h"

#include <memory>
#include <mutex>
#include <string>

namespace nnlab {

struct RunStore::Impl {
    std::unique_ptr<store::Connection> db;
    mutable std::mutex mutex;

    StoreError requireWritable() const;
};

namespace store {

struct RunRef {
    int64_t seq = 0;
    std::string id;
};

// An exact id, or a prefix matching exactly one run.
StoreResult<RunRef> resolveRun(Connection& db, const std::string& idOrPrefix);

// The columns RunSummary is read from, in the order readRunSummary expects.
extern const char* const kRunSummaryColumns;
void readRunSummary(const Statement& row, RunSummary& run);
int readRunTags(Connection& db, int64_t seq, std::vector<std::string>& tags);
int readRunMetrics(Connection& db, int64_t seq, std::map<std::string, MetricSummary>& metrics);

} // namespace store
} // namespace nnlab
