#include "data_cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

namespace nnlab::detail {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[8] = {'N', 'N', 'L', 'A', 'B', 'D', 'C', '1'};
constexpr char kEnd[8] = {'N', 'N', 'L', 'A', 'B', 'E', 'N', 'D'};
// Bumped when a loader's output changes within one nnlab version (the version is in the key).
constexpr const char* kFormat = "nnlab.datacache/1";

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

uint64_t fnv1a(const std::string& text)
{
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : text)
        h = (h ^ c) * 1099511628211ull;
    return h;
}

// A Fletcher-style sum over 8-byte words, per block: a zero-filled or reordered file (a
// rename that reached the disk before the data did) does not match. ~10 ms for 70 MB.
struct Checksum {
    uint64_t a = 0x9e3779b97f4a7c15ull;
    uint64_t b = 0;

    void add(const void* data, size_t size)
    {
        const auto* p = static_cast<const unsigned char*>(data);
        size_t i = 0;
        for (; i + 8 <= size; i += 8) {
            uint64_t w;
            std::memcpy(&w, p + i, 8);
            a += w;
            b += a;
        }
        uint64_t tail = size;
        for (; i < size; ++i)
            tail = tail << 8 | p[i];
        a += tail;
        b += a;
    }
};

// "name size mtime" for a file, one line per regular file (sorted) for a folder.
bool describeFiles(const std::string& path, std::string& out)
{
    std::error_code ec;
    const auto describe = [&out](const fs::path& file) {
        struct stat st {};
        if (::stat(file.c_str(), &st) != 0)
            return false;
        out += file.string() + ' ' + std::to_string(st.st_size) + ' ' + std::to_string(st.st_mtim.tv_sec) + '.'
               + std::to_string(st.st_mtim.tv_nsec) + '\n';
        return true;
    };
    if (fs::is_directory(path, ec)) {
        std::vector<fs::path> files;
        for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec))
            if (it->is_regular_file(ec))
                files.push_back(it->path());
        if (ec)
            return false;
        std::sort(files.begin(), files.end());
        for (const auto& file : files)
            if (!describe(file))
                return false;
        return true;
    }
    return fs::is_regular_file(path, ec) && describe(path);
}

class Writer {
public:
    explicit Writer(std::FILE* f) : m_file(f) {}
    void raw(const void* data, size_t size)
    {
        m_ok = m_ok && (size == 0 || std::fwrite(data, 1, size, m_file) == size);
        m_sum.add(data, size);
    }
    void integer(int64_t v) { raw(&v, sizeof v); }
    template <typename T>
    void vector(const std::vector<T>& v)
    {
        integer(static_cast<int64_t>(v.size()));
        raw(v.data(), v.size() * sizeof(T));
    }
    void text(const std::string& s)
    {
        integer(static_cast<int64_t>(s.size()));
        raw(s.data(), s.size());
    }
    void dataset(const Dataset& d)
    {
        vector(d.sampleShape);
        vector(d.features);
        vector(d.labels);
        vector(d.targets);
        integer(d.targetDim);
    }
    bool finish()
    {
        const Checksum sum = m_sum;
        m_ok = m_ok && std::fwrite(&sum.a, 8, 1, m_file) == 1 && std::fwrite(&sum.b, 8, 1, m_file) == 1
               && std::fwrite(kEnd, 1, 8, m_file) == 8;
        return m_ok && std::fflush(m_file) == 0;
    }

private:
    std::FILE* m_file;
    Checksum m_sum;
    bool m_ok = true;
};

