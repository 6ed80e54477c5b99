// Shared by the RunStore's source files and the recorder: the store's state and run lookup.
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

// Under the store's lock, resolves `id` and calls read(db, run, value), which returns its
// error; a run that does not resolve is the result's error.
template <typename T, typename Read>
StoreResult<T> readRun(RunStore::Impl& impl, const std::string& id, Read read)
{
    std::lock_guard<std::mutex> lock(impl.mutex);
    StoreResult<T> result;
    const auto ref = resolveRun(*impl.db, id);
    result.error = ref.ok() ? read(*impl.db, ref.value, result.value) : ref.error;
    return result;
}

// The same for a change, edit(db, run): refused on a read-only store.
template <typename Edit>
StoreError editRun(RunStore::Impl& impl, const std::string& id, Edit edit)
{
    std::lock_guard<std::mutex> lock(impl.mutex);
    if (StoreError error = impl.requireWritable(); !error.ok())
        return error;
    const auto ref = resolveRun(*impl.db, id);
    return ref.ok() ? edit(*impl.db, ref.value) : ref.error;
}

} // namespace store
} // namespace nnlab
