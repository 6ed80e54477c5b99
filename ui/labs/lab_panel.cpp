#include "lab_panel.h"

#include "core/experiment_document.h"

#include <QButtonGroup>
#include <QFileInfo>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPixmap>
#include <QProgressBar>
#include <QPushButton>
#include <QRadioButton>
#include <QScrollArea>
#include <QTextBrowser>
#include <QTimer>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

LabPanel::LabPanel(ExperimentDocument* document, QWidget* parent)
    : QWidget(parent), m_document(document), m_control(std::make_unique<nnlab::TrainControl>())
{
    setObjectName(QStringLiteral("labPanel"));
    auto* layout = new QVBoxLayout(this);
    m_title = new QLabel(this);
    m_title->setObjectName(QStringLiteral("labTitle"));
    m_title->setWordWrap(true);
    m_title->setTextFormat(Qt::RichText);
    layout->addWidget(m_title);

    auto* nav = new QHBoxLayout;
    m_back = new QPushButton(tr("◀ Back"), this);
    m_back->setObjectName(QStringLiteral("labBack"));
    m_next = new QPushButton(tr("Next ▶"), this);
    m_next->setObjectName(QStringLiteral("labNext"));
    m_stepTitle = new QLabel(this);
    m_stepTitle->setObjectName(QStringLiteral("labStepTitle"));
    m_stepTitle->setWordWrap(true);
    nav->addWidget(m_back);
    nav->addWidget(m_stepTitle, 1);
    nav->addWidget(m_next);
    layout->addLayout(nav);

    m_text = new QTextBrowser(this);
    m_text->setObjectName(QStringLiteral("labText"));
    m_text->setOpenExternalLinks(true);
    layout->addWidget(m_text, 2);
    m_figure = new QLabel(this);
    m_figure->setObjectName(QStringLiteral("labFigure"));
    m_figure->setAlignment(Qt::AlignCenter);
    layout->addWidget(m_figure);
    m_lockSummary = new QLabel(this);
    m_lockSummary->setObjectName(QStringLiteral("labLocks"));
    m_lockSummary->setWordWrap(true);
    m_lockSummary->setTextFormat(Qt::RichText);
    layout->addWidget(m_lockSummary);

    m_question = new QGroupBox(tr("Predict, then run"), this);
    m_question->setObjectName(QStringLiteral("labQuestion"));
    auto* q = new QVBoxLayout(m_question);
    m_prompt = new QLabel(m_question);
    m_prompt->setWordWrap(true);
    q->addWidget(m_prompt);
    m_choices = new QVBoxLayout;
    q->addLayout(m_choices);
    m_answerNote = new QLabel(m_question);
    m_answerNote->setObjectName(QStringLiteral("labAnswer"));
    m_answerNote->setWordWrap(true);
    m_answerNote->setTextFormat(Qt::RichText);
    q->addWidget(m_answerNote);
    m_answers = new QButtonGroup(this);
    layout->addWidget(m_question);

    auto* run = new QHBoxLayout;
    m_train = new QPushButton(QIcon::fromTheme(QStringLiteral("media-playback-start")), tr("Train this step"), this);
    m_train->setObjectName(QStringLiteral("labTrain"));
    m_stop = new QPushButton(QIcon::fromTheme(QStringLiteral("media-playback-stop")), tr("Stop"), this);
    m_stop->setObjectName(QStringLiteral("labStop"));
    m_stop->setEnabled(false);
    m_progress = new QProgressBar(this);
    m_progress->setRange(0, 1000);
    m_progress->setTextVisible(false);
    run->addWidget(m_train);
    run->addWidget(m_stop);
    run->addWidget(m_progress, 1);
    layout->addLayout(run);
    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("labStatus"));
    m_status->setWordWrap(true);
    layout->addWidget(m_status);
    m_results = new QListWidget(this);
    m_results->setObjectName(QStringLiteral("labObservations"));
    m_results->setWordWrap(true);
    m_results->setSelectionMode(QAbstractItemView::NoSelection);
    layout->addWidget(m_results, 2);

    connect(m_back, &QPushButton::clicked, this, [this] { showStep(m_step - 1); });
    connect(m_next, &QPushButton::clicked, this, [this] { showStep(m_step + 1); });
    connect(m_train, &QPushButton::clicked, this, &LabPanel::train);
    connect(m_stop, &QPushButton::clicked, this, &LabPanel::stop);
    connect(m_answers, &QButtonGroup::idClicked, this, [this] { updateTrainEnabled(); });
    connect(&m_watcher, &QFutureWatcher<nnlab::LabStepOutcome>::finished, this, &LabPanel::onFinished);
    // The editors re-show rows when the spec changes (the optimizer's type): lock them again
    // once they have.
    connect(m_document, &ExperimentDocument::specChanged, this, [this] {
        QTimer::singleShot(0, this, &LabPanel::applyLocks);
    });
    setEnabled(false);
}

