#include "compress/compress_dialog.h"

#include "compress/background_task.h"

#include "nnlab/experiment.h"
#include "nnlab/spec_json.h"
#include "nnlab/store.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QStackedWidget>
#include <QTreeWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <climits>
#include <cmath>

namespace {

enum Column { JobColumn, StateColumn, ProgressColumn, DetailColumn };

// A number typed in `edit`; "50%" reads as 0.5. Adds "<field>: ..." to problems when it is
// not a number or outside [min, max] (maxOpen: max itself excluded).
std::optional<double> readNumber(const QLineEdit* edit, const QString& field, double min, double max, bool maxOpen,
                                 QStringList* problems)
{
    QString text = edit->text().trimmed();
    double scale = 1.0;
    if (text.endsWith(QLatin1Char('%'))) {
        text.chop(1);
        scale = 0.01;
    }
    bool ok = false;
    const double value = text.toDouble(&ok) * scale;
    if (!ok || !std::isfinite(value)) {
        problems->append(QObject::tr("%1: \"%2\" is not a number").arg(field, edit->text()));
        return std::nullopt;
    }
    if (value < min || value > max || (maxOpen && value == max)) {
        problems->append(QObject::tr("%1: must be in [%2, %3%4, got %5")
                             .arg(field)
                             .arg(min)
                             .arg(max)
                             .arg(maxOpen ? QStringLiteral(")") : QStringLiteral("]"))
                             .arg(value));
        return std::nullopt;
    }
    return value;
}

std::optional<int64_t> readInteger(const QLineEdit* edit, const QString& field, int64_t min, int64_t max,
                                   QStringList* problems)
{
    bool ok = false;
    const qlonglong value = edit->text().trimmed().toLongLong(&ok);
    if (!ok) {
        problems->append(QObject::tr("%1: \"%2\" is not a whole number").arg(field, edit->text()));
        return std::nullopt;
    }
    if (value < min || value > max) {
        problems->append(QObject::tr("%1: must be from %2 to %3, got %4").arg(field).arg(min).arg(max).arg(value));
        return std::nullopt;
    }
    return value;
}

QString stateText(CompressDialog::JobState state)
{
    switch (state) {
    case CompressDialog::JobState::Queued: return QObject::tr("queued");
    case CompressDialog::JobState::Running: return QObject::tr("running");
    case CompressDialog::JobState::Finished: return QObject::tr("finished");
    case CompressDialog::JobState::Failed: return QObject::tr("failed");
    case CompressDialog::JobState::Cancelled: return QObject::tr("cancelled");
    }
    return {};
}

QLineEdit* numberField(const QString& name, const QString& value, const QString& tip)
{
    auto* edit = new QLineEdit(value);
    edit->setObjectName(name);
    edit->setToolTip(tip);
    edit->setMaximumWidth(110);
    return edit;
}

} // namespace

