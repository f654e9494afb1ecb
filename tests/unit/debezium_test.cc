#include "core/debezium.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ss {
namespace {

using shadowstream::v1::ChangeRecord;
using shadowstream::v1::Column;

std::string value(uint32_t oid, const std::string& type, const std::string& text, int typmod = -1) {
  Column c;
  c.set_type_oid(oid);
  c.set_type_name(type);
  c.set_type_modifier(typmod);
  c.set_text(text);
  std::string out;
  debezium::append_value(c, out);
  return out;
}

// Expected values follow Debezium's PostgreSQL connector documentation (data type mappings), computed by hand.
TEST(Debezium, NumbersAndText) {
  EXPECT_EQ(value(16, "bool", "t"), "true");
  EXPECT_EQ(value(23, "int4", "-42"), "-42");
  EXPECT_EQ(value(20, "int8", "-9223372036854775808"), "-9223372036854775808");
  EXPECT_EQ(value(701, "float8", "1.5e+300"), "1.5e+300");
  EXPECT_EQ(value(701, "float8", "NaN"), "\"NaN\"");
  EXPECT_EQ(value(1700, "numeric", "12345678901234567890.000001"), "\"12345678901234567890.000001\"");
  EXPECT_EQ(value(790, "money", "-$1,234.56"), "\"-1234.56\"");
  EXPECT_EQ(value(790, "money", "1.234,56 EUR"), "\"1.234,56 EUR\"");  // another locale: kept as text
  EXPECT_EQ(value(701, "float8", ".5"), "\".5\"");                     // not a JSON number: a string
  EXPECT_EQ(value(701, "float8", ""), "\"\"");
  EXPECT_EQ(value(25, "text", "a \"q\"\n"), "\"a \\\"q\\\"\\n\"");
  EXPECT_EQ(value(3802, "jsonb", "{\"a\": 1}"), "\"{\\\"a\\\": 1}\"");
  EXPECT_EQ(value(17, "bytea", "\\x00ff"), "\"AP8=\"");
  EXPECT_EQ(value(1560, "bit", "1", 1), "true");
  // bit(n > 1) and varbit as the connector writes them: the number the bits make, its bytes least significant first.
  EXPECT_EQ(value(1560, "bit", "0101", 4), "\"BQ==\"");
  EXPECT_EQ(value(1562, "varbit", "1000000000000001"), "\"AYA=\"");
  EXPECT_EQ(value(1562, "varbit", "0000"), "\"\"");
  EXPECT_EQ(value(600, "point", "(1,-2.5)"),
            "{\"x\":1,\"y\":-2.5,\"wkb\":\"AQEAAAAAAAAAAADwPwAAAAAAAATA\",\"srid\":null}");
}

TEST(Debezium, TimesAreAdaptive) {
  EXPECT_EQ(value(1082, "date", "1970-01-02"), "1");
  EXPECT_EQ(value(1082, "date", "1969-12-31"), "-1");
  EXPECT_EQ(value(1082, "date", "2000-01-01"), "10957");
  EXPECT_EQ(value(1082, "date", "0001-01-01 BC"),
            "-719528");  // proleptic year 0 (leap): 366 days before 0001-01-01, day -719162
  EXPECT_EQ(value(1082, "date", "infinity"), "\"infinity\"");
  // 1 BC is proleptic year 0, a leap year: its 29 February is the day before 1 March, -719469.
  EXPECT_EQ(value(1082, "date", "0001-03-01 BC"), "-719468");
  EXPECT_EQ(value(1082, "date", "0001-02-29 BC"), "-719469");
  EXPECT_EQ(value(1082, "date", "2001-02-29"), "\"2001-02-29\"");  // no such day: kept as text
  EXPECT_EQ(value(1114, "timestamp", "0001-02-29 00:00:00 BC"), "-62162121600000000");
  EXPECT_EQ(value(1114, "timestamp", "294000-01-01 00:00:00"), "\"294000-01-01 00:00:00\"");
  // 2018-06-20 is day 17702.
  EXPECT_EQ(value(1114, "timestamp", "2018-06-20 15:13:16.945104"), "1529507596945104");
  EXPECT_EQ(value(1114, "timestamp", "2018-06-20 15:13:16.945", 3), "1529507596945");
  EXPECT_EQ(value(1114, "timestamp", "1969-12-31 23:59:59.9995", 3), "-1");  // floor, not towards zero
  EXPECT_EQ(value(1184, "timestamptz", "2018-06-20 17:13:16.945104+02"), "\"2018-06-20T15:13:16.945104Z\"");
  // A timestamptz has as many fraction digits as its precision (6 without one), as the connector writes it.
  EXPECT_EQ(value(1184, "timestamptz", "2018-06-20 15:13:16+05:30"), "\"2018-06-20T09:43:16.000000Z\"");
  EXPECT_EQ(value(1184, "timestamptz", "2018-06-20 15:13:16.5-00:30:15", 3), "\"2018-06-20T15:43:31.500Z\"");
  EXPECT_EQ(value(1184, "timestamptz", "2018-06-20 15:13:16+00", 0), "\"2018-06-20T15:13:16Z\"");
  EXPECT_EQ(value(1083, "time", "15:13:16.945104"), "54796945104");
  EXPECT_EQ(value(1083, "time", "15:13:16.945", 3), "54796945");
  EXPECT_EQ(value(1266, "timetz", "01:00:00.25+02"), "\"23:00:00.25Z\"");
  EXPECT_EQ(value(1186, "interval", "1 year 2 mons 3 days 04:05:06.78"), "\"P1Y2M3DT4H5M6.78S\"");
  EXPECT_EQ(value(1186, "interval", "-2 days -00:00:01.5"), "\"P0Y0M-2DT0H0M-1.5S\"");
  EXPECT_EQ(value(1186, "interval", "00:00:00"), "\"P0Y0M0DT0H0M0S\"");
  EXPECT_EQ(value(1186, "interval", "@ 1 year"), "\"@ 1 year\"");  // another IntervalStyle: kept as text
}

TEST(Debezium, Arrays) {
  EXPECT_EQ(value(1007, "_int4", "{1,-2,NULL}"), "[1,-2,null]");
  EXPECT_EQ(value(1009, "_text", "{\"a b\",\"NULL\",c,\"q\\\"\"}"), "[\"a b\",\"NULL\",\"c\",\"q\\\"\"]");
  EXPECT_EQ(value(1007, "_int4", "{}"), "[]");
  EXPECT_EQ(value(1007, "_int4", "{{1,2},{3,4}}"), "\"{{1,2},{3,4}}\"");
  EXPECT_EQ(value(1231, "_numeric", "{1.5,NaN}"), "[\"1.5\",\"NaN\"]");
  EXPECT_EQ(value(1020, "_box", "{(1,1),(0,0);(2,2),(1,1)}"), "\"{(1,1),(0,0);(2,2),(1,1)}\"");
}

TEST(Debezium, NullToastAndBinary) {
  Column c;
  c.set_is_null(true);
  std::string out;
  debezium::append_value(c, out);
  EXPECT_EQ(out, "null");
  c.Clear();
  c.set_unchanged_toast(true);
  out.clear();
  debezium::append_value(c, out);
  EXPECT_EQ(out, "\"__debezium_unavailable_value\"");
}

ChangeRecord row(shadowstream::v1::Operation op, uint64_t lsn, uint64_t ordinal, const std::string& table) {
  ChangeRecord r;
  r.mutable_source()->set_name("srv");
  r.mutable_source()->set_database("inventory");
  r.set_commit_lsn(lsn);
  r.set_ordinal(ordinal);
  r.set_xid(571);
  r.set_commit_time(1559033904863123);
  r.set_op(op);
  r.set_schema("public");
  r.set_table(table);
  r.set_replica_identity("d");
  auto* id = r.add_columns();
  id->set_name("id");
  id->set_type_oid(23);
  id->set_text("1");
  id->set_is_key(true);
  return r;
}

TEST(Debezium, EnvelopeAndTransactionOrder) {
  debezium::Converter conv;
  std::vector<std::string> ev;
  conv.convert(row(shadowstream::v1::OPERATION_INSERT, 100, 0, "a"), ev);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0],
            "{\"before\":null,\"after\":{\"id\":1},\"source\":{\"version\":\"shadowstream-0.1.0\",\"connector\":"
            "\"postgresql\",\"name\":\"srv\",\"ts_ms\":1559033904863,\"snapshot\":\"false\",\"db\":\"inventory\","
            "\"sequence\":\"[null,\\\"100\\\"]\",\"ts_us\":1559033904863123,\"ts_ns\":1559033904863123000,"
            "\"schema\":\"public\",\"table\":\"a\",\"txId\":571,\"lsn\":100,\"xmin\":null,\"origin\":null,\"origin_"
            "lsn\":null},\"op\":\"c\","
            "\"ts_ms\":1559033904863,\"ts_us\":1559033904863123,\"ts_ns\":1559033904863123000,"
            "\"transaction\":{\"id\":\"571:100\",\"total_order\":1,\"data_collection_order\":1}}");
  conv.convert(row(shadowstream::v1::OPERATION_INSERT, 100, 1, "b"), ev);
  EXPECT_NE(ev[0].find("\"total_order\":2,\"data_collection_order\":1"), std::string::npos) << ev[0];
  conv.convert(row(shadowstream::v1::OPERATION_INSERT, 100, 2, "a"), ev);
  EXPECT_NE(ev[0].find("\"total_order\":3,\"data_collection_order\":2"), std::string::npos) << ev[0];
  // The next transaction names this one's commit in its sequence, and counts from 1 again.
  conv.convert(row(shadowstream::v1::OPERATION_INSERT, 200, 0, "a"), ev);
  EXPECT_NE(ev[0].find("\"sequence\":\"[\\\"100\\\",\\\"200\\\"]\""), std::string::npos) << ev[0];
  EXPECT_NE(ev[0].find("\"total_order\":1,\"data_collection_order\":1"), std::string::npos) << ev[0];
}

