// XXH64 as specified by the xxHash project (doc/xxhash_spec.md), streaming.
#include "nnlab/store_hash.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

namespace nnlab {
namespace {

constexpr uint64_t kPrime1 = 0x9E3779B185EBCA87ULL;
constexpr uint64_t kPrime2 = 0xC2B2AE3D27D4EB4FULL;
constexpr uint64_t kPrime3 = 0x165667B19E3779F9ULL;
constexpr uint64_t kPrime4 = 0x85EBCA77C2B2AE63ULL;
constexpr uint64_t kPrime5 = 0x27D4EB2F165667C5ULL;

inline uint64_t rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

inline uint64_t read64(const unsigned char* p)
{
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
}

inline uint32_t read32(const unsigned char* p)
{
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

inline uint64_t round(uint64_t acc, uint64_t input)
{
    acc += input * kPrime2;
    acc = rotl(acc, 31);
    return acc * kPrime1;
}

inline uint64_t mergeRound(uint64_t acc, uint64_t value)
{
    acc ^= round(0, value);
    return acc * kPrime1 + kPrime4;
}

std::string hexDigest(uint64_t value)
{
    char text[24];
    std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(value));
    return std::string("xxh64:") + text;
}

} // namespace

Xxh64::Xxh64(uint64_t seed) : m_seed(seed)
{
    m_acc[0] = seed + kPrime1 + kPrime2;
    m_acc[1] = seed + kPrime2;
    m_acc[2] = seed;
    m_acc[3] = seed - kPrime1;
}

void Xxh64::update(const void* data, size_t size)
{
    const auto* p = static_cast<const unsigned char*>(data);
    m_total += size;
    if (m_buffered + size < 32) {
        std::memcpy(m_buffer + m_buffered, p, size);
        m_buffered += size;
        return;
    }
    if (m_buffered > 0) {
        const size_t fill = 32 - m_buffered;
        std::memcpy(m_buffer + m_buffered, p, fill);
        for (int lane = 0; lane < 4; ++lane)
            m_acc[lane] = round(m_acc[lane], read64(m_buffer + 8 * lane));
        p += fill;
        size -= fill;
        m_buffered = 0;
    }
    for (; size >= 32; p += 32, size -= 32) {
        for (int lane = 0; lane < 4; ++lane)
            m_acc[lane] = round(m_acc[lane], read64(p + 8 * lane));
    }
    std::memcpy(m_buffer, p, size);
    m_buffered = size;
}

uint64_t Xxh64::digest() const
{
    uint64_t h;
    if (m_total >= 32) {
        h = rotl(m_acc[0], 1) + rotl(m_acc[1], 7) + rotl(m_acc[2], 12) + rotl(m_acc[3], 18);
        for (int lane = 0; lane < 4; ++lane)
            h = mergeRound(h, m_acc[lane]);
    } else {
        h = m_seed + kPrime5;
    }
    h += m_total;
    const unsigned char* p = m_buffer;
    size_t left = m_buffered;
    for (; left >= 8; p += 8, left -= 8)
        h = rotl(h ^ round(0, read64(p)), 27) * kPrime1 + kPrime4;
    if (left >= 4) {
        h = rotl(h ^ (static_cast<uint64_t>(read32(p)) * kPrime1), 23) * kPrime2 + kPrime3;
        p += 4;
        left -= 4;
    }
    for (; left > 0; ++p, --left)
        h = rotl(h ^ (*p * kPrime5), 11) * kPrime1;
    h ^= h >> 33;
    h *= kPrime2;
    h ^= h >> 29;
    h *= kPrime3;
    h ^= h >> 32;
    return h;
}

uint64_t xxh64(const void* data, size_t size, uint64_t seed)
{
    Xxh64 state(seed);
    state.update(data, size);
    return state.digest();
}

std::string hashText(const std::string& text)
{
    return hexDigest(xxh64(text.data(), text.size()));
}

StoreResult<FileHash> hashFile(const std::string& path)
{
    StoreResult<FileHash> result;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        result.error = StoreError{StoreErrorCode::Io, path + ": cannot read: " + std::strerror(errno)};
        return result;
    }
    Xxh64 state;
    std::vector<char> buffer(1 << 20);
    int64_t size = 0;
    while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        const std::streamsize got = in.gcount();
        state.update(buffer.data(), static_cast<size_t>(got));
        size += got;
    }
    if (in.bad()) {
        result.error = StoreError{StoreErrorCode::Io, path + ": read error"};
        return result;
    }
    result.value.size = size;
    result.value.hash = hexDigest(state.digest());
    return result;
}

} // namespace nnlab
