#include "core/position.h"

#include <gtest/gtest.h>

namespace ss {
namespace {

TEST(Lsn, FormatsLikePgLsn) {
  EXPECT_EQ(format_lsn(0), "0/0");
  EXPECT_EQ(format_lsn(0x16B3748), "0/16B3748");
  EXPECT_EQ(format_lsn((uint64_t{0xA} << 32) | 0xFF), "A/FF");
}

TEST(Lsn, ParsesAndRejects) {
  EXPECT_EQ(parse_lsn("0/16B3748"), 0x16B3748u);
  EXPECT_EQ(parse_lsn("a/ff"), (uint64_t{0xA} << 32) | 0xFF);
  EXPECT_FALSE(parse_lsn("16B3748"));
  EXPECT_FALSE(parse_lsn("0/"));
  EXPECT_FALSE(parse_lsn("0/123456789"));
  EXPECT_FALSE(parse_lsn("x/1"));
}

TEST(Position, OrdersByLsnThenOrdinal) {
  EXPECT_LT((Position{1, 5}), (Position{2, 0}));
  EXPECT_LT((Position{2, 0}), (Position{2, 1}));
  auto p = parse_position("0/10:7");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->lsn, 0x10u);
  EXPECT_EQ(p->ordinal, 7u);
  EXPECT_EQ(format_position(*p), "0/10:7");
  EXPECT_FALSE(parse_position("0/10:"));
  EXPECT_FALSE(parse_position("0/10:x"));
}

TEST(Time, RoundTripsMicroseconds) {
  for (int64_t us : {int64_t{0}, int64_t{1}, int64_t{1795600000123456}, int64_t{-1}, int64_t{951782400000000}}) {
    auto text = format_time_us(us);
    auto back = parse_time_us(text);
    ASSERT_TRUE(back) << text;
    EXPECT_EQ(*back, us) << text;
  }
  EXPECT_EQ(format_time_us(0), "1970-01-01T00:00:00.000000Z");
}

TEST(Time, AcceptsCommonForms) {
  EXPECT_EQ(parse_time_us("2026-11-20T10:00Z"), parse_time_us("2026-11-20T10:00:00.000000Z"));
  EXPECT_EQ(parse_time_us("2026-11-20 11:00:00+01:00"), parse_time_us("2026-11-20T10:00:00Z"));
  EXPECT_EQ(parse_time_us("2026-11-20"), parse_time_us("2026-11-20T00:00:00Z"));
  EXPECT_FALSE(parse_time_us("2026-02-30T00:00Z"));
  EXPECT_FALSE(parse_time_us("2026-11-20T25:00Z"));
  EXPECT_FALSE(parse_time_us("yesterday"));
}

TEST(Time, RangeIsYearsZeroToNineThousandNineHundredNinetyNine) {
  EXPECT_EQ(parse_time_us("0000-01-01T00:00:00Z"), kMinTimeUs);
  EXPECT_EQ(parse_time_us("9999-12-31T23:59:59.999999Z"), kMaxTimeUs);
  EXPECT_EQ(format_time_us(kMinTimeUs), "0000-01-01T00:00:00.000000Z");
  EXPECT_EQ(format_time_us(kMaxTimeUs), "9999-12-31T23:59:59.999999Z");
  // An offset can push a written date past either end.
  EXPECT_FALSE(parse_time_us("0000-01-01T00:00:00+01:00"));
  EXPECT_FALSE(parse_time_us("9999-12-31T23:59:59-01:00"));
  // Formatting never overflows, whatever it is given.
  EXPECT_EQ(format_time_us(INT64_MIN), "invalid-time(-9223372036854775808)");
  EXPECT_EQ(format_time_us(INT64_MAX), "invalid-time(9223372036854775807)");
}

TEST(Duration, ParsesUnits) {
  EXPECT_EQ(parse_duration_us("10s"), 10'000'000);
  EXPECT_EQ(parse_duration_us("500ms"), 500'000);
  EXPECT_EQ(parse_duration_us("24h"), int64_t{86400} * 1'000'000);
  EXPECT_EQ(parse_duration_us("3"), 3'000'000);
  EXPECT_FALSE(parse_duration_us("10 parsecs"));
  EXPECT_FALSE(parse_duration_us(""));
}

}  // namespace
}  // namespace ss

namespace ss {
namespace {

TEST(Span, SinceAndFromInclusiveUntilExclusiveToInclusive) {
  Span s{100, 200, Position{10, 0}, Position{20, 5}};
  using W = Span::Where;
  EXPECT_EQ(s.where(100, {10, 0}), W::kInside);
  EXPECT_EQ(s.where(99, {15, 0}), W::kBefore);
  EXPECT_EQ(s.where(150, {9, 9}), W::kBefore);
  EXPECT_EQ(s.where(200, {15, 0}), W::kAfter);
  EXPECT_EQ(s.where(150, {20, 5}), W::kInside);
  EXPECT_EQ(s.where(150, {20, 6}), W::kAfter);
  // Past the end wins: nothing later can be inside.
  EXPECT_EQ(s.where(250, {1, 0}), W::kAfter);
  EXPECT_EQ(Span{}.where(0, {}), W::kInside);
}

}  // namespace
}  // namespace ss
