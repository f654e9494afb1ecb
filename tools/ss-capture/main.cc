// ss-capture: PostgreSQL logical replication (pgoutput) -> ChangeRecord frames on stdout.
#include <unistd.h>

#include "core/cli.h"
#include "core/defaults.h"
#include "core/error.h"
#include "core/frames.h"
#include "core/position.h"
#include "pg/capture.h"

int main(int argc, char** argv) {
  CLI::App app{"Stream every change of a PostgreSQL database as ChangeRecord frames on stdout.", "ss-capture"};
  ss::capture::Config cfg;
  std::string snapshot = "initial", start_lsn, endpos, status_interval = "10s", heartbeat;
  app.add_option("-d,--dbname", cfg.conninfo,
                 "Source database: a postgres:// URI or key=value conninfo (default: PG* environment)");
  app.add_option("--slot", cfg.slot, "Logical replication slot (pgoutput), created if missing")
      ->default_val(ss::kDefaultSlot);
  app.add_option("--publication", cfg.publication, "Publication, created if missing")
      ->default_val(ss::kDefaultPublication);
  app.add_option("--table", cfg.tables, "Create the publication FOR these tables (schema.table; repeatable)");
  app.add_flag("--all-tables", cfg.all_tables, "Create the publication FOR ALL TABLES (tables created later too)");
  app.add_flag("--allow-keyless", cfg.allow_keyless,
               "Publish tables without a primary key or replica identity (their UPDATE/DELETE then fail)");
  app.add_option("--exclude-table", cfg.exclude_tables, "Never emit this table (schema.table; repeatable)");
  app.add_flag("--via-partition-root", cfg.via_partition_root,
               "Create the publication with publish_via_partition_root = true");
  app.add_flag("--create-slot", cfg.create_slot_only, "Create the slot (and publication), then exit");
  app.add_flag("--drop-slot", cfg.drop_slot_only,
               "Drop the slot (and the publication, if ss-capture created it and no other slot is left), then exit");
  app.add_flag("--install-ddl", cfg.install_ddl,
               "When the slot is created, install the schema-change trigger first (see install-ddl)");
  app.fallthrough();  // -d and the other flags may follow a subcommand's name (set before adding them)
  CLI::App* install = app.add_subcommand(
      "install-ddl",
      "Install (or upgrade) the schema-change trigger: each DDL on a published table then travels as "
      "a schema record at its position; needs a superuser");
  CLI::App* uninstall = app.add_subcommand("uninstall-ddl", "Remove the schema-change trigger and its schema");
  app.require_subcommand(0, 1);
  app.add_option("--snapshot", snapshot, "Initial snapshot when the slot is created: initial, never or only")
      ->check(CLI::IsMember({"initial", "never", "only"}))
      ->default_val("initial");
  app.add_flag("--checkpoint", cfg.checkpoint,
               "Write one checkpoint (a consistent copy of the published tables) and exit; for cron: "
               "ss-capture --checkpoint | ss-archive");
  app.add_flag("--recover", cfg.recover,
               "The slot was lost: create it again and write a checkpoint marked as following the gap, then exit; "
               "ss-capture --recover | ss-archive");
  app.add_option("--slot-mark", cfg.slot_mark,
                 "Made once the slot is; while FILE is there, a missing slot is refused (66), not made again");
  app.add_option("--jobs", cfg.jobs, "Connections copying a snapshot or checkpoint in parallel")
      ->default_val(2)
      ->check(CLI::Range(1, 64));
  app.add_option("--ack-from", cfg.ack_from, "Confirm to PostgreSQL only positions acknowledged in FILE (a FIFO)");
  app.add_option("--start-lsn", start_lsn, "Start streaming at this LSN instead of the slot's confirmed position");
  app.add_option("--endpos", endpos, "Stop cleanly once this LSN is reached");
  app.add_option("--status-interval", status_interval, "Standby status update interval")->default_val("10s");
  app.add_option("--heartbeat", heartbeat, "When idle, confirm progress this often (e.g. 10s)");
  app.add_flag("--heartbeat-message", cfg.heartbeat_message,
               "With --heartbeat, also write a logical message so an idle database's WAL moves");
  app.add_option("--source-name", cfg.source_name, "Source name in records (default: the database name)");
  app.set_version_flag("-V,--version", std::string("ss-capture ") + ss::kVersion);
  ss::add_metrics_flags(app);
  ss::add_verbose_flag(app);
  // The metrics carry the source as a label, as under the supervisor: set before run_main starts the exporter.
  app.parse_complete_callback([&] {
    if (const std::string source = ss::capture::expected_source_name(cfg); !source.empty())
      setenv("SS_METRICS_SOURCE", source.c_str(), 0);
  });
  return ss::run_main(app, argc, argv, [&] {
    cfg.snapshot = snapshot == "never"  ? ss::capture::SnapshotMode::kNever
                   : snapshot == "only" ? ss::capture::SnapshotMode::kOnly
                                        : ss::capture::SnapshotMode::kInitial;
    if (!start_lsn.empty()) cfg.start_lsn = ss::lsn_flag("--start-lsn", start_lsn);
    if (!endpos.empty()) cfg.endpos = ss::lsn_flag("--endpos", endpos);
    cfg.status_interval_us = ss::duration_flag("--status-interval", status_interval);
    if (!heartbeat.empty()) cfg.heartbeat_us = ss::duration_flag("--heartbeat", heartbeat);
    if (cfg.all_tables && !cfg.tables.empty())
      throw ss::Error(ss::kExitUsage, "--all-tables and --table exclude each other");
    if (install->parsed()) cfg.ddl = ss::capture::DdlAction::kInstall;
    if (uninstall->parsed()) cfg.ddl = ss::capture::DdlAction::kUninstall;
    const bool ddl = cfg.ddl != ss::capture::DdlAction::kNone;
    if (cfg.create_slot_only + cfg.drop_slot_only + cfg.checkpoint + cfg.recover + ddl > 1)
      throw ss::Error(ss::kExitUsage,
                      "--create-slot, --drop-slot, --checkpoint, --recover, install-ddl and uninstall-ddl "
                      "exclude each other");
    if (!cfg.create_slot_only && !cfg.drop_slot_only && !ddl) ss::refuse_terminal(STDOUT_FILENO);
    return ss::capture::run(cfg, STDOUT_FILENO);
  });
}
