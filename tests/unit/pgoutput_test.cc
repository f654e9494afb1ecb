#include "pg/pgoutput.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "pg/conn.h"
#include "pg/snapshot.h"

namespace ss::pgoutput {
namespace {

// Builds pgoutput messages byte by byte, big-endian, as the server sends them.
struct Msg {
  std::string b;
  explicit Msg(char type) { b.push_back(type); }
  Msg& u8(uint8_t v) { return b.push_back(static_cast<char>(v)), *this; }
  Msg& u16(uint16_t v) { return be(v, 2); }
  Msg& u32(uint32_t v) { return be(v, 4); }
  Msg& u64(uint64_t v) { return be(v, 8); }
  Msg& str(const std::string& s) {
    b.append(s);
    b.push_back('\0');
    return *this;
  }
  Msg& text(const std::string& s) {
    u8('t').u32(static_cast<uint32_t>(s.size()));
    b.append(s);
    return *this;
  }
  Msg& be(uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) b.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return *this;
  }
};

Decoder make_decoder() {
  return Decoder([](uint32_t oid) { return oid == 23 ? std::string("int4") : oid == 25 ? "text" : ""; });
}

void add_relation(Decoder& d, uint32_t oid = 16384, char ident = 'd') {
  Msg r('R');
  r.u32(oid).str("public").str("items").u8(ident).u16(3);
  r.u8(1).str("id").u32(23).u32(0xffffffff);
  r.u8(0).str("body").u32(25).u32(0xffffffff);
  r.u8(0).str("mood").u32(16500).u32(0xffffffff);
  EXPECT_EQ(d.decode(r.b).kind, Kind::kRelation);
}

TEST(Pgoutput, BeginAndCommitCarryLsnsTimesAndXid) {
  Decoder d = make_decoder();
  Msg b('B');
  b.u64(0x1600000).u64(0).u32(742);  // commit time 2000-01-01
  const Event& e = d.decode(b.b);
  EXPECT_EQ(e.kind, Kind::kBegin);
  EXPECT_EQ(e.lsn, 0x1600000u);
  EXPECT_EQ(e.xid, 742u);
  EXPECT_EQ(e.time_us, kPgEpochOffsetUs);
  Msg c('C');
  c.u8(0).u64(0x1600000).u64(0x1600030).u64(1'000'000);
  const Event& ce = d.decode(c.b);
  EXPECT_EQ(ce.kind, Kind::kCommit);
  EXPECT_EQ(ce.lsn, 0x1600000u);
  EXPECT_EQ(ce.end_lsn, 0x1600030u);
  EXPECT_EQ(ce.time_us, kPgEpochOffsetUs + 1'000'000);
}

TEST(Pgoutput, InsertWithNullUnchangedToastAndTypeNames) {
  Decoder d = make_decoder();
  Msg y('Y');
  y.u32(16500).str("public").str("mood");
  d.decode(y.b);
  add_relation(d);
  Msg i('I');
  i.u32(16384).u8('N').u16(3).text("7").u8('n').u8('u');
  const Event& e = d.decode(i.b);
  ASSERT_EQ(e.kind, Kind::kChange);
  const auto& r = e.record;
  EXPECT_EQ(r.op(), shadowstream::v1::OPERATION_INSERT);
  EXPECT_EQ(r.schema(), "public");
  EXPECT_EQ(r.table(), "items");
  EXPECT_EQ(r.relation_oid(), 16384u);
  EXPECT_EQ(r.replica_identity(), "d");
  ASSERT_EQ(r.columns_size(), 3);
  EXPECT_EQ(r.columns(0).text(), "7");
  EXPECT_TRUE(r.columns(0).is_key());
  EXPECT_EQ(r.columns(0).type_name(), "int4");
  EXPECT_EQ(r.columns(0).type_modifier(), -1);
  EXPECT_TRUE(r.columns(1).is_null());
  EXPECT_FALSE(r.columns(1).unchanged_toast());
  EXPECT_TRUE(r.columns(2).unchanged_toast());
  EXPECT_FALSE(r.columns(2).is_null());
  EXPECT_EQ(r.columns(2).type_name(), "public.mood");  // unknown to the namer: the Type message's name
}

TEST(Pgoutput, UpdateWithOldKeyAndFullOldRow) {
  Decoder d = make_decoder();
  add_relation(d, 1, 'f');
  Msg u('U');
  u.u32(1).u8('O').u16(3).text("1").text("old").u8('n').u8('N').u16(3).text("1").text("new").u8('n');
  const auto& full = d.decode(u.b).record;
  EXPECT_EQ(full.op(), shadowstream::v1::OPERATION_UPDATE);
  EXPECT_FALSE(full.old_key_only());
  EXPECT_EQ(full.old_columns(1).text(), "old");
  EXPECT_EQ(full.columns(1).text(), "new");
  Msg k('U');
  k.u32(1).u8('K').u16(3).text("1").u8('n').u8('n').u8('N').u16(3).text("2").text("x").u8('n');
  const auto& key = d.decode(k.b).record;
  EXPECT_TRUE(key.old_key_only());
  EXPECT_EQ(key.old_columns(0).text(), "1");
  Msg plain('U');
  plain.u32(1).u8('N').u16(3).text("2").text("y").u8('n');
  EXPECT_EQ(d.decode(plain.b).record.old_columns_size(), 0);
}

TEST(Pgoutput, DeleteCarriesOnlyTheOldTuple) {
  Decoder d = make_decoder();
  add_relation(d);
  Msg m('D');
  m.u32(16384).u8('K').u16(3).text("9").u8('n').u8('n');
  const auto& r = d.decode(m.b).record;
  EXPECT_EQ(r.op(), shadowstream::v1::OPERATION_DELETE);
  EXPECT_EQ(r.columns_size(), 0);
  EXPECT_EQ(r.old_columns(0).text(), "9");
}

TEST(Pgoutput, TruncateOfSeveralRelationsYieldsOneChangeEach) {
  Decoder d = make_decoder();
  add_relation(d, 1);
  add_relation(d, 2);
  Msg t('T');
  t.u32(2).u8(3).u32(1).u32(2);
  Event e = d.decode(t.b);
  ASSERT_EQ(e.kind, Kind::kChange);
  EXPECT_EQ(e.record.relation_oid(), 1u);
  EXPECT_TRUE(e.record.truncate_cascade());
  EXPECT_TRUE(e.record.truncate_restart_identity());
  ASSERT_TRUE(d.next_truncate(e));
  EXPECT_EQ(e.record.relation_oid(), 2u);
  EXPECT_EQ(e.record.op(), shadowstream::v1::OPERATION_TRUNCATE);
  EXPECT_FALSE(d.next_truncate(e));
}

TEST(Pgoutput, MessagesAndOrigins) {
  Decoder d = make_decoder();
  Msg m('M');
  m.u8(1).u64(0x42).str("app").u32(3);
  m.b.append("a\0b", 3);
  const Event& e = d.decode(m.b);
  EXPECT_EQ(e.kind, Kind::kMessage);
  EXPECT_TRUE(e.transactional);
  EXPECT_EQ(e.lsn, 0x42u);
  EXPECT_EQ(e.record.message().prefix(), "app");
  EXPECT_EQ(e.record.message().content(), std::string("a\0b", 3));
  Msg o('O');
  o.u64(0x99).str("upstream");
  const Event& oe = d.decode(o.b);
  EXPECT_EQ(oe.kind, Kind::kOrigin);
  EXPECT_EQ(oe.record.origin(), "upstream");
  EXPECT_EQ(oe.record.origin_lsn(), 0x99u);
}

TEST(Pgoutput, RelationMessageRefreshesTheCache) {
  Decoder d = make_decoder();
  add_relation(d, 5);
  Msg r('R');
  r.u32(5).str("s2").str("renamed").u8('f').u16(1).u8(1).str("only").u32(23).u32(0xffffffff);
  d.decode(r.b);
  Msg i('I');
  i.u32(5).u8('N').u16(1).text("1");
  const auto& rec = d.decode(i.b).record;
  EXPECT_EQ(rec.schema(), "s2");
  EXPECT_EQ(rec.table(), "renamed");
  EXPECT_EQ(rec.columns(0).name(), "only");
}

TEST(Pgoutput, NonUtf8TextGoesToBinary) {
  Decoder d = make_decoder();
  add_relation(d);
  Msg i('I');
  i.u32(16384).u8('N').u16(2).text("1").text(std::string("caf\xe9", 4));
  const auto& r = d.decode(i.b).record;
  EXPECT_TRUE(r.columns(1).text().empty());
  EXPECT_EQ(r.columns(1).binary(), std::string("caf\xe9", 4));
  EXPECT_TRUE(valid_utf8("caf\xc3\xa9"));
  EXPECT_FALSE(valid_utf8("\xc0\x80"));      // overlong
  EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));  // surrogate
}

