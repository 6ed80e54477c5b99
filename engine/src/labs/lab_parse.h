// Private to nnlab_labs: the pieces of the lab parser that live in their own files.
#pragma once

#include "nnlab/lab.h"

#include <nlohmann/json_fwd.hpp>

#include <string>

namespace nnlab::detail {

// Reads a step's "observations" list (lab_observation_parse.cpp). Run names are checked
// against step.runs, so the step's runs are read first.
void readObservations(const nlohmann::json& value, const std::string& path, LabStep& step, Problems& problems);

// "final", "first", "min", "max", "epoch N", "step N"; false when it is none of them.
bool parseLabPoint(const std::string& text, LabPoint& point, int64_t& index);
std::string labPointText(LabPoint point, int64_t index);

} // namespace nnlab::detail
