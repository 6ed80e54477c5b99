#include "data_panel.h"

#include "editor_util.h"
#include "form_binder.h"
#include "image_grid.h"

#include "nnlab/data.h"

#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QSplitter>
#include <QStackedWidget>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>

#include <qcustomplot.h>

#include <algorithm>
#include <limits>

namespace {

constexpr int kDebounceMs = 300;
// The preview's parts may shrink to this many pixels (plot, image grid, table) and class
// rows, so that at the default window size the settings above keep their natural height.
constexpr int kPreviewMinHeight = 80;
constexpr int kCountsMinRows = 2;

bool isToy(const std::string& s)
{
    return s == "spiral" || s == "moons" || s == "circles" || s == "xor" || s == "blobs";
}

} // namespace

DataPanel::DataPanel(ExperimentDocument* doc, QWidget* parent)
    : QWidget(parent), m_doc(doc), m_loader(new PreviewLoader(this)), m_debounce(new QTimer(this)),
      m_status(new QLabel(this)), m_stack(new QStackedWidget(this)), m_message(new QLabel(this)),
      m_images(new ImageGrid(this)), m_scatter(new QCustomPlot(this)), m_table(new QTableWidget(this)),
      m_counts(new QTableWidget(this))
{
    auto* formHost = new QWidget(this);
    buildForm(formHost);
    auto* formScroll = new QScrollArea(this);
    formScroll->setWidget(formHost);
    formScroll->setWidgetResizable(true);
    formScroll->setFrameShape(QFrame::NoFrame);

    m_status->setObjectName(QStringLiteral("previewStatus"));
    m_status->setWordWrap(true);
    m_message->setObjectName(QStringLiteral("previewError"));
    m_message->setWordWrap(true);
    m_message->setAlignment(Qt::AlignCenter);
    m_message->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_scatter->setObjectName(QStringLiteral("scatter"));
    m_scatter->setMinimumHeight(kPreviewMinHeight);
    m_scatter->legend->setVisible(true);
    m_scatter->legend->setFont(font());
    m_scatter->xAxis->setLabel(QStringLiteral("x1"));
    m_scatter->yAxis->setLabel(QStringLiteral("x2"));
    m_table->setObjectName(QStringLiteral("previewTable"));
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 4);
    auto* imageScroll = new QScrollArea(this);
    imageScroll->setWidget(m_images);
    imageScroll->setWidgetResizable(true);
    imageScroll->setFrameShape(QFrame::NoFrame);
    m_stack->addWidget(m_message);
    m_stack->addWidget(imageScroll);
    m_stack->addWidget(m_scatter);
    m_stack->addWidget(m_table);

    m_counts->setObjectName(QStringLiteral("classCounts"));
    m_counts->setColumnCount(4);
    m_counts->setHorizontalHeaderLabels({tr("Class"), tr("Train"), tr("Validation"), tr("Test")});
    m_counts->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_counts->verticalHeader()->hide();
    m_counts->verticalHeader()->setDefaultSectionSize(m_counts->fontMetrics().height() + 4);
    m_counts->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);

    auto* preview = new QGroupBox(tr("Preview"), this);
    auto* previewLayout = new QVBoxLayout(preview);
    previewLayout->setContentsMargins(4, 4, 4, 4);
    previewLayout->setSpacing(4);
    previewLayout->addWidget(m_status);
    previewLayout->addWidget(m_stack, 3);
    previewLayout->addWidget(m_counts, 1);

    auto* splitter = new QSplitter(Qt::Vertical, this);
    m_splitter = splitter;
    m_formHost = formHost;
    connect(splitter, &QSplitter::splitterMoved, this, [this] { m_userSplit = true; });
    splitter->addWidget(formScroll);
    splitter->addWidget(preview);
    // The form keeps its natural height (it scrolls only when the panel is too short for it
    // and a small preview); the preview takes the rest.
    splitter->setStretchFactor(0, 0);
    splitter->setStretchFactor(1, 1);
    splitter->setChildrenCollapsible(false);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(splitter);

    m_debounce->setSingleShot(true);
    m_debounce->setInterval(kDebounceMs);
    connect(m_debounce, &QTimer::timeout, this, &DataPanel::refreshPreview);
    connect(m_loader, &PreviewLoader::finished, this, &DataPanel::showPreview);
    connect(m_doc, &ExperimentDocument::specChanged, this, &DataPanel::refresh);
    refresh();
}

