// Graceful stop: SIGTERM/SIGINT set a flag that long-running loops poll between batches, so a tool finishes the
// batch in hand, flushes, acks and exits 0 (DESIGN.md). Blocking reads are interrupted (no SA_RESTART) so that a
// tool idle on stdin notices promptly.
#pragma once

namespace ss {

// Installs the SIGTERM/SIGINT handlers and ignores SIGPIPE (EPIPE is handled where writes happen).
void install_stop_handlers();
bool stop_requested();
// For tests and for tools that stop themselves (e.g. --endpos reached).
void request_stop();
// The signal number that requested the stop (0 if none or request_stop()).
int stop_signal();

}  // namespace ss
