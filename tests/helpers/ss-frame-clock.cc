// ss-frame-clock: reads frames and prints, for the first record of each transaction, when it arrived and when it
// was committed, both in µs relative to the first record: the raw material for measuring a replay's pacing.
#include <unistd.h>

#include <cstdio>

#include "core/cli.h"
#include "core/frames.h"
#include "replay/pacing.h"
#include "shadowstream.pb.h"

int main(int argc, char** argv) {
  CLI::App app{"Print arrival and commit times (µs since the first record) of each transaction's first frame.",
               "ss-frame-clock"};
  return ss::run_main(app, argc, argv, [&] {
    ss::FrameReader in(STDIN_FILENO);
    shadowstream::v1::ChangeRecord rec;
    int64_t t0 = 0, c0 = 0;
    uint64_t lsn = 0;
    bool first = true;
    while (in.next(rec)) {
      int64_t now = ss::pacing::mono_us();
      if (!first && rec.commit_lsn() == lsn) continue;
      if (first) {
        t0 = now;
        c0 = rec.commit_time();
        first = false;
      }
      lsn = rec.commit_lsn();
      std::printf("%lld %lld\n", static_cast<long long>(now - t0), static_cast<long long>(rec.commit_time() - c0));
      std::fflush(stdout);  // tests watch the output grow
    }
    return 0;
  });
}
