#include "cat.h"

#include <unistd.h>

#include "error.h"
#include "fd_io.h"
#include "json_codec.h"
#include "record_check.h"
#include "shadowstream.pb.h"

namespace ss::cat {
namespace {

// Closes what open_input opened, but never stdin.
struct Input {
  int fd;
  explicit Input(const std::string& path) : fd(open_input(path)) {}
  ~Input() {
    if (fd != STDIN_FILENO) ::close(fd);
  }
  Input(const Input&) = delete;
  Input& operator=(const Input&) = delete;
};

std::string display_name(const std::string& path) {
  return path == "-" ? "stdin" : path;
}

void frames_to_json(const std::string& path, size_t max_frame, BufferedWriter& out) {
  Input in(path);
  FrameReader reader(in.fd, display_name(path), max_frame);
  shadowstream::v1::ChangeRecord rec;
  while (reader.next(rec)) {
    json::append(rec, out.buffer());
    out.buffer().push_back('\n');
    out.maybe_flush();
    // Interactive use (`ss-capture | ss-cat`): show what arrived before blocking for more.
    if (reader.buffered() == 0) out.flush();
  }
}

void json_to_frames(const std::string& path, FrameWriter& out, json::Parser& parser) {
  Input in(path);
  LineReader lines(in.fd, display_name(path));
  shadowstream::v1::ChangeRecord rec;
  std::string_view line;
  while (lines.next(line)) {
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;  // blank lines are allowed
    const std::string where = lines.name() + " line " + std::to_string(lines.line_number());
    parser.parse(line, rec, where);
    try {
      validate_record(rec);
    } catch (const Error& e) {
      throw Error(kExitDataErr, where + ": " + e.what());
    }
    out.write(rec);
  }
}

}  // namespace

int run(const Config& cfg, int out_fd) {
  std::vector<std::string> inputs = cfg.inputs;
  if (inputs.empty()) inputs.push_back("-");
  if (cfg.from_json) {
    FrameWriter out(out_fd);
    json::Parser parser;
    for (const auto& path : inputs) json_to_frames(path, out, parser);
    out.flush();
  } else {
    BufferedWriter out(out_fd);
    for (const auto& path : inputs) frames_to_json(path, cfg.max_frame, out);
    out.flush();
  }
  return kExitOk;
}

}  // namespace ss::cat
