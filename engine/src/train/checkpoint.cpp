#include "checkpoint.h"

#include <cstdio>
#include <filesystem>
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

int64_t readInt(torch::serialize::InputArchive& archive, const char* key)
{
    torch::Tensor value;
    archive.read(key, value);
    return value.item<int64_t>();
}

} // namespace

void saveCheckpoint(const std::string& path, torch::nn::Module& model, const FlatOptimizer& optimizer,
                    const CheckpointState& state, uint64_t layoutHash)
{
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
    const std::string temp = path + ".tmp";
    try {
        archive.save_to(temp);
    } catch (const c10::Error& e) {
        std::remove(temp.c_str());
        throw std::runtime_error(path + ": cannot write the checkpoint (" + e.what_without_backtrace() + ")");
    } catch (...) {
        std::remove(temp.c_str());
        throw;
    }
    if (!syncPath(temp, false) || std::rename(temp.c_str(), path.c_str()) != 0) {
        std::remove(temp.c_str());
        throw std::runtime_error(path + ": cannot write the checkpoint");
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
    torch::serialize::InputArchive archive;
    try {
        archive.load_from(path, device);
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
    torch::serialize::InputArchive archive;
    try {
        archive.load_from(path, torch::Device(torch::kCPU));
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
