// ss-frame-latency: reads frames and measures, for each transaction committed in [--from, --until) (µs since the
// epoch, PostgreSQL's commit time), how long after its commit the first of its records arrived here: commit to
// readable, for whatever stage feeds stdin. Ends at the first record committed a second past --until (or at the end
// of input) and prints the window's figures (latency_window.h).
#include <unistd.h>

#include "core/cli.h"
#include "core/frames.h"
#include "core/position.h"
#include "latency_window.h"
#include "shadowstream.pb.h"

int main(int argc, char** argv) {
  CLI::App app{"Commit-to-arrival latency of the transactions committed in a window.", "ss-frame-latency"};
  int64_t from = 0, until = 0;
  app.add_option("--from", from, "Count transactions committed at or after this (µs since the epoch)")->required();
  app.add_option("--until", until, "Stop at the first record committed a second after this")->required();
  return ss::run_main(app, argc, argv, [&] {
    ss::FrameReader in(STDIN_FILENO);
    shadowstream::v1::ChangeRecord rec;
    ss::bench::LatencyWindow window(from, until);
    while (in.next(rec) && window.add(rec.commit_lsn(), rec.commit_time(), ss::now_us())) {
    }
    window.print();
    return 0;
  });
}
