// spec.inspect as a hook of the training loop (train_hooks.h): layer statistics as metrics,
// weight and gradient histograms, the decision boundary of 2-D data with its small hidden
// layers' neurons, and the validation confusion matrix with per-class precision and recall.
// Names and formats: spec.h's InspectSpec and nnlab/snapshot.h.
//
// Nothing here changes training: the probe passes run without autograd through the spec's
// layers (inspect_forward.h) on the step's own batch (its first 16 samples: "the probe batch"
// of dead_fraction and the activation statistics), read the parameters and gradients the
// step left, draw no random numbers and write no module state (batch normalization's
// running statistics stay untouched). A stats step costs one forward pass over the batch; the
// step before it keeps a copy of the weights for the update ratio.
#pragma once

#include "inspect_forward.h"
#include "train_hooks.h"

#include "nnlab/data.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace nnlab::detail {

class InspectHook : public TrainHook {
public:
    InspectHook(const ExperimentSpec& spec, torch::nn::Sequential& model, const TensorSet& train,
                const DataBundle& data, Reporter& report);

    // Whether the spec asks for anything this run can make (false: attach nothing).
    static bool wanted(const ExperimentSpec& spec, const DataBundle& data);

    void afterStep(const StepView& step, TrainRequests& requests) override;
    void afterEvaluation(const EvalView& view, TrainRequests& requests) override;
    void rolledBack(const TrainState& state, const std::string& why) override;
    // Reports "inspect/seconds": the training thread's time spent here over the run (what
    // inspection cost it; bench_inspect reads it).
    void ending(const TrainState& state, TrainStatus status) override;

private:
    void layerStats(const StepView& step);
    void histograms(const StepView& step);
    void boundary(int64_t step);
    bool due(int64_t every, int64_t step) const { return every > 0 && step > 0 && step % every == 0; }

    struct Tracked {
        std::string path;          // "0", "3.body.0", "3.shortcut"
        std::string name;          // the parameter: "0.weight" (looked up at each use: a resume or
                                   // rollback loads new tensors into the model)
        torch::Tensor previous;    // its value one step before a stats step; undefined otherwise
        bool histogram = false;    // conv2d / linear
    };

    const ExperimentSpec& m_spec;
    const InspectSpec m_inspect;
    torch::nn::Sequential& m_model;
    const DataBundle& m_data;
    Reporter& m_report;
    std::vector<Tracked> m_tracked;
    bool m_classify;
    // Decision boundary (2 features, classification): the grid's normalized extent.
    bool m_boundary = false;
    double m_lo[2] = {0, 0}, m_hi[2] = {0, 0};
    torch::Tensor m_grid, m_coarseGrid;        // [R*R, 2], [r*r, 2] normalized points
    std::vector<std::string> m_neuronLayers;    // paths whose output a NeuronBoundary shows
    std::vector<std::string> m_neuronLinear;    // ... and the linear layer each follows
    std::string m_gridMeta;                     // the extent keys shared by both kinds
    double m_seconds = 0.0;                     // spent in afterStep and afterEvaluation
};

} // namespace nnlab::detail