LabPanel::~LabPanel()
{
    m_control->cancel();
    m_watcher.waitForFinished();
    m_locks.clear();
}

QString LabPanel::openLab(const QString& path)
{
    const nnlab::LabParseResult parsed = nnlab::loadLabFile(path.toStdString());
    if (!parsed.ok())
        return QString::fromStdString(parsed.errorText());
    setLab(parsed.lab);
    return {};
}

void LabPanel::setLab(const nnlab::Lab& lab)
{
    m_lab = lab;
    setEnabled(true);
    m_title->setText(QStringLiteral("<b>%1</b><br>%2").arg(QString::fromStdString(lab.title).toHtmlEscaped(),
                                                             QString::fromStdString(lab.summary).toHtmlEscaped()));
    m_step = -1;
    showStep(0);
}

void LabPanel::closeLab()
{
    stop();
    m_watcher.waitForFinished();
    m_locks.clear();
    m_lab = {};
    m_step = -1;
    m_title->clear();
    m_stepTitle->clear();
    m_text->clear();
    m_results->clear();
    setEnabled(false);
    emit labClosed();
}

void LabPanel::showStep(int index)
{
    if (index < 0 || index >= static_cast<int>(m_lab.steps.size()) || isRunning())
        return;
    m_step = index;
    const nnlab::LabStep& step = m_lab.steps[static_cast<size_t>(index)];
    m_stepTitle->setText(tr("<b>Step %1 of %2</b>: %3")
                             .arg(index + 1)
                             .arg(m_lab.steps.size())
                             .arg(QString::fromStdString(step.title).toHtmlEscaped()));
    m_text->setMarkdown(QString::fromStdString(step.text));
    if (!step.figure.empty() && QFileInfo::exists(QString::fromStdString(step.figure))) {
        QPixmap figure(QString::fromStdString(step.figure));
        m_figure->setPixmap(figure.scaledToWidth(std::min(figure.width(), 360), Qt::SmoothTransformation));
        m_figure->show();
    } else {
        m_figure->clear();
        m_figure->hide();
    }
    QString locks;
    for (const auto& l : step.locked)
        locks += tr("<b>Locked</b> <code>%1</code>: %2<br>")
                     .arg(QString::fromStdString(l.path).toHtmlEscaped(), QString::fromStdString(l.reason).toHtmlEscaped());
    m_lockSummary->setText(locks);
    m_lockSummary->setVisible(!locks.isEmpty());

    for (QAbstractButton* b : m_answers->buttons()) {
        m_answers->removeButton(b);
        delete b;
    }
    m_question->setVisible(!step.question.prompt.empty());
    m_prompt->setText(QString::fromStdString(step.question.prompt));
    for (size_t i = 0; i < step.question.choices.size(); ++i) {
        auto* choice = new QRadioButton(QString::fromStdString(step.question.choices[i]), m_question);
        choice->setObjectName(QStringLiteral("labChoice%1").arg(i));
        m_answers->addButton(choice, static_cast<int>(i));
        m_choices->addWidget(choice);
    }
    m_answerNote->clear();
    m_results->clear();
    m_status->setText(tr("%n run(s) in this step.", nullptr, static_cast<int>(step.runs.size())));
    m_progress->setValue(0);
    m_back->setEnabled(index > 0);
    m_next->setEnabled(index + 1 < static_cast<int>(m_lab.steps.size()));

    m_locks.clear();
    m_document->reset(step.experiment);
    applyLocks();
    updateTrainEnabled();
    emit stepShown(index);
}

void LabPanel::applyLocks()
{
    if (m_step < 0 || m_step >= static_cast<int>(m_lab.steps.size()))
        return;
    const nnlab::LabStep& step = m_lab.steps[static_cast<size_t>(m_step)];
    m_locks.apply(step.locked, step.hidden);
}

void LabPanel::updateTrainEnabled()
{
    const bool answered = m_step < 0 || m_lab.steps[static_cast<size_t>(m_step)].question.prompt.empty()
                          || m_answers->checkedId() >= 0;
    m_train->setEnabled(isOpen() && answered && !isRunning());
    m_train->setToolTip(answered ? tr("Train every run of this step, then check its observations")
                                 : tr("Predict first: pick an answer to the question"));
    for (QAbstractButton* b : m_answers->buttons())
        b->setEnabled(!isRunning() && m_results->count() == 0);
}

