// Names and numbers every tool agrees on, defined once: the version every tool, metric and Debezium event reports
// (the Makefile reads it from here for the supervisor script and the Debian package, and tests/check-docs checks
// the man pages against it), and the defaults of the flags several tools share. The servers' default addresses are
// in core/transport.h.
#pragma once

#include <string>
#include <string_view>

namespace ss {

inline constexpr const char* kVersion = "0.1.0";

// The replication slot and publication ss-capture uses, and ss-progress and the dashboard watch.
inline constexpr const char* kDefaultSlot = "shadowstream";
inline constexpr const char* kDefaultPublication = "shadowstream";

// The prefix of the logical messages the schema-change trigger emits (ss-capture install-ddl, pg/ddl.h): ss-capture
// turns them into schema records, and ss-cat --format debezium turns those back, as the connector shows them.
inline constexpr const char* kDdlMessagePrefix = "shadowstream.ddl";

// The name the archive, the buffer and the metrics give a record that names no source (one pipeline, unnamed). A
// target's high-water keeps the record's own name, so the applier looks "default" up under "" too.
inline constexpr const char* kDefaultSource = "default";
inline std::string_view source_label(const std::string& name) {
  return name.empty() ? std::string_view(kDefaultSource) : std::string_view(name);
}

}  // namespace ss
