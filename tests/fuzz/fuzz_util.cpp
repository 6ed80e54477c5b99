#include "fuzz_util.h"

#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace fs = std::filesystem;

namespace nnlab::fuzz {

namespace {

// Never destroyed: the atexit cleanup runs after static destructors would have.
const std::string* g_scratch = nullptr;

void removeScratchDir()
{
    std::error_code ec;
    fs::remove_all(*g_scratch, ec);
}

} // namespace

const std::string& scratchDir()
{
    if (!g_scratch) {
        std::string base;
        if (const char* env = std::getenv("NNLAB_FUZZ_TMP"); env && *env)
            base = env;
        else if (fs::is_directory("/dev/shm"))
            base = "/dev/shm";
        else
            base = fs::temp_directory_path().string();
        g_scratch = new std::string(base + "/nnlab-fuzz-" + std::to_string(getpid()));
        fs::create_directories(*g_scratch);
        std::atexit(removeScratchDir);
    }
    return *g_scratch;
}

std::string writeScratch(const std::string& name, const uint8_t* data, size_t size)
{
    const std::string path = scratchDir() + "/" + name;
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f)
        fuzzFail("cannot write " + path);
    if (size > 0 && std::fwrite(data, 1, size, f) != size)
        fuzzFail("cannot write " + path);
    std::fclose(f);
    return path;
}

std::string writeScratch(const std::string& name, const std::string& bytes)
{
    return writeScratch(name, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

void removeScratch(const std::string& name)
{
    const std::string path = scratchDir() + "/" + name;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"})
        std::remove((path + suffix).c_str());
}

std::string gzipBytes(const uint8_t* data, size_t size)
{
    z_stream z{};
    // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        fuzzFail("deflateInit2 failed");
    std::string out(deflateBound(&z, uLong(size)) + 32, '\0');
    z.next_in = const_cast<Bytef*>(data);
    z.avail_in = uInt(size);
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = uInt(out.size());
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        fuzzFail("deflate failed");
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

void fuzzFail(const std::string& what)
{
    std::fprintf(stderr, "fuzz invariant broken: %s\n", what.c_str());
    std::fflush(stderr);
    std::abort();
}

} // namespace nnlab::fuzz
