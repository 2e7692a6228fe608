#include "core/csv.h"

#include <gtest/gtest.h>

namespace postroom {
namespace {

using Rows = std::vector<csv::Row>;

TEST(Csv, ReadsRfc4180) {
  EXPECT_EQ(csv::parse("a,b\r\n1,2\r\n"), (Rows{{"a", "b"}, {"1", "2"}}));
  EXPECT_EQ(csv::parse("a,b\n1,2"), (Rows{{"a", "b"}, {"1", "2"}}));
  EXPECT_EQ(csv::parse("\"x,y\",\"say \"\"hi\"\"\",\"two\r\nlines\"\r\n"),
            (Rows{{"x,y", "say \"hi\"", "two\r\nlines"}}));
  EXPECT_EQ(csv::parse("\xEF\xBB\xBF"
                       "email\r\n"),
            (Rows{{"email"}}));
  EXPECT_EQ(csv::parse(",,\r\n\r\nz"), (Rows{{"", "", ""}, {""}, {"z"}}));
  EXPECT_EQ(csv::parse("\"\",x"), (Rows{{"", "x"}}));
  EXPECT_EQ(csv::parse(""), Rows{});
  EXPECT_EQ(csv::parse("a;b", {}, ';'), (Rows{{"a", "b"}}));
}

TEST(Csv, RefusesBrokenStructureWithTheLine) {
  try {
    csv::parse("a\r\nb,\"open\r\nstill open");
    FAIL();
  } catch (const csv::Error& e) {
    EXPECT_EQ(e.line, 2u);
    EXPECT_NE(std::string(e.what()).find("unterminated"), std::string::npos);
  }
  EXPECT_THROW(csv::parse("\"x\"y"), csv::Error);
  EXPECT_THROW(csv::parse("ab\"c"), csv::Error);
}

TEST(Csv, EnforcesLimits) {
  csv::Limits limits;
  limits.max_rows = 2;
  EXPECT_THROW(csv::parse("a\nb\nc\n", limits), csv::Error);
  limits = {};
  limits.max_fields = 2;
  EXPECT_THROW(csv::parse("a,b,c", limits), csv::Error);
  limits = {};
  limits.max_field_bytes = 3;
  EXPECT_THROW(csv::parse("abcd", limits), csv::Error);
  EXPECT_THROW(csv::parse("\"abcd\"", limits), csv::Error);
}

TEST(Csv, WritesQuotedAndDefusesFormulas) {
  EXPECT_EQ(csv::row({"a", "b,c", "say \"hi\"", "x\ny"}), "a,\"b,c\",\"say \"\"hi\"\"\",\"x\ny\"\r\n");
  EXPECT_EQ(csv::field("=HYPERLINK(\"http://evil\")"), "\"'=HYPERLINK(\"\"http://evil\"\")\"");
  EXPECT_EQ(csv::field("+1"), "'+1");
  EXPECT_EQ(csv::field("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(csv::field(" padded "), "\" padded \"");
  // A value starting with a byte-order mark survives a round trip (the reader skips a leading BOM).
  EXPECT_EQ(csv::parse(csv::row({"\xEF\xBB\xBFx"})), (Rows{{"\xEF\xBB\xBFx"}}));
  EXPECT_EQ(csv::parse(csv::row({"x,\"y\"", "", "a\r\nb"})), (Rows{{"x,\"y\"", "", "a\r\nb"}}));
}

}  // namespace
}  // namespace postroom
