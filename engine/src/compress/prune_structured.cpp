// Structured pruning (prune.h): whole filters and output features removed, the experiment
// rewritten smaller, every tensor that sees a removed channel sliced to match.
//
// One walk over the spec finds the channel groups: each conv2d / linear output starts a group;
// layers that keep channels (activations, pooling, dropout) pass the group on; BatchNorm
// records its per-channel tensors; flatten turns a group of C channels into C blocks of H*W
// features; a plain residual shortcut merges the block's input group with its body's output
// group (union-find), a projection adds itself as a second producer of the body's output group.
#include "prune.h"

#include "nnlab/model_info.h"
#include "nnlab/trained_model.h"

#include <numeric>
#include <stdexcept>

namespace nnlab::detail {

namespace {

struct Producer {
    std::string name;        // "0", "3.shortcut": its weight's rows and its bias are the channels
    LayerSpec* layer;        // the spec layer to shrink; null for a residual projection (implied)
    const char* sizeKey;     // "out_channels" or "out_features"
};

struct Consumer {
    std::string tensor;      // a weight whose columns (dim 1) see the channels
    int64_t block;           // elements per channel along that dim (H*W after flatten)
};

struct PerChannel {
    std::string prefix;      // a normalization layer: weight, bias, running_mean, running_var
    int64_t block;
};

struct Group {
    int parent;
    int64_t size;
    bool fixed = false;
    std::string reason;
    std::vector<Producer> producers;
    std::vector<Consumer> consumers;
    std::vector<PerChannel> perChannel;
    std::vector<int64_t> kept;
};

// A group as a layer sees it: which channels, and how many consecutive elements each has in a
// flat input (1 for [C, H, W] inputs, whose channel is the first dimension).
struct Space {
    int group = -1;
    int64_t block = 1;
};

// A residual projection: the shapes that made it exist, to keep it existing.
struct Projection {
    int in, out;
    Shape inShape, outShape;
};

class Planner {
public:
    explicit Planner(const ModelInfo& info)
    {
        for (const LayerInfo& row : info.layers)
            m_rows[row.name] = &row;
    }

    std::vector<Group> groups;
    std::vector<Projection> projections;

    int find(int g)
    {
        while (groups[size_t(g)].parent != g)
            g = groups[size_t(g)].parent;
        return g;
    }
    Group& at(int g) { return groups[size_t(find(g))]; }

    int add(int64_t size)
    {
        Group g;
        g.parent = int(groups.size());
        g.size = size;
        groups.push_back(std::move(g));
        return int(groups.size()) - 1;
    }

    void fix(int g, const std::string& reason)
    {
        Group& group = at(g);
        if (!group.fixed) {
            group.fixed = true;
            group.reason = reason;
        }
    }

    void merge(int a, int b)
    {
        a = find(a);
        b = find(b);
        if (a == b)
            return;
        Group& into = groups[size_t(a)];
        Group& from = groups[size_t(b)];
        if (into.size != from.size)
            throw std::logic_error("prune: merging channel groups of different sizes");
        from.parent = a;
        into.producers.insert(into.producers.end(), from.producers.begin(), from.producers.end());
        into.consumers.insert(into.consumers.end(), from.consumers.begin(), from.consumers.end());
        into.perChannel.insert(into.perChannel.end(), from.perChannel.begin(), from.perChannel.end());
        if (from.fixed && !into.fixed) {
            into.fixed = true;
            into.reason = from.reason;
        }
    }

    Space walk(std::vector<LayerSpec>& layers, const std::string& prefix, Space in)
    {
        for (size_t i = 0; i < layers.size(); ++i) {
            LayerSpec& layer = layers[i];
            const std::string name = prefix + (layer.name.empty() ? std::to_string(i) : layer.name);
            in = step(layer, name, in);
        }
        return in;
    }

private:
    const LayerInfo& row(const std::string& name) const
    {
        const auto it = m_rows.find(name);
        if (it == m_rows.end())
            throw std::logic_error("prune: no inspected layer named " + name);
        return *it->second;
    }

