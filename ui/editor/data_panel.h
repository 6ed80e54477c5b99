// The data panel: the data source and the options that apply to it, and a preview of what it
// loads (sample images with labels, a 2-D scatter coloured by class, a table's first rows,
// class counts). The preview loads on a worker thread while the panel is visible, a moment
// after the last edit; a stale result is never shown, and a load error takes its place.
#pragma once

#include "core/experiment_document.h"
#include "data_preview.h"

#include <QWidget>

class FormBinder;
class ImageGrid;
class QCustomPlot;
class QLabel;
class QSplitter;
class QStackedWidget;
class QTableWidget;
class QTimer;

class DataPanel : public QWidget {
    Q_OBJECT
public:
    explicit DataPanel(ExperimentDocument* doc, QWidget* parent = nullptr);

    // The preview's parts, for tests and for a main window that wants to reuse them.
    QCustomPlot* scatterPlot() const { return m_scatter; }
    ImageGrid* imageGrid() const { return m_images; }
    QTableWidget* previewTable() const { return m_table; }
    QTableWidget* classCountsTable() const { return m_counts; }
    QString previewError() const;               // the load error shown, or empty
    bool isPreviewLoading() const;
    const DataPreview& currentPreview() const { return m_preview; }

public slots:
    // Loads the preview now instead of after the debounce (and even while hidden).
    void refreshPreview();

signals:
    void previewUpdated();                      // a new preview or error is on screen
    // Training samples of the previewed data (after train_limit and the validation split),
    // so the schedule preview can count steps exactly; -1 when loading failed.
    void trainSampleCountChanged(qint64 count);

protected:
    void showEvent(QShowEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;

private:
    void buildForm(QWidget* host);
    void refresh();
    void updateVisibility();
    void fitFormHeight();
    void browse(bool folder, const std::string& path);
    void showPreview(const DataPreview& preview);
    void showCounts(const DataPreview& preview);
    std::string previewKey() const;

    ExperimentDocument* m_doc;
    FormBinder* m_binder = nullptr;
    PreviewLoader* m_loader;
    QTimer* m_debounce;
    std::string m_requestedKey;   // what the preview shows or is loading
    DataPreview m_preview;

    QSplitter* m_splitter = nullptr;
    QWidget* m_formHost = nullptr;
    std::string m_shownSource;    // the source the visible rows were chosen for
    bool m_userSplit = false;     // the user moved the form/preview divider
    QLabel* m_status;
    QStackedWidget* m_stack;
    QLabel* m_message;
    ImageGrid* m_images;
    QCustomPlot* m_scatter;
    QTableWidget* m_table;
    QTableWidget* m_counts;
};
