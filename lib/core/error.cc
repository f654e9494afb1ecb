#include "core/error.h"

#include <cctype>
#include <cstring>

namespace ss {

std::string errno_text(int err) {
  char buf[256];
  // GNU strerror_r may return a static string instead of filling buf.
  const char* s = strerror_r(err, buf, sizeof buf);
  return s;
}

namespace {
bool ends_token(char c) {
  return std::isspace(static_cast<unsigned char>(c)) || c == '"' || c == '\'' || c == '<' || c == '>';
}
}  // namespace

std::string redact_secrets(std::string s) {
  // URI userinfo: from "://" to the last '@' before the URI ends, the password is what follows the first ':'.
  for (size_t at = s.find("://"); at != std::string::npos; at = s.find("://", at + 3)) {
    size_t begin = at + 3, end = begin;
    while (end < s.size() && !ends_token(s[end])) ++end;
    size_t amp = s.rfind('@', end == 0 ? 0 : end - 1);
    if (amp == std::string::npos || amp < begin) continue;
    size_t colon = s.find(':', begin);
    if (colon == std::string::npos || colon >= amp) continue;
    s.replace(colon + 1, amp - colon - 1, "***");
  }
  // conninfo: password = value, quoted ('...' with \' escapes) or up to the next blank.
  for (size_t at = 0;;) {
    size_t k = std::string::npos;
    for (size_t i = at; i + 8 <= s.size(); ++i) {
      if (strncasecmp(s.c_str() + i, "password", 8) == 0) {
        k = i;
        break;
      }
    }
    if (k == std::string::npos) break;
    size_t i = k + 8;
    while (i < s.size() && s[i] == ' ') ++i;
    if (i >= s.size() || s[i] != '=') {
      at = k + 8;
      continue;
    }
    ++i;
    while (i < s.size() && s[i] == ' ') ++i;
    size_t v = i;
    if (i < s.size() && s[i] == '\'') {
      for (++i; i < s.size() && s[i] != '\''; ++i)
        if (s[i] == '\\') ++i;
      if (i < s.size()) ++i;
    } else {
      while (i < s.size() && !ends_token(s[i])) ++i;
    }
    s.replace(v, i - v, "***");
    at = v + 3;
  }
  return s;
}

}  // namespace ss
