// Two experiments side by side: each JSON document flattened to dotted keys
// ("optimizer.lr", "model.layers[3].kernel_size") and lined up key by key.
#pragma once

#include <QList>
#include <QString>
#include <QStringList>

namespace runs {

struct FlatEntry {
    QString key;
    QString value;   // JSON text of a scalar: 0.001, "adamw", true, null; {} or [] when empty
};

// The leaves of a JSON document in document order (objects by key). An unparsable document
// gives one entry with the key "" and the parser's message.
QList<FlatEntry> flattenJson(const QString& json);

struct DiffRow {
    QString key;
    QString a;           // empty with hasA false when the key is missing from A
    QString b;
    bool hasA = false;
    bool hasB = false;
    bool differs() const { return hasA != hasB || a != b; }
};

// The union of both documents' keys: A's order, with keys only B has placed after the key
// B has before them.
QList<DiffRow> diffJson(const QString& jsonA, const QString& jsonB);

} // namespace runs
