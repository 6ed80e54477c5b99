// Lab mode in the workbench for the README: lab 4's second step opened through the Lab dock,
// an answer picked, the step trained into a fresh store and its observations ticked.
// Skipped unless NNLAB_SCREENSHOT_DIR is set.
#include "main_window.h"

#include "labs/lab_panel.h"

#include <QAbstractButton>
#include <QButtonGroup>
#include <QDockWidget>
#include <QListWidget>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

class TestLabScreenshot : public QObject {
    Q_OBJECT
private slots:
    void labModeAfterARun()
    {
        const QString dir = qEnvironmentVariable("NNLAB_SCREENSHOT_DIR");
        if (dir.isEmpty())
            QSKIP("set NNLAB_SCREENSHOT_DIR to write the screenshot");
        QTemporaryDir store;
        MainWindow window(store.filePath(QStringLiteral("runs.db")));
        window.resize(1400, 900);
        window.show();
        auto* lab = window.findChild<LabPanel*>();
        QVERIFY(lab);
        lab->setDatabasePath(window.databasePath());
        const QString problems = lab->openLab(QStringLiteral(NNLAB_SOURCE_DIR "/resources/labs/04-overfitting.json"));
        QVERIFY2(problems.isEmpty(), qPrintable(problems));
        auto* dock = window.findChild<QDockWidget*>(QStringLiteral("labDock"));
        dock->show();
        dock->raise();
        lab->showStep(1);
        lab->answers()->button(1)->click();
        QSignalSpy finished(lab, &LabPanel::stepFinished);
        lab->train();
        QVERIFY(finished.wait(240000));
        QVERIFY(finished.at(0).at(0).toBool());
        QTest::qWait(2500);   // the Runs dock lists the new runs
        QVERIFY(window.grab().save(dir + QStringLiteral("/lab-mode.png")));
    }
};

QTEST_MAIN(TestLabScreenshot)
#include "test_lab_screenshot.moc"
