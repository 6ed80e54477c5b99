// 1,000 malformed requests of many kinds: each gets a 4xx with a JSON error naming the problem,
// and the server still answers a good request afterwards.
#include "serve_test_util.h"

#include <QTemporaryDir>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>

using namespace nnlab;
using namespace nnlab::servetest;

namespace {

struct Answer {
    int status = 0;
    std::string body;
};

// Raw bytes on a TCP connection, for requests no HTTP client would send. Reads one answer
// (headers and Content-Length bytes); the connection stays open meanwhile, since a half-closed
// one may be dropped by the server before it answers.
Answer rawExchange(int port, const std::string& bytes)
{
    const int sock = ::socket(AF_INET, SOCK_STREAM, 0);
    const timeval timeout{10, 0};
    ::setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(uint16_t(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    Answer answer;
    if (::connect(sock, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
        (void)!::send(sock, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        char buffer[4096];
        std::string reply;
        size_t bodyStart = std::string::npos;
        size_t length = 0;
        for (ssize_t n; (n = ::recv(sock, buffer, sizeof buffer, 0)) > 0;) {
            reply.append(buffer, size_t(n));
            if (bodyStart == std::string::npos && (bodyStart = reply.find("\r\n\r\n")) != std::string::npos) {
                bodyStart += 4;
                const size_t at = reply.find("Content-Length: ");
                length = at < bodyStart ? size_t(std::atol(reply.c_str() + at + 16)) : 0;
            }
            if (bodyStart != std::string::npos && reply.size() >= bodyStart + length)
                break;
        }
        if (reply.rfind("HTTP/1.1 ", 0) == 0)
            answer.status = std::atoi(reply.c_str() + 9);
        if (bodyStart != std::string::npos)
            answer.body = reply.substr(bodyStart);
    }
    ::close(sock);
    return answer;
}

std::string randomBytes(std::mt19937& rng, size_t n)
{
    std::string bytes(n, '\0');
    for (char& c : bytes)
        c = char(rng() & 0xff);
    return bytes;
}

std::string numbers(size_t n, const std::string& value = "1")
{
    std::string list = "[";
    for (size_t i = 0; i < n; ++i)
        list += (i ? "," : "") + value;
    return list + "]";
}

} // namespace

class TestServeBadRequests : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_weights = trainedWeights(m_dir.filePath("runs.db").toStdString());
        ServeOptions options = testOptions();
        options.maxBodyBytes = 1 << 20;       // "too large" stays cheap to send
        options.maxSamplesPerRequest = 50;
        m_server = startServer(m_weights, options);
    }

    void everyMalformedRequestGetsA4xxJsonError()
    {
        const int port = m_server->port();
        httplib::Client client("127.0.0.1", port);
        std::mt19937 rng(7);
        const std::string good = "{\"inputs\": [" + numbers(784) + "]}";
        const std::string row27 = numbers(27);
        const std::string row28 = numbers(28);
        std::string nestedWrong = "{\"inputs\": [[[";   // [1][28][27]: the last row one short
        for (int r = 0; r < 28; ++r)
            nestedWrong += (r ? "," : "") + (r == 27 ? row27 : row28);
        nestedWrong += "]]]}";
        // kind -> (body, content type, expected status, a word the error must contain)
        struct Kind {
            const char* name;
            std::function<std::string()> body;
            std::string type;
            int status;
            std::string mentions;
        };
        const std::vector<Kind> kinds = {
            {"truncated JSON", [&] { return good.substr(0, 1 + rng() % (good.size() - 2)); }, "application/json", 400, "JSON"},
            {"783 numbers", [&] { return "{\"inputs\": [" + numbers(783) + "]}"; }, "application/json", 400, "inputs[0]: expected 784 numbers, got 783"},
            {"nested, a row short", [&] { return nestedWrong; }, "application/json", 400, "inputs[0][0][27]: expected 28"},
            {"strings", [&] { return "{\"inputs\": [" + numbers(784, "\"7\"") + "]}"; }, "application/json", 400, "got a string"},
            {"NaN literal", [&] { return "{\"inputs\": [" + numbers(784, "NaN") + "]}"; }, "application/json", 400, "JSON"},
            {"1e999", [&] { return "{\"inputs\": [" + numbers(784, "1e999") + "]}"; }, "application/json", 400, "finite"},
            {"booleans", [&] { return "{\"inputs\": [" + numbers(784, "true") + "]}"; }, "application/json", 400, "boolean"},
            {"empty inputs", [&] { return std::string("{\"inputs\": []}"); }, "application/json", 400, "empty"},
            {"empty body", [&] { return std::string(); }, "application/json", 400, "empty"},
            {"no inputs", [&] { return std::string("{\"samples\": [1]}"); }, "application/json", 400, "samples"},
            {"inputs not a list", [&] { return std::string("{\"inputs\": 5}"); }, "application/json", 400, "list"},
            {"not an object", [&] { return std::string("[1, 2, 3]"); }, "application/json", 400, "object"},
            {"too many samples", [&] { return "{\"inputs\": " + numbers(51, "[0]") + "}"; }, "application/json", 400, "at most 50"},
            {"deep nesting", [&] { return std::string(100000, '['); }, "application/json", 400, "nested"},
            {"too large a body", [&] { return std::string((1 << 20) + 10, ' '); }, "application/json", 413, "too large"},
            {"wrong content type", [&] { return good; }, "text/plain", 415, "Content-Type"},
            {"random bytes as JSON", [&] { return randomBytes(rng, 1 + rng() % 2000); }, "application/json", 400, ""},
            {"random bytes as PNG", [&] { return randomBytes(rng, 1 + rng() % 2000); }, "image/png", 400, "image"},
        };
        std::map<std::string, int> counts;
        int sent = 0;
        auto check = [&](const std::string& kind, int status, const std::string& body, int expected,
                         const std::string& mentions) {
            ++counts[kind];
            ++sent;
            nlohmann::json error;
            try {
                error = nlohmann::json::parse(body);
            } catch (const std::exception&) {
            }
            const bool ok = status >= 400 && status < 500 && (expected == 0 || status == expected) &&
                            error.is_object() && error.contains("error") && error["error"].is_string() &&
                            !error["error"].get<std::string>().empty() &&
                            error["error"].get<std::string>().find(mentions) != std::string::npos;
            if (!ok)
                QTest::qFail(qPrintable(QString("%1: status %2, body %3")
                                            .arg(QString::fromStdString(kind)).arg(status)
                                            .arg(QString::fromStdString(body.substr(0, 300)))),
                             __FILE__, __LINE__);
            return ok;
        };
        for (int i = 0; sent < 1000; ++i) {
            const int pick = i % int(kinds.size() + 3);
            if (pick < int(kinds.size())) {
                const Kind& kind = kinds[size_t(pick)];
                const auto result = client.Post("/v1/predict", kind.body(), kind.type);
                if (!result)
                    QFAIL(qPrintable(QString("%1: no answer (%2)").arg(kind.name)
                                         .arg(QString::fromStdString(httplib::to_string(result.error())))));
                if (!check(kind.name, result->status, result->body, kind.status, kind.mentions))
                    return;
            } else if (pick == int(kinds.size())) {
                const auto result = client.Get("/v1/nothing-here");
                if (!check("unknown path", result->status, result->body, 404, "no such endpoint"))
                    return;
            } else if (pick == int(kinds.size()) + 1) {
                const auto result = client.Get("/v1/predict");
                if (!check("wrong method", result->status, result->body, 405, "POST"))
                    return;
            } else if (i % 2 == 0) {
                // A path that is not UTF-8: the error quotes it, so it must still make JSON.
                const Answer answer = rawExchange(port, "GET /v1/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n");
                if (!check("non-UTF-8 path", answer.status, answer.body, 404, "no such endpoint"))
                    return;
            } else {
                // Not HTTP at all: random bytes, then the request line ended.
                const Answer answer = rawExchange(port, randomBytes(rng, 1 + rng() % 500) + "\r\n\r\n");
                if (!check("random bytes on the socket", answer.status, answer.body, 0, ""))
                    return;
            }
        }
        for (const auto& [kind, count] : counts)
            qInfo("%4d x %s", count, kind.c_str());
        // Still serving.
        const auto result = client.Post("/v1/predict", good, "application/json");
        QVERIFY(result && result->status == 200);
        QCOMPARE(jsonOf(result)["outputs"][0].size(), size_t(10));
        // Requests are counted just after their answers are sent: wait for the last ones.
        QTRY_VERIFY_WITH_TIMEOUT(m_server->stats().errorsTotal >= 1000, 30000);
        QCOMPARE(m_server->stats().samplesTotal, int64_t(1));   // only the good one reached the model (the start-up probe is not counted)
    }

private:
    QTemporaryDir m_dir;
    TrainedWeights m_weights;
    std::unique_ptr<InferenceServer> m_server;
};

QTEST_APPLESS_MAIN(TestServeBadRequests)
#include "test_serve_bad_requests.moc"
