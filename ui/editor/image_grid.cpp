#include "image_grid.h"

#include <QPainter>

#include <algorithm>
#include <cmath>

namespace {
constexpr int kSpacing = 6;
constexpr int kMinCell = 36;
constexpr int kMaxCell = 96;
} // namespace

QImage planarImage(const float* sample, int channels, int height, int width, float scale)
{
    const size_t plane = static_cast<size_t>(height) * static_cast<size_t>(width);
    auto byte = [scale](float v) { return static_cast<uchar>(std::clamp(std::lround(v * scale), 0L, 255L)); };
    const bool rgb = channels == 3;
    QImage image(width, height, rgb ? QImage::Format_RGB888 : QImage::Format_Grayscale8);
    for (int y = 0; y < height; ++y) {
        uchar* line = image.scanLine(y);
        for (int x = 0; x < width; ++x) {
            const size_t at = static_cast<size_t>(y) * static_cast<size_t>(width) + static_cast<size_t>(x);
            if (rgb)
                for (int c = 0; c < 3; ++c)
                    line[3 * x + c] = byte(sample[static_cast<size_t>(c) * plane + at]);
            else
                line[x] = byte(sample[at]);
        }
    }
    return image;
}

ImageGrid::ImageGrid(QWidget* parent) : QWidget(parent)
{
    QSizePolicy policy(QSizePolicy::Preferred, QSizePolicy::Preferred);
    policy.setHeightForWidth(true);
    setSizePolicy(policy);
}

void ImageGrid::setSamples(QVector<Sample> samples)
{
    m_samples = std::move(samples);
    updateGeometry();
    update();
}

void ImageGrid::setColumns(int columns)
{
    m_columns = std::max(1, columns);
    updateGeometry();
    update();
}

int ImageGrid::cellSize(int width) const
{
    return std::clamp((width - kSpacing * (m_columns + 1)) / m_columns, kMinCell, kMaxCell);
}

int ImageGrid::labelHeight() const
{
    QFont small = font();
    small.setPointSizeF(font().pointSizeF() * 0.85);
    return QFontMetrics(small).height() + 2;
}

int ImageGrid::heightForWidth(int width) const
{
    const int rows = (m_samples.size() + m_columns - 1) / m_columns;
    return rows * (cellSize(width) + labelHeight() + kSpacing) + kSpacing;
}

QSize ImageGrid::sizeHint() const
{
    const int width = m_columns * (64 + kSpacing) + kSpacing;
    return {width, heightForWidth(width)};
}

void ImageGrid::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    p.setRenderHint(QPainter::SmoothPixmapTransform, false);
    QFont small = font();
    small.setPointSizeF(font().pointSizeF() * 0.85);
    p.setFont(small);
    const QFontMetrics metrics(small);
    const int cell = cellSize(width());
    const int gridWidth = m_columns * cell + (m_columns - 1) * kSpacing;
    const int left = std::max(kSpacing, (width() - gridWidth) / 2);
    for (int i = 0; i < m_samples.size(); ++i) {
        const int row = i / m_columns, column = i % m_columns;
        const QRect target(left + column * (cell + kSpacing), kSpacing + row * (cell + labelHeight() + kSpacing), cell, cell);
        const QImage& image = m_samples[i].image;
        // Keep the aspect ratio inside the square cell.
        QSize size = image.size().scaled(target.size(), Qt::KeepAspectRatio);
        const QRect drawn(target.center() - QPoint(size.width() / 2, size.height() / 2), size);
        p.drawImage(drawn, image);
        p.setPen(palette().color(QPalette::Mid));
        p.drawRect(drawn.adjusted(0, 0, -1, -1));
        p.setPen(palette().color(QPalette::Text));
        const QRect label(target.left() - kSpacing / 2, target.bottom() + 1, cell + kSpacing, labelHeight());
        p.drawText(label, Qt::AlignHCenter | Qt::AlignTop, metrics.elidedText(m_samples[i].label, Qt::ElideRight, label.width()));
    }
}
