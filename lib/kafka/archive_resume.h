// What the archive already holds of a source, for a restarted ss-archive write: the records its upstream resends
// after the last acknowledgement are written only where they are missing.
#pragma once

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/position.h"
#include "kafka/handle.h"

namespace ss::archive::detail {

// What the archive holds of one source from a position on. A restarted archiver is resent everything after its
// upstream's last acknowledgement and must write exactly what is missing of it. On a real cluster that is everything
// above the high-water: read_committed hides aborted transactions, and committed ones are whole. A broker that shows
// an aborted transaction's records (librdkafka 2.0's test broker does: its transactions never abort) would make that
// rule drop the records the dead archiver had not flushed; reading what is really there from the first resent
// position on finds those holes, on any broker.
struct Archived {
  Position hw;                                         // the highest position held
  Position floor;                                      // below it, everything up to hw is taken as held
  std::vector<std::pair<Position, Position>> present;  // sorted ranges (a bundle's first and last): what is held
  std::vector<Position> written;                       // written by this run in position order (the newest million)
  std::set<Position> written_late;                     // written by this run below what it had written before

  // Everything written is remembered, so a record delivered again in the same run (a redelivery after a Redis
  // restart can come out of order) is dropped, not written twice. The oldest half goes past a million. Records
  // come in position order all but always: an append to a vector, where a tree node per record was a twentieth of
  // the archiver's time; the rare one that comes late goes to a set.
  void note_written(const Position& p) {
    if (written.empty() || written.back() < p)
      written.push_back(p);
    else
      written_late.insert(p);
    if (written.size() > 1'000'000) {
      written.erase(written.begin(), written.begin() + 500'000);
      written_late.erase(written_late.begin(), written_late.lower_bound(written.front()));
    }
  }

  bool holds(const Position& p) const {
    // Written by this run first: a record of the batch still committing (or of the one filling) is above hw until
    // that commit ends, and a redelivery of it then must not be written again.
    // In order, as nearly always, a record is above everything written (written_late holds only positions below
    // written.back() too): no search.
    const bool above_written = written.empty() || written.back() < p;
    if (!above_written && (std::binary_search(written.begin(), written.end(), p) || written_late.count(p))) return true;
    if (p > hw) return false;
    if (p < floor) return true;
    auto it = std::upper_bound(present.begin(), present.end(), p,
                               [](const Position& x, const std::pair<Position, Position>& r) { return x < r.first; });
    return it != present.begin() && p <= std::prev(it)->second;
  }
};

// What `topic` holds of `source` from `from` on (its committed high-water, and above `from` the ranges read back).
Archived archived_since(const kafka::Settings& s, const std::string& topic, const std::string& source,
                        const Position& from);

}  // namespace ss::archive::detail
