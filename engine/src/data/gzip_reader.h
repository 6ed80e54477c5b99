// Whole-file reading with transparent gunzip, shared by the IDX, CIFAR and CSV loaders.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nnlab::detail {

// True when the file starts with the gzip magic bytes 1f 8b. False for missing files.
bool isGzipFile(const std::string& path);

// The file's bytes, decompressed when it is gzip'd (detected by its magic bytes, so a ".gz"
// name on a raw file also works). Throws DataError "PATH: what is wrong" for a missing or
// unreadable file and for corrupt or truncated gzip data.
std::vector<unsigned char> readFileBytes(const std::string& path);

} // namespace nnlab::detail
