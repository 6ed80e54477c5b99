// The per-layer comparison: the bars' values from given measurements, the histograms from
// given weights, and the reader that undoes the compression lab's sparse and int8 layouts.
#include "compress/layer_compare_view.h"
#include "compress/model_weights.h"

#include <QComboBox>
#include <QTest>

#include <qcustomplot.h>

#include <cstring>

namespace {

nnlab::LayerMeasurement layer(const std::string& name, int64_t parameters, int64_t nonzero, int64_t macs, double latency)
{
    nnlab::LayerMeasurement l;
    l.name = name;
    l.type = name == "4" ? "linear" : "conv2d";
    l.parameters = parameters;
    l.nonzeroParameters = nonzero;
    l.macs = macs;
    l.latencyShare = latency;
    return l;
}

nnlab::RawTensor raw(const std::string& name, nnlab::TensorDtype dtype, std::vector<int64_t> shape, const void* data,
                     size_t bytes)
{
    nnlab::RawTensor t{name, dtype, std::move(shape), {}};
    t.bytes.resize(bytes);
    std::memcpy(t.bytes.data(), data, bytes);
    return t;
}

} // namespace

class TestCompressLayers : public QObject {
    Q_OBJECT
private slots:
    void barsFromMeasurements()
    {
        LayerComparison c;
        c.childId = "child";
        c.parentId = "parent";
        c.method = nnlab::CompressMethod::PruneUnstructured;
        c.parent = {layer("0", 100, 100, 1000, 0.6), layer("4", 300, 300, 3000, 0.4)};
        c.child = {layer("0", 100, 50, 1000, 0.5), layer("4", 300, 60, 3000, 0.5)};
        c.parentWeights = {{"0", {-1.0f, 0.5f, 1.0f}}, {"4", {0.1f, 0.2f}}};
        c.childWeights = {{"0", {0.0f, 0.0f, 1.0f}}, {"4", {0.0f, 0.2f}}};
        LayerCompareView view;
        view.setComparison(c);
        const auto sparsity = view.chartValues(LayerCompareView::SparsityChart);
        QCOMPARE(sparsity.size(), size_t(2));
        QCOMPARE(sparsity[0].first, 0.0);
        QCOMPARE(sparsity[0].second, 0.5);
        QCOMPARE(sparsity[1].second, 0.8);
        const auto parameters = view.chartValues(LayerCompareView::ParameterChart);
        QCOMPARE(parameters[0].first, 0.25);
        QCOMPARE(parameters[1].first, 0.75);
        const auto latency = view.chartValues(LayerCompareView::LatencyChart);
        QCOMPARE(latency[0].first, 0.6);
        QCOMPARE(latency[1].second, 0.5);
        // Two bar sets (parent, child) in each chart, in percent.
        QCustomPlot* plot = view.chart(LayerCompareView::SparsityChart);
        QCOMPARE(plot->plottableCount(), 2);
        auto* child = qobject_cast<QCPBars*>(plot->plottable(1));
        QVERIFY(child);
        QCOMPARE(child->data()->at(1)->value, 80.0);
        // Histograms: parent and child, all layers, then one layer.
        QCOMPARE(view.histogram()->graphCount(), 2);
        QVERIFY(view.histogram()->graph(0)->name().contains("5 weights"));
        view.histogramLayer()->setCurrentIndex(view.histogramLayer()->findData(QString("4")));
        QVERIFY(view.histogram()->graph(1)->name().contains("2 weights"));
    }

    void structuredPruneRemovesBars()
    {
        LayerComparison c;
        c.method = nnlab::CompressMethod::PruneStructured;
        c.parent = {layer("0", 100, 100, 1000, 0.5), layer("1", 0, 0, 0, 0.001), layer("4", 300, 300, 3000, 0.5)};
        c.child = {layer("0", 50, 50, 500, 0.5), layer("1", 0, 0, 0, 0.001), layer("4", 150, 150, 1500, 0.5)};
        LayerCompareView view;
        view.setComparison(c);
        // Layer 1 (no weights, no time) is left out; half the filters gone reads as 50% removed.
        const auto removed = view.chartValues(LayerCompareView::SparsityChart);
        QCOMPARE(removed.size(), size_t(2));
        QCOMPARE(removed[0].first, 0.0);
        QCOMPARE(removed[0].second, 0.5);
        const auto macs = view.chartValues(LayerCompareView::MacChart);
        QCOMPARE(macs[0].first, 0.25);
        QCOMPARE(macs[0].second, 0.25);   // shares within each model
        QCOMPARE(view.histogram()->graphCount(), 0);   // no weights given: no curves
    }

    void readsSparseAndInt8Layouts()
    {
        nnlab::SafetensorsRawContents contents;
        // A 2x5 pruned weight: elements 1, 4 and 9 non-zero; the mask is 2 bytes, bits past 10 clear.
        const uint8_t mask[2] = {0b00010010, 0b00000010};
        const float nonzero[3] = {0.5f, -0.25f, 2.0f};
        contents.tensors.push_back(raw("0.weight::mask", nnlab::TensorDtype::U8, {2}, mask, 2));
        contents.tensors.push_back(raw("0.weight::values", nnlab::TensorDtype::F32, {3}, nonzero, sizeof nonzero));
        contents.metadata["nnlab.sparse"] = R"({"0.weight": [2, 5]})";
        // A 2x2 int8 weight, per output channel: scale 0.5 / 0.1, zero points 0 / 1.
        const int8_t q[4] = {2, -4, 11, 1};
        const float scales[2] = {0.5f, 0.1f};
        const int32_t zeros[2] = {0, 1};
        contents.tensors.push_back(raw("4.weight", nnlab::TensorDtype::I8, {2, 2}, q, 4));
        contents.tensors.push_back(raw("4.weight_scale", nnlab::TensorDtype::F32, {2}, scales, sizeof scales));
        contents.tensors.push_back(raw("4.weight_zero_point", nnlab::TensorDtype::I32, {2}, zeros, sizeof zeros));
        const float bias[2] = {1.0f, 2.0f};
        contents.tensors.push_back(raw("4.bias", nnlab::TensorDtype::F32, {2}, bias, sizeof bias));

        const compresslab::LayerWeights weights = compresslab::layerWeightsFromRaw(contents);
        QCOMPARE(weights.size(), size_t(2));   // biases are not weights of a layer's histogram
        const std::vector<float> dense{0, 0.5f, 0, 0, -0.25f, 0, 0, 0, 0, 2.0f};
        QCOMPARE(weights.at("0"), dense);
        const std::vector<float> dequantized{1.0f, -2.0f, 1.0f, 0.0f};
        const std::vector<float>& got = weights.at("4");
        QCOMPARE(got.size(), size_t(4));
        for (size_t i = 0; i < got.size(); ++i)
            QVERIFY2(std::abs(got[i] - dequantized[i]) < 1e-6f, qPrintable(QString::number(got[i])));
    }
};

QTEST_MAIN(TestCompressLayers)
#include "test_compress_layers.moc"