TEST(Pgoutput, MalformedMessagesAreDataErrors) {
  Decoder d = make_decoder();
  auto expect_bad = [&](const std::string& bytes, const std::string& fragment) {
    try {
      d.decode(bytes);
      FAIL() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), kExitDataErr);
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect_bad("B\x01", "message too short");
  expect_bad("Z", "unknown pgoutput message type 'Z'");
  Msg i('I');
  i.u32(77).u8('N').u16(0);
  expect_bad(i.b, "before its Relation message");
  add_relation(d);
  Msg wide('I');
  wide.u32(16384).u8('N').u16(9);
  expect_bad(wide.b, "tuple has 9 columns");
  Msg kind('I');
  kind.u32(16384).u8('N').u16(1).u8('x');
  expect_bad(kind.b, "unknown tuple column kind 'x'");
}

TEST(Pgoutput, TimestampsSaturateInsteadOfOverflowing) {
  EXPECT_EQ(unix_us(0), kPgEpochOffsetUs);
  EXPECT_EQ(unix_us(INT64_MAX), INT64_MAX);  // found by fuzz_pgoutput: signed overflow
  EXPECT_EQ(unix_us(INT64_MIN), INT64_MIN + kPgEpochOffsetUs);
}

}  // namespace
}  // namespace ss::pgoutput

