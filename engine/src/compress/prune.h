// Pruning, internal to nnlab_compress (LibTorch types allowed here, never in engine/include):
// - unstructured magnitude pruning of conv2d and linear weights (residual projections
//   included; biases and normalization never), one fraction per layer or one global threshold;
// - a TrainHook that holds the masks through fine-tuning, one-shot or on the AGP ramp;
// - structured pruning that removes whole filters / output features and returns a new,
//   smaller experiment with weights that fit it;
// - per-layer sparsity of a set of weights.
// Sparse files of pruned weights are in engine/src/export/sparse_weights.h (nnlab_export, no LibTorch).
#pragma once

#include "nnlab/compress.h"
#include "nnlab/safetensors.h"
#include "nnlab/spec.h"
#include "train_hooks.h"

#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace nnlab::detail {

// Pruning masks by tensor name ("0.weight", "3.body.0.weight"): float tensors of the weight's
// shape, 1 = kept, 0 = pruned.
using PruneMasks = std::map<std::string, torch::Tensor>;

// The tensors unstructured pruning touches: the weight of every conv2d and linear layer and of
// every residual projection ("3.shortcut.weight"), in the model's order. Biases, BatchNorm and
// LayerNorm parameters are left alone (few values, and pruning them changes every output).
std::vector<std::string> prunableWeightNames(const ModelSpec& model);

// Masks that zero the `sparsity` fraction (rounded to whole weights) of smallest-magnitude
// entries: of each tensor (global false), or of all of them together under one threshold
// (global true). Ties are broken by position, so exactly that many go; weights already zero go
// first. `sparsity` in [0, 1), else std::invalid_argument.
PruneMasks magnitudeMasks(const std::map<std::string, torch::Tensor>& weights, double sparsity, bool global);

// NamedTensor <-> torch (float32, CPU, copies).
torch::Tensor toTorch(const NamedTensor& tensor);
NamedTensor fromTorch(const std::string& name, const torch::Tensor& tensor);

struct UnstructuredPruneResult {
    std::vector<NamedTensor> tensors;    // every input tensor, the prunable weights masked
    PruneMasks masks;                    // one per prunable weight
};
// One-shot magnitude pruning of a model's weights (options.sparsity and options.global; the
// structured and schedule fields are not looked at). Throws std::invalid_argument for a
// sparsity outside [0, 1) and std::runtime_error naming a prunable weight missing from
// `tensors`. `only`, when not empty, restricts pruning to these tensor names (sensitivity
// analysis prunes one layer at a time).
UnstructuredPruneResult pruneUnstructured(const ModelSpec& model, const std::vector<NamedTensor>& tensors,
                                          const PruneOptions& options, const std::vector<std::string>& only = {});

// The tensors multiplied by their masks (tensors without a mask unchanged).
std::vector<NamedTensor> applyMasks(const std::vector<NamedTensor>& tensors, const PruneMasks& masks);

// Sparsity by layer, for the per-layer view: every conv2d, linear, projection and
// normalization layer that has parameters, in the model's order.
struct LayerSparsity {
    std::string name;              // state-dict prefix: "0", "3.body.0", "3.shortcut"
    std::string type;              // "conv2d", "linear", "shortcut", "batchnorm2d", ...
    int64_t parameters = 0;        // weight and bias (not BatchNorm's running statistics)
    int64_t nonzeroParameters = 0;
    int64_t weights = 0;           // the weight tensor alone (what unstructured pruning prunes)
    int64_t nonzeroWeights = 0;
    double sparsity() const { return weights > 0 ? 1.0 - double(nonzeroWeights) / double(weights) : 0.0; }
};
std::vector<LayerSparsity> layerSparsity(const ModelSpec& model, const std::vector<NamedTensor>& tensors);

// AGP (Zhu & Gupta 2017): s_t = s_f + (s_i - s_f) (1 - t/T)^3 for 0 <= t <= T, s_f after.
double agpSparsity(double initial, double final, int64_t step, int64_t rampSteps);

// The AGP ramp's length for a fine-tuning of `totalSteps`: its first three quarters (at least
// one step), so the network recovers at the final sparsity for the last quarter, as Zhu &
// Gupta end the ramp before training ends (else the last pruning step goes unrepaired). On
// the default run (80%, one epoch of fine-tuning, one seed) it made no measurable difference:
// 83.8% test accuracy against 83.7% with the ramp over every step.
int64_t agpRampSteps(int64_t totalSteps);

// Masks recomputed this often on the AGP ramp: every ~2% of the ramp (50 updates in all, at
// least one step apart). Each update is one sort of the model's weights (on the default CNN,
// ~10k values, well under a millisecond), and 50 steps of sparsity keep each jump small
// (at most 6% of s_f, at the ramp's start) so the network recovers between them.
int64_t agpUpdateEvery(int64_t rampSteps);

