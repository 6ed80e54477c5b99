#include "process_group.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <cstdlib>

namespace nnlab::detail {

namespace {

constexpr int64_t kBucketBytes = 25 * 1024 * 1024;

std::chrono::milliseconds timeoutOf(const DistributedSetup& setup)
{
    return std::chrono::milliseconds(static_cast<int64_t>(setup.timeoutSeconds * 1000));
}

// Runs a collective; any error of the transport is a lost worker.
template <typename Body>
void collective(const DistributedSetup& setup, const std::string& what, Body body)
{
    try {
        body();
    } catch (const std::exception& e) {
        std::string reason = e.what();
        reason = reason.substr(0, reason.find('\n'));
        throw WorkerLost("data-parallel training: a worker stopped during the " + what + " (rank "
                         + std::to_string(setup.rank) + " of " + std::to_string(setup.worldSize) + " saw: " + reason + ")");
    }
}

} // namespace

struct ProcessGroup::Impl {
    c10::intrusive_ptr<c10d::Store> store;
    c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

ProcessGroup::ProcessGroup(const DistributedSetup& setup) : m_setup(setup), m_impl(std::make_unique<Impl>())
{
    collective(setup, "rendezvous with rank 0 at " + setup.masterAddress + ":" + std::to_string(setup.masterPort), [&] {
        c10d::TCPStoreOptions options;
        options.port = static_cast<uint16_t>(setup.masterPort);
        options.isServer = setup.rank == 0;
        options.numWorkers = setup.worldSize;
        options.waitWorkers = true;
        options.timeout = timeoutOf(setup);
        m_impl->store = c10::make_intrusive<c10d::TCPStore>(setup.masterAddress, options);
        auto gloo = c10d::ProcessGroupGloo::Options::create();
        gloo->timeout = timeoutOf(setup);
        // The interface Gloo talks on: GLOO_SOCKET_IFNAME as PyTorch reads it, loopback for local
        // workers, else the one this host's name resolves to.
        const char* interface = std::getenv("GLOO_SOCKET_IFNAME");
        const bool local = setup.masterAddress == "127.0.0.1" || setup.masterAddress == "localhost";
        gloo->devices.push_back(interface && *interface ? c10d::ProcessGroupGloo::createDeviceForInterface(interface)
                                : local                ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                                       : c10d::ProcessGroupGloo::createDefaultDevice());
        m_impl->group = c10::make_intrusive<c10d::ProcessGroupGloo>(m_impl->store, setup.rank, setup.worldSize, gloo);
    });
}

ProcessGroup::~ProcessGroup() = default;

void ProcessGroup::broadcast(std::vector<torch::Tensor> tensors)
{
    collective(m_setup, "broadcast", [&] {
        for (torch::Tensor& t : tensors) {
            std::vector<at::Tensor> one{t};
            c10d::BroadcastOptions options;
            options.rootRank = 0;
            m_impl->group->broadcast(one, options)->wait();
        }
    });
}

void ProcessGroup::averageGradients(const torch::Tensor& flat)
{
    collective(m_setup, "gradient all-reduce", [&] {
        const int64_t perBucket = std::max<int64_t>(1, kBucketBytes / static_cast<int64_t>(flat.element_size()));
        std::vector<c10::intrusive_ptr<c10d::Work>> pending;
        for (int64_t start = 0; start < flat.numel(); start += perBucket) {
            std::vector<at::Tensor> bucket{flat.slice(0, start, std::min(flat.numel(), start + perBucket))};
            pending.push_back(m_impl->group->allreduce(bucket));
        }
        for (auto& work : pending)
            work->wait();
    });
    flat.div_(static_cast<double>(m_setup.worldSize));
}

void ProcessGroup::sum(const torch::Tensor& tensor)
{
    collective(m_setup, "statistics all-reduce", [&] {
        std::vector<at::Tensor> one{tensor};
        m_impl->group->allreduce(one)->wait();
    });
}

} // namespace nnlab::detail
