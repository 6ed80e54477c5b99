// A tokenizer for real-world CSV: quoted fields (with delimiters, doubled quotes and line
// breaks inside), CRLF or LF line ends, blank lines skipped, spaces around fields trimmed,
// optionally the first lines and comment lines skipped.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace nnlab::detail {

class CsvParser {
public:
    // `text` must outlive the parser; `file` only names it in error messages. The first
    // `skipLines` lines are skipped as they are (quotes in them mean nothing), and so is every
    // line whose first non-blank text is `comment` (when not empty). Line numbers still count
    // the skipped lines.
    CsvParser(const char* text, size_t size, char delimiter, std::string file, size_t skipLines = 0,
              std::string comment = {});

    // Reads the next record into `fields` (reusing its strings). Returns false at the end.
    // Throws DataError "FILE:LINE: ..." for an unterminated quote or text after a closing quote.
    bool next(std::vector<std::string>& fields);

    // 1-based line on which the last record returned by next() starts.
    size_t recordLine() const { return m_recordLine; }
    // The line a record read now would start on (for "no data rows" style messages).
    size_t currentLine() const { return m_line; }

private:
    void skipLine();
    void skipBlankAndCommentLines();
    void readQuoted(std::string& field);
    void readPlain(std::string& field);
    bool atLineEnd() const;
    void consumeLineEnd();
    bool isSpace(char c) const { return (c == ' ' || c == '\t') && c != m_delimiter; }

    const char* m_pos;
    const char* m_end;
    char m_delimiter;
    std::string m_file;
    std::string m_comment;
    size_t m_line = 1;
    size_t m_recordLine = 0;
};

// A float from a whole trimmed field ("1.5", "-2e3", "+4"); nullopt when it is not one finite
// number. Locale-independent.
std::optional<float> parseFloat(const std::string& field);

// "", "NA", "N/A", "NaN", "null", "?" and friends: the ways spreadsheets write a missing value.
bool isMissing(const std::string& field);

} // namespace nnlab::detail
