// libFuzzer target: a byte stream into the frame reader, as ss-cat, ss-buffer and ss-replay read stdin. Anything
// but clean frames must end in ss::Error (65), never a crash, a leak or undefined behaviour.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "core/frames.h"
#include "core/json.h"
#include "shadowstream.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int fd = memfd_create("frames", MFD_CLOEXEC);
  if (fd < 0) return 0;
  if (write(fd, data, size) != static_cast<ssize_t>(size) || lseek(fd, 0, SEEK_SET) != 0) {
    close(fd);
    return 0;
  }
  try {
    ss::FrameReader in(fd, "fuzz", 1 << 20);
    shadowstream::v1::ChangeRecord rec;
    std::string json;
    while (in.next(rec)) {
      json.clear();
      ss::json::append(rec, json);  // what ss-cat prints of every record the reader accepts
    }
  } catch (const ss::Error& e) {
    if (e.code() != ss::kExitDataErr) __builtin_trap();
  }
  close(fd);
  return 0;
}
