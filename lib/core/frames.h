// Length-delimited protobuf frames (varint32 length + message) on file descriptors: the wire format between tools.
//
// Both directions buffer large blocks so a stream of small frames costs a handful of syscalls, not one per frame.
// A reader never hands out part of a frame: truncated, oversized or garbage input is an ss::Error (65) naming the
// byte offset where the bad frame starts, and everything before it has already been returned intact.
#pragma once

#include <google/protobuf/message_lite.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/fd_io.h"
#include "shadowstream.pb.h"

namespace ss {

// Frames are binary: a tool refuses to write them to a terminal (exit 64), saying what to do instead.
void refuse_terminal(int fd, std::string_view instead = "pipe into ss-cat or a file");

// The largest message protobuf parses (2 GiB - 1): every record PostgreSQL can produce fits (a value is at most
// 1 GB), and since the reader's buffer grows only as bytes arrive, a garbage length costs nothing before its data.
inline constexpr size_t kDefaultMaxFrame = 0x7fffffff;

class FrameReader {
 public:
  // `name` appears in error messages ("stdin", a file name). The fd is not closed by the reader.
  explicit FrameReader(int fd, std::string name = "stdin", size_t max_frame = kDefaultMaxFrame);

  // Next frame's payload (valid until the next call). Returns false at a clean end of input, i.e. EOF on a frame
  // boundary, or when a stop was requested (signals.h) while waiting for input. Throws Error(65) for bad frames,
  // Error(74) for read errors.
  bool next(std::string_view& payload);

  // Next frame parsed into `msg`. Throws Error(65) naming the offset when the payload does not parse.
  bool next(google::protobuf::MessageLite& msg);
  // Both: the parsed message and its payload bytes (valid until the next call), for tools that forward the frame.
  bool next(google::protobuf::MessageLite& msg, std::string_view& payload);
  // A ChangeRecord is also checked (record_check.h): a record no source can produce is bad data at its offset.
  bool next(shadowstream::v1::ChangeRecord& rec);
  bool next(shadowstream::v1::ChangeRecord& rec, std::string_view& payload);

  // Byte offset of the start of the frame last returned (or of the bad frame after an error).
  uint64_t frame_offset() const { return frame_offset_; }
  // Frames returned so far.
  uint64_t frames() const { return frames_; }
  // Bytes already read from the fd but not yet returned as frames: when 0, the next call may block, so a
  // pass-through tool should flush its output first.
  size_t buffered() const { return in_.size(); }
  // Whether input arrives within `timeout_ms` (see ReadBuffer::readable).
  bool readable(int timeout_ms) const { return in_.readable(timeout_ms); }
  // Bytes of input that could be read now without waiting (see ReadBuffer::waiting).
  size_t waiting() const { return in_.waiting(); }
  const std::string& name() const { return in_.name(); }

 private:
  [[noreturn]] void fail(const std::string& what) const;

  ReadBuffer in_;
  size_t max_frame_;
  uint64_t frame_offset_ = 0;
  uint64_t frames_ = 0;
};

class FrameWriter {
 public:
  // Output is flushed when `buffer_size` bytes are pending, on flush(), and (best effort) on destruction.
  explicit FrameWriter(int fd, size_t buffer_size = 1u << 20) : out_(fd, buffer_size) {}

  void write(const google::protobuf::MessageLite& msg);
  // Writes an already-serialized message as one frame; `tail`, serialized fields of the same message, follows it
  // (protobuf reads fields in any order and the last value of a field wins, so a field set here overrides one in
  // `payload`): a producer that serializes in parallel leaves the field that only the writer knows (the ordinal)
  // to the tail.
  void write_payload(std::string_view payload, std::string_view tail = {});
  // Writes `count` frames that are already framed, back to back (a bundle of an archive's checkpoint rows).
  void write_frames(std::string_view framed, uint64_t count) {
    out_.write(framed);
    frames_ += count;
  }
  // Writes all pending bytes. Throws BrokenPipe when the reader is gone, Error(74) on other write errors.
  void flush() { out_.flush(); }
  // flush() then fsync(2), for regular files (pipes and terminals are not errors).
  void sync() { out_.sync(); }
  size_t pending() const { return out_.pending(); }
  uint64_t frames() const { return frames_; }

 private:
  BufferedWriter out_;
  uint64_t frames_ = 0;
};

// Appends a varint32-delimited frame holding `payload` to `out` (for building streams in memory).
void append_frame(std::string& out, std::string_view payload);

}  // namespace ss
