#include "core/cli_path.h"

#include <QCoreApplication>
#include <QFileInfo>
#include <QStringList>

QString nnlabCliPath()
{
    const QString fromEnv = qEnvironmentVariable("NNLAB_CLI");
    if (!fromEnv.isEmpty())
        return fromEnv;
    const QString dir = QCoreApplication::applicationDirPath();
    for (const QString& candidate : QStringList{dir + "/nnlab-cli", dir + "/../cli/nnlab-cli", dir + "/../app/cli/nnlab-cli"})
        if (QFileInfo(candidate).isExecutable())
            return QFileInfo(candidate).canonicalFilePath();
    return QStringLiteral("nnlab-cli");
}