TEST(Debezium, KeyChangeIsDeleteThenCreate) {
  debezium::Converter conv;
  std::vector<std::string> ev;
  ChangeRecord u = row(shadowstream::v1::OPERATION_UPDATE, 100, 0, "a");
  u.mutable_columns(0)->set_text("2");
  auto* old = u.add_old_columns();
  *old = u.columns(0);
  old->set_text("1");
  u.set_old_key_only(true);
  conv.convert(u, ev);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].substr(0, 40), "{\"before\":{\"id\":1},\"after\":null,\"source\"");
  EXPECT_NE(ev[0].find("\"op\":\"d\""), std::string::npos);
  EXPECT_EQ(ev[1].substr(0, 40), "{\"before\":null,\"after\":{\"id\":2},\"source\"");
  EXPECT_NE(ev[1].find("\"op\":\"c\""), std::string::npos);
  EXPECT_NE(ev[1].find("\"total_order\":2"), std::string::npos);
  // Under REPLICA IDENTITY FULL every column is flagged as key: an update stays one event with its old row.
  u.set_replica_identity("f");
  u.set_old_key_only(false);
  conv.convert(u, ev);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_TRUE(ev[0].starts_with("{\"before\":{\"id\":1},\"after\":{\"id\":2},\"source\"")) << ev[0];
}

TEST(Debezium, HeartbeatsAndMarkersGiveNoEvents) {
  debezium::Converter conv;
  std::vector<std::string> ev{"stale"};
  ChangeRecord r;
  r.set_op(shadowstream::v1::OPERATION_HEARTBEAT);
  conv.convert(r, ev);
  EXPECT_TRUE(ev.empty());
  r.set_op(shadowstream::v1::OPERATION_CHECKPOINT_END);
  conv.convert(r, ev);
  EXPECT_TRUE(ev.empty());
}

}  // namespace
}  // namespace ss
