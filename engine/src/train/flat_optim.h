// The optimizer step over flat buffers. Parameters, gradients and each optimizer state live
// in one contiguous tensor apiece, and the modules' parameters and gradients are views into
// them (each keeping its strides, so channels-last weights stay channels-last). A step is
// then one pass over the buffers for CPU float parameters (every optimizer: a loop per option
// set, built for AVX-512 and AVX2), a handful of tensor operations otherwise, where
// torch::optim runs about eight per parameter tensor plus two string look-ups; on small
// models that loop was a third of the step. Gradient clipping and the gradient norm become one operation too.
//
// The math is torch::optim's (1.13) for sgd, adam, adamw and rmsprop, term for term. The
// optimizer owns its state and writes it to checkpoints itself (save/load): the flat
// buffers and the step count.
#pragma once

#include "nnlab/spec.h"

#include <torch/torch.h>

#include <vector>

namespace nnlab::detail {

class FlatOptimizer {
public:
    // Packs the parameters' current values; their gradients become views of one zeroed buffer.
    FlatOptimizer(const OptimizerSpec& spec, std::vector<torch::Tensor> parameters);

    void zeroGrad() { m_grads.zero_(); }
    void clipGradValue(double value) { m_grads.clamp_(-value, value); }
    // Scales the gradients to a global 2-norm of at most maxNorm (torch's clip_grad_norm_);
    // returns the norm before clipping, as a tensor: reading it would wait for the step.
    torch::Tensor clipGradNorm(double maxNorm);
    torch::Tensor gradNorm() const { return m_grads.norm(); }
    void step(double lr);

    // After model.load() replaced the parameters' storage: pack them again (the gradients
    // become zero).
    void repack();
    // The optimizer state (not the parameters: the model saves those). load() throws
    // std::runtime_error when the archive holds another optimizer's or model's state.
    void save(torch::serialize::OutputArchive& archive) const;
    void load(torch::serialize::InputArchive& archive);

    // Data-parallel training (distributed.h): the flat gradients to average, and everything
    // rank 0 broadcasts so that every worker starts from its state: the parameter values, the
    // optimizer's buffers and a tensor of its counters (written back by setCounters).
    torch::Tensor& gradients() { return m_grads; }
    std::vector<torch::Tensor> stateTensors();
    torch::Tensor counters() const;
    void setCounters(const torch::Tensor& counters);

private:
    torch::Tensor view(const torch::Tensor& flat, size_t i) const;
    torch::Tensor canonical(const torch::Tensor& flat) const;

    OptimizerSpec m_spec;
    std::vector<torch::Tensor> m_params;
    std::vector<int64_t> m_offsets;
    torch::Tensor m_values, m_grads;
    torch::Tensor m_first, m_second;   // adam/adamw: exp_avg, exp_avg_sq; sgd: momentum; rmsprop: square_avg, momentum
    int64_t m_steps = 0;               // optimizer steps taken (adam, adamw, rmsprop bias and state)
    bool m_momentumStarted = false;    // sgd: the first step copies the gradient into the buffer
};

} // namespace nnlab::detail