class Reader {
public:
    Reader(std::FILE* f, uint64_t size) : m_file(f), m_left(size) {}
    bool raw(void* data, size_t size)
    {
        if (!m_ok || size > m_left || (size > 0 && std::fread(data, 1, size, m_file) != size))
            return m_ok = false;
        m_left -= size;
        m_sum.add(data, size);
        return true;
    }
    int64_t integer()
    {
        int64_t v = 0;
        raw(&v, sizeof v);
        return v;
    }
    template <typename T>
    void vector(std::vector<T>& v)
    {
        const int64_t n = integer();
        // The count is checked against the bytes left before anything is allocated.
        if (!m_ok || n < 0 || static_cast<uint64_t>(n) > m_left / sizeof(T)) {
            m_ok = false;
            return;
        }
        v.resize(static_cast<size_t>(n));
        raw(v.data(), v.size() * sizeof(T));
    }
    void text(std::string& s)
    {
        const int64_t n = integer();
        if (!m_ok || n < 0 || static_cast<uint64_t>(n) > m_left) {
            m_ok = false;
            return;
        }
        s.resize(static_cast<size_t>(n));
        raw(s.data(), s.size());
    }
    void dataset(Dataset& d)
    {
        vector(d.sampleShape);
        vector(d.features);
        vector(d.labels);
        vector(d.targets);
        d.targetDim = integer();
    }
    bool finish()
    {
        const Checksum expected = m_sum;
        uint64_t a = 0, b = 0;
        char end[8] = {};
        return m_ok && std::fread(&a, 8, 1, m_file) == 1 && std::fread(&b, 8, 1, m_file) == 1
               && std::fread(end, 1, 8, m_file) == 8 && std::memcmp(end, kEnd, 8) == 0 && a == expected.a
               && b == expected.b && m_left == 24;
    }

private:
    std::FILE* m_file;
    uint64_t m_left;
    Checksum m_sum;
    bool m_ok = true;
};

std::string entryPath(const std::string& folder, const std::string& key)
{
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a(key)));
    return folder + "/" + hex + ".bin";
}

// Keeps the newest kMaxDataEntries entries and at most kMaxDataBytes in all (a hit refreshes
// an entry's time).
void prune(const std::string& folder)
{
    std::error_code ec;
    struct Entry {
        fs::file_time_type time;
        fs::path path;
        uintmax_t size;
    };
    std::vector<Entry> entries;
    for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec))
        if (it->path().extension() == ".bin")
            entries.push_back({fs::last_write_time(it->path(), ec), it->path(), fs::file_size(it->path(), ec)});
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.time > b.time; });
    uintmax_t total = 0;
    for (size_t i = 0; i < entries.size(); ++i) {
        total += entries[i].size;
        if (i >= static_cast<size_t>(kMaxDataEntries) || (i > 0 && total > kMaxDataBytes))
            fs::remove(entries[i].path, ec);
    }
}

} // namespace

std::string dataCacheFolder()
{
    if (const char* folder = std::getenv("NNLAB_DATA_CACHE"))
        return std::string(folder) == "off" ? std::string() : std::string(folder);
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
        return std::string(xdg) + "/nnlab/data";
    if (const char* home = std::getenv("HOME"); home && *home)
        return std::string(home) + "/.cache/nnlab/data";
    return {};
}

std::optional<std::string> dataCacheKey(const DataSpec& spec, bool classification, uint64_t seed)
{
    const std::string& s = spec.source;
    if (s != "fashion-mnist" && s != "idx" && s != "cifar10" && s != "csv")
        return std::nullopt;   // generated: faster to make again than to read
    std::string key = std::string(kFormat) + "\nnnlab " + NNLAB_VERSION + "\nsource " + s + "\npath " + spec.path
                      + "\ntest_path " + spec.testPath + "\nsamples " + std::to_string(spec.samples) + "\nclasses "
                      + std::to_string(spec.classes) + "\nnoise " + std::to_string(spec.noise) + "\ntrain_limit "
                      + std::to_string(spec.trainLimit) + "\nvalidation_fraction "
                      + std::to_string(spec.validationFraction) + "\nnormalize " + spec.normalize + "\nlabel_column "
                      + spec.labelColumn + "\nheader " + spec.header + "\ndelimiter " + spec.delimiter
                      + "\nskip_rows " + std::to_string(spec.skipRows) + "\ncomment " + spec.comment
                      + "\nclassification " + std::to_string(classification) + "\nseed " + std::to_string(seed)
                      + "\nfiles\n";
    // validation_fraction's std::to_string keeps 6 decimals: the exact bits decide.
    char exact[64];
    std::snprintf(exact, sizeof exact, "%a %a\n", spec.validationFraction, spec.noise);
    key += exact;
    const std::string path = s == "fashion-mnist" && spec.path.empty() ? defaultFashionMnistPath() : spec.path;
    if (!describeFiles(path, key))
        return std::nullopt;
    if (!spec.testPath.empty() && !describeFiles(spec.testPath, key))
        return std::nullopt;
    return key;
}

