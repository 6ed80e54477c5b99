// The Compress dialog, opened on a run from the Runs dock: pick a method and its settings
// (prune: sparsity, structured or not, global, norm, fine-tuning epochs, schedule; quantize:
// static or dynamic, per channel, calibration samples, an accuracy bound, the back end;
// distill: a student experiment file, alpha, T), add jobs to a queue, and watch each job's
// stage, progress and ETA. Jobs run one after another on a worker thread (BackgroundTask);
// each can be cancelled. Settings are checked as they are typed: the problems show under the
// form, naming the field, and a job with problems is not queued.
#pragma once

#include "compress/compress_job.h"

#include <QDialog>
#include <QList>

#include <optional>

class BackgroundTask;
class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QStackedWidget;
class QTreeWidget;
class QTreeWidgetItem;

class CompressDialog : public QDialog {
    Q_OBJECT
public:
    enum class JobState { Queued, Running, Finished, Failed, Cancelled };
    enum Page { PrunePage, QuantizePage, DistillPage };

    CompressDialog(const QString& databasePath, const QString& runId, const QString& runName,
                   QWidget* parent = nullptr);
    ~CompressDialog() override;   // cancels the running job and waits for its thread

    // The job the widgets describe, or nothing with the problems (one a line, naming the field).
    std::optional<CompressJob> currentJob(QStringList* problems = nullptr) const;
    QStringList problems() const;
    // Queues the widgets' job; false (nothing queued) when they have problems.
    bool addJob();
    void enqueue(const CompressJob& job);
    // Whether queued jobs start by themselves (default on; tests turn it off).
    void setAutoStart(bool on);
    void cancelJob(int index);
    void cancelAll();

    int jobCount() const { return m_jobs.size(); }
    const CompressJob& job(int index) const { return m_jobs[index].job; }
    JobState jobState(int index) const { return m_jobs[index].state; }
    QString jobMessage(int index) const { return m_jobs[index].message; }
    QString jobRunId(int index) const { return m_jobs[index].runId; }
    bool isRunning() const;
    BackgroundTask* task() const { return m_task; }

signals:
    void runRecorded(const QString& runId);   // a job finished and recorded this run
    void jobEnded(int index);

protected:
    void reject() override;   // Close: asks before cancelling running jobs

private:
    struct Entry {
        CompressJob job;
        JobState state = JobState::Queued;
        QString message;
        QString runId;
        QTreeWidgetItem* item = nullptr;
    };

    QWidget* buildPrunePage();
    QWidget* buildQuantizePage();
    QWidget* buildDistillPage();
    void updateForm();
    void startNext();
    void updateRow(int index);
    void onProgress(const QString& stage, qint64 done, qint64 total);
    void endJob(JobState state, const QString& message, const QString& runId = {});
    void checkStudent();

    QString m_databasePath;
    QString m_runId;
    BackgroundTask* m_task;
    QList<Entry> m_jobs;
    int m_running = -1;
    bool m_autoStart = true;
    std::optional<nnlab::TeacherInfo> m_teacher;
    QString m_teacherProblem;
    QString m_studentProblem;

    QComboBox* m_method = nullptr;
    QStackedWidget* m_pages = nullptr;
    QLineEdit* m_sparsity = nullptr;
    QCheckBox* m_structured = nullptr;
    QCheckBox* m_global = nullptr;
    QComboBox* m_norm = nullptr;
    QLineEdit* m_finetune = nullptr;
    QComboBox* m_schedule = nullptr;
    QComboBox* m_quantMode = nullptr;
    QComboBox* m_engine = nullptr;
    QCheckBox* m_perChannel = nullptr;
    QCheckBox* m_fastest = nullptr;
    QLineEdit* m_calibration = nullptr;
    QLineEdit* m_maxDrop = nullptr;
    QLineEdit* m_student = nullptr;
    QLineEdit* m_alpha = nullptr;
    QLineEdit* m_temperature = nullptr;
    QLineEdit* m_runName = nullptr;
    QLabel* m_problems = nullptr;
    QPushButton* m_add = nullptr;
    QPushButton* m_cancelJob = nullptr;
    QPushButton* m_cancelAll = nullptr;
    QTreeWidget* m_queue = nullptr;
};
