// Running nnlab-cli from the CLI tests, as a user would: a store given by $NNLAB_DB.
#pragma once

#include <QProcess>
#include <QString>
#include <QStringList>

namespace nnlab::test {

struct Result {
    int status = -1;   // the exit status, -1 when it crashed
    QString out;
    QString err;
};

inline QProcessEnvironment withStore(const QString& db)
{
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    if (!db.isEmpty())
        env.insert("NNLAB_DB", db);
    return env;
}

// Runs nnlab-cli to its end (at most 5 minutes).
inline Result cli(const QStringList& args, const QString& db = {})
{
    QProcess p;
    p.setProcessEnvironment(withStore(db));
    p.start(NNLAB_CLI, args);
    p.waitForFinished(300000);
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, QString::fromUtf8(p.readAllStandardOutput()),
            QString::fromUtf8(p.readAllStandardError())};
}

// Starts `nnlab-cli train ARGS` recording into db and returns the run id it prints first
// ("" when it printed none within a minute). The process keeps running.
inline QString startRecordedRun(QProcess& p, const QString& db, const QStringList& args)
{
    p.setProcessEnvironment(withStore(db));
    p.start(NNLAB_CLI, QStringList{"train"} + args);
    if (!p.waitForStarted() || !p.waitForReadyRead(60000))
        return {};
    return QString::fromUtf8(p.readLine()).section(' ', 1, 1).trimmed();
}

const QString kExamples = QStringLiteral(NNLAB_SOURCE_DIR "/resources/experiments/");

} // namespace nnlab::test
