// The experiment's "inspect" section (InspectSpec): reading, writing and checking it.
// Private to nnlab_spec.
#pragma once

#include "nnlab/spec.h"

#include <nlohmann/json.hpp>

namespace nnlab::detail {

// Reads an "inspect" object into `out`; keys left out keep InspectSpec's defaults.
void readInspect(const nlohmann::json& value, InspectSpec& out, Problems& problems);

// Every key, in declaration order (the writer omits the section when it is the default).
nlohmann::ordered_json inspectJson(const InspectSpec& inspect);

// Value checks with JSON paths (`inspect.boundary_resolution: must be >= 8, got 2`).
void validateInspect(const InspectSpec& inspect, Problems& problems);

} // namespace nnlab::detail