CompressDialog::CompressDialog(const QString& databasePath, const QString& runId, const QString& runName,
                               QWidget* parent)
    : QDialog(parent), m_databasePath(databasePath), m_runId(runId), m_task(new BackgroundTask(this))
{
    qRegisterMetaType<CompressJobOutcome>();
    setObjectName(QStringLiteral("compressDialog"));
    setWindowTitle(tr("Compress %1").arg(runName.isEmpty() ? runId : runName));
    resize(760, 620);

    auto* intro = new QLabel(tr("Each job makes a real, smaller or faster model from run <b>%1</b> (%2) and records it "
                                "as a new run whose parent is this one, with accuracy, size on disk and latency measured "
                                "beside the parent's. Jobs run one after another.")
                                 .arg(runName.toHtmlEscaped(), runId));
    intro->setWordWrap(true);

    m_method = new QComboBox;
    m_method->setObjectName(QStringLiteral("method"));
    m_method->addItem(tr("Prune"));
    m_method->addItem(tr("Quantize (int8)"));
    m_method->addItem(tr("Distill into a student"));
    m_pages = new QStackedWidget;
    m_pages->addWidget(buildPrunePage());
    m_pages->addWidget(buildQuantizePage());
    m_pages->addWidget(buildDistillPage());
    m_runName = new QLineEdit;
    m_runName->setObjectName(QStringLiteral("runName"));
    m_runName->setPlaceholderText(tr("default: \"<run name> <method>\""));

    auto* top = new QFormLayout;
    top->addRow(tr("Method"), m_method);
    auto* form = new QVBoxLayout;
    form->addLayout(top);
    form->addWidget(m_pages);
    auto* nameRow = new QFormLayout;
    nameRow->addRow(tr("New run's name"), m_runName);
    form->addLayout(nameRow);

    m_problems = new QLabel;
    m_problems->setObjectName(QStringLiteral("problems"));
    m_problems->setWordWrap(true);
    m_problems->setStyleSheet(QStringLiteral("color: #b00020;"));
    m_add = new QPushButton(tr("&Add to queue"));
    m_add->setObjectName(QStringLiteral("addJob"));
    m_add->setAutoDefault(false);
    auto* addRow = new QHBoxLayout;
    addRow->addWidget(m_problems, 1);
    addRow->addWidget(m_add, 0, Qt::AlignTop);

    m_queue = new QTreeWidget;
    m_queue->setObjectName(QStringLiteral("queue"));
    m_queue->setRootIsDecorated(false);
    m_queue->setHeaderLabels({tr("Job"), tr("State"), tr("Progress"), tr("Stage, ETA or result")});
    m_queue->header()->setSectionResizeMode(JobColumn, QHeaderView::Interactive);
    m_queue->setColumnWidth(JobColumn, 260);
    m_queue->setColumnWidth(StateColumn, 80);
    m_queue->setColumnWidth(ProgressColumn, 130);
    m_cancelJob = new QPushButton(tr("Cancel job"));
    m_cancelJob->setObjectName(QStringLiteral("cancelJob"));
    m_cancelAll = new QPushButton(tr("Cancel all"));
    m_cancelAll->setObjectName(QStringLiteral("cancelAll"));
    for (QPushButton* b : {m_cancelJob, m_cancelAll})
        b->setAutoDefault(false);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
    buttons->addButton(m_cancelJob, QDialogButtonBox::ActionRole);
    buttons->addButton(m_cancelAll, QDialogButtonBox::ActionRole);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(intro);
    layout->addLayout(form);
    layout->addLayout(addRow);
    layout->addWidget(new QLabel(tr("Jobs")));
    layout->addWidget(m_queue, 1);
    layout->addWidget(buttons);

    connect(m_method, &QComboBox::currentIndexChanged, m_pages, &QStackedWidget::setCurrentIndex);
    connect(m_method, &QComboBox::currentIndexChanged, this, &CompressDialog::updateForm);
    connect(m_runName, &QLineEdit::textChanged, this, &CompressDialog::updateForm);
    connect(m_add, &QPushButton::clicked, this, &CompressDialog::addJob);
    connect(m_cancelJob, &QPushButton::clicked, this, [this] {
        if (QTreeWidgetItem* item = m_queue->currentItem())
            cancelJob(m_queue->indexOfTopLevelItem(item));
    });
    connect(m_cancelAll, &QPushButton::clicked, this, &CompressDialog::cancelAll);
    connect(buttons, &QDialogButtonBox::rejected, this, &CompressDialog::reject);
    connect(m_queue, &QTreeWidget::currentItemChanged, this, &CompressDialog::updateForm);
    connect(m_task, &BackgroundTask::progress, this, &CompressDialog::onProgress);
    connect(m_task, &BackgroundTask::finished, this, [this](const QVariant& result) {
        const auto outcome = result.value<CompressJobOutcome>();
        endJob(JobState::Finished, outcome.summary, outcome.runId);
    });
    connect(m_task, &BackgroundTask::cancelled, this, [this] { endJob(JobState::Cancelled, tr("Cancelled")); });
    connect(m_task, &BackgroundTask::failed, this, [this](const QString& message) { endJob(JobState::Failed, message); });

    // The teacher, for checking a student's fit as its file is chosen. Reading the record only.
    try {
        auto store = nnlab::RunStore::open(databasePath.toStdString(), nnlab::StoreOptions{true, 5000});
        if (store.ok())
            m_teacher = nnlab::describeTeacher(*store.value, runId.toStdString());
        else
            m_teacherProblem = QString::fromStdString(store.error.message);
    } catch (const std::exception& e) {
        m_teacherProblem = QString::fromUtf8(e.what());
    }
    updateForm();
}

