// readCsv: headers, quoting, line ends, label columns and classes, gzip, and a "FILE:LINE:"
// DataError for every kind of bad row.
#include "data_test_util.h"

#include <QTemporaryDir>

using namespace nnlab;
using namespace testutil;

class TestCsv : public QObject {
    Q_OBJECT
    QTemporaryDir m_dir;
    std::string path(const std::string& name) const
    {
        return (m_dir.path() + "/").toStdString() + name;
    }
    std::string write(const std::string& name, const std::string& text)
    {
        writeText(path(name), text);
        return path(name);
    }

private slots:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void headerAndStringLabels()
    {
        const std::string f = write("iris.csv", "sepal,petal,species\n"
                                                "1.5,2,versicolor\n"
                                                "3,-4e1,setosa\n"
                                                "+5,6.25,virginica\n"
                                                "7,8,setosa\n");
        const CsvTable t = readCsv(f, {});
        QCOMPARE(t.featureNames, (std::vector<std::string>{"sepal", "petal"}));
        QCOMPARE(t.classNames, (std::vector<std::string>{"setosa", "versicolor", "virginica"}));
        QCOMPARE(t.data.sampleShape, std::vector<int64_t>{2});
        QCOMPARE(t.data.count(), int64_t(4));
        QCOMPARE(t.data.labels, (std::vector<int64_t>{1, 0, 2, 0}));
        QCOMPARE(t.data.features, (std::vector<float>{1.5f, 2, 3, -40, 5, 6.25f, 7, 8}));
        QVERIFY(t.data.targets.empty());
    }

