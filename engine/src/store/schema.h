// Opening a store: verify before writing, create or migrate in one transaction, WAL, and
// the interrupted-run sweep.
#pragma once

#include "sqlite_util.h"

#include "nnlab/store.h"

#include <memory>
#include <string>

namespace nnlab::store {

// PRAGMA application_id of an nnlab store: "nnlb". A SQLite file without it that holds
// tables belongs to someone else and is never touched.
constexpr int kApplicationId = 0x6e6e6c62;

// Opens, verifies and (writable) creates or migrates the store at `path` (empty = default).
// Writable connections use WAL, synchronous=FULL and foreign keys, and record runs of dead
// owners as interrupted.
StoreResult<std::unique_ptr<Connection>> openConnection(const std::string& path, bool readOnly,
                                                        int busyTimeoutMs);

// Opens another store read-only just to check it is one this build can read (for import).
StoreError verifyReadable(const std::string& path, int busyTimeoutMs);

// The run status to report: a `running` row whose owner is dead reads as interrupted.
RunStatus effectiveStatus(const std::string& status, const std::string& host, int64_t pid,
                          const std::string& owner);

std::string absolutePath(const std::string& path);

// "file:" URI for a path, percent-encoded, with query parameters ("mode=ro").
std::string fileUri(const std::string& path, const std::string& parameters);

} // namespace nnlab::store