namespace ss::snapshot {
namespace {

TEST(CopyText, RowEncoderSerializesWhatTheLibraryWould) {
  shadowstream::v1::ChangeRecord tmpl;
  tmpl.mutable_source()->set_name("src");
  tmpl.set_commit_lsn(0x16B3747);
  tmpl.set_commit_time(1'700'000'000'000'000);
  tmpl.set_op(shadowstream::v1::OPERATION_SNAPSHOT);
  tmpl.set_schema("public");
  tmpl.set_table("t");
  tmpl.set_shape_id(42);
  for (const char* name : {"id", "note", "blob", "gone"}) {
    auto* c = tmpl.add_columns();
    c->set_name(name);
    c->set_type_oid(25);
    c->set_type_name("text");
    c->set_type_modifier(-1);
    c->set_is_key(std::string(name) == "id");
  }
  tmpl.mutable_columns(3)->set_missing_value("dflt");
  ss::snapshot::RowEncoder enc(tmpl);
  std::string out;
  // A long value (its column's length takes two varint bytes), escapes, a byte that is not UTF-8, a NULL.
  const std::string long_value(300, 'x');
  ASSERT_TRUE(enc.encode("7\t" + long_value + "\\ttab\t\\xff\t\\N\n", out));
  shadowstream::v1::ChangeRecord got;
  ASSERT_TRUE(got.ParseFromString(out));
  shadowstream::v1::ChangeRecord want = tmpl;
  want.mutable_columns(0)->set_text("7");
  want.mutable_columns(1)->set_text(long_value + "\ttab");
  want.mutable_columns(2)->set_binary("\xff");
  want.mutable_columns(3)->set_is_null(true);
  EXPECT_EQ(got.SerializeAsString(), want.SerializeAsString());
  out.clear();
  EXPECT_FALSE(enc.encode("1\ttoo\tfew", out));
  out.clear();
  EXPECT_FALSE(enc.encode("1\t2\t3\t4\t5", out));
}

TEST(CopyText, UnescapesOneFieldIntoAReusedBuffer) {
  std::string v = "left over from the last row";
  EXPECT_TRUE(ss::snapshot::unescape_copy_field("plain", v));
  EXPECT_EQ(v, "plain");
  EXPECT_TRUE(ss::snapshot::unescape_copy_field("a\\tb\\\\N", v));
  EXPECT_EQ(v, "a\tb\\N");
  EXPECT_FALSE(ss::snapshot::unescape_copy_field("\\N", v));
  EXPECT_EQ(v, "");
}

TEST(CopyText, UndoesEscapes) {
  std::string v;
  EXPECT_TRUE(ss::snapshot::unescape_copy_field("a\\tb\\nc\\\\d", v));
  EXPECT_EQ(v, "a\tb\nc\\d");
  EXPECT_TRUE(ss::snapshot::unescape_copy_field("\\x41\\101", v));
  EXPECT_EQ(v, "AA");
  EXPECT_TRUE(ss::snapshot::unescape_copy_field("", v));
  EXPECT_EQ(v, "");
}

TEST(TableNames, SplitsQuotedAndDefaultsToPublic) {
  EXPECT_EQ(ss::pg::split_table_name("orders"), (std::pair<std::string, std::string>{"public", "orders"}));
  EXPECT_EQ(ss::pg::split_table_name("sales.orders"), (std::pair<std::string, std::string>{"sales", "orders"}));
  EXPECT_EQ(ss::pg::split_table_name("\"My.Schema\".\"T \"\"x\"\"\""),
            (std::pair<std::string, std::string>{"My.Schema", "T \"x\""}));
}

}  // namespace
}  // namespace ss::snapshot