CompressDialog::~CompressDialog() = default;   // m_task cancels and waits

QWidget* CompressDialog::buildPrunePage()
{
    const nnlab::PruneOptions defaults;
    auto* page = new QWidget;
    m_sparsity = numberField(QStringLiteral("sparsity"), QString::number(defaults.sparsity),
                             tr("Fraction removed, in [0, 1): of the weights (unstructured), or of each layer's filters "
                                "and output features (structured). \"50%\" works too."));
    m_structured = new QCheckBox(tr("Structured: remove whole filters and output features (a smaller model, faster)"));
    m_structured->setObjectName(QStringLiteral("structured"));
    m_global = new QCheckBox(tr("Global: one magnitude threshold over all layers"));
    m_global->setObjectName(QStringLiteral("global"));
    m_norm = new QComboBox;
    m_norm->setObjectName(QStringLiteral("norm"));
    m_norm->addItem(tr("L1 norm of each filter"));
    m_norm->addItem(tr("L2 norm of each filter"));
    m_finetune = numberField(QStringLiteral("finetuneEpochs"), QString::number(defaults.finetuneEpochs),
                             tr("Training epochs after pruning with the masks held; 0 = none"));
    m_schedule = new QComboBox;
    m_schedule->setObjectName(QStringLiteral("schedule"));
    m_schedule->addItem(tr("One-shot"));
    m_schedule->addItem(tr("Gradual (AGP: cubic ramp over fine-tuning)"));
    auto* form = new QFormLayout(page);
    form->addRow(tr("Sparsity"), m_sparsity);
    form->addRow(QString(), m_structured);
    form->addRow(QString(), m_global);
    form->addRow(tr("Filter ranking"), m_norm);
    form->addRow(tr("Fine-tuning epochs"), m_finetune);
    form->addRow(tr("Schedule"), m_schedule);
    for (QLineEdit* e : {m_sparsity, m_finetune})
        connect(e, &QLineEdit::textChanged, this, &CompressDialog::updateForm);
    for (QCheckBox* c : {m_structured, m_global})
        connect(c, &QCheckBox::toggled, this, &CompressDialog::updateForm);
    connect(m_schedule, &QComboBox::currentIndexChanged, this, &CompressDialog::updateForm);
    return page;
}

QWidget* CompressDialog::buildQuantizePage()
{
    const nnlab::QuantizeOptions defaults;
    auto* page = new QWidget;
    m_quantMode = new QComboBox;
    m_quantMode->setObjectName(QStringLiteral("quantMode"));
    m_quantMode->addItem(tr("Static: weights and activations in int8 (conv and linear)"));
    m_quantMode->addItem(tr("Dynamic: linear layers' weights in int8, activations per call"));
    m_engine = new QComboBox;
    m_engine->setObjectName(QStringLiteral("engine"));
    m_engine->addItems({tr("Auto (the best this CPU supports)"), QStringLiteral("oneDNN"), QStringLiteral("QNNPACK"),
                        QStringLiteral("FBGEMM")});
    m_perChannel = new QCheckBox(tr("Per-channel weight scales"));
    m_perChannel->setObjectName(QStringLiteral("perChannel"));
    m_fastest = new QCheckBox(tr("Keep the faster of int8 and float for each layer (measured)"));
    m_fastest->setObjectName(QStringLiteral("fastestPerLayer"));
    m_fastest->setChecked(defaults.fastestPerLayer);
    m_calibration = numberField(QStringLiteral("calibrationSamples"), QString::number(defaults.calibrationSamples),
                                tr("Training samples that set the activation ranges (static); at least 1"));
    m_maxDrop = numberField(QStringLiteral("maxDrop"), QString(),
                            tr("Accuracy-aware: keep the layers whose int8 costs most in float until the validation "
                               "accuracy drop is at most this many points. Empty = off."));
    m_maxDrop->setPlaceholderText(tr("off"));
    auto* form = new QFormLayout(page);
    form->addRow(tr("Mode"), m_quantMode);
    form->addRow(tr("Back end"), m_engine);
    form->addRow(QString(), m_perChannel);
    form->addRow(QString(), m_fastest);
    form->addRow(tr("Calibration samples"), m_calibration);
    form->addRow(tr("Max accuracy drop (points)"), m_maxDrop);
    for (QLineEdit* e : {m_calibration, m_maxDrop})
        connect(e, &QLineEdit::textChanged, this, &CompressDialog::updateForm);
    connect(m_quantMode, &QComboBox::currentIndexChanged, this, &CompressDialog::updateForm);
    return page;
}

