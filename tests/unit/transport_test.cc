#include "core/transport.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace ss::transport {
namespace {

TEST(Transport, ListenAddressDefaultsToLoopback) {
  EXPECT_EQ(parse_listen("8000"), (std::pair<std::string, int>{"127.0.0.1", 8000}));
  EXPECT_EQ(parse_listen(":0"), (std::pair<std::string, int>{"127.0.0.1", 0}));
  EXPECT_EQ(parse_listen("0.0.0.0:8000"), (std::pair<std::string, int>{"0.0.0.0", 8000}));
  EXPECT_EQ(parse_listen("[::1]:9"), (std::pair<std::string, int>{"::1", 9}));
  EXPECT_THROW(parse_listen("host:port"), Error);
  EXPECT_THROW(parse_listen("127.0.0.1:70000"), Error);
  EXPECT_THROW(parse_listen(""), Error);
}

TEST(Transport, SecretsCompareWhole) {
  EXPECT_TRUE(same_secret("abc", "abc"));
  EXPECT_FALSE(same_secret("abc", "abd"));
  EXPECT_FALSE(same_secret("abc", "ab"));
  EXPECT_FALSE(same_secret("", "x"));
}

TEST(Transport, LoopbackIsThisMachineOnly) {
  EXPECT_TRUE(is_loopback("127.0.0.1"));
  EXPECT_TRUE(is_loopback("127.1.2.3"));
  EXPECT_TRUE(is_loopback("::1"));
  EXPECT_TRUE(is_loopback("localhost"));
  EXPECT_FALSE(is_loopback("0.0.0.0"));
  EXPECT_FALSE(is_loopback("::"));
  EXPECT_FALSE(is_loopback("10.0.0.1"));
  EXPECT_FALSE(is_loopback("db.example.org"));
}

TEST(Transport, OffLoopbackNeedsTokenAndTlsOrInsecure) {
  EXPECT_NO_THROW(check_exposure("--listen", "127.0.0.1:0", false, false, false));
  EXPECT_NO_THROW(check_exposure("--listen", "0.0.0.0:0", true, true, false));
  EXPECT_NO_THROW(check_exposure("--listen", "0.0.0.0:0", false, false, true));
  for (auto [token, tls] : {std::pair{false, false}, {true, false}, {false, true}}) {
    try {
      check_exposure("--listen", "0.0.0.0:0", token, tls, false);
      FAIL() << token << tls;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), kExitUsage);
      EXPECT_NE(std::string(e.what()).find("--insecure"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace ss::transport
