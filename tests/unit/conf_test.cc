#include "core/conf.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "core/error.h"

namespace {

TEST(Conf, ReadsKeyValueLinesAsTheSupervisorDoes) {
  auto c = ss::conf::Config::parse("# comment\n\n  SLOT=shadow\nTOPIC=\"a b\"\r\nSOURCE='x'\nTABLES=\n", "f.conf");
  EXPECT_EQ(c.get("SS_TEST_NOT_SET_ANYWHERE"), std::nullopt);
  EXPECT_EQ(c.get("SLOT"), "shadow");
  EXPECT_EQ(c.get("TOPIC"), "a b");
  EXPECT_EQ(c.get("SOURCE"), "x");
  EXPECT_EQ(c.get("TABLES"), "");
  EXPECT_EQ(c.file(), "f.conf");
}

TEST(Conf, TheFirstOfARepeatedKeyWinsAsInTheShell) {
  EXPECT_EQ(ss::conf::Config::parse("SLOT=a\nSLOT=b\n", "f.conf").get("SLOT"), "a");
}

TEST(Conf, TheEnvironmentWinsOverTheFile) {
  unsetenv("METRICS_DIR");
  auto c = ss::conf::Config::parse("METRICS_DIR=file\n", "f.conf");
  EXPECT_EQ(c.get("METRICS_DIR"), "file");
  setenv("METRICS_DIR", "env", 1);
  EXPECT_EQ(c.get("METRICS_DIR"), "env");
  unsetenv("METRICS_DIR");
}

TEST(Conf, AnUnknownKeyIsRefusedAsTheSupervisorRefusesIt) {
  try {
    ss::conf::Config::parse("SLOT=a\nSLOTT=b\n", "typo.conf");
    FAIL();
  } catch (const ss::Error& e) {
    EXPECT_EQ(e.code(), ss::kExitConfig);
    EXPECT_STREQ(e.what(), "typo.conf:2: unknown key SLOTT (see shadowstream(1))");
  }
  for (std::string_view key : ss::conf::kKeys)
    EXPECT_TRUE(ss::conf::Config::parse(std::string(key) + "=x\n", "f.conf").get(std::string(key)).has_value());
}

TEST(Conf, ABadLineIsAConfigurationErrorNamingIt) {
  for (const char* text : {"SLOT shadow\n", "slot=x\n", "1SLOT=x\n", "=x\n"}) {
    try {
      ss::conf::Config::parse(std::string("SLOT=a\n") + text, "f.conf");
      FAIL() << text;
    } catch (const ss::Error& e) {
      EXPECT_EQ(e.code(), ss::kExitConfig);
      EXPECT_EQ(std::string(e.what()).rfind("f.conf:2: expected KEY=value, got: ", 0), 0u) << e.what();
    }
  }
}

TEST(Conf, ANamedFileThatCannotBeReadIsExit66) {
  try {
    ss::conf::Config::load("/nonexistent/shadowstream.conf");
    FAIL();
  } catch (const ss::Error& e) {
    EXPECT_EQ(e.code(), ss::kExitNoInput);
  }
}

}  // namespace
