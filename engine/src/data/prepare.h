// The steps loadData applies after reading a source: subsetting, the validation split and
// normalization. Internal to nnlab_data.
#pragma once

#include "nnlab/data.h"

namespace nnlab::detail {

// Keeps a seeded random subset of at most `limit` samples of `data` (0 = all) and moves a
// `fraction` of that subset out into the returned validation set. Both parts keep the
// source's order. The training part is compacted in place, so the full feature array is
// never copied.
Dataset splitOffValidation(Dataset& data, int64_t limit, double fraction, uint64_t seed);

struct Normalization {
    std::vector<float> shift;   // per channel (images) or feature; empty = none
    std::vector<float> scale;
};

// Statistics of `train` for `mode` (none|standardize|scale, "auto" already resolved).
// Channels are the first dimension of image samples, or every feature of tabular ones.
Normalization fitNormalization(const Dataset& train, const std::string& mode, bool images);

// x = (x - shift) / scale, per channel or feature.
void applyNormalization(Dataset& data, const Normalization& norm, bool images);

} // namespace nnlab::detail
