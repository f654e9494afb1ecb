// The one error convention of lib/: functions throw ss::Error carrying a sysexits code and a one-line message;
// tools catch it once, in ss::run_main (cli.h), print "tool: message" and exit with the code.
#pragma once

#include <stdexcept>
#include <string>

namespace ss {

// sysexits.h values, named here so lib/ code does not depend on that header's macros.
enum ExitCode : int {
  kExitOk = 0,
  kExitUsage = 64,        // bad flags or arguments
  kExitDataErr = 65,      // bad input data (truncated/garbage frames, unparseable JSON)
  kExitNoInput = 66,      // an input file does not exist or cannot be read
  kExitUnavailable = 69,  // a server could not be reached
  kExitSoftware = 70,     // internal error: a bug
  kExitCantCreate = 73,   // an output file cannot be created
  kExitIoErr = 74,        // read/write failure on a file or pipe
  kExitTempFail = 75,     // try again later (slot in use, fenced producer)
  kExitNoPerm = 77,       // a server refused our credentials
  kExitConfig = 78,       // bad configuration
};

// `text` with every password it may hold replaced by "***": the password of a URI's userinfo
// (postgresql://user:secret@host, redis://:secret@host) and a conninfo's password=... . libpq repeats a malformed URI
// whole in its error, so every message and log line passes through this.
std::string redact_secrets(std::string text);

class Error : public std::runtime_error {
 public:
  Error(int code, const std::string& message) : std::runtime_error(redact_secrets(message)), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

// Bad data of one kind: a position that already holds a different record (a resend that is not byte-identical). The
// Ingestor answers it ALREADY_EXISTS; tools exit 65 like any bad data.
class Conflict : public Error {
 public:
  explicit Conflict(const std::string& message) : Error(kExitDataErr, message) {}
};

// Bad data that already names where it lies in its input (a frame that cannot be read, at its byte offset): a caller
// that adds the place to other bad data passes this on as it is.
class BadFrame : public Error {
 public:
  explicit BadFrame(const std::string& message) : Error(kExitDataErr, message) {}
};

// Raised when the reader of our stdout went away. Not a failure: a pipeline like `ss-cat | head` ends quietly.
class BrokenPipe : public Error {
 public:
  BrokenPipe() : Error(kExitOk, "broken pipe") {}
};

// strerror(errno) as a std::string, thread-safe.
std::string errno_text(int err);

}  // namespace ss
