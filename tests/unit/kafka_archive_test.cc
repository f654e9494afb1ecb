#include "kafka/archive.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "core/error.h"
#include "kafka/archive_layout.h"
#include "kafka/handle.h"

namespace ss {
namespace {

TEST(KafkaArchive, KeyKeepsOneRowsHistoryTogether) {
  shadowstream::v1::ChangeRecord ins;
  ins.mutable_source()->set_name("app");
  ins.set_schema("public");
  ins.set_table("orders");
  auto* id = ins.add_columns();
  id->set_name("id");
  id->set_text("42");
  id->set_is_key(true);
  ins.add_columns()->set_text("not part of the key");
  shadowstream::v1::ChangeRecord del = ins;
  del.clear_columns();
  *del.add_old_columns() = *id;  // a delete carries the key in its old row
  EXPECT_EQ(archive::message_key(ins), "app/public.orders/42");
  EXPECT_EQ(archive::message_key(del), archive::message_key(ins));
}

TEST(KafkaArchive, CheckpointsGoToTopicsOfTheirOwn) {
  shadowstream::v1::ChangeRecord rec;
  rec.set_op(shadowstream::v1::OPERATION_UPDATE);
  EXPECT_EQ(ss::archive::dest_of(rec), ss::archive::Dest::kChanges);
  rec.set_op(shadowstream::v1::OPERATION_TRUNCATE);
  EXPECT_EQ(ss::archive::dest_of(rec), ss::archive::Dest::kChanges);
  rec.set_op(shadowstream::v1::OPERATION_SNAPSHOT);
  EXPECT_EQ(ss::archive::dest_of(rec), ss::archive::Dest::kSnapshots);
  rec.set_op(shadowstream::v1::OPERATION_CHECKPOINT_BEGIN);
  EXPECT_EQ(ss::archive::dest_of(rec), ss::archive::Dest::kCheckpoints);
  rec.set_op(shadowstream::v1::OPERATION_CHECKPOINT_END);
  EXPECT_EQ(ss::archive::dest_of(rec), ss::archive::Dest::kCheckpoints);
  EXPECT_EQ(ss::archive::topic_of("a.b", ss::archive::Dest::kChanges), "a.b");
  EXPECT_EQ(ss::archive::topic_of("a.b", ss::archive::Dest::kSnapshots), "a.b.snapshots");
  EXPECT_EQ(ss::archive::topic_of("a.b", ss::archive::Dest::kCheckpoints), "a.b.checkpoints");
}

TEST(KafkaArchive, OldestRebuildableIsTheOldestCheckpointHeldWhole) {
  std::vector<ss::archive::CheckpointInfo> list(3);
  list[0] = {"s", 100, 1000, {}, true, false, "", "", 0, {}};   // partly deleted
  list[1] = {"s", 200, 2000, {}, false, false, "", "", 0, {}};  // incomplete
  list[2] = {"s", 300, 3000, {}, true, true, "", "", 0, {}};
  EXPECT_EQ(ss::archive::oldest_rebuildable(list), 3000);
  list[2].held = false;
  EXPECT_FALSE(ss::archive::oldest_rebuildable(list));
}

TEST(KafkaArchive, ARebuildInsideAGapIsRefusedAndOnItsEdgesIsNot) {
  using ss::archive::inside_gap;
  ss::archive::CheckpointInfo cp{"s", 0x500, 5'000'000, {}, true, true, "", "", 0, {}};
  EXPECT_FALSE(inside_gap(cp, 4'000'000, std::nullopt, 0));  // an ordinary checkpoint has no gap
  cp.gap.set_lost_slot(true);
  cp.gap.set_after_lsn(0x300);
  cp.gap.set_after_time(3'000'000);
  // Starting from a checkpoint before the gap (at 0x100), or from none:
  EXPECT_FALSE(inside_gap(cp, 3'000'000, std::nullopt, 0x100));  // up to the last change archived: whole
  EXPECT_TRUE(inside_gap(cp, 3'000'001, std::nullopt, 0x100));
  EXPECT_TRUE(inside_gap(cp, 5'000'000, std::nullopt, 0));
  EXPECT_FALSE(inside_gap(cp, std::nullopt, Position{0x300, 7}, 0x100));
  EXPECT_TRUE(inside_gap(cp, std::nullopt, Position{0x301, 0}, 0x100));
  EXPECT_TRUE(inside_gap(cp, std::nullopt, std::nullopt, 0x100));  // now, from before the gap
  // Starting from the gap's checkpoint or a later one, the gap is behind the rebuild.
  EXPECT_FALSE(inside_gap(cp, 5'000'001, std::nullopt, 0x500));
  EXPECT_FALSE(inside_gap(cp, std::nullopt, Position{0x500, 0}, 0x500));
  EXPECT_FALSE(inside_gap(cp, std::nullopt, std::nullopt, 0x600));
  // An incomplete gap checkpoint still bounds what is whole: now, from before it, is refused.
  cp.complete = false;
  EXPECT_TRUE(inside_gap(cp, std::nullopt, std::nullopt, 0x100));
  // A window read is not refused, but one that overlaps the gap is told so.
  EXPECT_TRUE(ss::archive::crosses_gap(cp, 1'000'000, std::nullopt, std::nullopt, std::nullopt));
  EXPECT_FALSE(ss::archive::crosses_gap(cp, 1'000'000, 3'000'000, std::nullopt, std::nullopt));
  EXPECT_FALSE(ss::archive::crosses_gap(cp, 5'000'000, std::nullopt, std::nullopt, std::nullopt));
  EXPECT_TRUE(ss::archive::crosses_gap(cp, std::nullopt, std::nullopt, Position{0x100, 0}, std::nullopt));
  EXPECT_FALSE(ss::archive::crosses_gap(cp, std::nullopt, std::nullopt, Position{0x500, 0}, std::nullopt));
  EXPECT_FALSE(ss::archive::crosses_gap(cp, std::nullopt, std::nullopt, Position{0x100, 0}, Position{0x300, 9}));
  EXPECT_EQ(ss::archive::describe_gap(cp), "changes of s after 0/300 (" + ss::format_time_us(3'000'000) +
                                               ") to the checkpoint at 0/500 (" + ss::format_time_us(5'000'000) + ")");
}

TEST(KafkaArchive, ScanReadsThePositionAndTimeWithoutParsingAndRefusesWhatIsNotARecord) {
  shadowstream::v1::ChangeRecord rec;
  rec.mutable_source()->set_name("src");
  rec.set_commit_lsn(0x16B3C28);
  rec.set_ordinal(12);
  rec.set_commit_time(1'700'000'000'123'456);
  rec.set_table("t");
  auto* c = rec.add_columns();
  c->set_name("id");
  c->set_text("1");
  std::string bytes = rec.SerializeAsString();
  Position pos;
  int64_t t = 0;
  ASSERT_TRUE(archive::detail::scan_record(bytes, pos, t));
  EXPECT_EQ(pos, (Position{0x16B3C28, 12}));
  EXPECT_EQ(t, 1'700'000'000'123'456);
  EXPECT_FALSE(archive::detail::scan_record("\377\377\377 not a record", pos, t));
  EXPECT_FALSE(archive::detail::scan_record(std::string_view(bytes).substr(0, bytes.size() - 1), pos, t));
}

TEST(KafkaSettings, PropertiesApplyInKcatOrderAndErrorsNameTheKeyOnly) {
  unsetenv("KAFKA_BROKERS");
  kafka::Settings s;
  s.brokers = "127.0.0.1:9092";
  s.properties = {"client.id=one", "client.id=two"};
  kafka::Conf conf = kafka::make_conf(s);
  char buf[64];
  size_t n = sizeof buf;
  ASSERT_EQ(rd_kafka_conf_get(conf.get(), "client.id", buf, &n), RD_KAFKA_CONF_OK);
  EXPECT_STREQ(buf, "two");
  s.properties = {"sasl.password"};
  EXPECT_THROW(kafka::make_conf(s), Error);
  s.properties = {"no.such.property=s3cret"};
  try {
    kafka::make_conf(s);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), kExitConfig);
    EXPECT_EQ(std::string(e.what()).find("s3cret"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ss
