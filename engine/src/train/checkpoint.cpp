#include "checkpoint.h"

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include <fcntl.h>
#include <unistd.h>

namespace nnlab::detail {

namespace {

// fsync of a file or a folder; false when it cannot be opened or synced.
bool syncPath(const std::string& path, bool directory)
{
    const int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
    if (fd < 0)
        return false;
    const bool ok = ::fsync(fd) == 0;
    ::close(fd);
    return ok;
}

// Writes `bytes` to a new file at `path` and fsyncs it: "" when done, else the reason.
std::string writeSynced(const std::string& path, const std::string& bytes)
{
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return std::strerror(errno);
    std::string reason;
    for (size_t done = 0; done < bytes.size() && reason.empty();) {
        const ssize_t wrote = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (wrote > 0)
            done += static_cast<size_t>(wrote);
        else if (wrote == 0 || errno != EINTR)
            reason = std::strerror(wrote == 0 ? EIO : errno);
    }
    if (reason.empty() && ::fsync(fd) != 0)
        reason = std::strerror(errno);
    if (::close(fd) != 0 && reason.empty())
        reason = std::strerror(errno);
    return reason;
}

uint32_t crc32Of(const char* data, size_t size)
{
    static const std::array<uint32_t, 256> table = [] {
        std::array<uint32_t, 256> t{};
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t c = i;
            for (int k = 0; k < 8; ++k)
                c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }();
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < size; ++i)
        c = table[(c ^ static_cast<uint8_t>(data[i])) & 0xFFu] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

// LibTorch's zip reader does not check the entries' CRC-32, so a checkpoint damaged in
// place (flipped bits, a block of another file) would load as wrong weights. The stored
// entries (all tensor data) are checked here: "" when they match, else what is wrong.
// Zip64 archives (over 4 GiB) are left to LibTorch.
std::string zipDamage(const std::string& bytes)
{
    auto u16 = [&](size_t at) { return uint32_t(uint8_t(bytes[at])) | uint32_t(uint8_t(bytes[at + 1])) << 8; };
    auto u32 = [&](size_t at) { return u16(at) | u16(at + 2) << 16; };
    if (bytes.size() < 22)
        return "truncated";
    size_t end = std::string::npos;   // the end-of-central-directory record
    for (size_t at = bytes.size() - 22;; --at) {
        if (u32(at) == 0x06054b50u) {
            end = at;
            break;
        }
        if (at == 0 || bytes.size() - at > 22 + 65535)
            break;
    }
    if (end == std::string::npos)
        return "no zip directory: cut short, or not a checkpoint";
    const uint32_t entries = u16(end + 10);
    const uint64_t directorySize = u32(end + 12), directory = u32(end + 16);
    if (entries == 0xFFFFu || directory == 0xFFFFFFFFu)
        return {};
    if (directory + directorySize > end)
        return "zip directory out of bounds";
    size_t at = directory;
    for (uint32_t i = 0; i < entries; ++i) {
        if (at + 46 > end || u32(at) != 0x02014b50u)
            return "damaged zip directory";
        const uint32_t method = u16(at + 10), crc = u32(at + 16), size = u32(at + 20);
        const uint64_t local = u32(at + 42);
        const std::string name = bytes.substr(at + 46, u16(at + 28));
        at += 46 + u16(at + 28) + u16(at + 30) + u16(at + 32);
        if (method != 0 || size == 0xFFFFFFFFu || local == 0xFFFFFFFFu)
            continue;
        if (local + 30 > bytes.size() || u32(local) != 0x04034b50u)
            return "entry " + name + " is damaged";
        const uint64_t data = local + 30 + u16(local + 26) + u16(local + 28);
        if (data + size > bytes.size())
            return "entry " + name + " is truncated";
        if (crc32Of(bytes.data() + data, size) != crc)
            return "entry " + name + " fails its checksum";
    }
    return {};
}

// The checkpoint's bytes, checked; throws with the path when unreadable or damaged.
std::string readChecked(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::string bytes(std::istreambuf_iterator<char>(in), {});
    if (!in.good() && !in.eof())
        bytes.clear();
    if (bytes.empty())
        throw std::runtime_error(path + ": not a readable nnlab checkpoint (missing or corrupt)");
    if (const std::string damage = zipDamage(bytes); !damage.empty())
        throw std::runtime_error(path + ": damaged checkpoint (" + damage + "); it is not loaded");
    return bytes;
}

int64_t readInt(torch::serialize::InputArchive& archive, const char* key)
{
    torch::Tensor value;
    archive.read(key, value);
    return value.item<int64_t>();
}

} // namespace

// LibTorch's archive serialization shares state between calls (ThreadSanitizer reports
// concurrent checkpoints of a sweep's in-process trials inside save_to): one at a time.
static std::mutex& serializationMutex()
{
    static std::mutex mutex;
    return mutex;
}

void saveCheckpoint(const std::string& path, torch::nn::Module& model, const FlatOptimizer& optimizer,
                    const CheckpointState& state, uint64_t layoutHash)
{
    std::unique_lock<std::mutex> serializing(serializationMutex());
    torch::serialize::OutputArchive archive;
    torch::serialize::OutputArchive modelArchive;
    torch::serialize::OutputArchive optimizerArchive;
    model.save(modelArchive);
    optimizer.save(optimizerArchive);
    archive.write("format", torch::tensor(kCheckpointFormat, torch::kInt64));
    archive.write("model", modelArchive);
    archive.write("flat_optimizer", optimizerArchive);
    archive.write("step", torch::tensor(state.step, torch::kInt64));
    archive.write("lr_scale", torch::tensor(state.lrScale, torch::kFloat64));
    archive.write("best_value", torch::tensor(state.bestValue, torch::kFloat64));
    archive.write("spec_hash", torch::tensor(static_cast<int64_t>(layoutHash), torch::kInt64));
    // Serialized in memory, written by us: LibTorch's own file writer aborts the process when
    // a write fails (its stream writer's destructor throws on a full disk), and this way every
    // failure names its cause.
    std::ostringstream serialized;
    try {
        archive.save_to(serialized);
    } catch (const c10::Error& e) {
        throw std::runtime_error(path + ": cannot write the checkpoint (" + e.what_without_backtrace() + ")");
    }
    serializing.unlock();   // the file is written outside the lock
    const std::string temp = path + ".tmp";
    std::string reason = writeSynced(temp, serialized.str());
    if (reason.empty() && std::rename(temp.c_str(), path.c_str()) != 0)
        reason = std::strerror(errno);
    if (!reason.empty()) {
        std::remove(temp.c_str());
        throw std::runtime_error(path + ": cannot write the checkpoint (" + reason + ")");
    }
    const std::string folder = std::filesystem::path(path).parent_path().string();
    syncPath(folder.empty() ? "." : folder, true);   // the rename itself survives a power cut
}

CheckpointState loadCheckpoint(const std::string& path, torch::nn::Module& model, FlatOptimizer& optimizer,
                               uint64_t layoutHash, const std::function<void()>& afterModelLoad)
{
    // Onto the device the model lives on: a checkpoint written on another device still loads.
    const auto parameters = model.parameters();
    const torch::Device device = parameters.empty() ? torch::Device(torch::kCPU) : parameters.front().device();
    const std::string bytes = readChecked(path);
    torch::serialize::InputArchive archive;
    try {
        archive.load_from(bytes.data(), bytes.size(), device);
    } catch (const c10::Error&) {
        throw std::runtime_error(path + ": not a readable nnlab checkpoint (missing or corrupt)");
    }
    CheckpointState state;
    try {
        torch::Tensor format;
        if (!archive.try_read("format", format))
            throw std::runtime_error(path + ": a checkpoint of an earlier nnlab (format 1, optimizer state in "
                                            "torch::optim form), which this version no longer reads; start a new run");
        if (format.item<int64_t>() != kCheckpointFormat)
            throw std::runtime_error(path + ": checkpoint format " + std::to_string(format.item<int64_t>())
                                     + ", this version reads " + std::to_string(kCheckpointFormat));
        if (static_cast<uint64_t>(readInt(archive, "spec_hash")) != layoutHash)
            throw std::runtime_error(path + ": the checkpoint was made by a different model or training set-up");
        state.step = readInt(archive, "step");
        torch::Tensor lrScale, best;
        archive.read("lr_scale", lrScale);
        archive.read("best_value", best);
        state.lrScale = lrScale.item<double>();
        state.bestValue = best.item<double>();
        torch::serialize::InputArchive modelArchive;
        torch::serialize::InputArchive optimizerArchive;
        archive.read("model", modelArchive);
        archive.read("flat_optimizer", optimizerArchive);
        model.load(modelArchive);
        if (afterModelLoad)
            afterModelLoad();
        optimizer.repack();
        optimizer.load(optimizerArchive);
    } catch (const c10::Error& e) {
        throw std::runtime_error(path + ": damaged checkpoint (" + e.what_without_backtrace() + ")");
    } catch (const std::runtime_error& e) {
        const std::string text = e.what();
        throw std::runtime_error(text.rfind(path, 0) == 0 ? text : path + ": " + text);
    }
    return state;
}

void loadCheckpointWeights(const std::string& path, torch::nn::Module& model, uint64_t layoutHash)
{
    const std::string bytes = readChecked(path);
    torch::serialize::InputArchive archive;
    try {
        archive.load_from(bytes.data(), bytes.size(), torch::Device(torch::kCPU));
    } catch (const c10::Error&) {
        throw std::runtime_error(path + ": not a readable nnlab checkpoint (missing or corrupt)");
    }
    try {
        torch::Tensor format;
        if (!archive.try_read("format", format) || format.item<int64_t>() != kCheckpointFormat)
            throw std::runtime_error("a checkpoint of another nnlab version");
        if (static_cast<uint64_t>(readInt(archive, "spec_hash")) != layoutHash)
            throw std::runtime_error("the checkpoint was made by a different model or training set-up");
        torch::serialize::InputArchive modelArchive;
        archive.read("model", modelArchive);
        model.load(modelArchive);
    } catch (const c10::Error& e) {
        throw std::runtime_error(path + ": damaged checkpoint (" + e.what_without_backtrace() + ")");
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(path + ": " + e.what());
    }
}

} // namespace nnlab::detail