void DataPanel::buildForm(QWidget* host)
{
    auto* layout = new QVBoxLayout(host);
    layout->setContentsMargins(0, 0, 0, 0);
    auto* form = new QFormLayout;
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    layout->addLayout(form);
    layout->addStretch(1);
    m_binder = new FormBinder(m_doc, form, this);
    using S = nnlab::ExperimentSpec;

    m_binder->addChoice(
        tr("Source"), "data.source",
        {"spiral", "moons", "circles", "xor", "blobs", "fashion-mnist", "idx", "cifar10", "csv"},
        tr("Where the samples come from: a generated 2-D set, an image set or a CSV file"),
        [](const S& s) { return s.data.source; },
        [](S& s, std::string v) {
            s.data.source = v;
            // The built-in sources fix the sample shape; the model's input follows in the same
            // step. For files (csv, idx) it is left to the data.
            s.model.input = nnlab::knownSampleShape(s.data);
        });
    m_binder->addInt(tr("Samples"), "data.samples", 10, 10000000, tr("Number of generated points"),
                     [](const S& s) { return s.data.samples; }, [](S& s, int64_t v) { s.data.samples = v; });
    m_binder->addInt(tr("Classes"), "data.classes", 2, 10, tr("Number of classes (spiral arms, blobs)"),
                     [](const S& s) { return s.data.classes; }, [](S& s, int64_t v) { s.data.classes = v; });
    m_binder->addDecimal(tr("Noise"), "data.noise", 0, 2, 0.05, 2, tr("Noise added to the generated points; 0 gives the clean shape"),
                         [](const S& s) { return s.data.noise; }, [](S& s, double v) { s.data.noise = v; });

    auto* browsePath = new QPushButton(tr("Browse…"), host);
    QLineEdit* path = m_binder->addText(
        tr("Path"), "data.path", tr("Folder of the image files, or the training CSV file"),
        [](const S& s) { return s.data.path; }, [](S& s, std::string v) { s.data.path = std::move(v); }, browsePath);
    path->setClearButtonEnabled(true);
    connect(browsePath, &QPushButton::clicked, this, [this] { browse(m_doc->spec().data.source != "csv", "data.path"); });
    auto* browseTest = new QPushButton(tr("Browse…"), host);
    m_binder->addText(tr("Test file"), "data.test_path", tr("Optional CSV file with the test split"),
                      [](const S& s) { return s.data.testPath; }, [](S& s, std::string v) { s.data.testPath = std::move(v); },
                      browseTest);
    connect(browseTest, &QPushButton::clicked, this, [this] { browse(false, "data.test_path"); });
    QLineEdit* label = m_binder->addText(
        tr("Label column"), "data.label_column", tr("Column name or 0-based index of the label; empty means the last column"),
        [](const S& s) { return s.data.labelColumn; }, [](S& s, std::string v) { s.data.labelColumn = std::move(v); });
    label->setPlaceholderText(tr("last column"));
    m_binder->addChoice(tr("Header"), "data.header", {"auto", "yes", "no"},
                        tr("Whether the first row names the columns; auto guesses from its values"),
                        [](const S& s) { return s.data.header; }, [](S& s, std::string v) { s.data.header = v; });
    QLineEdit* delimiter = m_binder->addText(
        tr("Delimiter"), "data.delimiter", tr("One character between fields, or \"tab\""),
        [](const S& s) { return s.data.delimiter; }, [](S& s, std::string v) { s.data.delimiter = std::move(v); });
    delimiter->setMaximumWidth(80);
    QSpinBox* skipRows = m_binder->addInt(
        tr("Skip rows"), "data.skip_rows", 0, std::numeric_limits<int>::max(),
        tr("Lines skipped at the top of the file, before the header or data (a title, metadata)"),
        [](const S& s) { return s.data.skipRows; }, [](S& s, int64_t v) { s.data.skipRows = v; });
    skipRows->setMaximumWidth(120);
    QLineEdit* comment = m_binder->addText(
        tr("Comment prefix"), "data.comment", tr("Lines that start with this text (such as #) are skipped wherever they are"),
        [](const S& s) { return s.data.comment; }, [](S& s, std::string v) { s.data.comment = std::move(v); });
    comment->setPlaceholderText(tr("none"));
    comment->setMaximumWidth(120);

    QSpinBox* limit = m_binder->addInt(
        tr("Train limit"), "data.train_limit", 0, std::numeric_limits<int>::max(),
        tr("Use at most this many training samples (before the validation split); 0 uses all"),
        [](const S& s) { return s.data.trainLimit; }, [](S& s, int64_t v) { s.data.trainLimit = v; });
    limit->setSpecialValueText(tr("all"));
    limit->setSingleStep(1000);
    m_binder->addDecimal(tr("Validation fraction"), "data.validation_fraction", 0, 0.9, 0.05, 3,
                         tr("Share of the training samples held out for validation"),
                         [](const S& s) { return s.data.validationFraction; },
                         [](S& s, double v) { s.data.validationFraction = v; });
    m_binder->addChoice(tr("Normalize"), "data.normalize", {"auto", "none", "standardize", "scale"},
                        tr("Input scaling with training-set statistics: auto scales and standardizes images "
                           "and tables and leaves the 2-D sets as they are"),
                        [](const S& s) { return s.data.normalize; }, [](S& s, std::string v) { s.data.normalize = v; });
    m_binder->addBool(tr("Shuffle"), "data.shuffle", tr("Shuffle the training samples every epoch"),
                      [](const S& s) { return s.data.shuffle; }, [](S& s, bool v) { s.data.shuffle = v; });
}

