// A grid of sample images with their class names under them: the data preview of image sets.
// Pixels are scaled up without smoothing so small images (28x28) stay crisp.
#pragma once

#include <QColor>
#include <QImage>
#include <QVector>
#include <QWidget>

// One planar sample ([C, H, W] floats, C = 1 or 3) as an image: each value times `scale`,
// rounded and clamped to 0..255.
QImage planarImage(const float* sample, int channels, int height, int width, float scale = 1.0f);

class ImageGrid : public QWidget {
    Q_OBJECT
public:
    struct Sample {
        QImage image;
        QString label;
    };

    explicit ImageGrid(QWidget* parent = nullptr);

    void setSamples(QVector<Sample> samples);
    int sampleCount() const { return m_samples.size(); }
    const QVector<Sample>& samples() const { return m_samples; }
    void setColumns(int columns);

    bool hasHeightForWidth() const override { return true; }
    int heightForWidth(int width) const override;
    QSize sizeHint() const override;

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    int cellSize(int width) const;
    int labelHeight() const;

    QVector<Sample> m_samples;
    int m_columns = 8;
};
