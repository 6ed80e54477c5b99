// The tuner's choices remembered per model shape and machine, so that the second start of a
// model trains at once instead of measuring for half a second or more.
//
// One small JSON file: $NNLAB_TUNING_CACHE, else $XDG_CACHE_HOME/nnlab/tuning.json, else
// ~/.cache/nnlab/tuning.json ("off" or an empty NNLAB_TUNING_CACHE: no cache). Entries are
// keyed by a hash of everything the measurements depend on: the model's layout (layer types,
// options, input shape, the modules built, so fusion too), the batch size, device, dtype,
// optimizer step and clipping, the LibTorch and nnlab versions, the CPU's model name and
// flags, the core count and training.threads. A key that changes is a miss; old entries are
// dropped beyond kMaxTuningEntries, oldest first.
//
// It is a cache: a file that cannot be read or parsed, or an entry that does not fit the
// model, counts as a miss and is replaced on the next store; write errors are ignored. Writes
// go to a temporary file renamed over the old one, so a reader never sees half a file.
#pragma once

#include "session.h"
#include "tuning.h"

#include <optional>
#include <string>

namespace nnlab::detail {

inline constexpr int kMaxTuningEntries = 64;
// How long a choice made without measuring more threads (other processes held the cores:
// Execution::loadLimited) is kept.
inline constexpr int64_t kLoadLimitedSeconds = 3600;

// The cache file's path; "" when caching is off.
std::string tuningCachePath();

// The hash (16 hex digits) that identifies one tuning problem on this machine.
std::string tuningKey(const ExperimentSpec& spec, torch::nn::Sequential& model, const TensorSet& train,
                      const torch::Device& device);

// The stored choices for `key`, or nothing (no file, unreadable, no such entry, malformed).
std::optional<Execution> loadTuning(const std::string& path, const std::string& key);

// Adds or replaces the entry; returns an error message, "" on success.
std::string storeTuning(const std::string& path, const std::string& key, const Execution& execution);

} // namespace nnlab::detail
