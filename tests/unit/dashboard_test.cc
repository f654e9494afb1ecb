#include "serve/dashboard.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace ss::dashboard {
namespace {

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

}  // namespace
}  // namespace ss::dashboard
