#include "pg/replication.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace ss::replication {
namespace {

std::string be64(uint64_t v) {
  std::string s;
  for (int i = 7; i >= 0; --i) s.push_back(static_cast<char>(v >> (8 * i)));
  return s;
}

TEST(ReplicationProtocol, XLogDataAndKeepalive) {
  // The message views the buffer: it must outlive the parse (a temporary here was the sanitizer run's first find).
  const std::string xlog = "w" + be64(0x16B3748) + be64(0x16B3800) + be64(0) + "Bpayload";
  ServerMessage w = parse_server_message(xlog);
  EXPECT_EQ(w.kind, ServerMessage::Kind::kXLogData);
  EXPECT_EQ(w.wal_start, 0x16B3748u);
  EXPECT_EQ(w.wal_end, 0x16B3800u);
  EXPECT_EQ(w.data, "Bpayload");
  ServerMessage k = parse_server_message("k" + be64(0x2000000) + be64(0) + std::string(1, '\1'));
  EXPECT_EQ(k.kind, ServerMessage::Kind::kKeepalive);
  EXPECT_EQ(k.wal_end, 0x2000000u);
  EXPECT_TRUE(k.reply_requested);
  EXPECT_EQ(parse_server_message("zanything").kind, ServerMessage::Kind::kOther);
  EXPECT_EQ(parse_server_message("").kind, ServerMessage::Kind::kOther);
}

TEST(ReplicationProtocol, ShortHeadersAreBadData) {
  EXPECT_THROW(parse_server_message("w" + be64(1)), Error);
  EXPECT_THROW(parse_server_message("k" + be64(1)), Error);
}

TEST(ReplicationProtocol, StandbyStatusLayout) {
  std::string m = standby_status(3, 2, 1, 946'684'800'000'000 + 5, true);
  ASSERT_EQ(m.size(), 34u);
  EXPECT_EQ(m[0], 'r');
  EXPECT_EQ(m.substr(1, 8), be64(3));
  EXPECT_EQ(m.substr(9, 8), be64(2));
  EXPECT_EQ(m.substr(17, 8), be64(1));
  EXPECT_EQ(m.substr(25, 8), be64(5));
  EXPECT_EQ(m[33], 1);
}

}  // namespace
}  // namespace ss::replication
