#include "core/frames.h"

#include <errno.h>
#include <unistd.h>

#include <cstring>

#include "core/error.h"
#include "core/metrics.h"
#include "core/record_check.h"
#include "core/signals.h"

namespace ss {
namespace {
void put_varint32(std::string& out, uint32_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
}  // namespace

FrameReader::FrameReader(int fd, std::string name, size_t max_frame)
    : in_(fd, std::move(name)), max_frame_(max_frame) {}

void refuse_terminal(int fd, std::string_view instead) {
  if (::isatty(fd))
    throw Error(kExitUsage, "refusing to write binary frames to a terminal (" + std::string(instead) + ")");
}

void FrameReader::fail(const std::string& what) const {
  throw BadFrame(in_.name() + ": " + what + " at byte offset " + std::to_string(frame_offset_));
}

bool FrameReader::next(std::string_view& payload) {
  frame_offset_ = in_.offset();
  // Decode the varint32 length, reading more as needed.
  uint64_t len = 0;
  size_t hdr = 0;
  for (;;) {
    if (hdr == in_.size()) {
      if (!in_.fill()) {
        if (!in_.eof() || hdr == 0) return false;  // stop requested while waiting, or EOF on a frame boundary
        fail("truncated frame (input ends inside the length prefix)");
      }
      continue;
    }
    uint8_t b = static_cast<uint8_t>(in_.data()[hdr]);
    len |= static_cast<uint64_t>(b & 0x7f) << (7 * hdr);
    ++hdr;
    if (!(b & 0x80)) break;
    if (hdr == 5) fail("malformed frame length (varint longer than 5 bytes)");
  }
  if (len > 0xffffffffull) fail("malformed frame length");
  if (len > kDefaultMaxFrame) fail("frame of " + std::to_string(len) + " bytes is larger than protobuf can parse");
  if (len > max_frame_)
    fail("frame of " + std::to_string(len) + " bytes exceeds the limit of " + std::to_string(max_frame_) + " bytes");
  // The buffer grows as bytes arrive (fill() doubles it when it runs short), never to a length the input only
  // declares: four bytes claiming 4 GB must not cost 4 GB.
  while (in_.size() < hdr + len) {
    if (!in_.fill(hdr + len)) {
      if (!in_.eof()) return false;
      fail("truncated frame (" + std::to_string(in_.size() - hdr) + " of " + std::to_string(len) + " bytes present)");
    }
  }
  payload = std::string_view(in_.data() + hdr, len);
  in_.consume(hdr + len);
  ++frames_;
  return true;
}

bool FrameReader::next(google::protobuf::MessageLite& msg) {
  std::string_view payload;
  return next(msg, payload);
}

bool FrameReader::next(google::protobuf::MessageLite& msg, std::string_view& payload) {
  if (!next(payload)) return false;
  if (!msg.ParseFromArray(payload.data(), static_cast<int>(payload.size())))
    fail("frame is not a valid " + msg.GetTypeName());
  return true;
}

bool FrameReader::next(shadowstream::v1::ChangeRecord& rec) {
  std::string_view payload;
  return next(rec, payload);
}

bool FrameReader::next(shadowstream::v1::ChangeRecord& rec, std::string_view& payload) {
  if (!next(static_cast<google::protobuf::MessageLite&>(rec), payload)) return false;
  try {
    validate_record(rec);
  } catch (const Error& e) {
    fail(e.what());
  }
  metrics::note_source(rec.source().name());
  return true;
}

void FrameWriter::write(const google::protobuf::MessageLite& msg) {
  std::string& buf = out_.buffer();
  size_t size = msg.ByteSizeLong();
  // Protobuf cannot serialize or parse past 2 GiB: a row with several 1 GB values is refused here, whole, rather
  // than written as a frame no reader could take.
  if (size > kDefaultMaxFrame)
    throw Error(kExitDataErr, "a " + msg.GetTypeName() + " of " + std::to_string(size) +
                                  " bytes is over the 2 GiB a protobuf message can hold");
  put_varint32(buf, static_cast<uint32_t>(size));
  size_t at = buf.size();
  buf.resize(at + size);
  msg.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(buf.data() + at));
  ++frames_;
  out_.maybe_flush();
}

void FrameWriter::write_payload(std::string_view payload, std::string_view tail) {
  if (payload.size() + tail.size() > kDefaultMaxFrame)
    throw Error(kExitDataErr, "a message of " + std::to_string(payload.size() + tail.size()) +
                                  " bytes is over the 2 GiB a protobuf message can hold");
  put_varint32(out_.buffer(), static_cast<uint32_t>(payload.size() + tail.size()));
  if (payload.size() >= out_.limit())
    out_.write(payload);  // straight out, not copied into the buffer
  else
    out_.buffer().append(payload);
  out_.buffer().append(tail);
  ++frames_;
  out_.maybe_flush();
}

void append_frame(std::string& out, std::string_view payload) {
  put_varint32(out, static_cast<uint32_t>(payload.size()));
  out.append(payload);
}

}  // namespace ss
