// The streaming replication protocol's CopyData messages around pgoutput (PostgreSQL's protocol-replication docs):
// XLogData and primary keepalives from the server, standby status updates to it. Bounds-checked like the pgoutput
// decoder, so capture's loop never reads past a message.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ss::replication {

struct ServerMessage {
  enum class Kind { kXLogData, kKeepalive, kOther };
  Kind kind = Kind::kOther;
  uint64_t wal_start = 0;  // XLogData: where its WAL data starts
  uint64_t wal_end = 0;    // the server's WAL end (XLogData) or sent pointer (keepalive)
  int64_t send_time_us = 0;
  bool reply_requested = false;  // keepalive: answer at once
  std::string_view data;         // XLogData: the pgoutput message
};

// Parses one CopyData message from the server. Error(65) for an XLogData or keepalive too short for its header;
// other message types are kOther (ignored, as PostgreSQL allows new ones).
ServerMessage parse_server_message(std::string_view buf);

// A standby status update: written, flushed and applied positions and the client's clock.
std::string standby_status(uint64_t written, uint64_t flushed, uint64_t applied, int64_t now_us,
                           bool reply_requested = false);

}  // namespace ss::replication
