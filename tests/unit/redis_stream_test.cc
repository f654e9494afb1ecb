#include "redis/stream.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "core/error.h"
#include "redis/conn.h"

namespace ss::redis {
namespace {

TEST(RedisStream, EntryIdsArePositionsAndSortLikeThem) {
  EXPECT_EQ(entry_id(Position{0x16B3748, 3}), "23803720-3");
  auto p = parse_entry_id("23803720-3");
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, (Position{0x16B3748, 3}));
  EXPECT_EQ(entry_id(Position{UINT64_MAX, UINT64_MAX}), "18446744073709551615-18446744073709551615");
  EXPECT_FALSE(parse_entry_id("12"));
  EXPECT_FALSE(parse_entry_id("a-1"));
  EXPECT_FALSE(parse_entry_id("1-"));
}

TEST(RedisStream, KeysAndFields) {
  EXPECT_EQ(default_stream_key("app"), "shadowstream:app:changes");
  EXPECT_EQ(default_stream_key("app", "public", "orders"), "shadowstream:app:public.orders");
  shadowstream::v1::ChangeRecord r;
  r.set_schema("public");
  r.set_table("orders");
  r.set_op(shadowstream::v1::OPERATION_DELETE);
  r.set_commit_time(0);
  EntryFields f(r, "PAYLOAD");
  std::vector<std::string_view> want = {"r",  "PAYLOAD", "table", "public.orders",
                                        "op", "delete",  "time",  "1970-01-01T00:00:00.000000Z"};
  EXPECT_EQ(f.pairs(), want);
  std::string joined;
  EXPECT_EQ(entry_record(f.pairs(), joined), "PAYLOAD");
  EXPECT_TRUE(
      is_duplicate_id_error("ERR The ID specified in XADD is equal or smaller than the target stream top item"));
  EXPECT_FALSE(is_duplicate_id_error("OOM command not allowed"));
}

TEST(RedisStream, LargeRecordsTravelAsContinuationFields) {
  shadowstream::v1::ChangeRecord r;
  std::string payload = "0123456789";
  EntryFields f(r, payload, 4);  // parts of 4 bytes: r, r:2, r:3
  const auto& p = f.pairs();
  ASSERT_EQ(p.size(), 12u);
  EXPECT_EQ(p[0], "r");
  EXPECT_EQ(p[1], "0123");
  EXPECT_EQ(p[8], "r:2");
  EXPECT_EQ(p[9], "4567");
  EXPECT_EQ(p[10], "r:3");
  EXPECT_EQ(p[11], "89");
  std::string joined;
  EXPECT_EQ(entry_record(p, joined), payload);
  // Exactly divisible: no empty last part.
  EntryFields even(r, "01234567", 4);
  EXPECT_EQ(even.pairs().size(), 10u);
  // Parts out of order or missing are a data error, never a silently shorter record.
  std::vector<std::string_view> gap = {"r", "0123", "r:3", "89"};
  EXPECT_THROW(entry_record(gap, joined), ss::Error);
  std::vector<std::string_view> orphan = {"table", "t", "r:2", "89"};
  EXPECT_THROW(entry_record(orphan, joined), ss::Error);
  std::vector<std::string_view> none = {"table", "t"};
  EXPECT_FALSE(entry_record(none, joined));
}

TEST(RedisUrl, ParsesHostPortPasswordAndDb) {
  unsetenv("REDISCLI_AUTH");
  auto ep = parse_url("redis://:s3cret@cache.internal:6380/2");
  EXPECT_EQ(ep.host, "cache.internal");
  EXPECT_EQ(ep.port, 6380);
  EXPECT_EQ(ep.password, "s3cret");
  EXPECT_EQ(ep.db, 2);
  EXPECT_EQ(ep.display(), "cache.internal:6380");  // never the password
  auto u = parse_url("redis://user:pw@h");
  EXPECT_EQ(u.username, "user");
  EXPECT_EQ(u.port, 6379);
  auto s = parse_url("unix:///run/redis.sock?db=3");
  EXPECT_EQ(s.unix_path, "/run/redis.sock");
  EXPECT_EQ(s.db, 3);
  setenv("REDIS_URL", "redis://127.0.0.1:7000", 1);
  EXPECT_EQ(parse_url("").port, 7000);
  unsetenv("REDIS_URL");
  for (const char* bad : {"http://x", "redis://h:port", "redis://h:1/db"}) {
    try {
      parse_url(bad);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), kExitConfig);
    }
  }
}

}  // namespace
}  // namespace ss::redis