    Space step(LayerSpec& layer, const std::string& name, Space in)
    {
        const std::string& t = layer.type;
        if (t == "conv2d") {
            const int64_t out = layer.intOption("out_channels");
            if (layer.intOption("groups") != 1) {
                fix(in.group, "feeds grouped convolution '" + name + "'");
                const int g = add(out);
                fix(g, "output of grouped convolution '" + name + "'");
                return {g, 1};
            }
            at(in.group).consumers.push_back({name + ".weight", in.block});
            const int g = add(out);
            at(g).producers.push_back({name, &layer, "out_channels"});
            return {g, 1};
        }
        if (t == "linear") {
            at(in.group).consumers.push_back({name + ".weight", in.block});
            const int g = add(layer.intOption("out_features"));
            at(g).producers.push_back({name, &layer, "out_features"});
            return {g, 1};
        }
        if (t == "batchnorm1d" || t == "batchnorm2d") {
            at(in.group).perChannel.push_back({name, in.block});
            return in;
        }
        if (t == "layernorm") {
            fix(in.group, "normalized together by layernorm '" + name + "'");
            return in;
        }
        if (t == "flatten") {
            const Shape& shape = row(name).inputShape;
            int64_t block = in.block;
            for (size_t d = 1; d < shape.size(); ++d)
                block *= shape[d];
            return {in.group, block};
        }
        if (t == "residual") {
            const Space body = walk(layer.layers, name + ".body.", in);
            const auto shortcut = m_rows.find(name + ".shortcut");
            if (shortcut != m_rows.end()) {
                at(in.group).consumers.push_back({name + ".shortcut.weight", in.block});
                at(body.group).producers.push_back({name + ".shortcut", nullptr, ""});
                projections.push_back({in.group, body.group, shortcut->second->inputShape, shortcut->second->outputShape});
                return body;
            }
            if (body.block != in.block) {
                fix(in.group, "residual block '" + name + "' adds differently laid out channels");
                fix(body.group, "residual block '" + name + "' adds differently laid out channels");
                return body;
            }
            merge(in.group, body.group);   // the shortcut adds input channel c to output channel c
            return {find(in.group), in.block};
        }
        static const char* const kChannelWise[] = {"relu", "leaky_relu", "gelu", "tanh", "sigmoid", "dropout",
                                                   "maxpool2d", "avgpool2d", "adaptive_avgpool2d"};
        for (const char* k : kChannelWise)
            if (t == k)
                return in;
        fix(in.group, "seen by layer '" + name + "' of type " + t);
        return in;
    }

