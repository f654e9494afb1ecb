// Diagnostics on stderr, one line each, prefixed with the tool's name (set once by run_main).
#pragma once

#include <string>
#include <string_view>

namespace ss::log {

void set_tool(std::string_view name);

// Verbosity: 0 = errors and warnings only (default), 1 = info (-v), 2 = debug (-vv).
void set_verbosity(int level);

// `text` safe to show on a terminal or in a one-line log: control characters (C0, DEL, C1) and bytes that are not
// UTF-8 become escapes (\n, \r, \t, \xNN, \u0080), so a name cannot retitle a terminal, move its cursor or forge a
// line of its own. Every line below goes through it; so does anything else that prints what a record or client
// chose (job names, targets, errors).
std::string printable(std::string_view text);

void warn(std::string_view msg);
// Shown as warnings are: what a tool did to a server that outlives it (a slot or publication created or dropped).
void notice(std::string_view msg);
void info(std::string_view msg);
void debug(std::string_view msg);

}  // namespace ss::log