// Holds masks during fine-tuning. After every optimizer step it multiplies the masked
// weights, their gradients and the optimizer's state for them (Adam's moments, SGD's
// momentum, RMSprop's averages) by the mask, so a pruned weight is exactly zero after each
// step and no stale moment pushes it away from zero at the next: the step behaves as if its
// gradient had been zero.
// One-shot: the masks given are held. AGP: sparsity ramps from `initialSparsity` to
// options.sparsity over `rampSteps` steps (agpRampSteps of the fine-tuning's), the masks
// recomputed from the current weights every agpUpdateEvery(rampSteps) steps and at the
// ramp's last step; a pruned weight stays pruned (it is zero, so it ranks lowest).
class PruneMaskHook : public TrainHook {
public:
    struct Options {
        PruneOptions prune;              // sparsity (the final one), global, schedule
        int64_t rampSteps = 0;           // AGP: steps of the ramp (T); >= 1; masks held after it
        double initialSparsity = 0.0;    // AGP: s_i
    };
    PruneMaskHook(PruneMasks masks, Options options);

    void afterStep(const StepView& view, TrainRequests& requests) override;

    const PruneMasks& masks() const { return m_masks; }
    double currentSparsity() const { return m_sparsity; }   // the target the masks hold now
    int64_t maskUpdates() const { return m_updates; }       // AGP recomputations so far

    // What afterStep does, for a model and optimizer outside the training loop (tests).
    void holdMasks(torch::nn::Module& model, FlatOptimizer* optimizer);

private:
    void recompute(torch::nn::Module& model, double sparsity);

    PruneMasks m_masks;
    Options m_options;
    double m_sparsity = 0.0;
    int64_t m_updates = 0;
};

// The hook for compressRun's fine-tuning: one-shot holds `masks` (from pruneUnstructured);
// AGP prunes the tensors the masks name, starting from the masks given (all ones from
// pruneUnstructured at sparsity 0: a dense start) and ramping to options.sparsity over
// agpRampSteps(totalSteps), then holding it. After training, masks() are the final masks (applyMasks them to the trained
// weights once more before saving: the last step already holds them, this costs nothing).
// Throws std::invalid_argument for a sparsity outside [0, 1) or AGP with totalSteps < 1.
std::shared_ptr<PruneMaskHook> makePruneMaskHook(PruneMasks masks, const PruneOptions& options, int64_t totalSteps);

// Structured pruning. Channels are pruned in coupled groups: the output channels of a conv2d
// (or features of a linear layer) together with every tensor that sees them, namely the next
// layers' input channels (a conv's weight columns, a linear layer's columns after flatten: a
// channel-major block of H*W), BatchNorm's weight, bias and running statistics, and residual
// blocks:
// - a plain shortcut (body output = block input) adds the block's input channel c to the
//   body's output channel c, so the body's last producer and the producer before the block
//   form one group: the same channels leave both (and everything after the block);
//   channels inside the body (all but its last producer's) are groups of their own;
// - a projection shortcut (1x1 conv or linear) consumes the block's input like any layer and
//   produces the block's output with the body's last producer: one group, both pruned alike.
//   Should the pruned shapes make the body's output equal its input (the projection would
//   vanish from the built model), the output group keeps one more channel.
// A group's channels rank by the sum over its producers of each filter's L1 or L2 norm;
// floor(sparsity x channels) lowest go (at least one channel stays). Never pruned: the model's
// input and output (the classes), channels a layernorm normalizes over, grouped convolutions'
// channels, and residual blocks whose two sides are laid out differently.
struct PrunedGroup {
    std::vector<std::string> producers;   // layer names whose outputs these are: "0", "3.body.0"
    int64_t channels = 0;                 // before
    std::vector<int64_t> kept;            // indices kept, ascending
    bool prunable = true;
    std::string reason;                   // why not prunable
};

struct StructuredPruneResult {
    ExperimentSpec spec;                  // smaller out_channels / out_features; validates
    std::vector<NamedTensor> tensors;     // fit spec (checkWeightsFit)
    std::vector<PrunedGroup> groups;      // every group, prunable or not
};

// `spec` must be complete (model.input and the output size set, as TrainedWeights::spec is)
// and `tensors` must fit it. Uses options.sparsity and options.norm; every group loses the
// same fraction (options.global is for unstructured pruning only). Throws std::invalid_argument for a sparsity outside [0, 1) and
// std::runtime_error when the weights do not fit the spec (checkWeightsFit's message).
StructuredPruneResult pruneStructured(const ExperimentSpec& spec, const std::vector<NamedTensor>& tensors,
                                      const PruneOptions& options);

} // namespace nnlab::detail
