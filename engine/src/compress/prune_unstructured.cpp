// Unstructured magnitude pruning (prune.h): masks, their application, per-layer sparsity.
#include "prune.h"

#include "nnlab/model_info.h"

#include <stdexcept>

namespace nnlab::detail {

namespace {

void checkSparsity(double sparsity)
{
    if (!(sparsity >= 0.0 && sparsity < 1.0))
        throw std::invalid_argument("prune: a sparsity must be in [0, 1), got " + std::to_string(sparsity));
}

std::vector<LayerInfo> layerRows(const ModelSpec& model)
{
    Problems problems;
    ModelInfo info = inspectModel(model, problems);
    if (!problems.empty())
        throw std::invalid_argument("prune: the model does not validate: " + problems.front().text());
    return std::move(info.layers);
}

bool hasWeightToPrune(const std::string& type)
{
    return type == "conv2d" || type == "linear" || type == "shortcut";
}

// Indices (into a flat tensor of magnitudes) of the `count` smallest, ties by position.
torch::Tensor smallest(const torch::Tensor& magnitudes, int64_t count)
{
    const torch::Tensor order = std::get<1>(torch::sort(magnitudes, /*stable=*/true, /*dim=*/0, /*descending=*/false));
    return order.slice(0, 0, count);
}

int64_t countToPrune(double sparsity, int64_t n)
{
    return std::min<int64_t>(n, static_cast<int64_t>(std::llround(sparsity * double(n))));
}

} // namespace

std::vector<std::string> prunableWeightNames(const ModelSpec& model)
{
    std::vector<std::string> names;
    for (const LayerInfo& row : layerRows(model))
        if (hasWeightToPrune(row.type))
            names.push_back(row.name + ".weight");
    return names;
}

PruneMasks magnitudeMasks(const std::map<std::string, torch::Tensor>& weights, double sparsity, bool global)
{
    checkSparsity(sparsity);
    torch::NoGradGuard noGrad;
    PruneMasks masks;
    if (!global) {
        for (const auto& [name, w] : weights) {
            const torch::Tensor flat = w.detach().to(torch::kFloat).abs().reshape({-1});
            torch::Tensor mask = torch::ones({flat.numel()}, torch::kFloat);
            mask.index_fill_(0, smallest(flat, countToPrune(sparsity, flat.numel())), 0.0);
            masks[name] = mask.reshape(w.sizes());
        }
        return masks;
    }
    std::vector<torch::Tensor> flats;
    for (const auto& [name, w] : weights)
        flats.push_back(w.detach().to(torch::kFloat).abs().reshape({-1}));
    if (flats.empty())
        return masks;
    const torch::Tensor all = torch::cat(flats);
    torch::Tensor mask = torch::ones({all.numel()}, torch::kFloat);
    mask.index_fill_(0, smallest(all, countToPrune(sparsity, all.numel())), 0.0);
    int64_t offset = 0;
    for (const auto& [name, w] : weights) {
        masks[name] = mask.slice(0, offset, offset + w.numel()).reshape(w.sizes()).clone();
        offset += w.numel();
    }
    return masks;
}

torch::Tensor toTorch(const NamedTensor& tensor)
{
    return torch::from_blob(const_cast<float*>(tensor.values.data()), tensor.shape, torch::kFloat).clone();
}

NamedTensor fromTorch(const std::string& name, const torch::Tensor& tensor)
{
    const torch::Tensor t = tensor.detach().to(torch::kCPU, torch::kFloat).contiguous();
    NamedTensor out{name, t.sizes().vec(), {}};
    out.values.assign(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
    return out;
}

UnstructuredPruneResult pruneUnstructured(const ModelSpec& model, const std::vector<NamedTensor>& tensors,
                                          const PruneOptions& options, const std::vector<std::string>& only)
{
    checkSparsity(options.sparsity);
    std::map<std::string, const NamedTensor*> byName;
    for (const NamedTensor& t : tensors)
        byName[t.name] = &t;
    std::map<std::string, torch::Tensor> weights;
    for (const std::string& name : prunableWeightNames(model)) {
        if (!only.empty() && std::find(only.begin(), only.end(), name) == only.end())
            continue;
        const auto it = byName.find(name);
        if (it == byName.end())
            throw std::runtime_error("prune: the weights have no tensor '" + name + "' that the model needs");
        weights[name] = toTorch(*it->second);
    }
    for (const std::string& name : only)
        if (!weights.count(name))
            throw std::invalid_argument("prune: '" + name + "' is not the weight of a conv2d or linear layer of the model");
    UnstructuredPruneResult result;
    result.masks = magnitudeMasks(weights, options.sparsity, options.global);
    result.tensors = applyMasks(tensors, result.masks);
    return result;
}

std::vector<NamedTensor> applyMasks(const std::vector<NamedTensor>& tensors, const PruneMasks& masks)
{
    std::vector<NamedTensor> out = tensors;
    for (NamedTensor& t : out) {
        const auto it = masks.find(t.name);
        if (it == masks.end())
            continue;
        const torch::Tensor mask = it->second.to(torch::kFloat).contiguous();
        if (mask.numel() != int64_t(t.values.size()))
            throw std::runtime_error("prune: the mask of '" + t.name + "' has " + std::to_string(mask.numel())
                                     + " entries, the tensor " + std::to_string(t.values.size()));
        const float* m = mask.data_ptr<float>();
        for (size_t i = 0; i < t.values.size(); ++i)
            if (m[i] == 0.0f)
                t.values[i] = 0.0f;
    }
    return out;
}

std::vector<LayerSparsity> layerSparsity(const ModelSpec& model, const std::vector<NamedTensor>& tensors)
{
    std::map<std::string, const NamedTensor*> byName;
    for (const NamedTensor& t : tensors)
        byName[t.name] = &t;
    const auto count = [](const NamedTensor& t) {
        int64_t nonzero = 0;
        for (float v : t.values)
            nonzero += v != 0.0f;
        return std::make_pair(int64_t(t.values.size()), nonzero);
    };
    std::vector<LayerSparsity> out;
    for (const LayerInfo& row : layerRows(model)) {
        const auto weight = byName.find(row.name + ".weight");
        const auto bias = byName.find(row.name + ".bias");
        if (weight == byName.end() && bias == byName.end())
            continue;
        LayerSparsity layer{row.name, row.type};
        if (weight != byName.end()) {
            std::tie(layer.weights, layer.nonzeroWeights) = count(*weight->second);
            layer.parameters += layer.weights;
            layer.nonzeroParameters += layer.nonzeroWeights;
        }
        if (bias != byName.end()) {
            const auto [n, nonzero] = count(*bias->second);
            layer.parameters += n;
            layer.nonzeroParameters += nonzero;
        }
        out.push_back(layer);
    }
    return out;
}

} // namespace nnlab::detail
