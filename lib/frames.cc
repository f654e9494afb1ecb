#include "frames.h"

#include <errno.h>
#include <unistd.h>

#include <cstring>

#include "error.h"
#include "signals.h"

namespace ss {
namespace {
constexpr size_t kReadChunk = 1u << 20;

void put_varint32(std::string& out, uint32_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
}  // namespace

FrameReader::FrameReader(int fd, std::string name, size_t max_frame)
    : fd_(fd), name_(std::move(name)), max_frame_(max_frame), buf_(kReadChunk) {}

void FrameReader::fail(const std::string& what) const {
  throw Error(kExitDataErr, name_ + ": " + what + " at byte offset " + std::to_string(frame_offset_));
}

bool FrameReader::fill() {
  if (eof_) return false;
  // Keep the unconsumed tail at the front so a frame is always contiguous.
  if (pos_ > 0) {
    std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
    consumed_ += pos_;
    end_ -= pos_;
    pos_ = 0;
  }
  if (buf_.size() - end_ < kReadChunk / 4) buf_.resize(buf_.size() * 2);
  for (;;) {
    ssize_t n = ::read(fd_, buf_.data() + end_, buf_.size() - end_);
    if (n > 0) {
      end_ += static_cast<size_t>(n);
      return true;
    }
    if (n == 0) {
      eof_ = true;
      return false;
    }
    if (errno == EINTR) {
      if (stop_requested()) return false;
      continue;
    }
    throw Error(kExitIoErr, name_ + ": read failed: " + errno_text(errno));
  }
}

bool FrameReader::next(std::string_view& payload) {
  frame_offset_ = consumed_ + pos_;
  // Decode the varint32 length, reading more as needed.
  uint64_t len = 0;
  size_t hdr = 0;
  for (;;) {
    if (pos_ + hdr == end_) {
      if (!fill()) {
        if (!eof_ || hdr == 0) return false;  // stop requested while waiting, or EOF on a frame boundary
        fail("truncated frame (input ends inside the length prefix)");
      }
      continue;
    }
    uint8_t b = static_cast<uint8_t>(buf_[pos_ + hdr]);
    len |= static_cast<uint64_t>(b & 0x7f) << (7 * hdr);
    ++hdr;
    if (!(b & 0x80)) break;
    if (hdr == 5) fail("malformed frame length (varint longer than 5 bytes)");
  }
  if (len > 0xffffffffull) fail("malformed frame length");
  if (len > max_frame_)
    fail("frame of " + std::to_string(len) + " bytes exceeds the limit of " + std::to_string(max_frame_) + " bytes");
  while (end_ - pos_ < hdr + len) {
    if (buf_.size() < hdr + len) buf_.resize(std::max(buf_.size() * 2, hdr + len + kReadChunk));
    if (!fill()) {
      if (!eof_) return false;
      fail("truncated frame (" + std::to_string(end_ - pos_ - hdr) + " of " + std::to_string(len) + " bytes present)");
    }
  }
  payload = std::string_view(buf_.data() + pos_ + hdr, len);
  pos_ += hdr + len;
  ++frames_;
  return true;
}

bool FrameReader::next(google::protobuf::MessageLite& msg) {
  std::string_view payload;
  if (!next(payload)) return false;
  if (!msg.ParseFromArray(payload.data(), static_cast<int>(payload.size())))
    fail("frame is not a valid " + msg.GetTypeName());
  return true;
}

void FrameWriter::write(const google::protobuf::MessageLite& msg) {
  std::string& buf = out_.buffer();
  size_t size = msg.ByteSizeLong();
  put_varint32(buf, static_cast<uint32_t>(size));
  size_t at = buf.size();
  buf.resize(at + size);
  msg.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(buf.data() + at));
  ++frames_;
  out_.maybe_flush();
}

void FrameWriter::write_payload(std::string_view payload) {
  append_frame(out_.buffer(), payload);
  ++frames_;
  out_.maybe_flush();
}

void append_frame(std::string& out, std::string_view payload) {
  put_varint32(out, static_cast<uint32_t>(payload.size()));
  out.append(payload);
}

}  // namespace ss
