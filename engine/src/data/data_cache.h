// Prepared data remembered between processes: loadData's result (subset, split, normalized)
// for a data spec whose source files have not changed, so that the second start of a run on
// Fashion-MNIST reads 70 MB of floats (about 30 ms) instead of decompressing and converting
// 55 MB of IDX files (0.5-0.7 s on a 2-core VM).
//
// One file per entry in $NNLAB_DATA_CACHE, else $XDG_CACHE_HOME/nnlab/data, else
// ~/.cache/nnlab/data ("off" or an empty NNLAB_DATA_CACHE: no cache). The key is a hash of
// everything the result depends on: every DataSpec field, classification, the seed, the
// nnlab version and each source file's path, size and modification time (every file of a
// source folder). Only file sources whose load took at least kMinCachedLoadSeconds are stored
// (generated 2-D sets and small CSVs load faster than a file read); at most kMaxDataEntries
// files and kMaxDataBytes are kept, the least recently used removed first.
//
// It is a cache: a file that is missing, truncated, damaged (checksum) or for another key is a
// miss, and a write that fails only costs the next start. Writes go to a temporary file that
// is renamed into place, so a reader never sees half an entry.
#pragma once

#include "nnlab/data.h"

#include <cstdint>
#include <optional>
#include <string>

namespace nnlab::detail {

inline constexpr int kMaxDataEntries = 8;
inline constexpr uint64_t kMaxDataBytes = uint64_t(2) << 30;   // 2 GiB in all; one entry at most half
inline constexpr double kMinCachedLoadSeconds = 0.1;

// The cache folder; "" when caching is off.
std::string dataCacheFolder();

// The key text (what the entry depends on) for a file source; nullopt for generated sources
// and for sources whose files cannot be listed (loadData then reports what is wrong).
std::optional<std::string> dataCacheKey(const DataSpec& spec, bool classification, uint64_t seed);

// The entry for `key` in `folder`, or nothing (no entry, damaged, another key).
std::optional<DataBundle> loadCachedData(const std::string& folder, const std::string& key);

// Stores the bundle; returns an error message, "" on success.
std::string storeCachedData(const std::string& folder, const std::string& key, const DataBundle& data);

} // namespace nnlab::detail
