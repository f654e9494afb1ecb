// ss-cat: frames <-> JSON lines, so people can look at streams and write fixtures by hand.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/frames.h"

namespace ss::cat {

struct Config {
  std::vector<std::string> inputs;  // "-" = stdin; empty = stdin
  bool from_json = false;           // JSON lines -> frames (default: frames -> JSON lines)
  bool shapes = false;              // one line per relation shape change instead of the records
  bool debezium = false;            // Debezium change events instead of the records' own JSON
  size_t max_frame = kDefaultMaxFrame;
};

// Runs the conversion from the inputs to `out_fd`, in order. Everything converted before a bad frame or line has
// been written when the Error(65) naming its offset or line is thrown.
int run(const Config& cfg, int out_fd);

}  // namespace ss::cat
