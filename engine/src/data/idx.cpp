// IDX files (the MNIST format): a big-endian header of magic number and dimension sizes, then
// unsigned bytes. Images are 0x00000803 (N x H x W), labels 0x00000801 (N).
#include "nnlab/data.h"

#include "gzip_reader.h"

#include <cstdio>
#include <limits>
#include <string>

namespace nnlab {
namespace {

constexpr uint32_t kImagesMagic = 0x00000803;
constexpr uint32_t kLabelsMagic = 0x00000801;

uint32_t bigEndian32(const unsigned char* p)
{
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

std::string hex32(uint32_t v)
{
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08x", v);
    return buf;
}

std::string describeMagic(uint32_t magic)
{
    if (magic == kImagesMagic)
        return " (an IDX image file)";
    if (magic == kLabelsMagic)
        return " (an IDX label file)";
    if ((magic >> 16) == 0x1f8b)
        return " (gzip data inside gzip: compressed twice?)";
    return "";
}

// Checks the magic and the header size; returns the N dimension sizes that follow it.
std::vector<uint64_t> readHeader(const std::string& file, const std::vector<unsigned char>& bytes,
                                 uint32_t expectedMagic, const char* kind)
{
    const unsigned dims = expectedMagic & 0xff;
    const size_t headerSize = 4 + 4 * size_t(dims);
    if (bytes.size() < 4)
        throw DataError(file + ": truncated: expected at least " + std::to_string(headerSize)
                        + " bytes of IDX header, got " + std::to_string(bytes.size()));
    const uint32_t magic = bigEndian32(bytes.data());
    if (magic != expectedMagic)
        throw DataError(file + ": not an IDX " + kind + " file: magic number " + hex32(magic)
                        + describeMagic(magic) + ", expected " + hex32(expectedMagic));
    if (bytes.size() < headerSize)
        throw DataError(file + ": truncated: expected at least " + std::to_string(headerSize)
                        + " bytes of IDX header, got " + std::to_string(bytes.size()));
    std::vector<uint64_t> sizes;
    for (unsigned d = 0; d < dims; ++d)
        sizes.push_back(bigEndian32(bytes.data() + 4 + 4 * d));
    return sizes;
}

void checkSize(const std::string& file, size_t headerSize, const std::vector<uint64_t>& sizes,
               size_t actual)
{
    uint64_t expected = 1;
    for (uint64_t s : sizes) {
        if (s != 0 && expected > (std::numeric_limits<uint64_t>::max() - headerSize) / s)
            throw DataError(file + ": IDX dimensions too large");
        expected *= s;
    }
    expected += headerSize;
    if (actual < expected)
        throw DataError(file + ": truncated: expected " + std::to_string(expected)
                        + " bytes, got " + std::to_string(actual));
    if (actual > expected)
        throw DataError(file + ": expected " + std::to_string(expected) + " bytes, got "
                        + std::to_string(actual) + " (extra data after the last item)");
}

} // namespace

Dataset readIdx(const std::string& imagesFile, const std::string& labelsFile)
{
    const std::vector<unsigned char> images = detail::readFileBytes(imagesFile);
    const std::vector<uint64_t> imageDims = readHeader(imagesFile, images, kImagesMagic, "image");
    const uint64_t count = imageDims[0];
    const uint64_t height = imageDims[1];
    const uint64_t width = imageDims[2];
    if (height == 0 || width == 0)
        throw DataError(imagesFile + ": images of size " + std::to_string(height) + "x"
                        + std::to_string(width));
    // With a count of 0 the size check bounds nothing: H x W must still fit a sample size.
    if (height * width > uint64_t(std::numeric_limits<int32_t>::max()))
        throw DataError(imagesFile + ": images of size " + std::to_string(height) + "x"
                        + std::to_string(width) + " are too large");
    checkSize(imagesFile, 16, imageDims, images.size());

    Dataset data;
    if (!labelsFile.empty()) {
        const std::vector<unsigned char> labels = detail::readFileBytes(labelsFile);
        const std::vector<uint64_t> labelDims =
            readHeader(labelsFile, labels, kLabelsMagic, "label");
        checkSize(labelsFile, 8, labelDims, labels.size());
        if (labelDims[0] != count)
            throw DataError(imagesFile + " has " + std::to_string(count) + " images but "
                            + labelsFile + " has " + std::to_string(labelDims[0]) + " labels");
        data.labels.assign(labels.begin() + 8, labels.end());
    }
    data.sampleShape = {1, int64_t(height), int64_t(width)};
    data.features.assign(images.begin() + 16, images.end());
    return data;
}

} // namespace nnlab
