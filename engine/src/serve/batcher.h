// Dynamic batching: samples of concurrent requests are queued, and one thread runs the model
// on up to maxBatch of them at a time, waiting at most maxWait for more after the first
// arrives. Each request gets its own rows back; a request larger than maxBatch spans batches.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace nnlab {
class Predictor;
}

namespace nnlab::serve {

class Batcher {
public:
    // Called on the batcher thread after each model call, before its requests are answered:
    // the batch's raw inputs, its outputs (count x outputs) and its size.
    using Observer = std::function<void(const float* raw, const float* outputs, int64_t count)>;

    Batcher(const Predictor& predictor, int64_t maxBatch, std::chrono::milliseconds maxWait);
    ~Batcher();
    Batcher(const Batcher&) = delete;
    Batcher& operator=(const Batcher&) = delete;

    void setObserver(Observer observer);   // before the first predict
    // Blocks until the rows of `raw` (count x sampleSize) are predicted; count x outputs values.
    // Throws std::runtime_error when the model fails or the batcher stops first.
    std::vector<float> predict(const float* raw, int64_t count);
    void stop();                           // fails what is queued; idempotent

    // A request on its way (being read and parsed) will call predict() soon: the batcher waits
    // for it (up to maxWait), and does not wait when nothing is on its way, so a lone client
    // gets batch-1 latency. Every arriving() is matched by one arrived(), before predict().
    void arriving();
    void arrived();

private:
    struct Pending;
    void loop();

    const Predictor& m_predictor;
    const int64_t m_maxBatch;
    const std::chrono::milliseconds m_maxWait;
    const int64_t m_sampleSize;
    const int64_t m_outputs;
    Observer m_observer;

    std::mutex m_mutex;
    std::condition_variable m_queued;      // the batcher waits on it
    std::condition_variable m_answered;    // requests wait on it
    std::deque<std::shared_ptr<Pending>> m_queue;
    int64_t m_queuedRows = 0;
    int64_t m_arriving = 0;                // requests being parsed
    bool m_stopping = false;
    std::thread m_thread;
};

} // namespace nnlab::serve
