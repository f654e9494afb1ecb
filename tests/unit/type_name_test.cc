#include "core/type_name.h"

#include <gtest/gtest.h>

#include "core/log.h"

namespace ss {
namespace {

std::string resolved(std::string_view text) {
  auto t = parse_type_name(text);
  return t ? regtype_text(*t) : "(refused)";
}

TEST(TypeName, PlainNamesResolveQuotedPartByPart) {
  EXPECT_EQ(resolved("int8"), "\"int8\"");
  EXPECT_EQ(resolved("_int4"), "\"_int4\"");
  EXPECT_EQ(resolved("public.mood"), "\"public\".\"mood\"");
  EXPECT_EQ(resolved("Public.Mood"), "\"public\".\"mood\"");  // folded, as PostgreSQL folds bare names
  EXPECT_EQ(resolved("public.mood[]"), "\"public\".\"mood\"[]");
  EXPECT_EQ(resolved("app.\"My \"\"odd\"\" type\""), "\"app\".\"My \"\"odd\"\" type\"");
  EXPECT_EQ(resolved("\"a.b\".c"), "\"a.b\".\"c\"");
  EXPECT_EQ(resolved("s$1._x"), "\"s$1\".\"_x\"");
  EXPECT_EQ(resolved("caf\xc3\xa9.t"), "\"caf\xc3\xa9\".\"t\"");
}

TEST(TypeName, AnythingElseIsRefused) {
  for (const char* bad : {"",
                          "int8, leak text DEFAULT current_user || pg_read_file('/etc/hostname')",
                          "text USING pg_read_file('/etc/hostname')--.d",
                          "varchar(10)",
                          "double precision",
                          "a.b.c",
                          "a..b",
                          ".a",
                          "a.",
                          "\"unterminated",
                          "\"a\"x",
                          "a[",
                          "a[1]",
                          "a[][][][][][][]",
                          "1abc",
                          "a;b",
                          "a b",
                          "a--",
                          "a/*",
                          "\"\"",
                          "\"a\"\".b"})
    EXPECT_EQ(resolved(bad), "(refused)") << bad;
  EXPECT_EQ(resolved(std::string_view("\"a\0b\"", 5)), "(refused)");
  EXPECT_EQ(resolved("a[][][][][][]"), "\"a\"[][][][][][]");
}

TEST(TypeName, CatalogNamesReadBackAsThemselves) {
  EXPECT_EQ(catalog_type_name("pg_catalog", "int4"), "int4");
  EXPECT_EQ(catalog_type_name("public", "mood"), "public.mood");
  EXPECT_EQ(catalog_type_name("text USING pg_read_file('/etc/hostname')--", "d"),
            "\"text USING pg_read_file('/etc/hostname')--\".d");
  EXPECT_EQ(catalog_type_name("app", "My\"T"), "app.\"My\"\"T\"");
  for (auto [schema, name] : {std::pair{"public", "mood"}, {"a.b", "_c"}, {"x\"y", "Z z"}, {"1s", "user"}}) {
    auto t = parse_type_name(catalog_type_name(schema, name));
    ASSERT_TRUE(t) << schema << "." << name;
    EXPECT_EQ(t->schema, schema);
    EXPECT_EQ(t->name, name);
  }
}

TEST(TypeName, BareSqlNamesOfBuiltInsAreTheGrammarsTypes) {
  EXPECT_EQ(resolved("integer"), "\"int4\"");
  EXPECT_EQ(resolved("BIGINT[]"), "\"int8\"[]");
  EXPECT_EQ(resolved("char"), "\"bpchar\"");
  EXPECT_EQ(resolved("\"char\""), "\"char\"");                // quoted: the one-byte type
  EXPECT_EQ(resolved("app.integer"), "\"app\".\"integer\"");  // qualified: a type of that name
  EXPECT_EQ(catalog_type_name("pg_catalog", "char"), "\"char\"");
  EXPECT_EQ(catalog_type_name("pg_catalog", "bpchar"), "bpchar");
}

TEST(TypeName, SameTypeNameReadsBothSidesAsTheTargetWould) {
  EXPECT_TRUE(same_type_name("integer", "int4"));
  EXPECT_TRUE(same_type_name("pg_catalog.int4", "int4"));
  EXPECT_TRUE(same_type_name("int4[]", "_int4"));
  EXPECT_TRUE(same_type_name("MySchema.Mood", "myschema.mood"));  // an archive written before names were quoted
  EXPECT_TRUE(same_type_name("\"My S\".t", "\"My S\".t"));
  EXPECT_FALSE(same_type_name("\"My S\".t", "\"my s\".t"));
  EXPECT_FALSE(same_type_name("char", "\"char\""));
  EXPECT_FALSE(same_type_name("public.mood", "app.mood"));
  EXPECT_TRUE(same_type_name("a b", "a b"));  // not names: as text
}

TEST(Printable, ControlCharactersAndBrokenUtf8AreEscaped) {
  EXPECT_EQ(log::printable("plain job 1"), "plain job 1");
  EXPECT_EQ(log::printable("caf\xc3\xa9 \xe2\x9c\x93"), "caf\xc3\xa9 \xe2\x9c\x93");
  EXPECT_EQ(log::printable("a\x1b]0;owned\x07z"), "a\\x1b]0;owned\\x07z");
  EXPECT_EQ(log::printable("x\r\ndone\t1\x7f"), "x\\r\\ndone\\t1\\x7f");
  EXPECT_EQ(log::printable("\xc2\x9b"
                           "31m"),
            "\\u009b31m");  // C1 CSI
  EXPECT_EQ(log::printable("\xff\xc3"), "\\xff\\xc3");
  EXPECT_EQ(log::printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
  EXPECT_EQ(log::printable(std::string_view("a\0b", 3)), "a\\x00b");
}

}  // namespace
}  // namespace ss