std::optional<DataBundle> loadCachedData(const std::string& folder, const std::string& key)
{
    if (folder.empty())
        return std::nullopt;
    const std::string path = entryPath(folder, key);
    FilePtr f(std::fopen(path.c_str(), "rb"));
    struct stat st {};
    if (!f || ::fstat(fileno(f.get()), &st) != 0)
        return std::nullopt;
    Reader in(f.get(), static_cast<uint64_t>(st.st_size));
    char magic[8] = {};
    std::string storedKey;
    if (!in.raw(magic, 8) || std::memcmp(magic, kMagic, 8) != 0)
        return std::nullopt;
    in.text(storedKey);
    if (storedKey != key)
        return std::nullopt;   // another key with the same hash, or damage
    DataBundle data;
    data.numClasses = in.integer();
    data.images = in.integer() != 0;
    in.text(data.description);
    const int64_t names = in.integer();
    if (names < 0 || names > 1000000)
        return std::nullopt;
    data.classNames.resize(static_cast<size_t>(names));
    for (auto& name : data.classNames)
        in.text(name);
    in.vector(data.inputShift);
    in.vector(data.inputScale);
    in.dataset(data.train);
    in.dataset(data.validation);
    in.dataset(data.test);
    if (!in.finish())
        return std::nullopt;
    f.reset();
    std::error_code ec;
    fs::last_write_time(path, fs::file_time_type::clock::now(), ec);   // recently used
    return data;
}

std::string storeCachedData(const std::string& folder, const std::string& key, const DataBundle& data)
{
    if (folder.empty())
        return {};
    uint64_t bytes = 0;
    for (const Dataset* d : {&data.train, &data.validation, &data.test})
        bytes += d->features.size() * sizeof(float) + d->labels.size() * sizeof(int64_t) + d->targets.size() * sizeof(float);
    if (bytes > kMaxDataBytes / 2)
        return "not cached: " + std::to_string(bytes >> 20) + " MB is over half the cache's limit";
    std::error_code ec;
    fs::create_directories(folder, ec);
    const std::string path = entryPath(folder, key);
    static std::atomic<int> calls{0};
    const std::string temporary = path + ".tmp" + std::to_string(::getpid()) + "-" + std::to_string(calls++);
    bool ok = false;
    {
        FilePtr f(std::fopen(temporary.c_str(), "wb"));
        if (f) {
            Writer out(f.get());
            out.raw(kMagic, 8);
            out.text(key);
            out.integer(data.numClasses);
            out.integer(data.images ? 1 : 0);
            out.text(data.description);
            out.integer(static_cast<int64_t>(data.classNames.size()));
            for (const auto& name : data.classNames)
                out.text(name);
            out.vector(data.inputShift);
            out.vector(data.inputScale);
            out.dataset(data.train);
            out.dataset(data.validation);
            out.dataset(data.test);
            ok = out.finish();
            ok = std::fclose(f.release()) == 0 && ok;
        }
    }
    if (ok) {
        fs::rename(temporary, path, ec);
        ok = !ec;
    }
    if (!ok) {
        fs::remove(temporary, ec);
        return "cannot write " + path;
    }
    prune(folder);
    return {};
}

} // namespace nnlab::detail
