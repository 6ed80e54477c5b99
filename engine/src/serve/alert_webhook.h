// Alerts POSTed as JSON to a local webhook, from a thread of their own so a slow or absent
// receiver never holds up inference or the monitors.
#pragma once

#include "nnlab/serve.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace nnlab::serve {

struct WebhookTarget {
    std::string host;     // 127.0.0.1 or localhost
    int port = 80;
    std::string path = "/";
};

// Only plain http on this machine: the server's alerts carry model and traffic details, and
// a webhook elsewhere is a job for a proper alert manager. `error` says why not.
std::optional<WebhookTarget> parseWebhookUrl(const std::string& url, std::string& error);

class AlertWebhook {
public:
    AlertWebhook(WebhookTarget target, std::string runId);
    ~AlertWebhook();                           // sends what is queued (briefly), then stops
    AlertWebhook(const AlertWebhook&) = delete;
    AlertWebhook& operator=(const AlertWebhook&) = delete;

    void post(const ServeAlert& alert, const std::string& metric);   // never blocks on the network

private:
    void loop();

    const WebhookTarget m_target;
    const std::string m_runId;
    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::deque<std::string> m_bodies;
    bool m_stopping = false;
    std::thread m_thread;
};

} // namespace nnlab::serve
