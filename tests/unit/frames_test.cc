#include "core/frames.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/fd_io.h"
#include "shadowstream.pb.h"

namespace ss {
namespace {

using shadowstream::v1::ChangeRecord;

ChangeRecord make_record(uint64_t i) {
  ChangeRecord r;
  r.mutable_source()->set_name("db");
  r.set_commit_lsn(0x1000 + i * 16);
  r.set_ordinal(i % 3);
  r.set_commit_time(1'700'000'000'000'000 + static_cast<int64_t>(i));
  r.set_op(shadowstream::v1::OPERATION_INSERT);
  r.set_table("t" + std::to_string(i % 5));
  auto* c = r.add_columns();
  c->set_name("payload");
  c->set_text(std::string(i % 200, 'x'));
  return r;
}

// A temp file holding `bytes`, opened for reading; closed and removed on destruction.
struct TempInput {
  int fd = -1;
  char path[64] = "/tmp/ss-frames-test.XXXXXX";
  explicit TempInput(const std::string& bytes) {
    int w = mkstemp(path);
    EXPECT_EQ(::write(w, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    ::close(w);
    fd = ::open(path, O_RDONLY);
  }
  ~TempInput() {
    ::close(fd);
    ::unlink(path);
  }
};

std::string stream_of(int n, std::vector<size_t>* boundaries = nullptr) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    if (boundaries) boundaries->push_back(out.size());
    append_frame(out, make_record(i).SerializeAsString());
  }
  if (boundaries) boundaries->push_back(out.size());
  return out;
}

TEST(Frames, WriterOutputReadsBackInOrder) {
  TempInput placeholder("");
  char path[] = "/tmp/ss-frames-rt.XXXXXX";
  int w = mkstemp(path);
  {
    FrameWriter writer(w, 4096);  // small buffer: exercises many flushes
    for (int i = 0; i < 2000; ++i) writer.write(make_record(i));
    writer.flush();
    EXPECT_EQ(writer.frames(), 2000u);
  }
  ::close(w);
  int r = ::open(path, O_RDONLY);
  FrameReader reader(r, path);
  ChangeRecord rec;
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(reader.next(rec)) << i;
    EXPECT_EQ(rec.SerializeAsString(), make_record(i).SerializeAsString());
  }
  EXPECT_FALSE(reader.next(rec));
  ::close(r);
  ::unlink(path);
}

TEST(Frames, ATailOverridesAFieldOfThePayload) {
  char path[] = "/tmp/ss-frames-tail.XXXXXX";
  int w = mkstemp(path);
  ChangeRecord rec = make_record(7);
  rec.set_ordinal(0);
  {
    FrameWriter writer(w, 4096);
    const char tail[] = {0x18, static_cast<char>(0x96), 0x01};  // ordinal (field 3) = 150
    writer.write_payload(rec.SerializeAsString(), std::string_view(tail, sizeof tail));
    writer.flush();
  }
  ::close(w);
  int r = ::open(path, O_RDONLY);
  FrameReader reader(r, path);
  ChangeRecord back;
  ASSERT_TRUE(reader.next(back));
  EXPECT_EQ(back.ordinal(), 150u);
  back.set_ordinal(0);
  EXPECT_EQ(back.SerializeAsString(), rec.SerializeAsString());
  ::close(r);
  ::unlink(path);
}

TEST(Frames, EveryTruncationPointYieldsCompleteFramesThenAnOffsetError) {
  std::vector<size_t> boundaries;
  const std::string full = stream_of(6, &boundaries);
  for (size_t cut = 0; cut <= full.size(); ++cut) {
    TempInput in(full.substr(0, cut));
    FrameReader reader(in.fd, "cut");
    ChangeRecord rec;
    size_t got = 0;
    // Complete frames before the cut must all come out, intact.
    size_t complete = 0;
    while (complete + 1 < boundaries.size() && boundaries[complete + 1] <= cut) ++complete;
    bool on_boundary = boundaries[complete] == cut;
    try {
      while (reader.next(rec)) {
        EXPECT_EQ(rec.SerializeAsString(), make_record(got).SerializeAsString()) << "cut " << cut;
        ++got;
      }
      EXPECT_TRUE(on_boundary) << "cut at " << cut << " inside a frame was not reported";
    } catch (const Error& e) {
      EXPECT_FALSE(on_boundary) << "cut at boundary " << cut << " raised: " << e.what();
      EXPECT_EQ(e.code(), kExitDataErr);
      EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("byte offset " + std::to_string(boundaries[complete])), std::string::npos)
          << e.what();
    }
    EXPECT_EQ(got, complete) << "cut " << cut;
  }
}

TEST(Frames, OversizedLengthIsRejectedBeforeReading) {
  std::string s = stream_of(2);
  std::string big;
  append_frame(big, std::string(5000, 'a'));
  TempInput in(s + big);
  FrameReader reader(in.fd, "big", 4096);
  ChangeRecord rec;
  EXPECT_TRUE(reader.next(rec));
  EXPECT_TRUE(reader.next(rec));
  try {
    reader.next(rec);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), kExitDataErr);
    EXPECT_NE(std::string(e.what()).find("exceeds the limit of 4096"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("byte offset " + std::to_string(s.size())), std::string::npos) << e.what();
  }
}

