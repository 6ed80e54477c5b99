// Helpers for the fuzz targets: a private scratch folder for the loaders that take paths,
// gzip in memory, and fuzzFail for broken invariants.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace nnlab::fuzz {

// A folder of this process's own, made on first use: $NNLAB_FUZZ_TMP if set, else in
// /dev/shm (no disk writes at thousands of files a second), else in /tmp. Removed at exit.
const std::string& scratchDir();
// scratchDir()/name, overwritten with the bytes (not fsynced: nothing else reads it).
std::string writeScratch(const std::string& name, const uint8_t* data, size_t size);
std::string writeScratch(const std::string& name, const std::string& bytes);
// Removes scratchDir()/name and its SQLite companions (-wal, -shm, -journal).
void removeScratch(const std::string& name);

// The bytes as one gzip member (zlib, level 6).
std::string gzipBytes(const uint8_t* data, size_t size);

// A broken invariant: prints what and aborts, so libFuzzer keeps the input.
[[noreturn]] void fuzzFail(const std::string& what);
inline void fuzzCheck(bool ok, const std::string& what)
{
    if (!ok)
        fuzzFail(what);
}

} // namespace nnlab::fuzz
