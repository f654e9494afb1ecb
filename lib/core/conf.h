// shadowstream.conf as the tools read it: the same file, the same lookup and the same precedence as shadowstream(1),
// so that `ss-progress pipeline` and `shadowstream status` describe one pipeline.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ss::conf {

class Config {
 public:
  // `path` if given (Error 66 when it cannot be read), else the first of $SHADOWSTREAM_CONF, ./shadowstream.conf and
  // /etc/shadowstream/shadowstream.conf that exists; none is an empty configuration. Error 78 names a bad line.
  static Config load(const std::string& path);
  // KEY=value lines: '#' comments, blank lines, a value optionally in matching quotes. Read as data, never run.
  static Config parse(std::string_view text, const std::string& name);

  // KEY's value: the environment's when set (as in shadowstream(1): one-off overrides need no edit), else the file's.
  std::optional<std::string> get(const std::string& key) const;
  const std::string& file() const { return file_; }

 private:
  std::map<std::string, std::string> values_;
  std::string file_;
};

}  // namespace ss::conf
