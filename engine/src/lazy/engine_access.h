// For the forwarders (forward_*.cpp): the loaded module's table.
#pragma once

#include "engine_table.h"

#include <optional>

namespace nnlab::lazy {

// Waits for the module; throws std::runtime_error naming the file and the reason when it
// could not be loaded (the callers' own error paths show it: a failed run, a dialog).
// `caller`: the function, for NNLAB_ENGINE_TRACE's report of waits.
const EngineTable& engine(const char* caller);

// probeRuntime(true) as measured by the loading thread (after a successful load).
std::optional<RuntimeInfo> startupProbe();

// The table when loaded, else nullptr; never waits.
const EngineTable* loadedEngine();

} // namespace nnlab::lazy
