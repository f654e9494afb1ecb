// libFuzzer target: one CopyData message of the replication protocol, its pgoutput payload decoded as ss-capture
// does. The decoder keeps its relation cache across inputs, as it does across a session's messages.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "pg/pgoutput.h"
#include "pg/replication.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static ss::pgoutput::Decoder decoder([](uint32_t) { return std::string(); });
  std::string_view in(reinterpret_cast<const char*>(data), size);
  try {
    ss::replication::ServerMessage m = ss::replication::parse_server_message(in);
    // Also the payload alone: most inputs the fuzzer makes are not framed.
    for (std::string_view msg : {m.data, in}) {
      if (msg.empty()) continue;
      const ss::pgoutput::Event& ev = decoder.decode(msg);
      ss::pgoutput::Event more;
      if (ev.kind == ss::pgoutput::Kind::kChange)
        while (decoder.next_truncate(more)) {
        }
    }
  } catch (const ss::Error& e) {
    if (e.code() != ss::kExitDataErr) __builtin_trap();
  }
  return 0;
}
