#include "gzip_reader.h"

#include "nnlab/data.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>

namespace nnlab::detail {
namespace {

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

[[noreturn]] void fail(const std::string& path, const std::string& what)
{
    throw DataError(path + ": " + what);
}

FilePtr openOrFail(const std::string& path)
{
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        fail(path, "is a folder, expected a file");
    FilePtr f(std::fopen(path.c_str(), "rb"));
    if (!f) {
        const int err = errno;
        fail(path, err == ENOENT ? std::string("file not found")
                                 : std::string("cannot open: ") + std::strerror(err));
    }
    return f;
}

std::vector<unsigned char> readRaw(const std::string& path, std::FILE* f)
{
    std::vector<unsigned char> bytes;
    if (std::fseek(f, 0, SEEK_END) == 0) {
        const long size = std::ftell(f);
        if (size > 0)
            bytes.reserve(static_cast<size_t>(size));
        std::rewind(f);
    }
    unsigned char chunk[1 << 16];
    for (;;) {
        const size_t got = std::fread(chunk, 1, sizeof chunk, f);
        bytes.insert(bytes.end(), chunk, chunk + got);
        if (got < sizeof chunk)
            break;
    }
    if (std::ferror(f))
        fail(path, std::string("read error: ") + std::strerror(errno));
    return bytes;
}

// The gzip trailer's ISIZE field: the uncompressed size modulo 2^32. Only a reservation
// hint: it is wrong for multi-member files over 4 GiB and garbage for truncated ones.
size_t uncompressedSizeHint(std::FILE* f, long compressedSize)
{
    if (compressedSize < 18 || std::fseek(f, -4, SEEK_END) != 0)
        return 0;
    unsigned char t[4];
    if (std::fread(t, 1, 4, f) != 4)
        return 0;
    const size_t hint = size_t(t[0]) | size_t(t[1]) << 8 | size_t(t[2]) << 16 | size_t(t[3]) << 24;
    // Deflate cannot expand by more than ~1032x, so a larger hint is a truncated file.
    return hint <= size_t(compressedSize) * 1032 ? hint : 0;
}

std::vector<unsigned char> readGzip(const std::string& path, size_t sizeHint)
{
    gzFile gz = gzopen(path.c_str(), "rb");
    if (!gz)
        fail(path, std::string("cannot open: ") + std::strerror(errno));
    gzbuffer(gz, 1 << 18);

    std::vector<unsigned char> bytes(std::max<size_t>(sizeHint + 1, 1 << 16));
    size_t used = 0;
    for (;;) {
        if (used == bytes.size())
            bytes.resize(bytes.size() * 2);
        const size_t want = std::min<size_t>(bytes.size() - used,
                                             std::numeric_limits<int>::max());
        // gzread decompresses straight into our buffer when the request is large.
        const int got = gzread(gz, bytes.data() + used, static_cast<unsigned>(want));
        if (got < 0)
            break;
        used += static_cast<size_t>(got);
        if (got == 0)
            break;
    }
    int errnum = Z_OK;
    const std::string message = gzerror(gz, &errnum);
    gzclose(gz);
    // Z_BUF_ERROR is zlib's "unexpected end of file": the gzip stream was cut short.
    if (errnum == Z_BUF_ERROR)
        fail(path, "truncated gzip data (the compressed stream ends early)");
    if (errnum != Z_OK)
        fail(path, "corrupt gzip data (" + message + ")");
    bytes.resize(used);
    return bytes;
}

} // namespace

bool isGzipFile(const std::string& path)
{
    FilePtr f(std::fopen(path.c_str(), "rb"));
    unsigned char magic[2] = {0, 0};
    return f && std::fread(magic, 1, 2, f.get()) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

std::vector<unsigned char> readFileBytes(const std::string& path)
{
    FilePtr f = openOrFail(path);
    unsigned char magic[2] = {0, 0};
    const size_t got = std::fread(magic, 1, 2, f.get());
    if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        std::fseek(f.get(), 0, SEEK_END);
        const size_t hint = uncompressedSizeHint(f.get(), std::ftell(f.get()));
        f.reset();
        return readGzip(path, hint);
    }
    return readRaw(path, f.get());
}

} // namespace nnlab::detail
