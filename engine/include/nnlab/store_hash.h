// Content hashes for the run store: XXH64 (the xxHash project's 64-bit hash, seed 0). Fast
// (several GB/s) and good at telling a changed or corrupt file apart; not cryptographic.
#pragma once

#include "nnlab/store.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace nnlab {

class Xxh64 {
public:
    explicit Xxh64(uint64_t seed = 0);
    void update(const void* data, size_t size);
    uint64_t digest() const;

private:
    uint64_t m_acc[4];
    unsigned char m_buffer[32];
    size_t m_buffered = 0;
    uint64_t m_total = 0;
    uint64_t m_seed;
};

uint64_t xxh64(const void* data, size_t size, uint64_t seed = 0);

// "xxh64:" + 16 lowercase hex digits: the algorithm is named so it can change later.
std::string hashText(const std::string& text);

struct FileHash {
    int64_t size = 0;
    std::string hash;             // "xxh64:<16 hex>"
};
// Reads the file once; the error names the file.
StoreResult<FileHash> hashFile(const std::string& path);

} // namespace nnlab
