// The snapshots table (schema version 3): one row per Snapshot, its values a float32
// little-endian BLOB, its shape a JSON array. Written by the recorder's transaction, read by
// RunStore::snapshots. Private to nnlab_store.
#pragma once

#include "sqlite_util.h"

#include "nnlab/snapshot.h"

#include <vector>

namespace nnlab::store {

// Inserts `snapshots` for the run; the caller holds the transaction. Rows of the same kind
// and name from the batch's first step of that (kind, name) on are replaced first: a resumed
// run replays steps after its checkpoint, and the replay's snapshots are the run's.
int insertSnapshots(Connection& db, int64_t runSeq, const std::vector<Snapshot>& snapshots);

} // namespace nnlab::store
