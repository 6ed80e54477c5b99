#include "charts/chart_export.h"

#include <qcustomplot.h>

#include <QFileInfo>
#include <QSvgGenerator>

namespace charts {

namespace {

bool saveSvg(QCustomPlot* plot, const QString& path, int width, int height)
{
    QSvgGenerator generator;
    generator.setFileName(path);
    generator.setSize(QSize(width, height));
    generator.setViewBox(QRect(0, 0, width, height));
    generator.setTitle(QStringLiteral("nnlab chart"));
    QCPPainter painter;
    if (!painter.begin(&generator))
        return false;
    plot->toPainter(&painter, width, height);
    return painter.end();
}

} // namespace

bool exportPlot(QCustomPlot* plot, const QString& path, QString* error, int width, int height)
{
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (width <= 0 || height <= 0) {
        width = plot->width();
        height = plot->height();
    }
    bool ok = false;
    if (suffix == QLatin1String("png")) {
        ok = plot->savePng(path, width, height, 2.0);
    } else if (suffix == QLatin1String("svg")) {
        ok = saveSvg(plot, path, width, height);
    } else if (suffix == QLatin1String("pdf")) {
        ok = plot->savePdf(path, width, height);
    } else {
        if (error)
            *error = QObject::tr("%1: unknown image type \"%2\" (use .png, .svg or .pdf)").arg(path, suffix);
        return false;
    }
    // QSvgGenerator and QPdfWriter report nothing on a failed write: check the file.
    if (ok && QFileInfo(path).size() <= 0)
        ok = false;
    if (!ok && error)
        *error = QObject::tr("%1: could not write the file").arg(path);
    return ok;
}

QString exportFileFilter()
{
    return QObject::tr("PNG image (*.png);;SVG drawing (*.svg);;PDF document (*.pdf)");
}

} // namespace charts
