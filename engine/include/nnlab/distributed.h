// Data-parallel training over LibTorch's c10d: a TCPStore rendezvous and a ProcessGroupGloo.
// Rank 0 records the run, writes checkpoints, evaluates and decides (monitors, pause, stop);
// every rank trains on its shard of each global batch, and the gradients are averaged before
// each optimizer step. Workers start as local child processes (training.workers, or
// `nnlab-cli train --workers N`) or as the tasks of a Slurm step (`srun nnlab-cli train`).
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace nnlab {

struct DistributedSetup {
    int rank = 0;                          // 0 .. worldSize - 1; 0 records and decides
    int worldSize = 1;                     // processes; 1 = not distributed
    std::string masterAddress = "127.0.0.1";   // where rank 0's TCPStore listens
    int masterPort = 0;                    // its port
    // A collective that waits longer fails the run: a hung worker, or a pause of rank 0 longer
    // than this. A worker that dies fails the others at once (its connections close).
    double timeoutSeconds = 600;
    bool active() const { return worldSize > 1; }
};

// The setup a worker process was started with, from NNLAB_RANK, NNLAB_WORLD_SIZE,
// NNLAB_MASTER_ADDR and NNLAB_MASTER_PORT (set by LocalWorkers), or from a Slurm step of more
// than one task (SLURM_PROCID, SLURM_NTASKS, the first node of SLURM_STEP_NODELIST, a port
// derived from SLURM_JOB_ID unless NNLAB_MASTER_PORT is set). nullopt when neither is there.
// Throws std::runtime_error naming the variable when one is malformed.
std::optional<DistributedSetup> distributedFromEnvironment();

// The first host of a Slurm node list: "node[03-05,7],gpu1" -> "node03".
std::string firstSlurmHost(const std::string& nodeList);

// Ranks 1 .. workers-1 as child processes of this one (rank 0): `executable train
// EXPERIMENT.json --quiet --no-store` with the NNLAB_* variables, on a free loopback port.
// They are killed with this process (PR_SET_PDEATHSIG) and by the destructor if still running.
class LocalWorkers {
public:
    // `experimentJson` is written to a temporary file the workers read. Throws
    // std::runtime_error when a process cannot be started.
    LocalWorkers(const std::string& executable, const std::string& experimentJson, int workers);
    ~LocalWorkers();
    LocalWorkers(const LocalWorkers&) = delete;
    LocalWorkers& operator=(const LocalWorkers&) = delete;

    DistributedSetup rank0() const { return m_setup; }
    // Waits up to `seconds` for every worker to exit; "" when all exited with status 0, else
    // one line per worker that did not ("worker 1: killed by signal 9").
    std::string wait(double seconds);

private:
    DistributedSetup m_setup;
    std::string m_experimentFile;
    std::vector<pid_t> m_pids;
};

} // namespace nnlab
