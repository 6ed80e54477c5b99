#include "runs/experiment_diff.h"

#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace runs {

namespace {

QString scalarText(const QJsonValue& v)
{
    switch (v.type()) {
    case QJsonValue::Null: return QStringLiteral("null");
    case QJsonValue::Bool: return v.toBool() ? QStringLiteral("true") : QStringLiteral("false");
    case QJsonValue::Double: return QString::number(v.toDouble(), 'g', 12);
    case QJsonValue::String: return QLatin1Char('"') + v.toString() + QLatin1Char('"');
    default: return {};
    }
}

void flatten(const QJsonValue& v, const QString& key, QList<FlatEntry>& out)
{
    if (v.isObject()) {
        const QJsonObject o = v.toObject();
        if (o.isEmpty())
            out.push_back({key, QStringLiteral("{}")});
        for (auto it = o.begin(); it != o.end(); ++it)
            flatten(it.value(), key.isEmpty() ? it.key() : key + QLatin1Char('.') + it.key(), out);
    } else if (v.isArray()) {
        const QJsonArray a = v.toArray();
        if (a.isEmpty())
            out.push_back({key, QStringLiteral("[]")});
        for (int i = 0; i < a.size(); ++i)
            flatten(a.at(i), key + QLatin1Char('[') + QString::number(i) + QLatin1Char(']'), out);
    } else {
        out.push_back({key, scalarText(v)});
    }
}

} // namespace

QList<FlatEntry> flattenJson(const QString& json)
{
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(json.toUtf8(), &error);
    QList<FlatEntry> out;
    if (error.error != QJsonParseError::NoError) {
        out.push_back({QString(), QObject::tr("not valid JSON: %1 at offset %2").arg(error.errorString()).arg(error.offset)});
        return out;
    }
    flatten(doc.isObject() ? QJsonValue(doc.object()) : QJsonValue(doc.array()), QString(), out);
    return out;
}

QList<DiffRow> diffJson(const QString& jsonA, const QString& jsonB)
{
    const QList<FlatEntry> a = flattenJson(jsonA);
    const QList<FlatEntry> b = flattenJson(jsonB);
    QList<DiffRow> rows;
    QHash<QString, int> rowOf;
    for (const FlatEntry& e : a) {
        rowOf.insert(e.key, static_cast<int>(rows.size()));
        DiffRow row;
        row.key = e.key;
        row.a = e.value;
        row.hasA = true;
        rows.push_back(row);
    }
    int insertAt = 0;
    for (const FlatEntry& e : b) {
        const auto it = rowOf.constFind(e.key);
        if (it != rowOf.constEnd()) {
            DiffRow& row = rows[it.value()];
            row.b = e.value;
            row.hasB = true;
            insertAt = it.value() + 1;
            continue;
        }
        DiffRow row;
        row.key = e.key;
        row.b = e.value;
        row.hasB = true;
        rows.insert(insertAt, row);
        for (auto& index : rowOf)
            if (index >= insertAt)
                ++index;
        rowOf.insert(e.key, insertAt);
        ++insertAt;
    }
    return rows;
}

} // namespace runs
