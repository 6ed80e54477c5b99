// Who owns a running run, and whether that process still lives. See store.h for why a
// pid alone is not enough (reboots and pid reuse).
#pragma once

#include <cstdint>
#include <string>

namespace nnlab::store {

struct ProcessIdentity {
    std::string host;
    int64_t pid = 0;
    std::string token;   // "<boot id>/<start time in clock ticks>"; empty parts where unknown
};

// This process, computed once.
const ProcessIdentity& currentProcess();

enum class Liveness { Alive, Dead, Unknown };

// Dead only when sure: this host, and the boot changed, the pid is gone, or the pid now
// belongs to a process that started at another time. Other hosts are Unknown.
Liveness ownerLiveness(const std::string& host, int64_t pid, const std::string& token);

// "YYYYMMDD-HHMMSS-" (UTC) + 12 random hex digits: sortable by time and unique across
// machines without coordination, like MLflow's uuid hex run ids.
std::string newRunId(double unixTime);

} // namespace nnlab::store