    void headerDetection_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("header");
        QTest::addColumn<int>("rows");
        QTest::addColumn<QString>("firstName");
        QTest::newRow("auto, numeric first line") << "1,2,0\n3,4,1\n" << "auto" << 2 << "column 0";
        QTest::newRow("auto, names") << "a,b,y\n1,2,0\n3,4,1\n" << "auto" << 2 << "a";
        QTest::newRow("auto, text label only") << "1,2,cat\n3,4,dog\n" << "auto" << 2 << "column 0";
        QTest::newRow("forced yes on numbers") << "10,20,30\n1,2,0\n3,4,1\n" << "yes" << 2 << "10";
        QTest::newRow("forced no") << "1,2,0\n3,4,1\n5,6,1\n" << "no" << 3 << "column 0";
    }
    void headerDetection()
    {
        QFETCH(QString, text);
        QFETCH(QString, header);
        QFETCH(int, rows);
        QFETCH(QString, firstName);
        CsvOptions o;
        o.header = header.toStdString();
        const CsvTable t = readCsv(write("h.csv", text.toStdString()), o);
        QCOMPARE(t.data.count(), int64_t(rows));
        QCOMPARE(t.featureNames.at(0), firstName.toStdString());
    }

    void quotingCrlfAndBlankLines()
    {
        const std::string f = write("q.csv", "\xEF\xBB\xBF" "\"x, first\",\"y\"\"s\",label\r\n"
                                             "\r\n"
                                             "  1 , \"2\" ,\"a, \"\"quoted\"\" one\"\r\n"
                                             "   \r\n"
                                             "3,4,\"multi\nline\"\r\n"
                                             "5,6,plain\r\n"
                                             "\r\n");
        const CsvTable t = readCsv(f, {});
        QCOMPARE(t.featureNames, (std::vector<std::string>{"x, first", "y\"s"}));
        QCOMPARE(t.classNames, (std::vector<std::string>{"a, \"quoted\" one", "multi\nline", "plain"}));
        QCOMPARE(t.data.labels, (std::vector<int64_t>{0, 1, 2}));
        QCOMPARE(t.data.features, (std::vector<float>{1, 2, 3, 4, 5, 6}));
    }

    void lineNumbersAfterMultilineField()
    {
        // The quoted label spans lines 2-3, so the bad row is line 4.
        const std::string f = write("ml.csv", "a,b\n1,\"x\ny\"\n2\n");
        QCOMPARE(errorOf([&] { readCsv(f, {}); }),
                 f + ":4: expected 2 columns as on line 1, got 1; if the file starts with metadata or comment "
                     "lines, set data.skip_rows (now 0) or data.comment (now none)");
    }

    void labelColumn_data()
    {
        QTest::addColumn<QString>("column");
        QTest::addColumn<QString>("firstFeature");
        QTest::addColumn<qlonglong>("firstLabel");
        QTest::newRow("default last") << "" << "j" << 0LL;
        QTest::newRow("by name") << "k" << "j" << 1LL;
        QTest::newRow("by index") << "0" << "k" << 1LL;
        QTest::newRow("by index 1") << "1" << "j" << 1LL;
    }
    void labelColumn()
    {
        QFETCH(QString, column);
        QFETCH(QString, firstFeature);
        QFETCH(qlonglong, firstLabel);
        // j = 5, 3; k = 9, 10; m = 1, 2
        const std::string f = write("lc.csv", "j,k,m\n5,10,1\n3,9,2\n");
        CsvOptions o;
        o.labelColumn = column.toStdString();
        const CsvTable t = readCsv(f, o);
        QCOMPARE(t.featureNames.at(0), firstFeature.toStdString());
        QCOMPARE(t.featureNames.size(), size_t(2));
        QCOMPARE(t.data.labels.at(0), firstLabel);
    }

    void indexIsNotMistakenForAName()
    {
        // Headerless, label column "1": the first row's "1" is data, not a header name.
        CsvOptions o;
        o.labelColumn = "1";
        const CsvTable t = readCsv(write("idx.csv", "0,1,2\n3,0,5\n"), o);
        QCOMPARE(t.data.count(), int64_t(2));
        QCOMPARE(t.data.labels, (std::vector<int64_t>{1, 0}));
        QCOMPARE(t.data.features, (std::vector<float>{0, 2, 3, 5}));

        // With a header, a column named "2" is found by name.
        o.labelColumn = "2";
        const CsvTable named = readCsv(write("named.csv", "x,2,1\n1,7,8\n2,9,8\n"), o);
        QCOMPARE(named.featureNames, (std::vector<std::string>{"x", "1"}));
        QCOMPARE(named.classNames, (std::vector<std::string>{"7", "9"}));
    }

    void numericLabelsSortNumerically()
    {
        const std::string f = write("num.csv", "1,10\n2,9\n3,1.0\n4,1\n5,-2\n");
        const CsvTable t = readCsv(f, {});
        QCOMPARE(t.classNames, (std::vector<std::string>{"-2", "1.0", "9", "10"}));
        QCOMPARE(t.data.labels, (std::vector<int64_t>{3, 2, 1, 1, 0}));
    }

    void delimiterAndRegression()
    {
        CsvOptions o;
        o.classification = false;
        o.delimiter = ';';
        const CsvTable t = readCsv(write("reg.csv", "x;z;y\n1;2;0.5\n2;3;-1e2\n"), o);
        QCOMPARE(t.data.targetDim, int64_t(1));
        QCOMPARE(t.data.targets, (std::vector<float>{0.5f, -100.0f}));
        QVERIFY(t.data.labels.empty());
        QVERIFY(t.classNames.empty());
        QCOMPARE(t.data.count(), int64_t(2));
        QCOMPARE(t.data.features, (std::vector<float>{1, 2, 2, 3}));
    }

    void gzipFiles_data()
    {
        QTest::addColumn<QString>("name");
        QTest::newRow(".gz suffix") << "g.csv.gz";
        QTest::newRow("magic only") << "g2.csv";
    }
    void gzipFiles()
    {
        QFETCH(QString, name);
        const std::string text = "a,b,c\n1,2,yes\n3,4,no\n";
        const std::string f = path(name.toStdString());
        writeGzip(f, Bytes(text.begin(), text.end()));
        const CsvTable t = readCsv(f, {});
        QCOMPARE(t.classNames, (std::vector<std::string>{"no", "yes"}));
        QCOMPARE(t.data.labels, (std::vector<int64_t>{1, 0}));
        QCOMPARE(t.data.features, (std::vector<float>{1, 2, 3, 4}));
    }

    void knownClasses()
    {
        const std::string f = write("test.csv", "a,label\n1,dog\n2,cat\n3,2.0\n");
        const CsvTable t = readCsv(f, {}, {"cat", "dog", "2"});
        QCOMPARE(t.data.labels, (std::vector<int64_t>{1, 0, 2}));
        QCOMPARE(t.classNames, (std::vector<std::string>{"cat", "dog", "2"}));

        const std::string bad = write("test2.csv", "a,label\n1,dog\n\n2,bird\n");
        const std::string error = errorOf([&] { readCsv(bad, {}, {"cat", "dog"}); });
        QCOMPARE(error, bad + ":4: unknown label \"bird\"; the known classes are cat, dog");
    }

    void badFiles_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("header");
        QTest::addColumn<QString>("labelColumn");
        QTest::addColumn<bool>("classification");
        QTest::addColumn<QString>("message");   // after "FILE"

        QTest::newRow("too few columns") << "a,b,c\n1,2,x\n3,4\n" << "auto" << "" << true
                                         << ":3: expected 3 columns as on line 1, got 2";
        QTest::newRow("too many columns") << "1,2,x\n3,4,5,y\n" << "auto" << "" << true
                                          << ":2: expected 3 columns as on line 1, got 4";
        QTest::newRow("non-numeric feature") << "a,b,c\n1,2,x\n3,abc,y\n" << "auto" << "" << true
                                             << ":3: column \"b\": \"abc\" is not a number";
        QTest::newRow("non-numeric, no header") << "1,2,x\n3,4e,y\n" << "no" << "" << true
                                                << ":2: column 1: \"4e\" is not a number";
        QTest::newRow("empty feature") << "a,b,c\n1,,x\n" << "auto" << "" << true
                                       << ":2: missing value in column \"b\"";
        QTest::newRow("NA feature") << "a,b,c\n1,2,x\n\nNA,2,y\n" << "auto" << "" << true
                                    << ":4: missing value in column \"a\"";
        QTest::newRow("NA in the first row") << "NA,2,x\n1,2,y\n" << "auto" << "" << true
                                             << ":1: missing value in column 0";
        QTest::newRow("empty file") << "" << "auto" << "" << true << ":1: empty file";
        QTest::newRow("only blank lines") << "\n\r\n  \n" << "auto" << "" << true
                << ":1: empty file";
        QTest::newRow("header only") << "a,b,c\n" << "auto" << "" << true
                                     << ":2: no data rows after the header";
        QTest::newRow("unknown label column") << "a,b,c\n1,2,3\n" << "auto" << "d" << true
                                              << ":1: unknown label column \"d\"; the first line has: a, b, c";
        QTest::newRow("label index out of range") << "a,b,c\n1,2,3\n" << "auto" << "3" << true
                                                  << ":1: label column index 3 out of range: the file has 3 columns";
        QTest::newRow("label name without header") << "1,2,3\n" << "no" << "c" << true
                                                    << ":1: label column \"c\" is a name, but data.header is no";
        QTest::newRow("one column") << "a\n1\n" << "auto" << "" << true
                                    << ":1: expected at least 2 columns";
        QTest::newRow("missing label") << "a,b\n1,x\n2,\n" << "auto" << "" << true
                                       << ":3: missing label in column \"b\"";
        QTest::newRow("text target") << "a,b\n1,2\n2,x\n" << "auto" << "" << false
                                     << ":3: column \"b\": target \"x\" is not a number";
        QTest::newRow("unterminated quote") << "a,b\n1,2\n3,\"x\n4,5\n" << "auto" << "" << true
                                            << ":3: unterminated quoted field";
        QTest::newRow("text after quote") << "a,b\n1,\"x\"y\n" << "auto" << "" << true
                                          << ":2: unexpected text after the closing quote";
        QTest::newRow("crlf line count") << "a,b\r\n1,2\r\n\r\n3\r\n" << "auto" << "" << true
                                         << ":4: expected 2 columns as on line 1, got 1";
    }
    void badFiles()
    {
        QFETCH(QString, text);
        QFETCH(QString, header);
        QFETCH(QString, labelColumn);
        QFETCH(bool, classification);
        QFETCH(QString, message);
        const std::string f = write("bad.csv", text.toStdString());
        CsvOptions o;
        o.header = header.toStdString();
        o.labelColumn = labelColumn.toStdString();
        o.classification = classification;
        const std::string error = errorOf([&] { readCsv(f, o); });
        QVERIFY2(error.rfind(f + message.toStdString(), 0) == 0,
                 ("got \"" + error + "\"").c_str());
    }

    // A published CSV: a title and a source line, then comments between the rows.
    static std::string withMetadata()
    {
        return "Iris data set, 1936, R. A. Fisher, The use of multiple measurements, in taxonomic problems\n"
               "source: UCI, 150 rows, 4 features, 1 label, cleaned 2024, see README\n"
               "sepal,petal,species\n"
               "# measured in cm\n"
               "1,2,setosa\n"
               "  # a comment after spaces, with \"an unbalanced quote\n"
               "3,4,virginica\n"
               "#5,6,dropped\n"
               "7,8,setosa\n";
    }

    void skipRowsAndComments_data()
    {
        QTest::addColumn<bool>("gzip");
        QTest::newRow("plain") << false;
        QTest::newRow("gzip") << true;
    }
    void skipRowsAndComments()
    {
        QFETCH(bool, gzip);
        const std::string text = withMetadata();
        const std::string f = path(gzip ? "meta.csv.gz" : "meta.csv");
        if (gzip)
            writeGzip(f, Bytes(text.begin(), text.end()));
        else
            writeText(f, text);
        CsvOptions o;
        o.skipRows = 2;
        o.comment = "#";
        const CsvTable t = readCsv(f, o);
        QCOMPARE(t.featureNames, (std::vector<std::string>{"sepal", "petal"}));
        QCOMPARE(t.classNames, (std::vector<std::string>{"setosa", "virginica"}));
        QCOMPARE(t.data.features, (std::vector<float>{1, 2, 3, 4, 7, 8}));
        QCOMPARE(t.data.labels, (std::vector<int64_t>{0, 1, 0}));

        // Line numbers still count the skipped lines: the bad row is line 10.
        const std::string bad = write("meta_bad.csv", text + "9\n");
        QVERIFY(errorOf([&] { readCsv(bad, o); }).rfind(bad + ":10: expected 3 columns as on line 3, got 1", 0) == 0);
        o.comment = "//";
        const std::string slashes = write("meta_slashes.csv", "a,b\n// note\n1,x\n2,y\n");
        o.skipRows = 0;
        QCOMPARE(readCsv(slashes, o).data.count(), int64_t(2));
    }

    void metadataWithoutSettingsNamesBoth_data()
    {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("message");   // after "FILE"
        QTest::newRow("metadata with commas")
            << "Iris, 1936, Fisher, UCI\nsepal,petal,species\n1,2,setosa\n"
            << ":2: expected 4 columns as on line 1, got 3; if the file starts with metadata or comment lines, "
               "set data.skip_rows (now 0) or data.comment (now none)";
        QTest::newRow("one-word title")
            << "iris\nsepal,petal,species\n1,2,setosa\n"
            << ":1: expected at least 2 columns (features and a label), got 1 (is the delimiter ','?); if the file "
               "starts with metadata or comment lines, set data.skip_rows (now 0) or data.comment (now none)";
    }
    void metadataWithoutSettingsNamesBoth()
    {
        QFETCH(QString, text);
        QFETCH(QString, message);
        const std::string f = write("meta_plain.csv", text.toStdString());
        QCOMPARE(errorOf([&] { readCsv(f, {}); }), f + message.toStdString());

        // The settings in force are named too.
        CsvOptions o;
        o.skipRows = 1;
        o.comment = "%";
        const std::string g = write("meta_wrong.csv", "title\nx, y\na,b,c\n1,2,3\n");
        QVERIFY(contains(errorOf([&] { readCsv(g, o); }), "set data.skip_rows (now 1) or data.comment (now \"%\")"));
    }

    void optionsFromTheSpec()
    {
        DataSpec spec;
        spec.source = "csv";
        spec.skipRows = 3;
        spec.comment = "#";
        spec.delimiter = "tab";
        const CsvOptions o = csvOptions(spec, false);
        QCOMPARE(o.skipRows, int64_t(3));
        QCOMPARE(o.comment, std::string("#"));
        QCOMPARE(o.delimiter, '\t');
        QVERIFY(!o.classification);
        spec.delimiter = ";;";
        QCOMPARE(errorOf([&] { csvOptions(spec, true); }), std::string("data.delimiter: must be one character (or \"tab\"), got \";;\""));
    }

    void badOptionsAndMissingFile()
    {
        CsvOptions o;
        o.header = "maybe";
        const std::string f = write("ok.csv", "1,2\n");
        QCOMPARE(errorOf([&] { readCsv(f, o); }),
                 std::string("data.header: must be auto, yes or no, got \"maybe\""));
        const std::string missing = path("missing.csv");
        QCOMPARE(errorOf([&] { readCsv(missing, {}); }), missing + ": file not found");
    }
};

QTEST_APPLESS_MAIN(TestCsv)
#include "test_data_csv.moc"