void DataPanel::browse(bool folder, const std::string& pathKey)
{
    auto* edit = qobject_cast<QLineEdit*>(m_binder->editor(pathKey));
    const QString start = edit->text().isEmpty() ? QString::fromStdString(nnlab::defaultFashionMnistPath()) : edit->text();
    const QString chosen = folder ? QFileDialog::getExistingDirectory(this, tr("Data folder"), start)
                                  : QFileDialog::getOpenFileName(this, tr("CSV file"), start,
                                                                 tr("CSV files (*.csv *.csv.gz *.tsv *.txt);;All files (*)"));
    if (!chosen.isEmpty())
        edit->setText(chosen);   // the binder records it as an edit
}

void DataPanel::fitFormHeight()
{
    // The form as tall as its visible rows (a scroll area would ask for far more), so every
    // setting stays readable; the preview gets the rest, at least its minimum (which is kept
    // small for that), and the form scrolls only below that.
    const int total = m_splitter->height() - m_splitter->handleWidth();
    if (total <= 0)
        return;
    const int previewMin = m_splitter->widget(1)->minimumSizeHint().height();
    const int form = std::max(0, std::min(m_formHost->sizeHint().height() + 4, total - previewMin));
    m_splitter->setSizes({form, total - form});
}

void DataPanel::resizeEvent(QResizeEvent* event)
{
    QWidget::resizeEvent(event);
    if (!m_userSplit)
        fitFormHeight();
}

void DataPanel::updateVisibility()
{
    const std::string& source = m_doc->spec().data.source;
    const bool sourceChanged = source != m_shownSource;
    m_shownSource = source;
    const bool toy = isToy(source), csv = source == "csv";
    m_binder->setRowVisible("data.samples", toy);
    m_binder->setRowVisible("data.noise", toy);
    m_binder->setRowVisible("data.classes", source == "spiral" || source == "blobs");
    m_binder->setRowVisible("data.path", !toy);
    for (const char* key : {"data.test_path", "data.label_column", "data.header", "data.delimiter", "data.skip_rows",
                            "data.comment"})
        m_binder->setRowVisible(key, csv);
    if (auto* path = qobject_cast<QLineEdit*>(m_binder->editor("data.path")))
        path->setPlaceholderText(source == "fashion-mnist" ? QString::fromStdString(nnlab::defaultFashionMnistPath())
                                                           : tr("required"));
    if (sourceChanged) {
        m_userSplit = false;   // other rows now: the old split no longer fits them
        fitFormHeight();
    }
}

void DataPanel::refresh()
{
    m_binder->refresh();
    updateVisibility();
    if (previewKey() == m_requestedKey)
        return;
    if (isVisible())
        m_debounce->start();   // else showEvent loads it
}

void DataPanel::showEvent(QShowEvent* event)
{
    QWidget::showEvent(event);
    if (previewKey() != m_requestedKey)
        m_debounce->start(0);
}

std::string DataPanel::previewKey() const
{
    // Everything the preview depends on; the seed drives generation and the split.
    const nnlab::ExperimentSpec& s = m_doc->spec();
    const nnlab::DataSpec& d = s.data;
    return d.source + '\n' + d.path + '\n' + d.testPath + '\n' + std::to_string(d.samples) + '\n'
           + std::to_string(d.classes) + '\n' + std::to_string(d.noise) + '\n' + std::to_string(d.trainLimit) + '\n'
           + std::to_string(d.validationFraction) + '\n' + d.labelColumn + '\n' + d.header + '\n' + d.delimiter + '\n'
           + std::to_string(d.skipRows) + '\n' + d.comment + '\n' + std::to_string(s.seed) + '\n' + (s.isClassification() ? "c" : "r");
}

void DataPanel::refreshPreview()
{
    m_debounce->stop();
    m_requestedKey = previewKey();
    m_status->setText(tr("Loading %1…").arg(QString::fromStdString(m_doc->spec().data.source)));
    const nnlab::ExperimentSpec& s = m_doc->spec();
    m_loader->request(s.data, s.isClassification(), s.seed);
}

bool DataPanel::isPreviewLoading() const { return m_loader->isBusy() || m_debounce->isActive(); }

QString DataPanel::previewError() const { return m_preview.error; }

