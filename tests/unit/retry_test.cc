#include "core/retry.h"

#include <gtest/gtest.h>

#include "core/position.h"

namespace {

TEST(Backoff, DoublesUpToItsCapAndResets) {
  ss::Backoff b(1'000, 100);  // µs: each wait sleeps next to nothing
  EXPECT_EQ(b.delay_us(), 100);
  EXPECT_TRUE(b.wait());
  EXPECT_EQ(b.delay_us(), 200);
  EXPECT_TRUE(b.wait());
  EXPECT_TRUE(b.wait());
  EXPECT_EQ(b.delay_us(), 800);
  EXPECT_TRUE(b.wait());
  EXPECT_EQ(b.delay_us(), 1'000);
  EXPECT_TRUE(b.wait());
  EXPECT_EQ(b.delay_us(), 1'000);
  b.reset();
  EXPECT_EQ(b.delay_us(), 100);
}

TEST(Backoff, StartsAtTheSharedFirstDelay) {
  ss::Backoff b(30'000'000);
  EXPECT_EQ(b.delay_us(), ss::kFirstRetryUs);
  EXPECT_EQ(b.delay_text(), "200ms");
}

TEST(Backoff, ACapBelowTheFirstDelayIsTheFirstDelay) {
  ss::Backoff b(10, 100);
  EXPECT_TRUE(b.wait());
  EXPECT_EQ(b.delay_us(), 100);
}

TEST(Backoff, SaysItsDelayAsALogLineWould) {
  EXPECT_EQ(ss::Backoff(60'000'000, 50'000).delay_text(), "50ms");
  EXPECT_EQ(ss::Backoff(60'000'000, 999'000).delay_text(), "999ms");
  EXPECT_EQ(ss::Backoff(60'000'000, 1'000'000).delay_text(), "1s");
  EXPECT_EQ(ss::Backoff(60'000'000, 1'500'000).delay_text(), "1.5s");
  EXPECT_EQ(ss::Backoff(60'000'000, 30'000'000).delay_text(), "30s");
}

TEST(Backoff, NeverSleepsPastItsDeadline) {
  ss::Backoff b(60'000'000, 10'000'000);  // 10 s, were it not for the deadline
  const int64_t t0 = ss::now_us();
  EXPECT_TRUE(b.wait(t0 + 20'000));
  const int64_t took = ss::now_us() - t0;
  EXPECT_LT(took, 5'000'000);
  EXPECT_EQ(b.delay_us(), 20'000'000);  // it doubled all the same
  EXPECT_TRUE(b.wait(t0 - 1));          // a deadline already past: no sleep at all
}

}  // namespace
