#include "core/log.h"

#include <unistd.h>

#include <mutex>

#include "core/error.h"

namespace ss::log {
namespace {
std::string g_tool = "shadowstream";
int g_verbosity = 0;
std::mutex g_mu;

void emit(std::string_view msg) {
  // One write(2) per line so that lines from concurrent stages sharing a terminal never interleave mid-line.
  std::string clean = printable(redact_secrets(std::string(msg)));
  std::string line;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    line.reserve(g_tool.size() + clean.size() + 3);
    line.append(g_tool).append(": ").append(clean).push_back('\n');
  }
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}
void hex(std::string& out, const char* prefix, unsigned char c) {
  static constexpr char kDigits[] = "0123456789abcdef";
  out += prefix;
  out += kDigits[c >> 4];
  out += kDigits[c & 15];
}

// Length of the well-formed UTF-8 sequence at s[i] (2-4), or 0.
size_t utf8_length(std::string_view s, size_t i) {
  auto cont = [&](size_t k) { return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80; };
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
    if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0)) return 0;  // overlong, surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    unsigned char c1 = static_cast<unsigned char>(s[i + 1]);
    if ((c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 >= 0x90)) return 0;
    return 4;
  }
  return 0;
}
}  // namespace

std::string printable(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && text[i] >= 0x20 && text[i] < 0x7F) ++i;
  if (i == text.size()) return std::string(text);
  std::string out(text.substr(0, i));
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
      ++i;
    } else if (c == '\n') {
      out += "\\n";
      ++i;
    } else if (c == '\r') {
      out += "\\r";
      ++i;
    } else if (c == '\t') {
      out += "\\t";
      ++i;
    } else if (c < 0x80) {
      hex(out, "\\x", c);
      ++i;
    } else if (size_t n = utf8_length(text, i); n == 0) {
      hex(out, "\\x", c);
      ++i;
    } else if (n == 2 && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0) {  // C1: U+0080-U+009F
      hex(out, "\\u00", static_cast<unsigned char>(text[i + 1]));
      i += 2;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

void set_tool(std::string_view name) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_tool = name;
}
void set_verbosity(int level) {
  g_verbosity = level;
}
void warn(std::string_view msg) {
  emit(msg);
}
void notice(std::string_view msg) {
  emit(msg);
}
void info(std::string_view msg) {
  if (g_verbosity >= 1) emit(msg);
}
void debug(std::string_view msg) {
  if (g_verbosity >= 2) emit(msg);
}

}  // namespace ss::log
