#include "checkpoint.h"

#include <cstdio>
#include <stdexcept>

namespace nnlab::detail {

void saveCheckpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer& optimizer,
                    int64_t step, uint64_t specHash)
{
    torch::serialize::OutputArchive archive;
    torch::serialize::OutputArchive modelArchive;
    torch::serialize::OutputArchive optimizerArchive;
    model.save(modelArchive);
    optimizer.save(optimizerArchive);
    archive.write("model", modelArchive);
    archive.write("optimizer", optimizerArchive);
    archive.write("step", torch::tensor(step, torch::kInt64));
    archive.write("spec_hash", torch::tensor(static_cast<int64_t>(specHash), torch::kInt64));
    const std::string temp = path + ".tmp";
    archive.save_to(temp);
    if (std::rename(temp.c_str(), path.c_str()) != 0) {
        std::remove(temp.c_str());
        throw std::runtime_error(path + ": cannot write the checkpoint");
    }
}

int64_t loadCheckpoint(const std::string& path, torch::nn::Module& model, torch::optim::Optimizer& optimizer,
                       uint64_t specHash)
{
    torch::serialize::InputArchive archive;
    try {
        archive.load_from(path);
    } catch (const c10::Error&) {
        throw std::runtime_error(path + ": not a readable nnlab checkpoint (missing or corrupt)");
    }
    torch::Tensor hash;
    torch::Tensor step;
    archive.read("spec_hash", hash);
    archive.read("step", step);
    if (static_cast<uint64_t>(hash.item<int64_t>()) != specHash)
        throw std::runtime_error(path + ": the checkpoint was made by a different model or training set-up");
    torch::serialize::InputArchive modelArchive;
    torch::serialize::InputArchive optimizerArchive;
    archive.read("model", modelArchive);
    archive.read("optimizer", optimizerArchive);
    model.load(modelArchive);
    optimizer.load(optimizerArchive);
    return step.item<int64_t>();
}

} // namespace nnlab::detail
