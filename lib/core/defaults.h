// Names and numbers every tool agrees on, defined once: the version every tool, metric and Debezium event reports
// (the Makefile reads it from here for the supervisor script and the Debian package, and tests/check-docs checks
// the man pages against it), and the defaults of the flags several tools share. The servers' default addresses are
// in core/transport.h.
#pragma once

namespace ss {

inline constexpr const char* kVersion = "0.1.0";

// The replication slot and publication ss-capture uses, and ss-progress and the dashboard watch.
inline constexpr const char* kDefaultSlot = "shadowstream";
inline constexpr const char* kDefaultPublication = "shadowstream";

}  // namespace ss
