// The collectives of data-parallel training (nnlab/distributed.h) over c10d's Gloo back end:
// a TCPStore rendezvous at rank 0's address, then broadcasts from rank 0 and sums. A worker
// that stops makes every collective of the others throw WorkerLost at once (its connections
// close); one that hangs, after DistributedSetup::timeoutSeconds.
#pragma once

#include "nnlab/distributed.h"

#include <torch/torch.h>

#include <memory>
#include <stdexcept>
#include <vector>

namespace nnlab::detail {

class WorkerLost : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class ProcessGroup {
public:
    // Waits for every worker (up to the timeout). Throws WorkerLost naming the address.
    explicit ProcessGroup(const DistributedSetup& setup);
    ~ProcessGroup();

    int rank() const { return m_setup.rank; }
    int size() const { return m_setup.worldSize; }

    // Rank 0's values into every worker's tensors, in place.
    void broadcast(std::vector<torch::Tensor> tensors);
    // The mean over workers of a flat gradient buffer, in place: summed in buckets of 25 MB
    // (PyTorch DDP's default bucket size), all in flight at once, then divided.
    void averageGradients(const torch::Tensor& flat);
    // The element-wise sum over workers, in place (small tensors: statistics, control).
    void sum(const torch::Tensor& tensor);

private:
    struct Impl;
    DistributedSetup m_setup;
    std::unique_ptr<Impl> m_impl;
};

} // namespace nnlab::detail