TEST(Frames, OverlongVarintIsGarbage) {
  TempInput in(std::string("\xff\xff\xff\xff\xff\x01", 6));
  FrameReader reader(in.fd);
  std::string_view payload;
  try {
    reader.next(payload);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), kExitDataErr);
    EXPECT_NE(std::string(e.what()).find("byte offset 0"), std::string::npos);
  }
}

TEST(Frames, UnparseablePayloadNamesItsOffset) {
  std::string s = stream_of(1);
  std::string garbage;
  append_frame(garbage, std::string("\xff\xff\xff\xff", 4));  // not a valid protobuf encoding
  TempInput in(s + garbage);
  FrameReader reader(in.fd, "g");
  ChangeRecord rec;
  ASSERT_TRUE(reader.next(rec));
  try {
    reader.next(rec);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), kExitDataErr);
    EXPECT_NE(std::string(e.what()).find("not a valid shadowstream.v1.ChangeRecord"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("byte offset " + std::to_string(s.size())), std::string::npos);
  }
}

TEST(Frames, EmptyInputIsACleanEnd) {
  TempInput in("");
  FrameReader reader(in.fd);
  std::string_view p;
  EXPECT_FALSE(reader.next(p));
  EXPECT_EQ(reader.frames(), 0u);
}

TEST(Frames, PipeFedInSmallPiecesReassemblesFrames) {
  const std::string full = stream_of(300);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::thread feeder([&] {
    for (size_t off = 0; off < full.size(); off += 7) {
      size_t n = std::min<size_t>(7, full.size() - off);
      ASSERT_EQ(::write(fds[1], full.data() + off, n), static_cast<ssize_t>(n));
    }
    ::close(fds[1]);
  });
  FrameReader reader(fds[0], "pipe");
  ChangeRecord rec;
  int got = 0;
  while (reader.next(rec)) {
    EXPECT_EQ(rec.SerializeAsString(), make_record(got).SerializeAsString());
    ++got;
  }
  feeder.join();
  ::close(fds[0]);
  EXPECT_EQ(got, 300);
}

TEST(Frames, LargeFramesBeyondTheInitialBufferAreRead) {
  std::string big(3u << 20, 'z');
  std::string s;
  append_frame(s, big);
  append_frame(s, "tail");
  TempInput in(s);
  FrameReader reader(in.fd);
  std::string_view p;
  ASSERT_TRUE(reader.next(p));
  EXPECT_EQ(p.size(), big.size());
  ASSERT_TRUE(reader.next(p));
  EXPECT_EQ(p, "tail");
}

TEST(Frames, ClosedReaderRaisesBrokenPipe) {
  signal(SIGPIPE, SIG_IGN);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ::close(fds[0]);
  FrameWriter writer(fds[1]);
  writer.write(make_record(1));
  EXPECT_THROW(writer.flush(), BrokenPipe);
  ::close(fds[1]);
}

TEST(Frames, WriteErrorIsAnIoError) {
  int fd = ::open("/dev/full", O_WRONLY);
  if (fd < 0) GTEST_FAIL() << "/dev/full is needed";
  FrameWriter writer(fd);
  writer.write(make_record(1));
  try {
    writer.flush();
    FAIL();
  } catch (const BrokenPipe&) {
    FAIL() << "ENOSPC is not a broken pipe";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), kExitIoErr);
  }
  ::close(fd);
}

// The archiver tells input in bulk from a trickle by what waits to be read: the frames in hand and the bytes still in
// the pipe behind them count alike, and reading moves bytes from one to the other without changing the sum.
TEST(Frames, WaitingCountsBytesInHandAndInThePipe) {
  const std::string full = stream_of(40);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  FrameReader reader(fds[0], "pipe");
  EXPECT_EQ(reader.waiting(), 0u);
  ASSERT_EQ(::write(fds[1], full.data(), full.size()), static_cast<ssize_t>(full.size()));
  EXPECT_EQ(reader.waiting(), full.size());
  ChangeRecord rec;
  std::string_view payload;
  ASSERT_TRUE(reader.next(rec, payload));
  EXPECT_EQ(reader.waiting(), reader.buffered());  // one read took the whole pipe
  EXPECT_LT(reader.waiting(), full.size());
  ::close(fds[1]);
  ::close(fds[0]);
}

TEST(Frames, WidenPipeGrowsAPipeAndLeavesAFileAlone) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  // As large as asked, unless the system allows less (pipe-max-size): then the pipe stays as it was.
  const int before = ::fcntl(fds[0], F_GETPIPE_SZ);
  int max = 0;
  if (FILE* f = std::fopen("/proc/sys/fs/pipe-max-size", "r")) {
    if (std::fscanf(f, "%d", &max) != 1) max = 0;
    std::fclose(f);
  }
  const int want = 256 << 10;
  widen_pipe(fds[0], static_cast<size_t>(want));
  const int after = ::fcntl(fds[0], F_GETPIPE_SZ);
  EXPECT_GE(after, max >= want ? want : before);
  widen_pipe(fds[0], 4096);  // never shrinks
  EXPECT_EQ(::fcntl(fds[0], F_GETPIPE_SZ), after);
  ::close(fds[0]);
  ::close(fds[1]);
  char path[] = "/tmp/ss-widen-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  widen_pipe(fd, 1u << 20);  // not a pipe: nothing happens, nothing fails
  EXPECT_EQ(::unlink(path), 0);
  ::close(fd);
}

}  // namespace
}  // namespace ss