QWidget* CompressDialog::buildDistillPage()
{
    const nnlab::DistillOptions defaults;
    auto* page = new QWidget;
    m_student = new QLineEdit;
    m_student->setObjectName(QStringLiteral("studentFile"));
    m_student->setPlaceholderText(tr("the student's experiment file (.json)"));
    auto* browse = new QPushButton(tr("Browse…"));
    browse->setAutoDefault(false);
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString file = QFileDialog::getOpenFileName(this, tr("Student experiment"), m_student->text(),
                                                          tr("Experiments (*.json)"));
        if (!file.isEmpty())
            m_student->setText(file);
    });
    auto* fileRow = new QHBoxLayout;
    fileRow->addWidget(m_student, 1);
    fileRow->addWidget(browse);
    m_alpha = numberField(QStringLiteral("alpha"), QString::number(defaults.alpha),
                          tr("Weight of the teacher's soft targets, [0, 1]; 0 = plain cross-entropy"));
    m_temperature = numberField(QStringLiteral("temperature"), QString::number(defaults.temperature),
                                tr("Softens both distributions; > 0"));
    auto* form = new QFormLayout(page);
    form->addRow(tr("Student"), fileRow);
    form->addRow(tr("Alpha"), m_alpha);
    form->addRow(tr("Temperature T"), m_temperature);
    auto* note = new QLabel(tr("The student trains as a run of its own (its curves stream like any run's), on "
                               "alpha · T² · KL(teacher/T ‖ student/T) + (1 − alpha) · cross-entropy."));
    note->setWordWrap(true);
    form->addRow(note);
    connect(m_student, &QLineEdit::textChanged, this, [this] {
        checkStudent();
        updateForm();
    });
    for (QLineEdit* e : {m_alpha, m_temperature})
        connect(e, &QLineEdit::textChanged, this, &CompressDialog::updateForm);
    return page;
}

void CompressDialog::checkStudent()
{
    m_studentProblem.clear();
    const QString file = m_student->text().trimmed();
    if (file.isEmpty())
        return;
    if (!QFileInfo(file).isFile()) {
        m_studentProblem = tr("Student: no file %1").arg(file);
        return;
    }
    const nnlab::ParseResult parsed = nnlab::loadExperimentFile(file.toStdString());
    if (!parsed.complete) {
        m_studentProblem = tr("Student %1: %2").arg(QFileInfo(file).fileName(), QString::fromStdString(parsed.errorText()));
        return;
    }
    const nnlab::Preparation prepared = nnlab::prepareExperiment(parsed);
    if (!prepared.ok()) {
        m_studentProblem = tr("Student %1: %2").arg(QFileInfo(file).fileName(), QString::fromStdString(prepared.errorText()));
        return;
    }
    if (m_teacher) {
        const std::string fit = nnlab::checkStudentFits(*m_teacher, prepared.experiment);
        if (!fit.empty())
            m_studentProblem = tr("Student: %1").arg(QString::fromStdString(fit));
    }
}

