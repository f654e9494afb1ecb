#include "pg/target.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace ss::pg {
namespace {

bool allowed(const std::string& target, const std::vector<std::string>& allow) {
  try {
    check_target(target, allow);
    return true;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), kExitUsage);
    return false;
  }
}

TEST(Target, EveryHostLikeKeywordIsChecked) {
  // libpq connects to hostaddr but takes the password for host: both must be allowed.
  EXPECT_FALSE(allowed("host=prod.internal hostaddr=127.0.0.1 port=5432", {"127.0.0.1"}));
  EXPECT_FALSE(allowed("host=127.0.0.1 hostaddr=10.9.9.9 port=5432", {"127.0.0.1"}));
  EXPECT_TRUE(allowed("host=db-1.internal hostaddr=10.0.0.7 port=5432", {"db-*.internal", "10.0.0.*"}));
  EXPECT_FALSE(allowed("host=db-1.internal,evil.com port=5432", {"db-*.internal"}));
  EXPECT_TRUE(allowed("host=db-1.internal,db-2.internal port=5432 dbname=shadow_a", {"db-*.internal:5432/shadow*"}));
}

TEST(Target, SocketDirectoriesOnlyWherePatternsNameAPath) {
  EXPECT_FALSE(allowed("host=/tmp/x.trusted port=5432", {"*.trusted"}));
  EXPECT_FALSE(allowed("host=/tmp/x.trusted port=5432", {"*"}));
  EXPECT_FALSE(allowed("host=/tmp/evil/run/pg port=5432", {"/*/pg"}));  // a wildcard never spans a '/'
  EXPECT_TRUE(allowed("host=/run/postgresql port=5432 dbname=shadow", {"/run/postgresql"}));
  EXPECT_TRUE(allowed("host=/run/postgresql port=5432 dbname=shadow", {"/run/postgresql//shadow*"}));
  EXPECT_FALSE(allowed("host=/run/postgresql port=5432 dbname=prod", {"/run/postgresql//shadow*"}));
  EXPECT_FALSE(allowed("host=evil.com port=5432", {"/run/postgresql"}));
}

TEST(Target, WildcardsStayInTheirPart) {
  EXPECT_FALSE(allowed("host=127.0.0.1 port=6000 dbname=x.trusted:1/y", {"*.trusted"}));
  EXPECT_FALSE(allowed("host=127.0.0.1.trusted.evil port=6000", {"*.trusted"}));
  EXPECT_TRUE(allowed("host=a.trusted port=6000 dbname=anything", {"*.trusted"}));
  EXPECT_TRUE(allowed("dbname=anything", {}));  // no host, no port: the server's own PGHOST/PGPORT
}

TEST(Target, OnlyConnectionChoices) {
  EXPECT_FALSE(allowed("dbname=x passfile=/etc/shadow", {"*"}));
  EXPECT_FALSE(allowed("service=prod dbname=x", {"*"}));
  EXPECT_THROW(check_target_form("host=x password=secret"), Error);
  EXPECT_THROW(check_target_form("postgresql://u:secret@[::1"), Error);
  try {
    check_target_form("postgresql://u:secret@[::1");
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find("secret"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ss::pg