void DataPanel::showPreview(const DataPreview& preview)
{
    if (m_requestedKey != previewKey())
        return;   // the data changed while it loaded (hidden meanwhile); the next load replaces it
    m_preview = preview;
    if (preview.error.isEmpty()) {
        // The model's shapes that wait for the data can be shown now.
        const nnlab::ExperimentSpec& s = m_doc->spec();
        m_doc->setLoadedData(s.data, s.isClassification(), preview.sampleShape, preview.numClasses, preview.targetDim);
    }
    if (!preview.error.isEmpty()) {
        m_status->setText(tr("Could not load the data"));
        m_message->setText(preview.error);
        m_message->setStyleSheet(QStringLiteral("color: #c0392b;"));
        m_stack->setCurrentWidget(m_message);
        m_counts->setRowCount(0);
        m_counts->hide();
        emit trainSampleCountChanged(-1);
        emit previewUpdated();
        return;
    }
    QString status = preview.description;
    if (preview.pointsOmitted > 0) {
        const qint64 total = preview.trainCount + preview.validationCount;
        status += tr(" (the plot shows %1 of %2 points)").arg(total - preview.pointsOmitted).arg(total);
    }
    m_status->setText(status);
    m_message->setStyleSheet(QString());

    m_scatter->clearGraphs();
    switch (preview.kind) {
    case DataPreview::Kind::Images: {
        QVector<ImageGrid::Sample> samples;
        for (int i = 0; i < preview.images.size(); ++i) {
            const int cls = preview.imageLabels.value(i, -1);
            samples.push_back({preview.images[i], cls >= 0 ? preview.classNames.value(cls, QString::number(cls)) : QString()});
        }
        m_images->setSamples(samples);
        m_stack->setCurrentIndex(1);
        break;
    }
    case DataPreview::Kind::Points:
        for (int c = 0; c < preview.xs.size(); ++c) {
            QCPGraph* graph = m_scatter->addGraph();
            graph->setLineStyle(QCPGraph::lsNone);
            graph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, editor::classColor(c), 4));
            graph->setName(preview.classNames.isEmpty() ? tr("samples") : tr("class %1").arg(preview.classNames.value(c)));
            graph->setData(preview.xs[c], preview.ys[c]);
        }
        m_scatter->rescaleAxes();
        // A little room around the outermost points, which would otherwise sit on the axes.
        m_scatter->xAxis->scaleRange(1.08);
        m_scatter->yAxis->scaleRange(1.08);
        m_scatter->replot(QCustomPlot::rpQueuedReplot);
        m_stack->setCurrentWidget(m_scatter);
        break;
    case DataPreview::Kind::Table:
        m_table->clear();
        m_table->setColumnCount(preview.columns.size());
        m_table->setHorizontalHeaderLabels(preview.columns);
        m_table->setRowCount(preview.rows.size());
        for (int r = 0; r < preview.rows.size(); ++r)
            for (int c = 0; c < preview.rows[r].size(); ++c)
                m_table->setItem(r, c, new QTableWidgetItem(preview.rows[r][c]));
        m_table->resizeColumnsToContents();
        m_stack->setCurrentWidget(m_table);
        break;
    case DataPreview::Kind::None:
        m_message->setText(tr("No preview for this source."));
        m_stack->setCurrentWidget(m_message);
        break;
    }
    showCounts(preview);
    emit trainSampleCountChanged(preview.trainCount);
    emit previewUpdated();
}

void DataPanel::showCounts(const DataPreview& preview)
{
    const int classes = preview.trainCounts.size();
    m_counts->setVisible(classes > 0);
    m_counts->setRowCount(classes);
    for (int c = 0; c < classes; ++c) {
        auto* name = new QTableWidgetItem(preview.classNames.value(c, QString::number(c)));
        if (preview.kind == DataPreview::Kind::Points)
            name->setForeground(editor::classColor(c));   // matches the scatter
        m_counts->setItem(c, 0, name);
        const qint64 values[3] = {preview.trainCounts.value(c), preview.validationCounts.value(c), preview.testCounts.value(c)};
        for (int k = 0; k < 3; ++k) {
            auto* item = new QTableWidgetItem(editor::formatCount(values[k]));
            item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
            m_counts->setItem(c, k + 1, item);
        }
    }
    m_counts->resizeColumnsToContents();
    m_counts->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
    // As tall as its rows (up to ten classes show without scrolling) and no blank space below
    // when there is room; it scrolls, down to two rows, when the panel is short.
    const int rowHeight = m_counts->verticalHeader()->defaultSectionSize();
    const int frame = m_counts->horizontalHeader()->sizeHint().height() + 2 * m_counts->frameWidth();
    m_counts->setMaximumHeight(frame + std::min(classes, 10) * rowHeight);
    m_counts->setMinimumHeight(frame + std::min(classes, kCountsMinRows) * rowHeight);
    if (!m_userSplit)
        fitFormHeight();   // the preview's minimum changed with the class count
}