std::optional<CompressJob> CompressDialog::currentJob(QStringList* problemsOut) const
{
    QStringList problems;
    CompressJob job;
    job.sourceRunId = m_runId;
    job.databasePath = m_databasePath;
    job.runName = m_runName->text().trimmed();
    switch (m_method->currentIndex()) {
    case PrunePage: {
        nnlab::PruneOptions& p = job.request.prune;
        p.structured = m_structured->isChecked();
        job.request.method = p.structured ? nnlab::CompressMethod::PruneStructured : nnlab::CompressMethod::PruneUnstructured;
        if (auto v = readNumber(m_sparsity, tr("Sparsity"), 0.0, 1.0, true, &problems))
            p.sparsity = *v;
        p.global = !p.structured && m_global->isChecked();
        p.norm = m_norm->currentIndex() == 1 ? nnlab::PruneNorm::L2 : nnlab::PruneNorm::L1;
        if (auto v = readInteger(m_finetune, tr("Fine-tuning epochs"), 0, 1000, &problems))
            p.finetuneEpochs = *v;
        p.schedule = m_schedule->currentIndex() == 1 ? nnlab::PruneSchedule::Agp : nnlab::PruneSchedule::OneShot;
        if (p.schedule == nnlab::PruneSchedule::Agp && p.finetuneEpochs < 1)
            problems << tr("Schedule: AGP ramps the sparsity up over fine-tuning, so it needs at least 1 fine-tuning epoch");
        break;
    }
    case QuantizePage: {
        nnlab::QuantizeOptions& q = job.request.quantize;
        const bool dynamic = m_quantMode->currentIndex() == 1;
        job.request.method = dynamic ? nnlab::CompressMethod::QuantizeDynamic : nnlab::CompressMethod::QuantizeStatic;
        q.mode = dynamic ? nnlab::QuantizeMode::Dynamic : nnlab::QuantizeMode::Static;
        static const nnlab::QuantEngine engines[] = {nnlab::QuantEngine::Auto, nnlab::QuantEngine::OneDnn,
                                                     nnlab::QuantEngine::Qnnpack, nnlab::QuantEngine::Fbgemm};
        q.engine = engines[std::clamp(m_engine->currentIndex(), 0, 3)];
        q.perChannel = m_perChannel->isChecked();
        q.fastestPerLayer = m_fastest->isChecked();
        if (!dynamic)
            if (auto v = readInteger(m_calibration, tr("Calibration samples"), 1, 10'000'000, &problems))
                q.calibrationSamples = *v;
        if (!m_maxDrop->text().trimmed().isEmpty())
            if (auto v = readNumber(m_maxDrop, tr("Max accuracy drop"), 0.0, 100.0, false, &problems))
                q.maxDrop = *v / 100.0;
        break;
    }
    case DistillPage: {
        job.kind = CompressJob::Kind::Distill;
        job.request.method = nnlab::CompressMethod::Distill;
        job.studentFile = m_student->text().trimmed();
        job.distill.teacherRun = m_runId.toStdString();
        if (job.studentFile.isEmpty())
            problems << tr("Student: choose the student's experiment file");
        else if (!m_studentProblem.isEmpty())
            problems << m_studentProblem;
        if (!m_teacherProblem.isEmpty())
            problems << tr("Teacher: %1").arg(m_teacherProblem);
        if (auto v = readNumber(m_alpha, tr("Alpha"), 0.0, 1.0, false, &problems))
            job.distill.alpha = *v;
        if (auto v = readNumber(m_temperature, tr("Temperature"), 1e-6, 1e6, false, &problems))
            job.distill.temperature = *v;
        break;
    }
    }
    if (problemsOut)
        *problemsOut = problems;
    if (!problems.isEmpty())
        return std::nullopt;
    return job;
}

QStringList CompressDialog::problems() const
{
    QStringList list;
    currentJob(&list);
    return list;
}

void CompressDialog::updateForm()
{
    const bool structured = m_structured->isChecked();
    m_global->setEnabled(!structured);
    m_norm->setEnabled(structured);
    m_calibration->setEnabled(m_quantMode->currentIndex() == 0);
    const QStringList list = problems();
    m_problems->setText(list.join(QLatin1Char('\n')));
    m_problems->setVisible(!list.isEmpty());
    m_add->setEnabled(list.isEmpty());
    QTreeWidgetItem* current = m_queue->currentItem();
    const int index = current ? m_queue->indexOfTopLevelItem(current) : -1;
    m_cancelJob->setEnabled(index >= 0 && index < m_jobs.size()
                            && (m_jobs[index].state == JobState::Queued || m_jobs[index].state == JobState::Running));
    bool pending = false;
    for (const Entry& e : m_jobs)
        pending = pending || e.state == JobState::Queued || e.state == JobState::Running;
    m_cancelAll->setEnabled(pending);
}

bool CompressDialog::addJob()
{
    const std::optional<CompressJob> job = currentJob();
    if (!job)
        return false;
    enqueue(*job);
    return true;
}

void CompressDialog::enqueue(const CompressJob& job)
{
    Entry entry;
    entry.job = job;
    entry.item = new QTreeWidgetItem(m_queue);
    entry.item->setText(JobColumn, job.description());
    entry.item->setToolTip(JobColumn, job.description());
    auto* bar = new QProgressBar;
    bar->setRange(0, 1);
    bar->setValue(0);
    bar->setTextVisible(true);
    m_queue->setItemWidget(entry.item, ProgressColumn, bar);
    m_jobs.append(entry);
    updateRow(m_jobs.size() - 1);
    updateForm();
    if (m_autoStart)
        startNext();
}

