// A monitor rule's firing, as it crosses boundaries: the trainer writes it as the detail of an
// EventKind::Alert event, the store keeps it, the CLI prints it and the GUI's Alerts dock and
// charts show it. Plain values; the detail text is compact JSON, so a newer build's extra
// fields are ignored and an older one's missing fields read as defaults.
#pragma once

#include "nnlab/spec.h"

#include <cstdint>
#include <optional>
#include <string>

namespace nnlab {

struct MonitorAlert {
    std::string rule;          // the rule's name ("train/loss not_finite" when it has none)
    std::string metric;        // the tag it watches
    int64_t step = 0;          // the metric point's step
    double value = 0.0;        // the metric's value that crossed
    double threshold = 0.0;    // what it crossed (NaN for not_finite)
    std::string action;        // what was done: "annotate", "stop", "rollback x0.5 (1 of 3)", ...
    std::string message;       // one line for a person: "train/loss 8.31 > 2 x min 4.15 at step 120"
};

std::string alertToDetail(const MonitorAlert& alert);
// nullopt when the text is not an alert's JSON.
std::optional<MonitorAlert> alertFromDetail(const std::string& detail);

// JSON names of the enums ("not_finite", "stop_keep_best", ...), and back.
const char* toString(MonitorRule rule);
const char* toString(MonitorAction action);
std::optional<MonitorRule> monitorRuleFromString(const std::string& text);
std::optional<MonitorAction> monitorActionFromString(const std::string& text);

// The rule's name as alerts show it.
std::string monitorName(const MonitorSpec& monitor);

} // namespace nnlab
