// Writes a chart to a file: PNG, SVG or PDF, chosen by the file's suffix.
#pragma once

#include <QString>

class QCustomPlot;

namespace charts {

// width/height 0: the plot's current size. Returns false with a message in *error.
bool exportPlot(QCustomPlot* plot, const QString& path, QString* error, int width = 0, int height = 0);

// "PNG image (*.png);;SVG drawing (*.svg);;PDF document (*.pdf)"
QString exportFileFilter();

} // namespace charts
