// Replays what fuzzing found (tests/fuzz/regressions/<target>/<input>) through the fuzz
// targets' own entry points: each input must be refused with a message or accepted, never
// crash, never throw anything but the documented error, never break an invariant (those
// abort). An empty input goes to every target as well.
#include "fuzz_targets.h"

#include <QtTest>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

class FuzzRegressions : public QObject {
    Q_OBJECT
private slots:
    void replay_data();
    void replay();
    void foldersNameTargets();
};

void FuzzRegressions::replay_data()
{
    QTest::addColumn<QString>("target");
    QTest::addColumn<QString>("file");
    const fs::path root = fs::path(NNLAB_SOURCE_DIR) / "tests/fuzz/regressions";
    for (const nnlab::fuzz::Target& target : nnlab::fuzz::kTargets) {
        QTest::newRow((std::string(target.name) + "/(empty)").c_str()) << QString(target.name) << QString();
        const fs::path dir = root / target.name;
        if (!fs::is_directory(dir))
            continue;
        std::vector<fs::path> files;
        for (const auto& entry : fs::directory_iterator(dir))
            if (entry.is_regular_file() && entry.path().extension() != ".md")
                files.push_back(entry.path());
        std::sort(files.begin(), files.end());
        for (const fs::path& file : files)
            QTest::newRow((std::string(target.name) + "/" + file.filename().string()).c_str())
                << QString(target.name) << QString::fromStdString(file.string());
    }
}

void FuzzRegressions::replay()
{
    QFETCH(QString, target);
    QFETCH(QString, file);
    nnlab::fuzz::Entry entry = nullptr;
    for (const nnlab::fuzz::Target& t : nnlab::fuzz::kTargets)
        if (target == QLatin1String(t.name))
            entry = t.entry;
    QVERIFY(entry);

    std::string bytes;
    if (!file.isEmpty()) {
        std::ifstream in(file.toStdString(), std::ios::binary);
        QVERIFY2(in, qPrintable(file));
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    std::string outcome;
    try {
        outcome = entry(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    } catch (const std::exception& e) {
        QFAIL(qPrintable(QStringLiteral("escaped exception (not the documented error): ") + QString::fromUtf8(e.what())));
    } catch (...) {
        QFAIL("escaped exception of unknown type");
    }
    qInfo("%s", outcome.empty() ? "accepted" : outcome.c_str());
    if (!file.isEmpty() && file.contains(QLatin1String("/refused-")))   // inputs that must be refused
        QVERIFY2(!outcome.empty(), "accepted an input that must be refused");
}

// Every folder under regressions/ is a target's name (its README.md says what each input was), so a
// renamed target cannot silently stop replaying its inputs.
void FuzzRegressions::foldersNameTargets()
{
    const fs::path root = fs::path(NNLAB_SOURCE_DIR) / "tests/fuzz/regressions";
    QVERIFY(fs::is_directory(root));
    for (const auto& entry : fs::directory_iterator(root)) {
        bool known = false;
        for (const nnlab::fuzz::Target& t : nnlab::fuzz::kTargets)
            known = known || entry.path().filename() == t.name;
        QVERIFY2(known || !entry.is_directory(), qPrintable(QString::fromStdString(entry.path().string())
                                                            + ": not a fuzz target's name"));
    }
}

QTEST_APPLESS_MAIN(FuzzRegressions)
#include "test_fuzz_regressions.moc"