    std::map<std::string, const LayerInfo*> m_rows;
};

// Filter norms of a producer's weight: one per output channel.
torch::Tensor filterNorms(const torch::Tensor& weight, PruneNorm norm)
{
    const torch::Tensor rows = weight.reshape({weight.size(0), -1});
    return norm == PruneNorm::L1 ? rows.abs().sum(1) : rows.pow(2).sum(1).sqrt();
}

torch::Tensor expand(const std::vector<int64_t>& kept, int64_t block)
{
    const torch::Tensor idx = torch::tensor(kept, torch::kLong);
    if (block == 1)
        return idx;
    return (idx.unsqueeze(1) * block + torch::arange(block, torch::kLong).unsqueeze(0)).reshape({-1});
}

} // namespace

StructuredPruneResult pruneStructured(const ExperimentSpec& spec, const std::vector<NamedTensor>& tensors,
                                      const PruneOptions& options)
{
    if (!(options.sparsity >= 0.0 && options.sparsity < 1.0))
        throw std::invalid_argument("prune: a sparsity must be in [0, 1), got " + std::to_string(options.sparsity));
    const std::string fit = checkWeightsFit(spec, tensors);
    if (!fit.empty())
        throw std::runtime_error("prune: the weights do not fit the experiment: " + fit);
    Problems problems;
    const ModelInfo info = inspectModel(spec.model, problems);
    if (!problems.empty() || info.layers.empty())
        throw std::runtime_error("prune: the model does not validate: "
                                 + (problems.empty() ? std::string("no layers") : problems.front().text()));

    StructuredPruneResult result;
    result.spec = spec;
    Planner planner(info);
    const Shape& input = spec.model.input;
    const int inputGroup = planner.add(input.empty() ? 0 : input[0]);
    planner.fix(inputGroup, "the model's input");
    const Space out = planner.walk(result.spec.model.layers, "", {inputGroup, 1});
    planner.fix(out.group, "the model's output");

    torch::NoGradGuard noGrad;
    std::map<std::string, torch::Tensor> byName;
    for (const NamedTensor& t : tensors)
        byName[t.name] = toTorch(t);

    // Rank each group's channels and keep the strongest.
    std::map<int, std::vector<int64_t>> order;   // root -> channels from weakest to strongest
    for (size_t g = 0; g < planner.groups.size(); ++g) {
        Group& group = planner.groups[g];
        if (group.parent != int(g))
            continue;
        std::vector<int64_t> all(size_t(group.size));
        std::iota(all.begin(), all.end(), 0);
        group.kept = all;
        if (group.fixed || group.producers.empty() || group.size <= 1)
            continue;
        torch::Tensor importance = torch::zeros({group.size}, torch::kDouble);
        for (const Producer& p : group.producers)
            importance += filterNorms(byName.at(p.name + ".weight"), options.norm).to(torch::kDouble);
        const torch::Tensor ranked = std::get<1>(torch::sort(importance, /*stable=*/true, 0, false));
        std::vector<int64_t> weakest(ranked.data_ptr<int64_t>(), ranked.data_ptr<int64_t>() + group.size);
        const int64_t drop = std::min<int64_t>(group.size - 1, int64_t(std::floor(options.sparsity * double(group.size))));
        group.kept.assign(weakest.begin() + drop, weakest.end());
        std::sort(group.kept.begin(), group.kept.end());
        order[int(g)] = std::move(weakest);
    }
    // A projection exists because its two sides differ in shape; keep them different.
    for (bool changed = true; changed;) {
        changed = false;
        for (const Projection& p : planner.projections) {
            Group& in = planner.at(p.in);
            Group& outGroup = planner.at(p.out);
            Shape a = p.inShape, b = p.outShape;
            a[0] = int64_t(in.kept.size());
            b[0] = int64_t(outGroup.kept.size());
            if (a != b || outGroup.kept.size() == size_t(outGroup.size))
                continue;
            const std::vector<int64_t>& weakest = order.at(planner.find(p.out));
            outGroup.kept.push_back(weakest[weakest.size() - outGroup.kept.size() - 1]);
            std::sort(outGroup.kept.begin(), outGroup.kept.end());
            changed = true;
        }
    }

    const auto slice = [&](const std::string& name, int64_t dim, const torch::Tensor& idx) {
        const auto it = byName.find(name);
        if (it != byName.end())
            it->second = it->second.index_select(dim, idx).contiguous();
    };
    for (size_t g = 0; g < planner.groups.size(); ++g) {
        Group& group = planner.groups[g];
        if (group.parent != int(g))
            continue;
        PrunedGroup report{{}, group.size, group.kept, !group.fixed, group.reason};
        for (const Producer& p : group.producers)
            report.producers.push_back(p.name);
        if (!group.producers.empty())
            result.groups.push_back(report);
        if (group.kept.size() == size_t(group.size))
            continue;
        const torch::Tensor idx = expand(group.kept, 1);
        for (const Producer& p : group.producers) {
            slice(p.name + ".weight", 0, idx);
            slice(p.name + ".bias", 0, idx);
            if (p.layer)
                p.layer->options[p.sizeKey] = double(group.kept.size());
        }
        for (const Consumer& c : group.consumers)
            slice(c.tensor, 1, expand(group.kept, c.block));
        for (const PerChannel& n : group.perChannel)
            for (const char* part : {".weight", ".bias", ".running_mean", ".running_var"})
                slice(n.prefix + part, 0, expand(group.kept, n.block));
    }
    for (const NamedTensor& t : tensors)
        result.tensors.push_back(fromTorch(t.name, byName.at(t.name)));

    const Problems after = validateExperiment(result.spec);
    if (!after.empty())
        throw std::logic_error("prune: the pruned experiment does not validate: " + after.front().text());
    const std::string fitAfter = checkWeightsFit(result.spec, result.tensors);
    if (!fitAfter.empty())
        throw std::logic_error("prune: the pruned weights do not fit the pruned experiment: " + fitAfter);
    return result;
}

} // namespace nnlab::detail
