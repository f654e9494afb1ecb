#include "dashboard.h"

#include <gtest/gtest.h>

#include "error.h"

namespace ss::dashboard {
namespace {

TEST(Dashboard, ListenAddressDefaultsToLoopback) {
  EXPECT_EQ(parse_listen("8000"), (std::pair<std::string, int>{"127.0.0.1", 8000}));
  EXPECT_EQ(parse_listen(":0"), (std::pair<std::string, int>{"127.0.0.1", 0}));
  EXPECT_EQ(parse_listen("0.0.0.0:8000"), (std::pair<std::string, int>{"0.0.0.0", 8000}));
  EXPECT_EQ(parse_listen("[::1]:9"), (std::pair<std::string, int>{"::1", 9}));
  EXPECT_THROW(parse_listen("host:port"), Error);
  EXPECT_THROW(parse_listen("127.0.0.1:70000"), Error);
  EXPECT_THROW(parse_listen(""), Error);
}

TEST(Dashboard, RequestParsesTimesAndRefusesNonsense) {
  auto req = parse_request(R"({"start_time":"2026-11-24T11:00:00Z","end_time":"2026-11-24T12:00:00Z",)"
                           R"("speed_factor":10,"tables":["public.orders"],"name":"x"})");
  EXPECT_EQ(req.end_time() - req.start_time(), 3600LL * 1000000);
  EXPECT_EQ(req.speed_factor(), 10);
  ASSERT_EQ(req.tables_size(), 1);
  try {
    parse_request(R"({"start_time":"2026-11-24T12:00:00Z","end_time":"2026-11-24T11:00:00Z"})");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), kExitUsage);
    EXPECT_NE(std::string(e.what()).find("start_time must be before end_time"), std::string::npos);
  }
  EXPECT_THROW(parse_request(R"({"speed":3})"), Error);
  EXPECT_THROW(parse_request("not json"), Error);
  EXPECT_THROW(parse_request(R"({"speed_factor":-1})"), Error);
}

TEST(Dashboard, ErrorJsonEscapes) {
  EXPECT_EQ(error_json("a \"b\"\\\n"), R"({"error":"a \"b\"\\\u000a"})");
}

TEST(Dashboard, SecretsCompareWhole) {
  EXPECT_TRUE(same_secret("abc", "abc"));
  EXPECT_FALSE(same_secret("abc", "abd"));
  EXPECT_FALSE(same_secret("abc", "ab"));
  EXPECT_FALSE(same_secret("", "x"));
}

}  // namespace
}  // namespace ss::dashboard
