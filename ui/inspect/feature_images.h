// Weights and activations as pictures: first-layer filters on a symmetric grey scale (0 is
// mid-grey, so a filter's sign pattern shows) and feature maps each scaled to its own range.
#pragma once

#include "nnlab/inspect.h"

#include <QImage>

namespace inspect {

// Filter `index` of a [out, in, kh, kw] bank: RGB when in = 3, else the mean over the input
// channels; 128 + 127 * w / max|w| of that filter. A null image when out of range.
QImage filterImage(const nnlab::FilterBank& bank, int index);

// Channel `channel` of [channels, h, w] maps (grey, its minimum black and maximum white); a
// [features] vector as one near-square image (channel ignored). Null when out of range.
QImage featureMapImage(const nnlab::FeatureMaps& maps, int channel);

// How many images featureMapImage gives: channels, or 1 for a vector.
int featureMapCount(const nnlab::FeatureMaps& maps);

} // namespace inspect
