#include "core/conf.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace ss::conf {

Config Config::parse(std::string_view text, const std::string& name) {
  Config c;
  c.file_ = name;
  size_t n = 0;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    ++n;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const size_t start = line.find_first_not_of(" \t");
    if (start == std::string_view::npos || line[start] == '#') continue;
    line.remove_prefix(start);
    const size_t eq = line.find('=');
    std::string_view key = line.substr(0, eq);
    bool ok = eq != std::string_view::npos && !key.empty() && !(key[0] >= '0' && key[0] <= '9');
    for (char ch : key) ok = ok && ((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_');
    if (!ok)
      throw Error(kExitConfig, name + ":" + std::to_string(n) + ": expected KEY=value, got: " + std::string(line));
    if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end())
      throw Error(kExitConfig,
                  name + ":" + std::to_string(n) + ": unknown key " + std::string(key) + " (see shadowstream(1))");
    std::string_view value = line.substr(eq + 1);
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front())
      value = value.substr(1, value.size() - 2);
    c.values_.emplace(std::string(key), std::string(value));  // the first of a repeated key wins, as in the shell
  }
  return c;
}

Config Config::load(const std::string& path) {
  std::string file = path;
  if (file.empty()) {
    const char* env = std::getenv("SHADOWSTREAM_CONF");
    for (const std::string& f : {std::string(env ? env : ""), std::string("./shadowstream.conf"),
                                 std::string("/etc/shadowstream/shadowstream.conf")})
      if (struct stat st; !f.empty() && stat(f.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
        file = f;
        break;
      }
    if (file.empty()) return Config();
  }
  std::ifstream in(file);
  if (!in) throw Error(kExitNoInput, "cannot read configuration file " + file);
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), file);
}

std::optional<std::string> Config::get(const std::string& key) const {
  if (const char* env = std::getenv(key.c_str())) return std::string(env);
  auto it = values_.find(key);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

}  // namespace ss::conf
