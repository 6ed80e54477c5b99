// Helpers for the injected-fault tests: nnlab-cli run as a user would (cli_test_util.h), the
// store read directly while it is written, and small tmpfs mounts to fill or make read-only.
#pragma once

#include "../cli/cli_test_util.h"
#include "../store/store_test_util.h"

#include "nnlab/store_hash.h"

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

namespace faults {

using nnlab::test::cli;
using nnlab::test::Result;
using nnlab::test::startRecordedRun;

const QString kSpiral = nnlab::test::kExamples + "spiral-mlp.json";

// One long epoch of the spiral (a few seconds at 8 samples a step), single-threaded. With
// `checkpointSteps` 0 no checkpoint is written before the end (nor a best one at all).
inline QStringList longRun(int checkpointSteps, int samples = 1000000)
{
    QStringList args{kSpiral, "--quiet", "--epochs", "1", "--set", "data.samples=" + QString::number(samples),
                     "--set", "training.batch_size=8", "--set", "training.threads=1",
                     "--set", "training.best_metric=none"};
    if (checkpointSteps > 0)
        args << "--set" << "training.checkpoint_every_steps=" + QString::number(checkpointSteps);
    else
        args << "--set" << "training.checkpoint_every_seconds=1000000";
    return args;
}

// The first column of the first row of `sql` on the store, read as another process would
// while it is written ("" when there is none yet).
inline std::string storeText(const QString& db, const std::string& sql)
{
    if (!QFile::exists(db))
        return {};
    storetest::Sql store(db.toStdString(), SQLITE_OPEN_READONLY);
    sqlite3_busy_timeout(store.handle(), 5000);
    return store.scalar(sql);
}

inline long long storeNumber(const QString& db, const std::string& sql)
{
    const std::string text = storeText(db, sql);
    return text.empty() ? -1 : std::stoll(text);
}

inline std::string quoted(const QString& text)
{
    return "'" + text.toStdString() + "'";
}

// The run's step count as its trainer reported it.
inline long long totalSteps(const QString& db, const QString& id)
{
    return storeNumber(db, "SELECT json_extract(info, '$.totalSteps') FROM runs WHERE id = " + quoted(id));
}

inline QString finishedLine(const QString& db, const QString& id)
{
    return QString("finished %1 steps").arg(totalSteps(db, id));
}

// Waits until `sql` on the store reads at least `atLeast` while `p` runs; the last value.
inline long long waitForStore(QProcess& p, const QString& db, const std::string& sql, long long atLeast)
{
    long long value = -1;
    for (int i = 0; i < 6000 && p.state() == QProcess::Running; ++i) {
        if ((value = storeNumber(db, sql)) >= atLeast)
            return value;
        p.waitForFinished(20);
    }
    return value;
}

inline std::string integrity(const QString& db)
{
    storetest::Sql store(db.toStdString());
    sqlite3_busy_timeout(store.handle(), 5000);
    return store.scalar("PRAGMA integrity_check");
}

// Waits for the end of `p` (5 minutes at most); its exit status, -1 when it crashed.
inline int finish(QProcess& p)
{
    p.waitForFinished(300000);
    return p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
}

inline QStringList leftoverTemps(const QString& folder)
{
    return QDir(folder).entryList({"*.tmp"}, QDir::Files | QDir::System | QDir::Hidden);
}

// A small tmpfs mounted at `path` for the object's life (needs root).
class Tmpfs {
public:
    Tmpfs(const QString& path, const std::string& size) : m_path(path)
    {
        QDir().mkpath(path);
        m_mounted = ::mount("tmpfs", path.toLocal8Bit().constData(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
        if (!m_mounted)
            m_error = std::strerror(errno);
    }
    ~Tmpfs()
    {
        if (m_mounted)
            ::umount2(m_path.toLocal8Bit().constData(), MNT_DETACH);
    }
    Tmpfs(const Tmpfs&) = delete;
    Tmpfs& operator=(const Tmpfs&) = delete;

    bool mounted() const { return m_mounted; }
    const std::string& error() const { return m_error; }

    bool remount(bool readOnly)
    {
        return ::mount(nullptr, m_path.toLocal8Bit().constData(), nullptr, MS_REMOUNT | (readOnly ? MS_RDONLY : 0),
                       nullptr)
               == 0;
    }

    // Writes a filler file until the file system is full: what another program filling the
    // disk does. The bytes written.
    long long fill()
    {
        const int fd = ::open(filler().toLocal8Bit().constData(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            return -1;
        static const char zeros[4096] = {};
        long long total = 0;
        ssize_t wrote;
        while ((wrote = ::write(fd, zeros, sizeof zeros)) > 0)
            total += wrote;
        ::close(fd);
        return total;
    }
    void freeSpace() { QFile::remove(filler()); }

private:
    QString filler() const { return m_path + "/filler"; }

    QString m_path;
    bool m_mounted = false;
    std::string m_error;
};

// For tests that mount: exit 77 (CTest's SKIP_RETURN_CODE) with the reason when this
// process cannot mount a tmpfs (not root, or no CAP_SYS_ADMIN in a container).
inline int skipUnlessCanMount()
{
    if (::geteuid() != 0) {
        std::printf("SKIPPED: mounting a tmpfs needs root\n");
        return 77;
    }
    QTemporaryDir dir;
    Tmpfs probe(dir.path() + "/probe", "64k");
    if (!probe.mounted()) {
        std::printf("SKIPPED: cannot mount a tmpfs: %s\n", probe.error().c_str());
        return 77;
    }
    return 0;
}

} // namespace faults
