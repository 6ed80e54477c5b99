// The experiment's `sweep` section in JSON, and its validation. Private to nnlab_spec.
#pragma once

#include "nnlab/spec.h"

#include <nlohmann/json.hpp>

namespace nnlab::detail {

void readSweep(const nlohmann::json& value, SweepSpec& sweep, Problems& problems);
nlohmann::ordered_json sweepJson(const SweepSpec& sweep);
// Value checks, and each parameter's values (or range ends) set into a copy of the
// experiment, which must parse: the paths exist and the values fit them.
void validateSweep(const ExperimentSpec& spec, Problems& problems);

} // namespace nnlab::detail
