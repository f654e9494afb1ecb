// Graceful stop: SIGTERM/SIGINT set a flag that long-running loops poll between batches, so a tool finishes the
// batch in hand, flushes, acks and exits 0 (docs/CONTRACTS.md). Blocking reads are interrupted (no SA_RESTART) so that
// a tool idle on stdin notices promptly.
#pragma once

#include <cstdint>

namespace ss {

// Installs the SIGTERM/SIGINT handlers and ignores SIGPIPE (EPIPE is handled where writes happen).
void install_stop_handlers();
bool stop_requested();
// Sleeps for `us`, looking for a stop request every 50 ms: every wait of a retry loop goes through here, so SIGTERM
// ends a tool within a moment whatever it is waiting for. False when a stop cut the sleep short.
bool sleep_unless_stopped(int64_t us);

}  // namespace ss
