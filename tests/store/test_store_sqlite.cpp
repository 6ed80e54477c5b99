// The store's SQLite layer: columns read by name, and a misspelt column name that cannot go
// unnoticed (it reads as NULL and fails the next step with SQLITE_RANGE).
#include "sqlite_util.h"

#include <QTest>

#include <cmath>

using namespace nnlab;
using namespace nnlab::store;

namespace {

std::unique_ptr<Connection> memoryDatabase()
{
    sqlite3* db = nullptr;
    sqlite3_open(":memory:", &db);
    return std::make_unique<Connection>(db, "memory.db", 1000, false);
}

} // namespace

class TestStoreSqlite : public QObject {
    Q_OBJECT
private slots:
    void readsColumnsByName()
    {
        auto db = memoryDatabase();
        QCOMPARE(db->exec("CREATE TABLE t(id INTEGER, name TEXT, value REAL);"
                          "INSERT INTO t VALUES(7, 'seven', 7.5), (8, 'eight', NULL)"),
                 SQLITE_OK);
        auto select = db->query("SELECT value, name, id, id * 2 AS twice FROM t ORDER BY id");
        QVERIFY(select->next());
        QCOMPARE(select->integer("id"), int64_t(7));
        QCOMPARE(select->text("name"), std::string("seven"));
        QCOMPARE(select->real("value"), 7.5);
        QCOMPARE(select->integer("twice"), int64_t(14));
        QCOMPARE(select->columnIndex("id"), 2);
        QVERIFY(select->next());
        QVERIFY(select->isNull("value"));
        QVERIFY(std::isnan(select->real("value")));   // NULL reads as NaN
        QVERIFY(!select->next());
        QCOMPARE(select->readResult(), SQLITE_OK);
    }

    void unknownColumnFailsTheNextStep()
    {
        auto db = memoryDatabase();
        QCOMPARE(db->exec("CREATE TABLE t(id INTEGER); INSERT INTO t VALUES(1), (2), (3)"), SQLITE_OK);
        {
            auto select = db->query("SELECT id FROM t ORDER BY id");
            int rows = 0;
            while (select->next()) {
                ++rows;
                QCOMPARE(select->columnIndex("idd"), -1);
                QCOMPARE(select->integer("idd"), int64_t(0));
            }
            QCOMPARE(rows, 1);
            QCOMPARE(select->readResult(), SQLITE_RANGE);
            const StoreError error = db->check(select->readResult(), "cannot read t");
            QVERIFY2(error.message.find("memory.db: cannot read t:") == 0, error.message.c_str());
            QVERIFY(error.message.find("a bug in nnlab") != std::string::npos);
        }
        // The cached statement is reset when the query ends: a correct read works again.
        auto again = db->query("SELECT id FROM t ORDER BY id");
        QVERIFY(again->next());
        QCOMPARE(again->integer("id"), int64_t(1));
    }

    void executeAndCheck()
    {
        auto db = memoryDatabase();
        QCOMPARE(db->exec("CREATE TABLE t(id INTEGER PRIMARY KEY)"), SQLITE_OK);
        auto insert = db->query("INSERT INTO t(id) VALUES(?)");
        insert->bind(1, 5);
        QCOMPARE(insert->execute(), SQLITE_OK);
        insert->reset();
        insert->bind(1, 5);
        const int rc = insert->execute();
        QCOMPARE(rc & 0xff, SQLITE_CONSTRAINT);
        QVERIFY(!db->check(rc, "cannot insert").ok());
        QVERIFY(db->check(SQLITE_OK, "cannot insert").ok());
    }
};

QTEST_APPLESS_MAIN(TestStoreSqlite)
#include "test_store_sqlite.moc"
