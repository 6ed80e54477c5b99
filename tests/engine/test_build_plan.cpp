// The builder's first pass: which modules a layer list becomes (fusions, reordering, the
// in-place rule), decided without LibTorch.
#include "nnlab/build_plan.h"
#include "nnlab/spec_json.h"

#include <QtTest>

using namespace nnlab;

namespace {

std::string planOf(const std::string& layers, const std::string& input, bool fuse = true)
{
    const std::string doc = R"({"name": "t", "data": {"source": "csv", "path": "x.csv"}, "model": {"input": )" + input
                            + R"(, "layers": )" + layers + R"(}})";
    const ParseResult parsed = parseExperiment(doc);
    if (!parsed.complete)
        qFatal("%s", parsed.errorText().c_str());
    return describePlan(planModel(parsed.spec.model, parsed.model, fuse), parsed.spec.model.layers);
}

} // namespace

class TestBuildPlan : public QObject {
    Q_OBJECT
private slots:
    void plans_data()
    {
        QTest::addColumn<QString>("layers");
        QTest::addColumn<QString>("input");
        QTest::addColumn<bool>("fuse");
        QTest::addColumn<QString>("plan");
        const QString cnn = R"([{"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1}, {"type": "relu"},
            {"type": "maxpool2d", "kernel_size": 2}, {"type": "conv2d", "out_channels": 16, "kernel_size": 3, "padding": 1},
            {"type": "batchnorm2d"}, {"type": "relu"}, {"type": "maxpool2d", "kernel_size": 2}, {"type": "flatten"},
            {"type": "linear", "out_features": 32}, {"type": "relu"}, {"type": "linear", "out_features": 10}])";
        QTest::newRow("cnn fused") << cnn << "[1, 28, 28]" << true
                                   << "0 conv_pool2x2+relu\n3 conv2d\n4 batchnorm+relu\n6 maxpool2x2\n7 flatten\n"
                                      "8 linear+relu\n10 linear\n";
        // Unfused: the ReLUs move after the pooling, in place after the pooling's fresh output.
        QTest::newRow("cnn plain") << cnn << "[1, 28, 28]" << false
                                   << "0 conv2d\n2 maxpool2d\n1 relu inplace\n3 conv2d\n4 batchnorm2d\n6 maxpool2d\n"
                                      "5 relu inplace\n7 flatten\n8 linear\n9 relu inplace\n10 linear\n";
        // A ReLU after the data itself or after a view (flatten) never overwrites its input.
        QTest::newRow("no in-place after a view") << R"([{"type": "flatten"}, {"type": "relu"}, {"type": "linear", "out_features": 3}])"
                                                  << "[2, 2]" << false << "0 flatten\n1 relu\n2 linear\n";
        QTest::newRow("tanh keeps its output") << R"([{"type": "linear", "out_features": 4}, {"type": "tanh"}, {"type": "relu"}, {"type": "linear", "out_features": 2}])"
                                               << "[2]" << false << "0 linear\n1 tanh\n2 relu\n3 linear\n";
        QTest::newRow("residual with projection")
            << R"([{"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1, "stride": 2},
                   {"type": "residual", "layers": [{"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1},
                                                   {"type": "batchnorm2d"}, {"type": "relu"}]},
                   {"type": "flatten"}, {"type": "linear", "out_features": 2}])"
            << "[1, 8, 8]" << true
            << "0 conv2d\n1 residual +shortcut\n  0 conv2d\n  1 batchnorm+relu\n2 flatten\n3 linear\n";
        // Every batch norm is fused, alone or with (leaky) ReLU; BatchNorm1d too; a linear
        // layer takes leaky ReLU, tanh and sigmoid as well as ReLU, not GELU.
        QTest::newRow("batchnorm and linear activations")
            << R"([{"type": "linear", "out_features": 8}, {"type": "batchnorm1d"}, {"type": "relu"}, {"type": "dropout", "p": 0.2},
                   {"type": "linear", "out_features": 8}, {"type": "batchnorm1d"}, {"type": "leaky_relu", "negative_slope": 0.2},
                   {"type": "linear", "out_features": 8}, {"type": "tanh"}, {"type": "linear", "out_features": 8},
                   {"type": "sigmoid"}, {"type": "linear", "out_features": 8}, {"type": "gelu"},
                   {"type": "linear", "out_features": 8}, {"type": "batchnorm1d"}, {"type": "tanh"},
                   {"type": "linear", "out_features": 2}])"
            << "[4]" << true
            << "0 linear\n1 batchnorm+relu+dropout\n4 linear\n5 batchnorm+leaky_relu\n7 linear+tanh\n9 linear+sigmoid\n"
               "11 linear\n12 gelu\n13 linear\n14 batchnorm\n15 tanh\n16 linear\n";
        QTest::newRow("resnet block ending in batchnorm")
            << R"([{"type": "residual", "layers": [{"type": "conv2d", "out_channels": 2, "kernel_size": 3, "padding": 1},
                                                   {"type": "batchnorm2d"}]}, {"type": "relu"},
                   {"type": "flatten"}, {"type": "linear", "out_features": 2}])"
            << "[2, 4, 4]" << true << "0 residual\n  0 conv2d\n  1 batchnorm\n1 relu inplace\n2 flatten\n3 linear\n";
        // Only the model's first layer gets the conv+pool kernel; pooling other than 2x2 stays.
        QTest::newRow("no first-layer fusion for stride 2")
            << R"([{"type": "conv2d", "out_channels": 4, "kernel_size": 3, "stride": 2}, {"type": "maxpool2d", "kernel_size": 3},
                   {"type": "relu"}, {"type": "flatten"}, {"type": "linear", "out_features": 2}])"
            << "[1, 16, 16]" << true << "0 conv2d\n1 maxpool2d\n2 relu inplace\n3 flatten\n4 linear\n";
    }

    void plans()
    {
        QFETCH(QString, layers);
        QFETCH(QString, input);
        QFETCH(bool, fuse);
        QFETCH(QString, plan);
        QCOMPARE(QString::fromStdString(planOf(layers.toStdString(), input.toStdString(), fuse)), plan);
    }

    void namedLayersKeepTheirNames()
    {
        const std::string plan = planOf(R"([{"type": "linear", "out_features": 4, "name": "hidden"}, {"type": "relu"},
                                            {"type": "linear", "out_features": 2, "name": "head"}])", "[2]");
        QCOMPARE(QString::fromStdString(plan), QString("hidden linear+relu\nhead linear\n"));
    }
};

QTEST_APPLESS_MAIN(TestBuildPlan)
#include "test_build_plan.moc"
