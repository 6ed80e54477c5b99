// Shape inference and parameter/MAC counts against hand-computed values, and against the
// network LibTorch actually builds.
#include "nnlab/model_info.h"
#include "nnlab/spec_json.h"
#include "nnlab/trainer.h"

#include <QtTest>

using namespace nnlab;
Q_DECLARE_METATYPE(nnlab::Shape)

namespace {
ModelSpec modelOf(const char* layersJson, const char* input = "[1, 28, 28]", const char* source = "fashion-mnist")
{
    const std::string doc = std::string(R"({"data": {"source": ")") + source + R"("}, "model": {"input": )" + input
                            + R"(, "layers": )" + layersJson + "}}";
    const ParseResult r = parseExperiment(doc);
    if (!r.ok())
        qWarning("%s", r.errorText().c_str());
    return r.spec.model;
}
} // namespace

class TestModelInfo : public QObject {
    Q_OBJECT
private slots:
    void defaultCnnByHand()
    {
        Problems problems;
        const ModelInfo info = inspectModel(defaultExperiment().model, problems);
        QVERIFY(problems.empty());
        QCOMPARE(info.layers.size(), size_t(10));   // 7 top-level rows + 3 in the residual body
        // conv 1->16, k3, pad 1: 16*1*3*3 weights + 16 biases; 28x28 outputs of 9 MACs each.
        QCOMPARE(info.layers[0].outputShape, Shape({16, 28, 28}));
        QCOMPARE(info.layers[0].parameters, int64_t(160));
        QCOMPARE(info.layers[0].macs, int64_t(16 * 28 * 28 * 9));
        QCOMPARE(info.layers[2].outputShape, Shape({16, 14, 14}));
        // residual body conv 16->16: 16*16*9 + 16; batchnorm: scale and shift per channel.
        QCOMPARE(info.layers[4].name, std::string("3.body.0"));
        QCOMPARE(info.layers[4].parameters, int64_t(2320));
        QCOMPARE(info.layers[4].macs, int64_t(16 * 14 * 14 * 16 * 9));
        QCOMPARE(info.layers[5].parameters, int64_t(32));
        QCOMPARE(info.layers[7].outputShape, Shape({16, 7, 7}));
        QCOMPARE(info.layers[8].outputShape, Shape({784}));
        QCOMPARE(info.layers[9].parameters, int64_t(784 * 10 + 10));
        QCOMPARE(info.parameters, int64_t(160 + 2320 + 32 + 7850));
        QCOMPARE(info.outputShape, Shape({10}));
    }

    void windowArithmetic_data()
    {
        QTest::addColumn<QString>("layer");
        QTest::addColumn<Shape>("expected");
        QTest::newRow("conv stride 2 pad 1") << R"({"type":"conv2d","out_channels":8,"kernel_size":3,"stride":2,"padding":1})" << Shape{8, 14, 14};
        QTest::newRow("conv no pad") << R"({"type":"conv2d","out_channels":4,"kernel_size":5})" << Shape{4, 24, 24};
        QTest::newRow("conv dilation 2") << R"({"type":"conv2d","out_channels":4,"kernel_size":3,"dilation":2})" << Shape{4, 24, 24};
        QTest::newRow("maxpool 3 stride 2") << R"({"type":"maxpool2d","kernel_size":3,"stride":2})" << Shape{1, 13, 13};
        QTest::newRow("avgpool 2 pad 1") << R"({"type":"avgpool2d","kernel_size":2,"padding":1})" << Shape{1, 15, 15};
        QTest::newRow("adaptive 4") << R"({"type":"adaptive_avgpool2d","output_size":4})" << Shape{1, 4, 4};
        QTest::newRow("layernorm") << R"({"type":"layernorm"})" << Shape{1, 28, 28};
    }

    void windowArithmetic()
    {
        QFETCH(QString, layer);
        QFETCH(Shape, expected);
        const std::string layers = "[" + layer.toStdString() + "]";
        const ModelSpec model = modelOf(layers.c_str());
        Problems problems;
        const ModelInfo info = inspectModel(model, problems);
        QCOMPARE(info.outputShape, expected);
        QCOMPARE(buildAndProbe(model).outputShape, expected);   // LibTorch agrees
    }

