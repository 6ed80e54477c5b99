// The pre-flight's pieces that need no LibTorch (preflight_data.cpp), shared with the
// training checks of preflight.cpp.
#pragma once

#include "nnlab/preflight.h"

namespace nnlab::detail {

// A check result with its title filled in from the id.
CheckResult makeCheck(CheckId id, CheckStatus status, std::string explanation, std::vector<CheckNumber> numbers = {});

// The samples at `indices` of the training set, de-normalised, with their labels, and the
// per-feature (or per-channel) ranges.
InputView makeInputView(const DataBundle& data, const std::vector<int64_t>& indices, std::vector<FeatureRange> ranges);

// "0.0012", "2.3", "1.2e+06": short numbers for explanations.
std::string formatNumber(double value);

} // namespace nnlab::detail
