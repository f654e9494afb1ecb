#include "core/cat.h"

#include <unistd.h>

#include <cstdio>
#include <unordered_map>

#include "core/debezium.h"
#include "core/error.h"
#include "core/fd_io.h"
#include "core/json.h"
#include "core/position.h"
#include "core/record_check.h"
#include "core/shape.h"
#include "core/window_base.h"
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

// `debezium`: the records as Debezium change events (one stream: events are counted across files), else as JSON.
void frames_to_json(const std::string& path, size_t max_frame, BufferedWriter& out, debezium::Converter* debezium) {
  Input in(path);
  FrameReader reader(in.fd, display_name(path), max_frame);
  shadowstream::v1::ChangeRecord rec;
  std::vector<std::string> events;
  while (reader.next(rec)) {
    if (window_base_of(rec)) continue;  // a window's opening marker, not a change (window_base.h)
    if (debezium) {
      debezium->convert(rec, events);
      for (const auto& e : events) {
        out.buffer() += e;
        out.buffer().push_back('\n');
      }
    } else {
      json::append(rec, out.buffer());
      out.buffer().push_back('\n');
    }
    out.maybe_flush();
    // Interactive use (`ss-capture | ss-cat`): show what arrived before blocking for more.
    if (reader.buffered() == 0) out.flush();
  }
}

// --shapes: one line per relation shape, as the stream first shows it and then at each change.
class ShapeLog {
 public:
  void feed(const shadowstream::v1::ChangeRecord& rec, std::string& out) {
    if (rec.op() == shadowstream::v1::OPERATION_SCHEMA) return schema(rec, out);
    if (rec.shape_id() == 0) return;
    Known& k = known_[rec.source().name() + '\0' + std::to_string(rec.relation_oid())];
    if (k.shape == rec.shape_id()) return;
    const std::string name = rec.schema() + "." + rec.table();
    out += format_position({rec.commit_lsn(), rec.ordinal()}) + " " + name + " shape " + hex(rec.shape_id()) + ": ";
    std::vector<shape::TargetColumn> now;
    const auto& cols = rec.columns().empty() ? rec.old_columns() : rec.columns();
    for (const auto& c : cols)
      now.push_back(
          {c.name(), c.type_oid(), c.type_name(), c.type_modifier(), c.is_key() && rec.replica_identity() != "f"});
    if (k.shape == 0) {
      shape::Change all;  // the first sight: every column is new
      for (const auto& c : cols) all.added.push_back(&c);
      out += shape::describe(all, {});
      for (const auto& c : now)
        if (c.is_key) {
          out += " (key";
          for (const auto& kc : now)
            if (kc.is_key) out += " " + kc.name;
          out += ")";
          break;
        }
    } else {
      shape::Change ch = shape::compare(rec, k.columns);
      // Under REPLICA IDENTITY FULL every column is flagged key: there is no key to show.
      if (rec.replica_identity() == "f") ch.key_changed = false;
      std::string change = shape::describe(ch, k.columns);
      if (k.name != name) change = "renamed from " + k.name + (change.empty() ? "" : ", " + change);
      if (k.replica_identity != rec.replica_identity())
        change += (change.empty() ? "" : ", ") + std::string("replica identity ") + identity(k.replica_identity) +
                  " -> " + identity(rec.replica_identity());
      // Something else the fingerprint holds changed (a key flag a FULL identity hides, say): never an empty line.
      out += change.empty() ? "the same columns" : change;
    }
    out += '\n';
    k = {rec.shape_id(), name, std::move(now), rec.replica_identity()};
  }

 private:
  // A schema record (ss-capture install-ddl): the command and what the table holds after it.
  static void schema(const shadowstream::v1::ChangeRecord& rec, std::string& out) {
    const auto& d = rec.definition();
    out += format_position({rec.commit_lsn(), rec.ordinal()}) + " " + rec.schema() + "." +
           (rec.table().empty() ? d.dropped_index() : rec.table()) + " schema: " + d.command_tag();
    if (!d.object_identity().empty()) out += " " + d.object_identity();
    if (d.dropped() || !d.dropped_index().empty()) {
      out += d.dropped() ? ": table dropped\n" : ": index dropped\n";
      return;
    }
    auto count = [](int n, const char* one, const char* many) {
      return std::to_string(n) + " " + (n == 1 ? one : many);
    };
    out += ": " + count(d.columns_size(), "column", "columns") + ", " +
           count(d.constraints_size(), "constraint", "constraints") + ", " +
           count(d.indexes_size(), "index", "indexes") + "\n";
  }
  static std::string hex(uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
  }
  struct Known {
    uint64_t shape = 0;
    std::string name;
    std::vector<shape::TargetColumn> columns;
    std::string replica_identity;
  };
  // pg_class.relreplident's letter, as ALTER TABLE ... REPLICA IDENTITY names it.
  static const char* identity(const std::string& letter) {
    return letter == "f" ? "full" : letter == "i" ? "index" : letter == "n" ? "nothing" : "default";
  }
  std::unordered_map<std::string, Known> known_;
};

void frames_to_shapes(const std::string& path, size_t max_frame, BufferedWriter& out, ShapeLog& log) {
  Input in(path);
  FrameReader reader(in.fd, display_name(path), max_frame);
  shadowstream::v1::ChangeRecord rec;
  while (reader.next(rec)) {
    log.feed(rec, out.buffer());
    out.maybe_flush();
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
  } else if (cfg.shapes) {
    BufferedWriter out(out_fd);
    ShapeLog log;
    for (const auto& path : inputs) frames_to_shapes(path, cfg.max_frame, out, log);
    out.flush();
  } else {
    BufferedWriter out(out_fd);
    debezium::Converter converter;
    for (const auto& path : inputs) frames_to_json(path, cfg.max_frame, out, cfg.debezium ? &converter : nullptr);
    out.flush();
  }
  return kExitOk;
}

}  // namespace ss::cat
