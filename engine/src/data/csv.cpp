// CSV tables: header detection, label column lookup, features as floats, labels as class ids
// (or regression targets). Every problem names the file and the 1-based line.
#include "nnlab/data.h"

#include "csv_parser.h"
#include "gzip_reader.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

namespace nnlab {
namespace {

using detail::isMissing;
using detail::parseFloat;

[[noreturn]] void fail(const std::string& file, size_t line, const std::string& what)
{
    throw DataError(file + ":" + std::to_string(line) + ": " + what);
}

std::string inQuotes(const std::string& s)
{
    return "\"" + s + "\"";
}

// "a, b, c" for a message, cut after `limit` items.
std::string listForMessage(const std::vector<std::string>& items, size_t limit = 12)
{
    std::string out;
    for (size_t i = 0; i < items.size() && i < limit; ++i)
        out += (i ? ", " : "") + items[i];
    if (items.size() > limit)
        out += ", ... (" + std::to_string(items.size()) + " in all)";
    return out;
}

// The fix for a row whose column count differs: usually metadata or comments that were read
// as the header or first row.
std::string skipHint(const CsvOptions& options)
{
    return "; if the file starts with metadata or comment lines, set data.skip_rows (now "
           + std::to_string(options.skipRows) + ") or data.comment (now "
           + (options.comment.empty() ? std::string("none") : inQuotes(options.comment)) + ")";
}

std::optional<size_t> parseIndex(const std::string& s)
{
    const auto isDigit = [](unsigned char c) { return c >= '0' && c <= '9'; };
    if (s.empty() || s.size() > 9 || !std::all_of(s.begin(), s.end(), isDigit))
        return std::nullopt;
    return std::stoul(s);
}

struct Layout {
    bool header = false;
    size_t labelIndex = 0;
    std::vector<std::string> columnNames;   // every column, label included
};

// Decides from the first record whether it is a header and which column holds the label.
Layout resolveLayout(const std::string& file, size_t line, const std::vector<std::string>& first,
                     const CsvOptions& options)
{
    if (options.header != "auto" && options.header != "yes" && options.header != "no")
        throw DataError("data.header: must be auto, yes or no, got " + inQuotes(options.header));
    const size_t columns = first.size();
    if (columns < 2)
        fail(file, line, "expected at least 2 columns (features and a label), got 1 (is the "
                         "delimiter '" + std::string(1, options.delimiter) + "'?)" + skipHint(options));

    const std::string& wanted = options.labelColumn;
    const std::optional<size_t> index = parseIndex(wanted);
    const auto match = std::find(first.begin(), first.end(), wanted);

    Layout layout;
    if (options.header == "auto" && !wanted.empty() && !index) {
        // A label column given by name only exists in a header.
        layout.header = match != first.end();
    } else if (options.header == "auto") {
        // A header has a name where data has a number. Missing-value tokens do not count, so a
        // first data row with a gap is still reported as a missing value, not eaten as names.
        const size_t label = wanted.empty() ? columns - 1 : *index;
        for (size_t i = 0; i < columns && !layout.header; ++i)
            layout.header = i != label && !isMissing(first[i]) && !parseFloat(first[i]);
    } else {
        layout.header = options.header == "yes";
    }

    // A header name wins over the same text read as an index (a column called "3").
    if (wanted.empty())
        layout.labelIndex = columns - 1;
    else if (layout.header && match != first.end())
        layout.labelIndex = size_t(match - first.begin());
    else if (index && *index < columns)
        layout.labelIndex = *index;
    else if (index)
        fail(file, line, "label column index " + wanted + " out of range: the file has "
                         + std::to_string(columns) + " columns (0-based)");
    else if (options.header == "no")
        fail(file, line, "label column " + inQuotes(wanted) + " is a name, but data.header is no");
    else
        fail(file, line, "unknown label column " + inQuotes(wanted) + "; the "
                         + (options.header == "yes" ? "header" : "first line") + " has: "
                         + listForMessage(first));

    for (size_t i = 0; i < columns; ++i)
        layout.columnNames.push_back(layout.header ? first[i] : "column " + std::to_string(i));
    return layout;
}

// Class ids for first-seen label strings: sorted by value when every label is a number (so
// "10" follows "9", and "1" and "1.0" are one class), else sorted as strings.
std::vector<int64_t> sortedClassIds(const std::vector<std::string>& distinct,
                                    std::vector<std::string>& classNames)
{
    std::vector<std::optional<float>> values;
    for (const std::string& s : distinct)
        values.push_back(parseFloat(s));
    const bool numeric = std::all_of(values.begin(), values.end(),
                                     [](const auto& v) { return v.has_value(); });
    std::vector<size_t> order(distinct.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return numeric ? *values[a] < *values[b] : distinct[a] < distinct[b];
    });
    std::vector<int64_t> ids(distinct.size());
    classNames.clear();
    for (size_t k = 0; k < order.size(); ++k) {
        const size_t i = order[k];
        const bool same = k > 0 && numeric && *values[i] == *values[order[k - 1]];
        if (!same)
            classNames.push_back(distinct[i]);
        ids[i] = int64_t(classNames.size()) - 1;
    }
    return ids;
}

// Maps a label to one of the given class names: exact text first, then equal numeric value.
class KnownClasses {
public:
    explicit KnownClasses(const std::vector<std::string>& names) : m_names(names)
    {
        for (size_t i = 0; i < names.size(); ++i) {
            m_byName.emplace(names[i], int64_t(i));
            m_values.push_back(parseFloat(names[i]));
        }
    }
    std::optional<int64_t> find(const std::string& label) const
    {
        if (const auto it = m_byName.find(label); it != m_byName.end())
            return it->second;
        if (const std::optional<float> v = parseFloat(label))
            for (size_t i = 0; i < m_values.size(); ++i)
                if (m_values[i] && *m_values[i] == *v)
                    return int64_t(i);
        return std::nullopt;
    }
    const std::vector<std::string>& names() const { return m_names; }

private:
    std::vector<std::string> m_names;
    std::unordered_map<std::string, int64_t> m_byName;
    std::vector<std::optional<float>> m_values;
};

CsvTable readTable(const std::string& file, const CsvOptions& options, const KnownClasses* known)
{
    const std::vector<unsigned char> bytes = detail::readFileBytes(file);
    if (options.skipRows < 0)
        throw DataError("data.skip_rows: must be >= 0, got " + std::to_string(options.skipRows));
    detail::CsvParser parser(reinterpret_cast<const char*>(bytes.data()), bytes.size(),
                             options.delimiter, file, size_t(options.skipRows), options.comment);
    std::vector<std::string> fields;
    if (!parser.next(fields))
        throw DataError(file + ":1: empty file (no header and no data rows)");
    const size_t firstLine = parser.recordLine();
    const Layout layout = resolveLayout(file, firstLine, fields, options);
    const size_t columns = layout.columnNames.size();

    CsvTable table;
    for (size_t i = 0; i < columns; ++i)
        if (i != layout.labelIndex)
            table.featureNames.push_back(layout.columnNames[i]);
    Dataset& data = table.data;
    data.sampleShape = {int64_t(columns - 1)};
    if (!options.classification)
        data.targetDim = 1;

    // Classification labels get provisional ids in order of first appearance; they are
    // renumbered in sorted order once every label has been seen.
    std::unordered_map<std::string, int64_t> firstSeen;
    std::vector<std::string> distinct;
    const auto column = [&](size_t i) {
        return layout.header ? "column " + inQuotes(layout.columnNames[i]) : layout.columnNames[i];
    };

    bool pending = !layout.header;   // the first record is data when there is no header
    while (pending || parser.next(fields)) {
        pending = false;
        const size_t line = parser.recordLine();
        if (fields.size() != columns)
            fail(file, line, "expected " + std::to_string(columns) + " columns as on line "
                             + std::to_string(firstLine) + ", got " + std::to_string(fields.size())
                             + skipHint(options));
        for (size_t i = 0; i < columns; ++i) {
            if (i == layout.labelIndex)
                continue;
            if (isMissing(fields[i]))
                fail(file, line, "missing value in " + column(i));
            const std::optional<float> v = parseFloat(fields[i]);
            if (!v)
                fail(file, line, column(i) + ": " + inQuotes(fields[i]) + " is not a number");
            data.features.push_back(*v);
        }
        const std::string& label = fields[layout.labelIndex];
        if (options.classification && label.empty())
            fail(file, line, "missing label in " + column(layout.labelIndex));
        if (!options.classification) {
            if (isMissing(label))
                fail(file, line, "missing target value in " + column(layout.labelIndex));
            const std::optional<float> v = parseFloat(label);
            if (!v)
                fail(file, line, column(layout.labelIndex) + ": target " + inQuotes(label)
                                 + " is not a number (text labels need a classification loss)");
            data.targets.push_back(*v);
        } else if (known) {
            const std::optional<int64_t> id = known->find(label);
            if (!id)
                fail(file, line, "unknown label " + inQuotes(label) + "; the known classes are "
                                 + listForMessage(known->names()));
            data.labels.push_back(*id);
        } else {
            const auto [it, added] = firstSeen.emplace(label, int64_t(distinct.size()));
            if (added)
                distinct.push_back(label);
            data.labels.push_back(it->second);
        }
    }
    if (data.count() == 0)
        throw DataError(file + ":" + std::to_string(parser.currentLine())
                        + ": no data rows" + (layout.header ? " after the header" : ""));

    if (options.classification && known) {
        table.classNames = known->names();
    } else if (options.classification) {
        const std::vector<int64_t> ids = sortedClassIds(distinct, table.classNames);
        for (int64_t& l : data.labels)
            l = ids[size_t(l)];
    }
    return table;
}

} // namespace

CsvOptions csvOptions(const DataSpec& spec, bool classification)
{
    CsvOptions options;
    options.labelColumn = spec.labelColumn;
    options.header = spec.header;
    options.classification = classification;
    options.skipRows = spec.skipRows;
    options.comment = spec.comment;
    if (spec.delimiter == "\\t" || spec.delimiter == "tab")
        options.delimiter = '\t';
    else if (spec.delimiter.size() == 1 && spec.delimiter != "\"" && spec.delimiter != "\n")
        options.delimiter = spec.delimiter[0];
    else
        throw DataError("data.delimiter: must be one character (or \"tab\"), got " + inQuotes(spec.delimiter));
    return options;
}

CsvTable readCsv(const std::string& file, const CsvOptions& options)
{
    return readTable(file, options, nullptr);
}

CsvTable readCsv(const std::string& file, const CsvOptions& options,
                 const std::vector<std::string>& classNames)
{
    const KnownClasses known(classNames);
    return readTable(file, options, &known);
}

} // namespace nnlab
