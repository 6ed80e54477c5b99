#include "csv_parser.h"

#include "nnlab/data.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace nnlab::detail {

CsvParser::CsvParser(const char* text, size_t size, char delimiter, std::string file, size_t skipLines,
                     std::string comment)
    : m_pos(text), m_end(text + size), m_delimiter(delimiter), m_file(std::move(file)), m_comment(std::move(comment))
{
    // A UTF-8 byte order mark (Excel writes one) would otherwise stick to the first name.
    if (size >= 3 && std::equal(text, text + 3, "\xEF\xBB\xBF"))
        m_pos += 3;
    for (size_t i = 0; i < skipLines && m_pos != m_end; ++i)
        skipLine();
}

void CsvParser::skipLine()
{
    while (!atLineEnd())
        ++m_pos;
    consumeLineEnd();
}

bool CsvParser::atLineEnd() const
{
    return m_pos == m_end || *m_pos == '\n' || *m_pos == '\r';
}

void CsvParser::consumeLineEnd()
{
    if (m_pos == m_end)
        return;
    // CRLF, LF, or a lone CR (old Mac files) each end one line.
    if (*m_pos == '\r' && m_pos + 1 != m_end && m_pos[1] == '\n')
        ++m_pos;
    ++m_pos;
    ++m_line;
}

void CsvParser::skipBlankAndCommentLines()
{
    while (m_pos != m_end) {
        const char* p = m_pos;
        while (p != m_end && isSpace(*p))
            ++p;
        const bool comment = !m_comment.empty() && size_t(m_end - p) >= m_comment.size()
                             && std::equal(m_comment.begin(), m_comment.end(), p);
        if (comment) {
            m_pos = p;
            skipLine();
            continue;
        }
        if (p != m_end && *p != '\n' && *p != '\r')
            return;
        m_pos = p;
        consumeLineEnd();
    }
}

void CsvParser::readQuoted(std::string& field)
{
    ++m_pos;   // the opening quote
    for (;;) {
        if (m_pos == m_end)
            throw DataError(m_file + ":" + std::to_string(m_recordLine)
                            + ": unterminated quoted field (missing closing \")");
        const char c = *m_pos++;
        if (c == '"') {
            if (m_pos != m_end && *m_pos == '"') {
                field += '"';
                ++m_pos;
                continue;
            }
            break;
        }
        if (c == '\n' || (c == '\r' && (m_pos == m_end || *m_pos != '\n')))
            ++m_line;
        field += c;
    }
    while (m_pos != m_end && isSpace(*m_pos))
        ++m_pos;
    if (!atLineEnd() && *m_pos != m_delimiter)
        throw DataError(m_file + ":" + std::to_string(m_line) + ": unexpected text after the "
                        "closing quote of a quoted field");
}

void CsvParser::readPlain(std::string& field)
{
    const char* start = m_pos;
    while (!atLineEnd() && *m_pos != m_delimiter)
        ++m_pos;
    const char* stop = m_pos;
    while (stop != start && isSpace(stop[-1]))
        --stop;
    field.assign(start, stop);
}

bool CsvParser::next(std::vector<std::string>& fields)
{
    skipBlankAndCommentLines();
    if (m_pos == m_end)
        return false;
    m_recordLine = m_line;
    size_t n = 0;
    for (;;) {
        if (n == fields.size())
            fields.emplace_back();
        std::string& field = fields[n++];
        field.clear();
        while (m_pos != m_end && isSpace(*m_pos))
            ++m_pos;
        if (m_pos != m_end && *m_pos == '"')
            readQuoted(field);
        else
            readPlain(field);
        if (atLineEnd())
            break;
        ++m_pos;   // the delimiter
    }
    consumeLineEnd();
    fields.resize(n);
    return true;
}

std::optional<float> parseFloat(const std::string& field)
{
    const char* begin = field.data();
    const char* end = begin + field.size();
    // from_chars rejects a leading '+', which spreadsheets do write.
    if (begin != end && *begin == '+' && end - begin > 1 && begin[1] != '-')
        ++begin;
    float value = 0.0f;
    const auto [ptr, ec] = std::from_chars(begin, end, value);
    if (ec != std::errc() || ptr != end || begin == end || !std::isfinite(value))
        return std::nullopt;
    return value;
}

bool isMissing(const std::string& field)
{
    static const char* const kTokens[] = {"", "NA", "N/A", "n/a", "na", "NaN", "nan", "NAN",
                                          "null", "NULL", "None", "?"};
    return std::any_of(std::begin(kTokens), std::end(kTokens),
                       [&](const char* t) { return field == t; });
}

} // namespace nnlab::detail