    void projectionShortcut()
    {
        const ModelSpec model = modelOf(R"([
            {"type":"residual","layers":[{"type":"conv2d","out_channels":8,"kernel_size":3,"stride":2,"padding":1}]},
            {"type":"flatten"},
            {"type":"residual","layers":[{"type":"linear","out_features":20}]},
            {"type":"linear","out_features":10}])");
        Problems problems;
        const ModelInfo info = inspectModel(model, problems);
        QVERIFY(problems.empty());
        // conv shortcut 1->8, 1x1 with bias; linear shortcut 1568->20 with bias.
        QCOMPARE(info.layers[2].type, std::string("shortcut"));
        QCOMPARE(info.layers[2].parameters, int64_t(1 * 8 + 8));
        QCOMPARE(info.layers[6].type, std::string("shortcut"));
        QCOMPARE(info.layers[6].parameters, int64_t(1568 * 20 + 20));
        const BuiltModel built = buildAndProbe(model);
        QCOMPARE(built.parameters, info.parameters);
        QCOMPARE(built.outputShape, Shape({10}));
        QVERIFY(std::find(built.parameterNames.begin(), built.parameterNames.end(), "0.shortcut.weight") != built.parameterNames.end());
    }

    void parameterNamesFollowTheSpec()
    {
        const BuiltModel built = buildAndProbe(defaultExperiment().model);
        const std::vector<std::string> expected{"0.weight", "0.bias", "3.body.0.weight", "3.body.0.bias",
                                                "3.body.1.weight", "3.body.1.bias", "6.weight", "6.bias"};
        QCOMPARE(built.parameterNames, expected);
    }

    void shippedExamplesMatchLibTorch()
    {
        QDir dir(QStringLiteral(NNLAB_SOURCE_DIR "/resources/experiments"));
        for (const auto& f : dir.entryList({"*.json"})) {
            const ParseResult r = loadExperimentFile(dir.filePath(f).toStdString());
            QVERIFY(r.ok());
            Problems problems;
            const ModelInfo info = inspectModel(r.spec.model, problems);
            const BuiltModel built = buildAndProbe(r.spec.model);
            QCOMPARE(built.parameters, info.parameters);
            QCOMPARE(built.outputShape, info.outputShape);
        }
    }

    // A model that waits for the data: every layer listed and its options checked, no shape
    // guessed, and nothing reported as a problem.
    void shapesWaitForTheData()
    {
        ModelSpec model;
        model.input.clear();
        const ModelSpec given = modelOf(R"([{"type": "linear", "out_features": 8},
            {"type": "residual", "layers": [{"type": "linear", "out_features": 8}, {"type": "relu"}]},
            {"type": "linear"}])", "[5]", "csv");
        model.layers = given.layers;
        Problems problems;
        ModelInfo info = inspectModel(model, problems);
        QVERIFY(problems.empty());
        QVERIFY(info.ok);
        QVERIFY(!info.shapesKnown);
        QCOMPARE(info.layers.size(), size_t(5));   // linear, residual, its two layers, linear
        for (const auto& row : info.layers)
            QVERIFY(row.outputShape.empty());

        // With the input known, only the output size waits.
        model.input = {5};
        info = inspectModel(model, problems);
        QVERIFY(problems.empty());
        QVERIFY(!info.shapesKnown);
        QCOMPARE(info.layers[3].outputShape, Shape({8}));
        QVERIFY(info.layers[4].outputShape.empty());
        QVERIFY(info.outputShape.empty());

        // Options are still checked while the input waits; a size left to the data anywhere
        // but the output layer is a problem.
        model.input.clear();
        model.layers[1].layers[1].type = "dropout";
        model.layers[1].layers[1].options = {{"p", 2.0}};
        inspectModel(model, problems);
        QCOMPARE(problems.size(), size_t(1));
        QCOMPARE(QString::fromStdString(problems[0].path), QString("model.layers[1].layers[1].p"));
        problems.clear();
        model.layers[1].layers[1].options = {{"p", 0.5}};
        model.layers[0].options["out_features"] = 0;
        inspectModel(model, problems);
        QCOMPARE(problems.size(), size_t(1));
        QCOMPARE(QString::fromStdString(problems[0].path), QString("model.layers[0].out_features"));
    }
};

QTEST_APPLESS_MAIN(TestModelInfo)
#include "test_model_info.moc"
