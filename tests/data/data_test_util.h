// Helpers for the data loader tests: writing small IDX, CIFAR and CSV files (raw or gzip'd)
// and catching the DataError message of a call.
#pragma once

#include "nnlab/data.h"

#include <zlib.h>

#include <QtTest>

#include <cstdio>
#include <string>
#include <vector>

namespace testutil {

using Bytes = std::vector<unsigned char>;

inline void writeFile(const std::string& path, const Bytes& bytes)
{
    std::FILE* f = std::fopen(path.c_str(), "wb");
    QVERIFY2(f, path.c_str());
    if (!bytes.empty())
        QCOMPARE(std::fwrite(bytes.data(), 1, bytes.size(), f), bytes.size());
    std::fclose(f);
}

inline void writeText(const std::string& path, const std::string& text)
{
    writeFile(path, Bytes(text.begin(), text.end()));
}

inline void writeGzip(const std::string& path, const Bytes& bytes)
{
    gzFile gz = gzopen(path.c_str(), "wb");
    QVERIFY2(gz, path.c_str());
    QCOMPARE(gzwrite(gz, bytes.data(), unsigned(bytes.size())), int(bytes.size()));
    QCOMPARE(gzclose(gz), Z_OK);
}

inline Bytes readFile(const std::string& path)
{
    Bytes bytes;
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f)
        return bytes;
    for (int c; (c = std::fgetc(f)) != EOF;)
        bytes.push_back(static_cast<unsigned char>(c));
    std::fclose(f);
    return bytes;
}

inline void putBigEndian(Bytes& out, uint32_t v)
{
    for (int shift = 24; shift >= 0; shift -= 8)
        out.push_back(static_cast<unsigned char>(v >> shift));
}

// An IDX image file whose pixel (i, y, x) is (i * 7 + y * 3 + x) % 256.
inline Bytes idxImages(uint32_t count, uint32_t height, uint32_t width)
{
    Bytes out;
    putBigEndian(out, 0x00000803);
    putBigEndian(out, count);
    putBigEndian(out, height);
    putBigEndian(out, width);
    for (uint32_t i = 0; i < count; ++i)
        for (uint32_t y = 0; y < height; ++y)
            for (uint32_t x = 0; x < width; ++x)
                out.push_back(static_cast<unsigned char>((i * 7 + y * 3 + x) % 256));
    return out;
}

inline Bytes idxLabels(const std::vector<int>& labels)
{
    Bytes out;
    putBigEndian(out, 0x00000801);
    putBigEndian(out, uint32_t(labels.size()));
    for (int l : labels)
        out.push_back(static_cast<unsigned char>(l));
    return out;
}

// CIFAR-10 records: label labels[r], pixel p of record r is (r + p) % 256.
inline Bytes cifarRecords(const std::vector<int>& labels)
{
    Bytes out;
    for (size_t r = 0; r < labels.size(); ++r) {
        out.push_back(static_cast<unsigned char>(labels[r]));
        for (size_t p = 0; p < 3072; ++p)
            out.push_back(static_cast<unsigned char>((r + p) % 256));
    }
    return out;
}

// The DataError message `f` throws; "" when it throws nothing.
template <class F>
std::string errorOf(F&& f)
{
    try {
        f();
    } catch (const nnlab::DataError& e) {
        return e.what();
    }
    return {};
}

inline bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

} // namespace testutil

// Fails with the whole message when `message` lacks `part` (an empty message: nothing thrown).
#define VERIFY_CONTAINS(message, part)                                                           \
    QVERIFY2(testutil::contains((message), (part)),                                              \
             ("expected \"" + std::string(part) + "\" in \"" + std::string(message) + "\"")     \
                 .c_str())
