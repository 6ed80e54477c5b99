// Readers for the folder and file sources of loadData: each returns the raw training and test
// sets with their classes, before subsetting, splitting and normalization.
#pragma once

#include "nnlab/data.h"

namespace nnlab::detail {

struct RawSource {
    Dataset train;
    Dataset test;
    int64_t numClasses = 0;
    std::vector<std::string> classNames;
    std::string name;               // for the description: "fashion-mnist", "csv iris.csv"
};

RawSource loadFashionMnist(const DataSpec& spec, const DataProgress& progress);
RawSource loadIdxFolder(const DataSpec& spec, const DataProgress& progress);
RawSource loadCifarFolder(const DataSpec& spec, const DataProgress& progress);
RawSource loadCsv(const DataSpec& spec, bool classification, const DataProgress& progress);

} // namespace nnlab::detail