void CompressDialog::setAutoStart(bool on)
{
    m_autoStart = on;
    if (on)
        startNext();
}

bool CompressDialog::isRunning() const
{
    return m_task->isRunning();
}

void CompressDialog::startNext()
{
    if (m_task->isRunning())
        return;
    for (int i = 0; i < m_jobs.size(); ++i) {
        if (m_jobs[i].state != JobState::Queued)
            continue;
        m_running = i;
        m_jobs[i].state = JobState::Running;
        m_jobs[i].message = tr("starting…");
        updateRow(i);
        m_task->start(compressJobBody(m_jobs[i].job));
        updateForm();
        return;
    }
}

void CompressDialog::cancelJob(int index)
{
    if (index < 0 || index >= m_jobs.size())
        return;
    Entry& entry = m_jobs[index];
    if (entry.state == JobState::Queued) {
        entry.state = JobState::Cancelled;
        entry.message = tr("Cancelled before it started");
        updateRow(index);
        updateForm();
        emit jobEnded(index);
    } else if (entry.state == JobState::Running) {
        entry.message = tr("cancelling…");
        updateRow(index);
        m_task->cancel();
    }
}

void CompressDialog::cancelAll()
{
    for (int i = 0; i < m_jobs.size(); ++i)
        if (m_jobs[i].state == JobState::Queued)
            cancelJob(i);
    if (m_running >= 0)
        cancelJob(m_running);
}

void CompressDialog::onProgress(const QString& stage, qint64 done, qint64 total)
{
    if (m_running < 0)
        return;
    Entry& entry = m_jobs[m_running];
    QString text = stage;
    if (total > 0)
        text += tr(": %1 of %2").arg(done).arg(total);
    const QString eta = compresslab::durationText(m_task->etaSeconds());
    if (!eta.isEmpty() && total > 0 && done < total)
        text += tr(" · about %1 left in this stage").arg(eta);
    entry.message = text;
    if (auto* bar = qobject_cast<QProgressBar*>(m_queue->itemWidget(entry.item, ProgressColumn))) {
        bar->setRange(0, total > 0 ? static_cast<int>(std::min<qint64>(total, INT_MAX)) : 0);   // 0..0: busy
        if (total > 0)
            bar->setValue(static_cast<int>(std::min(done, total)));
    }
    updateRow(m_running);
}

void CompressDialog::endJob(JobState state, const QString& message, const QString& runId)
{
    const int index = m_running;
    m_running = -1;
    if (index >= 0) {
        Entry& entry = m_jobs[index];
        entry.state = state;
        entry.message = message;
        entry.runId = runId;
        if (auto* bar = qobject_cast<QProgressBar*>(m_queue->itemWidget(entry.item, ProgressColumn))) {
            bar->setRange(0, 1);
            bar->setValue(state == JobState::Finished ? 1 : 0);
        }
        updateRow(index);
        if (state == JobState::Finished && !runId.isEmpty())
            emit runRecorded(runId);
        emit jobEnded(index);
    }
    updateForm();
    if (m_autoStart)
        startNext();
}

void CompressDialog::updateRow(int index)
{
    const Entry& entry = m_jobs[index];
    entry.item->setText(StateColumn, stateText(entry.state));
    entry.item->setText(DetailColumn, entry.message);
    entry.item->setToolTip(DetailColumn, entry.message);
    const QColor colour = entry.state == JobState::Failed ? QColor(0xb0, 0x00, 0x20)
                        : entry.state == JobState::Finished ? QColor(0x2e, 0x7d, 0x32)
                                                            : palette().color(QPalette::Text);
    entry.item->setForeground(StateColumn, colour);
}

void CompressDialog::reject()
{
    if (isRunning()) {
        const auto answer = QMessageBox::question(this, windowTitle(),
                                                  tr("Jobs are still running. Cancel them and close?"),
                                                  QMessageBox::Yes | QMessageBox::No, QMessageBox::No);
        if (answer != QMessageBox::Yes)
            return;
        cancelAll();
    }
    QDialog::reject();
}
