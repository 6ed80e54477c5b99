// The experiment's "monitors" list: reading, writing and checking monitor rules. Which keys
// a rule holds follows its rule and actions (a plateau has a patience, an above rule a
// value; lr_factor only with rollback or multiply_lr), as an optimizer's keys follow its
// type. Private to nnlab_spec.
#pragma once

#include "nnlab/spec.h"

#include <nlohmann/json.hpp>

#include <vector>

namespace nnlab::detail {

// Reads a "monitors" value into `out` (replacing it: [] means no rules). An omitted key
// leaves the experiment's defaultMonitors().
void readMonitors(const nlohmann::json& value, std::vector<MonitorSpec>& out, Problems& problems);

// The rules as the file writes them: each rule's metric, rule and actions, and only the
// other fields that apply to it and differ from MonitorSpec's defaults.
nlohmann::ordered_json monitorsJson(const std::vector<MonitorSpec>& monitors);

// Value checks with JSON paths (`monitors[1].patience: must be >= 1, got 0`): known metrics
// (accuracy only for cross_entropy), positive coefficients and factors, counts >= 1, at least
// one action, and actions that do not contradict each other.
void validateMonitors(const ExperimentSpec& spec, Problems& problems);

} // namespace nnlab::detail
