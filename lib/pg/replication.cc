#include "pg/replication.h"

#include "core/error.h"
#include "pg/pgoutput.h"

namespace ss::replication {
namespace {
uint64_t get_be64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
void put_be64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
}
}  // namespace

ServerMessage parse_server_message(std::string_view buf) {
  ServerMessage m;
  if (buf.empty()) return m;
  if (buf[0] == 'w') {
    if (buf.size() < 25) throw Error(kExitDataErr, "replication protocol: XLogData message shorter than its header");
    m.kind = ServerMessage::Kind::kXLogData;
    m.wal_start = get_be64(buf.data() + 1);
    m.wal_end = get_be64(buf.data() + 9);
    m.send_time_us = pgoutput::unix_us(static_cast<int64_t>(get_be64(buf.data() + 17)));
    m.data = buf.substr(25);
  } else if (buf[0] == 'k') {
    if (buf.size() < 18) throw Error(kExitDataErr, "replication protocol: keepalive shorter than its header");
    m.kind = ServerMessage::Kind::kKeepalive;
    m.wal_end = get_be64(buf.data() + 1);
    m.send_time_us = pgoutput::unix_us(static_cast<int64_t>(get_be64(buf.data() + 9)));
    m.reply_requested = buf[17] != 0;
  }
  return m;
}

std::string standby_status(uint64_t written, uint64_t flushed, uint64_t applied, int64_t now_us, bool reply_requested) {
  std::string msg;
  msg.reserve(34);
  msg.push_back('r');
  put_be64(msg, written);
  put_be64(msg, flushed);
  put_be64(msg, applied);
  put_be64(msg, static_cast<uint64_t>(now_us - pgoutput::kPgEpochOffsetUs));
  msg.push_back(reply_requested ? 1 : 0);
  return msg;
}

}  // namespace ss::replication
