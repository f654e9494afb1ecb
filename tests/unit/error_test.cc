#include "core/error.h"

#include <gtest/gtest.h>

namespace ss {
namespace {

TEST(RedactSecrets, UriPasswords) {
  EXPECT_EQ(redact_secrets("missing \"]\" in IPv6 host address in URI: \"postgresql://u:pw123@[::1/x\""),
            "missing \"]\" in IPv6 host address in URI: \"postgresql://u:***@[::1/x\"");
  EXPECT_EQ(redact_secrets("redis://:s3cret@127.0.0.1:6379/0 and postgres://a:b@h/db"),
            "redis://:***@127.0.0.1:6379/0 and postgres://a:***@h/db");
  // A password holding '/' or ':' is still cut at the last '@' of the URI.
  EXPECT_EQ(redact_secrets("postgres://u:p/a:ss@host/db"), "postgres://u:***@host/db");
  // No password, nothing to hide.
  EXPECT_EQ(redact_secrets("postgres://u@host:5432/db"), "postgres://u@host:5432/db");
  EXPECT_EQ(redact_secrets("see https://example.org/a:b"), "see https://example.org/a:b");
}

TEST(RedactSecrets, ConninfoPasswords) {
  EXPECT_EQ(redact_secrets("host=h password=pw123 dbname=x"), "host=h password=*** dbname=x");
  EXPECT_EQ(redact_secrets("host=h PASSWORD = 'it\\'s a \\\\ x' dbname=x"), "host=h PASSWORD = *** dbname=x");
  EXPECT_EQ(redact_secrets("invalid connection option \"passwrd\""), "invalid connection option \"passwrd\"");
  EXPECT_EQ(redact_secrets("the password is wrong"), "the password is wrong");
}

TEST(RedactSecrets, ErrorsAreRedactedAtConstruction) {
  Error e(kExitConfig, "bad target postgresql://u:hunter2@evil/db");
  EXPECT_EQ(std::string(e.what()), "bad target postgresql://u:***@evil/db");
}

}  // namespace
}  // namespace ss
