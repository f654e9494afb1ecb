// ss-cat: frames -> JSON lines (default) or JSON lines -> frames (-j).
#include <unistd.h>

#include "core/cat.h"
#include "core/cli.h"
#include "core/defaults.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"Show a ShadowStream frames stream as JSON lines, or turn JSON lines back into frames.", "ss-cat"};
  ss::cat::Config cfg;
  bool force = false;
  app.add_option("FILE", cfg.inputs, "Inputs, read in order; - or none = stdin");
  auto* json = app.add_flag("-j,--from-json", cfg.from_json, "Read JSON lines, write frames");
  auto* shapes =
      app.add_flag("--shapes", cfg.shapes, "Print each relation's shape and every change of it, not the records")
          ->excludes(json);
  std::string format = "json";
  app.add_option("--format", format,
                 "Records as json (their own fields) or debezium (Debezium's change events, as its JSON converter "
                 "writes them without schemas)")
      ->check(CLI::IsMember({"json", "debezium"}))
      ->default_val("json")
      ->excludes(json)
      ->excludes(shapes);
  app.add_option("--max-frame", cfg.max_frame, "Largest frame accepted, in bytes")
      ->default_val(ss::kDefaultMaxFrame)
      ->check(CLI::Range(size_t{1}, size_t{0xffffffff}));
  app.add_flag("-f,--force", force, "Write frames even when stdout is a terminal");
  app.set_version_flag("-V,--version", std::string("ss-cat ") + ss::kVersion);
  ss::add_verbose_flag(app);
  return ss::run_main(app, argc, argv, [&] {
    cfg.debezium = format == "debezium";
    if (cfg.from_json && !force) ss::refuse_terminal(STDOUT_FILENO, "redirect stdout, or --force");
    return ss::cat::run(cfg, STDOUT_FILENO);
  });
}
