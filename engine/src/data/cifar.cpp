// CIFAR-10 binary batches: records of one label byte and 3072 pixel bytes (1024 red, then
// 1024 green, then 1024 blue, each row-major 32x32), no header.
#include "nnlab/data.h"

#include "gzip_reader.h"

#include <filesystem>
#include <string>

namespace nnlab {
namespace {

constexpr size_t kPixels = 3 * 32 * 32;
constexpr size_t kRecord = 1 + kPixels;

} // namespace

Dataset readCifarBatches(const std::vector<std::string>& files)
{
    if (files.empty())
        throw DataError("cifar10: no batch files given");

    // Reserve from the file sizes so appending batch after batch does not copy the whole set.
    size_t expectedRecords = 0;
    for (const std::string& file : files) {
        std::error_code ec;
        const auto size = std::filesystem::file_size(file, ec);
        if (!ec)
            expectedRecords += size_t(size) / kRecord;
    }
    Dataset data;
    data.sampleShape = {3, 32, 32};
    data.features.reserve(expectedRecords * kPixels);
    data.labels.reserve(expectedRecords);

    for (const std::string& file : files) {
        const std::vector<unsigned char> bytes = detail::readFileBytes(file);
        if (bytes.empty())
            throw DataError(file + ": empty file, expected CIFAR-10 records of "
                            + std::to_string(kRecord) + " bytes");
        if (bytes.size() % kRecord != 0)
            throw DataError(file + ": size " + std::to_string(bytes.size())
                            + " bytes is not a multiple of the " + std::to_string(kRecord)
                            + "-byte CIFAR-10 record (truncated, or not a CIFAR-10 binary batch)");
        const size_t records = bytes.size() / kRecord;
        for (size_t r = 0; r < records; ++r) {
            const unsigned char* record = bytes.data() + r * kRecord;
            if (record[0] > 9)
                throw DataError(file + ": record " + std::to_string(r) + ": label "
                                + std::to_string(record[0])
                                + " out of range 0..9 (not a CIFAR-10 binary batch?)");
            data.labels.push_back(record[0]);
            data.features.insert(data.features.end(), record + 1, record + kRecord);
        }
    }
    return data;
}

} // namespace nnlab
