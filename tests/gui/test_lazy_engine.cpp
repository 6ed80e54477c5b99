// The nnlab program and its training engine module (engine/src/lazy/engine_loader.h), as
// processes: what they link and export, training at once, and a module that cannot load.
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

namespace {

struct Result {
    int exitCode = -1;
    bool crashed = false;
    QString out;
};

Result run(const QString& program, const QStringList& args, const QProcessEnvironment& env = QProcessEnvironment::systemEnvironment(),
           int timeoutMs = 120000)
{
    QProcess p;
    p.setProcessEnvironment(env);
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(program, args);
    Result r;
    if (!p.waitForStarted(30000)) {
        r.out = program + ": " + p.errorString();
        return r;
    }
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
        r.out = "timed out: " + QString::fromUtf8(p.readAll());
        return r;
    }
    r.exitCode = p.exitCode();
    r.crashed = p.exitStatus() == QProcess::CrashExit;
    r.out = QString::fromUtf8(p.readAll());
    return r;
}

QStringList neededLibraries(const QString& file)
{
    const Result r = run("readelf", {"-d", "-W", file});
    QStringList out;
    const QRegularExpression needed(R"(\(NEEDED\).*\[(.+)\])");
    for (const QString& line : r.out.split('\n'))
        if (const auto m = needed.match(line); m.hasMatch())
            out << m.captured(1);
    return out;
}

QProcessEnvironment guiEnvironment(const QString& module = {})
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert("QT_QPA_PLATFORM", "offscreen");
    env.insert("XDG_CONFIG_HOME", QDir::tempPath() + "/nnlab-test-lazy-config");   // no saved window state
    if (!module.isEmpty())
        env.insert("NNLAB_TORCH_ENGINE", module);
    return env;
}

const QString kSpiral = QStringLiteral(NNLAB_SOURCE_DIR "/resources/experiments/spiral-mlp.json");

} // namespace

class TestLazyEngine : public QObject {
    Q_OBJECT
private slots:
    void programLinksNoLibTorch()
    {
        const QStringList program = neededLibraries(NNLAB_GUI);
        QVERIFY2(program.filter("Qt6Widgets").size() == 1, qPrintable(program.join(' ')));   // readelf worked
        QCOMPARE(program.filter(QRegularExpression("torch|c10|gomp")), QStringList());
        const QStringList module = neededLibraries(NNLAB_TORCH_ENGINE_MODULE);
        QVERIFY2(!module.filter("torch").isEmpty(), qPrintable(module.join(' ')));
        QCOMPARE(module.filter("Qt6"), QStringList());
    }

    void moduleExportsOnlyItsTable()
    {
        const Result r = run("nm", {"-D", "--defined-only", NNLAB_TORCH_ENGINE_MODULE});
        QCOMPARE(r.exitCode, 0);
        QStringList names;
        for (const QString& line : r.out.split('\n', Qt::SkipEmptyParts))
            names << line.section(' ', -1);
        QCOMPARE(names, QStringList{"nnlab_torch_engine_table"});
    }

    void trainsRightAfterStart()
    {
        QTemporaryDir dir;
        const QString db = dir.filePath("runs.db");
        const Result r = run(NNLAB_GUI, {"--db", db, "--train", "--quit-after-train", kSpiral}, guiEnvironment());
        QVERIFY2(!r.crashed && r.exitCode == 0, qPrintable(r.out));
        QVERIFY2(r.out.contains(QRegularExpression("^trained finished [0-9a-f-]+", QRegularExpression::MultilineOption)),
                 qPrintable(r.out));
        QVERIFY(QFile::exists(db));
    }

    void startsAndReportsAMissingModule()
    {
        const QString missing = QDir::tempPath() + "/nnlab-no-such-dir/libnnlab_torch_engine.so";
        QTemporaryDir dir;
        const Result shown = run(NNLAB_GUI, {"--db", dir.filePath("runs.db"), "--quit-after-shown"}, guiEnvironment(missing));
        QVERIFY2(!shown.crashed && shown.exitCode == 0, qPrintable(shown.out));
        QVERIFY2(shown.out.contains(QRegularExpression("^shown [0-9]+ ms", QRegularExpression::MultilineOption)),
                 qPrintable(shown.out));
        QVERIFY2(shown.out.contains("training engine failed:") && shown.out.contains(missing), qPrintable(shown.out));

        const Result trained = run(NNLAB_GUI, {"--db", dir.filePath("runs.db"), "--train", "--quit-after-train", kSpiral},
                                   guiEnvironment(missing));
        QVERIFY2(!trained.crashed && trained.exitCode == 1, qPrintable(trained.out));
        QVERIFY2(trained.out.contains("trained failed") && trained.out.contains(missing), qPrintable(trained.out));
        // The window said so in a dialog, naming the file.
        QVERIFY2(trained.out.contains(QRegularExpression("^dialog: Training failed: .*" + QRegularExpression::escape(missing),
                                                         QRegularExpression::MultilineOption)),
                 qPrintable(trained.out));
    }

    void reportsAModuleThatIsNotOne()
    {
        QTemporaryDir dir;
        const QString broken = dir.filePath("libnnlab_torch_engine.so");
        QFile file(broken);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("not a shared object\n");
        file.close();
        const Result r = run(NNLAB_GUI, {"--db", dir.filePath("runs.db"), "--train", "--quit-after-train", kSpiral},
                             guiEnvironment(broken));
        QVERIFY2(!r.crashed && r.exitCode == 1, qPrintable(r.out));
        QVERIFY2(r.out.contains("cannot load the training engine " + broken), qPrintable(r.out));
    }
};

QTEST_GUILESS_MAIN(TestLazyEngine)
#include "test_lazy_engine.moc"
