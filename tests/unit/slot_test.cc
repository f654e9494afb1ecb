#include "pg/slot.h"

#include <gtest/gtest.h>

namespace ss {
namespace {

TEST(Slot, OnlyATableWithAReplicaIdentityPublishesUpdatesSafely) {
  EXPECT_TRUE(slot::publishes_safely('d', true, false));    // a primary key
  EXPECT_FALSE(slot::publishes_safely('d', false, false));  // the default, without one
  EXPECT_TRUE(slot::publishes_safely('f', false, false));
  EXPECT_TRUE(slot::publishes_safely('i', false, true));
  EXPECT_FALSE(slot::publishes_safely('i', true, false));  // USING INDEX of an index that is gone
  EXPECT_FALSE(slot::publishes_safely('n', true, true));
}

TEST(Slot, TheAdviceNamesTheStatementsThatMakeATableSafe) {
  EXPECT_EQ(slot::keyless_advice({"public.a", "s.\"B\""}, "pub", false),
            "public.a, s.\"B\" (no primary key or replica identity: published, their UPDATE and DELETE would fail on "
            "the source); to capture them, give them a primary key, or run: ALTER TABLE public.a REPLICA IDENTITY "
            "FULL; ALTER TABLE s.\"B\" REPLICA IDENTITY FULL; ALTER PUBLICATION pub ADD TABLE public.a, s.\"B\";");
  EXPECT_EQ(slot::keyless_advice({"public.a"}, "pub", true),
            "public.a without a primary key or replica identity: the application's UPDATE and DELETE on it fail "
            "until it has one; give it a primary key, or run: ALTER TABLE public.a REPLICA IDENTITY FULL;");
}

}  // namespace
}  // namespace ss