void LabPanel::train()
{
    if (!isOpen() || isRunning() || m_step < 0)
        return;
    if (!m_document->isValid()) {
        m_status->setText(tr("The experiment has problems; fix them in the editor first."));
        return;
    }
    const nnlab::LabStep step = m_lab.steps[static_cast<size_t>(m_step)];
    const nnlab::ExperimentSpec base = m_document->spec();
    nnlab::LabRunOptions options;
    options.databasePath = m_databasePath.toStdString();
    options.labName = QFileInfo(QString::fromStdString(m_lab.path)).completeBaseName().toStdString();
    if (options.labName.empty())
        options.labName = "lab";
    m_control = std::make_unique<nnlab::TrainControl>();
    nnlab::TrainControl* control = m_control.get();
    m_results->clear();
    m_answerNote->clear();
    m_stop->setEnabled(true);
    m_progress->setValue(0);
    // The destructor waits for the run, and Qt drops events posted to a deleted receiver.
    LabPanel* self = this;
    auto post = [self](std::function<void(LabPanel*)> f) {
        QMetaObject::invokeMethod(self, [self, f] { f(self); }, Qt::QueuedConnection);
    };
    auto current = std::make_shared<std::pair<int, int>>(0, 1);
    nnlab::LabStepCallbacks callbacks;
    callbacks.runStarted = [post, current](const std::string& name, int index, int count, const nnlab::ExperimentSpec&) {
        *current = {index, count};
        post([name, index, count](LabPanel* p) {
            p->onProgress(index, count, 0.0, tr("Training run %1 (%2 of %3)…").arg(QString::fromStdString(name)).arg(index + 1).arg(count));
        });
    };
    callbacks.train.progress = [post, current](const nnlab::Progress& pr) {
        const auto [index, count] = *current;
        const double f = pr.totalSteps > 0 ? double(pr.step) / double(pr.totalSteps) : 0.0;
        post([index, count, f](LabPanel* p) { p->onProgress(index, count, f, {}); });
    };
    callbacks.checkProgress = [post, current](double f, const std::string& stage) {
        const auto [index, count] = *current;
        post([index, count, f, stage](LabPanel* p) {
            p->onProgress(index, count, f, tr("Pre-flight: %1").arg(QString::fromStdString(stage)));
        });
    };
    callbacks.runFinished = [post](const std::string&, const std::string& runId, const nnlab::TrainResult&) {
        if (!runId.empty())
            post([runId](LabPanel* p) { emit p->runRecorded(QString::fromStdString(runId)); });
    };
    emit stepStarted();
    m_watcher.setFuture(QtConcurrent::run([step, base, control, options, callbacks] {
        return nnlab::runLabStep(step, base, *control, options, callbacks);
    }));
    updateTrainEnabled();
}

void LabPanel::stop()
{
    if (isRunning())
        m_control->cancel();
}

void LabPanel::onProgress(int run, int runs, double fraction, const QString& text)
{
    m_progress->setValue(static_cast<int>(1000.0 * (run + fraction) / std::max(1, runs)));
    if (!text.isEmpty())
        m_status->setText(text);
}

void LabPanel::onFinished()
{
    m_stop->setEnabled(false);
    const nnlab::LabStepOutcome outcome = m_watcher.result();
    m_progress->setValue(1000);
    showResults(outcome.observations);
    QString status = outcome.cancelled ? tr("Stopped.") : tr("Finished in %1 s.").arg(outcome.seconds, 0, 'f', 1);
    if (!outcome.error.empty())
        status += QLatin1Char(' ') + QString::fromStdString(outcome.error).trimmed();
    m_status->setText(status);
    updateTrainEnabled();
    emit stepFinished(outcome.allHold());
}

void LabPanel::revealAnswer()
{
    if (m_step < 0)
        return;
    const nnlab::LabQuestion& q = m_lab.steps[static_cast<size_t>(m_step)].question;
    if (q.prompt.empty())
        return;
    QString note;
    const int chosen = m_answers->checkedId();
    if (q.answer >= 0) {
        const QString right = QString::fromStdString(q.choices[static_cast<size_t>(q.answer)]).toHtmlEscaped();
        note = chosen == q.answer ? tr("<b style='color:#2e7d32'>✓ You predicted it:</b> %1").arg(right)
                                  : tr("<b style='color:#c62828'>✗ The answer:</b> %1").arg(right);
    }
    if (!q.explanation.empty())
        note += QStringLiteral("<br>") + QString::fromStdString(q.explanation).toHtmlEscaped();
    m_answerNote->setText(note);
}

void LabPanel::showResults(const std::vector<nnlab::ObservationResult>& results)
{
    m_results->clear();
    int held = 0;
    for (const auto& r : results) {
        QString text = (r.holds ? QStringLiteral("✓ ") : QStringLiteral("✗ ")) + QString::fromStdString(r.claim);
        text += QStringLiteral("\n    ") + QString::fromStdString(r.measured);
        if (!r.explanation.empty())
            text += QStringLiteral("\n    ") + QString::fromStdString(r.explanation);
        auto* item = new QListWidgetItem(text, m_results);
        item->setData(Qt::UserRole, r.holds);
        item->setForeground(r.holds ? QColor(0x2e, 0x7d, 0x32) : QColor(0xc6, 0x28, 0x28));
        item->setToolTip(QString::fromStdString(r.measured));
        held += r.holds ? 1 : 0;
    }
    if (!results.empty())
        m_status->setText(tr("%1 of %2 observations hold.").arg(held).arg(results.size()));
    revealAnswer();
    updateTrainEnabled();
}
