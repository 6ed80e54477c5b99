// Which keys apply to which data source, optimizer and schedule; the writer of ordered JSON.
// Private to nnlab_spec.
#pragma once

#include "nnlab/spec.h"

#include <nlohmann/json.hpp>

#include <set>
#include <string>

namespace nnlab::detail {

// Keys beyond the common ones that apply to this choice; empty for an unknown choice.
const std::set<std::string>& dataKeys(const std::string& source);
const std::set<std::string>& optimizerKeys(const std::string& type);
const std::set<std::string>& scheduleKeys(const std::string& type);

nlohmann::ordered_json toOrderedJson(const ExperimentSpec& spec);

} // namespace nnlab::detail
