// Diagnostics on stderr, one line each, prefixed with the tool's name (set once by run_main).
#pragma once

#include <string>
#include <string_view>

namespace ss::log {

void set_tool(std::string_view name);

// Verbosity: 0 = errors and warnings only (default), 1 = info (-v), 2 = debug (-vv).
void set_verbosity(int level);

void warn(std::string_view msg);
void info(std::string_view msg);
void debug(std::string_view msg);

}  // namespace ss::log
