#include "batcher.h"

#include "nnlab/trained_model.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <stdexcept>

namespace nnlab::serve {

struct Batcher::Pending {
    const float* raw = nullptr;            // the caller's; valid while it waits in predict()
    int64_t count = 0;
    int64_t taken = 0;                     // rows handed to a batch
    int64_t answered = 0;                  // rows whose outputs are in `outputs`
    std::vector<float> outputs;
    std::string error;                     // set when failed
    std::chrono::steady_clock::time_point arrived;
};

Batcher::Batcher(const Predictor& predictor, int64_t maxBatch, std::chrono::milliseconds maxWait)
    : m_predictor(predictor), m_maxBatch(std::max<int64_t>(1, maxBatch)), m_maxWait(maxWait),
      m_sampleSize(predictor.interface().sampleSize()), m_outputs(predictor.outputs())
{
    m_thread = std::thread([this] { loop(); });
}

Batcher::~Batcher() { stop(); }

void Batcher::setObserver(Observer observer)
{
    std::lock_guard<std::mutex> lock(m_mutex);
    m_observer = std::move(observer);
}

std::vector<float> Batcher::predict(const float* raw, int64_t count)
{
    auto pending = std::make_shared<Pending>();
    pending->raw = raw;
    pending->count = count;
    pending->outputs.resize(size_t(count * m_outputs));
    pending->arrived = std::chrono::steady_clock::now();
    std::unique_lock<std::mutex> lock(m_mutex);
    if (m_stopping)
        throw std::runtime_error("the server is stopping");
    m_queue.push_back(pending);
    m_queuedRows += count;
    m_queued.notify_one();
    m_answered.wait(lock, [&] { return pending->answered == pending->count || !pending->error.empty(); });
    if (!pending->error.empty())
        throw std::runtime_error(pending->error);
    return std::move(pending->outputs);
}

void Batcher::arriving()
{
    std::lock_guard<std::mutex> lock(m_mutex);
    ++m_arriving;
}

void Batcher::arrived()
{
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        --m_arriving;
    }
    m_queued.notify_one();
}

void Batcher::stop()
{
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        if (m_stopping && !m_thread.joinable())
            return;
        m_stopping = true;
    }
    m_queued.notify_all();
    if (m_thread.joinable())
        m_thread.join();
}

void Batcher::loop()
{
    struct Slice {
        std::shared_ptr<Pending> pending;
        int64_t first = 0;
        int64_t rows = 0;
    };
    std::vector<float> batch;
    std::unique_lock<std::mutex> lock(m_mutex);
    for (;;) {
        m_queued.wait(lock, [&] { return m_stopping || !m_queue.empty(); });
        if (m_stopping)
            break;
        // Wait for a full batch, at most maxWait after the oldest queued sample arrived, and
        // only while more requests are on their way.
        const auto deadline = m_queue.front()->arrived + m_maxWait;
        m_queued.wait_until(lock, deadline,
                            [&] { return m_stopping || m_queuedRows >= m_maxBatch || m_arriving == 0; });
        if (m_stopping)
            break;
        std::vector<Slice> slices;
        int64_t rows = 0;
        while (rows < m_maxBatch && !m_queue.empty()) {
            const std::shared_ptr<Pending>& front = m_queue.front();
            const int64_t take = std::min(m_maxBatch - rows, front->count - front->taken);
            slices.push_back({front, front->taken, take});
            front->taken += take;
            rows += take;
            if (front->taken == front->count)
                m_queue.pop_front();
        }
        m_queuedRows -= rows;
        const Observer observer = m_observer;
        lock.unlock();

        // The callers wait in predict() until answered, so their inputs stay valid meanwhile.
        batch.resize(size_t(rows * m_sampleSize));
        int64_t row = 0;
        for (const Slice& s : slices) {
            std::memcpy(batch.data() + row * m_sampleSize, s.pending->raw + s.first * m_sampleSize,
                        size_t(s.rows * m_sampleSize) * sizeof(float));
            row += s.rows;
        }
        std::vector<float> outputs;
        std::string error;
        try {
            outputs = m_predictor.predict(batch.data(), rows);
            if (observer)
                observer(batch.data(), outputs.data(), rows);
        } catch (const std::exception& e) {
            error = std::string("the model failed: ") + e.what();
        }

        lock.lock();
        row = 0;
        for (const Slice& s : slices) {
            if (error.empty()) {
                std::memcpy(s.pending->outputs.data() + s.first * m_outputs, outputs.data() + row * m_outputs,
                            size_t(s.rows * m_outputs) * sizeof(float));
                s.pending->answered += s.rows;
            } else if (s.pending->error.empty()) {
                s.pending->error = error;
                // Its caller returns now: drop its rows still queued, which point into its input.
                const auto queued = std::find(m_queue.begin(), m_queue.end(), s.pending);
                if (queued != m_queue.end()) {
                    m_queuedRows -= s.pending->count - s.pending->taken;
                    m_queue.erase(queued);
                }
            }
            row += s.rows;
        }
        m_answered.notify_all();
    }
    for (const auto& pending : m_queue)
        pending->error = "the server is stopping";
    m_queue.clear();
    m_queuedRows = 0;
    m_answered.notify_all();
}

} // namespace nnlab::serve
