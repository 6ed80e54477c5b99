// Typed raw safetensors (nnlab/safetensors.h): dtypes and bytes kept through a write and a
// read, the float reader still reading such files, and the raw reader refusing what the
// float reader refuses (both share one layout check).
#include "nnlab/safetensors.h"

#include <QTemporaryDir>
#include <QtTest>

#include <cstring>
#include <fstream>

using namespace nnlab;

namespace {

std::vector<uint8_t> fileBytes(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

std::vector<uint8_t> withHeader(const std::string& header, size_t bodyBytes)
{
    std::vector<uint8_t> out(8 + header.size() + bodyBytes, 0);
    const uint64_t length = header.size();
    std::memcpy(out.data(), &length, 8);
    std::memcpy(out.data() + 8, header.data(), header.size());
    return out;
}

} // namespace

class TestPruneRawSafetensors : public QObject {
    Q_OBJECT
private slots:
    void roundTripKeepsDtypes()
    {
        QTemporaryDir dir;
        const std::string path = dir.filePath("raw.safetensors").toStdString();
        std::vector<RawTensor> tensors;
        tensors.push_back({"q.weight", TensorDtype::I8, {2, 2}, {0x01, 0xff, 0x80, 0x7f}});
        tensors.push_back({"mask", TensorDtype::U8, {3}, {0xa5, 0x00, 0xff}});
        const int32_t zp[2] = {-3, 70000};
        tensors.push_back({"zero_point", TensorDtype::I32, {2},
                           std::vector<uint8_t>(reinterpret_cast<const uint8_t*>(zp),
                                                reinterpret_cast<const uint8_t*>(zp) + 8)});
        tensors.push_back(toRawTensor({"bias", {2}, {0.5f, -1.25f}}));
        writeSafetensorsRaw(path, tensors, {{"nnlab.format", "test"}});

        const SafetensorsRawContents back = readSafetensorsRaw(path);
        QCOMPARE(back.metadata.at("nnlab.format"), std::string("test"));
        QCOMPARE(back.tensors.size(), size_t(4));
        std::map<std::string, RawTensor> byName;
        for (const RawTensor& t : back.tensors)
            byName[t.name] = t;
        QCOMPARE(int(byName["q.weight"].dtype), int(TensorDtype::I8));
        QCOMPARE(byName["q.weight"].bytes, tensors[0].bytes);
        QCOMPARE(byName["q.weight"].shape, (std::vector<int64_t>{2, 2}));
        QCOMPARE(int(byName["mask"].dtype), int(TensorDtype::U8));
        QCOMPARE(byName["mask"].bytes, tensors[1].bytes);
        QCOMPARE(int(byName["zero_point"].dtype), int(TensorDtype::I32));
        QCOMPARE(byName["zero_point"].bytes, tensors[2].bytes);
        QCOMPARE(toNamedTensor(byName["bias"]).values, (std::vector<float>{0.5f, -1.25f}));
        QCOMPARE(toNamedTensor(byName["q.weight"]).values, (std::vector<float>{1, -1, -128, 127}));
        QCOMPARE(toNamedTensor(byName["zero_point"]).values, (std::vector<float>{-3, 70000}));

        // The float reader reads the same file, converting.
        const SafetensorsContents floats = readSafetensors(path);
        QCOMPARE(floats.tensors.size(), size_t(4));
        // Data starts 8-byte aligned, as the float writer does it.
        const std::vector<uint8_t> bytes = fileBytes(path);
        uint64_t headerLength = 0;
        std::memcpy(&headerLength, bytes.data(), 8);
        QCOMPARE(headerLength % 8, uint64_t(0));
    }

    void floatWriterUnchanged()
    {
        // writeSafetensors still writes F32 tensors the raw writer would write identically.
        QTemporaryDir dir;
        const std::string a = dir.filePath("a.safetensors").toStdString();
        const std::string b = dir.filePath("b.safetensors").toStdString();
        const NamedTensor t{"w", {3}, {1.0f, 2.0f, 3.0f}};
        writeSafetensors(a, {t}, {{"k", "v"}});
        writeSafetensorsRaw(b, {toRawTensor(t)}, {{"k", "v"}});
        QCOMPARE(fileBytes(a), fileBytes(b));
    }

    void writerRefusesBadTensors()
    {
        QTemporaryDir dir;
        const std::string path = dir.filePath("bad.safetensors").toStdString();
        try {
            writeSafetensorsRaw(path, {{"m", TensorDtype::I32, {3}, {1, 2, 3, 4}}}, {});
            QFAIL("a byte count not matching the shape was accepted");
        } catch (const SafetensorsError& e) {
            QVERIFY2(std::string(e.what()).find("'m'") != std::string::npos, e.what());
            QVERIFY2(std::string(e.what()).find("12") != std::string::npos, e.what());
        }
        const std::vector<RawTensor> repeated = {{"x", TensorDtype::U8, {1}, {1}}, {"x", TensorDtype::U8, {1}, {1}}};
        QVERIFY_THROWS_EXCEPTION(SafetensorsError, writeSafetensorsRaw(path, repeated, {}));
        QVERIFY(!QFile::exists(QString::fromStdString(path)));
    }

    void rawReaderRefusesWhatFloatReaderRefuses()
    {
        const std::vector<std::pair<std::string, std::vector<uint8_t>>> cases = {
            {"gap", withHeader(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}})", 3)},
            {"overlap", withHeader(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                                   R"("b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}})", 3)},
            {"length", withHeader(R"({"a":{"dtype":"I32","shape":[2],"data_offsets":[0,4]}})", 4)},
            {"past end", withHeader(R"({"a":{"dtype":"I8","shape":[4],"data_offsets":[0,4]}})", 2)},
            {"trailing", withHeader(R"({"a":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}})", 2)},
            {"dtype", withHeader(R"({"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}})", 1)},
            {"metadata", withHeader(R"({"__metadata__":{"k":1}})", 0)},
            {"short", {1, 2, 3}},
        };
        for (const auto& [what, bytes] : cases) {
            bool floatRefused = false, rawRefused = false;
            try { parseSafetensors(bytes.data(), bytes.size(), "f"); } catch (const SafetensorsError&) { floatRefused = true; }
            try { parseSafetensorsRaw(bytes.data(), bytes.size(), "f"); } catch (const SafetensorsError& e) {
                rawRefused = true;
                QVERIFY2(std::strncmp(e.what(), "f: ", 3) == 0, e.what());
            }
            QVERIFY2(floatRefused, what.c_str());
            QVERIFY2(rawRefused, what.c_str());
        }
    }
};

QTEST_APPLESS_MAIN(TestPruneRawSafetensors)
#include "test_prune_raw_safetensors.moc"
