# webhookd: `make run` serves the demo through a real nginx on :8080,
# `make test` runs every test and ends with "N passed, N failed".
# Both install the Debian packages they need when some are missing.

CXX      ?= g++
OPT      ?= -O2 -g
SANITIZE ?=
CXXFLAGS += $(OPT) $(SANITIZE) -std=c++17 -Wall -Wextra -Werror=return-type -Werror=unused-result -Isrc -I$(BUILD)/gen -MMD -MP
# prometheus-cpp's core only (registry, families, text serializer; not the
# civetweb pull library): the edge's metrics. webhookctl does not link it.
LDLIBS    = -lfcgi -lprometheus-cpp-core -lyaml-cpp -lcrypto -lpthread
PYTHON    = /usr/bin/python3
BUILD     = build

PORT      ?= 8080
CONFIG    ?= conf/webhookd.yaml
STATE_DIR ?=
WORKERS   ?= 8
JOBS      ?= $(shell nproc)

# The version has one source: the top entry of the changelog (a release is
# its changelog entry). DEB_VERSION is the package's (1.2.0-1), VERSION what
# --version prints (1.2.0, the Debian revision dropped). The changelog is
# conf/debian/changelog in the checkout, debian/changelog in the package's
# source tree (make deb assembles it with conf/debian/ as debian/).
CHANGELOG   ?= $(firstword $(wildcard conf/debian/changelog debian/changelog) conf/debian/changelog)
DEB_VERSION := $(shell sed -n '1s/^[^ ]* (\([^ ]*\)).*/\1/p' $(CHANGELOG))
VERSION     := $(shell sed -n '1s/^[^ ]* (\(.*\)-[^-]*).*/\1/p' $(CHANGELOG))
ifeq ($(VERSION),)
$(error $(CHANGELOG): its top entry names no version: NAME (UPSTREAM-REVISION) DIST; urgency=...)
endif

# Debian packages: building, serving through nginx, testing.
# PKGS_BUILD is also the package's Build-Depends (conf/debian/control): keep
# them together (the package build fails on one that is missing there).
PKGS_BUILD = g++ make libfcgi-dev rapidjson-dev libyaml-cpp-dev libssl-dev libcurl4-openssl-dev prometheus-cpp-dev scdoc
PKGS_RUN   = nginx python3 curl
PKGS_TEST  = libboost-test-dev python3-twilio spawn-fcgi wrk systemd procps git clang-14 libclang-rt-14-dev \
             groff-base man-db pre-commit nodejs prometheus valgrind $(PKGS_DEB) $(PKGS_FLEET)
# `make deb`: a clean bookworm root to build in (mmdebstrap, systemd-nspawn),
# and bookworm's lintian on the result (in make test).
PKGS_DEB   = mmdebstrap systemd-container dpkg-dev lintian
# The fleet: GlusterFS (server and FUSE client), network namespaces, nsenter.
PKGS_FLEET = glusterfs-server glusterfs-client iproute2 util-linux

# One archive per layer (src/base, model, store, api, edge), each built only
# from its own folder, so a program links just the layers it stands on: the
# store needs base and model, never libfcgi or the Twilio table.
LAYERS    := base model store api edge
layer_objs = $(patsubst %.cc,$(BUILD)/%.o,$(sort $(wildcard src/$(1)/*.cc)))
LIB_OBJS  := $(foreach l,$(LAYERS),$(call layer_objs,$(l)))
# Link order: a layer before the ones below it.
LIBS_ALL   = $(BUILD)/libedge.a $(BUILD)/libapi.a $(BUILD)/libstore.a $(BUILD)/libmodel.a $(BUILD)/libbase.a
LIBS_STORE = $(BUILD)/libstore.a $(BUILD)/libmodel.a $(BUILD)/libbase.a
LDLIBS_STORE = -lyaml-cpp -lcrypto -lpthread
TEST_SRCS := $(sort $(wildcard tests/unit/*.cc))
TEST_OBJS := $(TEST_SRCS:%.cc=$(BUILD)/%.o)

# The same sources built again under the sanitizers, for `make test`.
ASAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
TSAN_FLAGS = -fsanitize=thread

# libFuzzer targets (tests/fuzz/*_fuzz.cc) on a clang build of the library.
FUZZ_CXX     = clang++-14
FUZZ_UBSAN   = -fsanitize=address,undefined -fno-sanitize-recover=all -fsanitize-ignorelist=tests/fuzz/ubsan.ignorelist
FUZZ_FLAGS   = -fsanitize=fuzzer-no-link $(FUZZ_UBSAN)
FUZZ_TARGETS = $(patsubst tests/fuzz/%_fuzz.cc,$(BUILD)/fuzz/%_fuzzer,$(wildcard tests/fuzz/*_fuzz.cc))
FUZZ_SECONDS ?= 60

SOAK_SECONDS ?= 300
BENCH_SECONDS ?= 5
BENCH_ROUNDS ?= 5

# Where `make install` puts things (GNU conventions; DESTDIR for staging).
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
LIBEXECDIR  ?= $(PREFIX)/libexec
SYSCONFDIR  ?= /etc
DOCDIR      ?= $(PREFIX)/share/doc/webhookd
# The README and the documents it links to, installed at the same relative
# paths, so that its links work from the installed copy too (the units'
# Documentation= names it).
DOCS = README.md src/README.md src/api/README.md src/ctl/README.md conf/fleet/README.md \
       conf/debian/README.md tests/bench/README.md tests/RELIABILITY.md
# The package's own data, read by other programs (Prometheus reads the alert
# rules): never under doc/, which Debian allows to be absent (policy 12.3)
# and whose larger files dh_compress gzips.
PKGDATADIR  ?= $(PREFIX)/share/webhookd
MANDIR      ?= $(PREFIX)/share/man
SYSTEMDDIR  ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
STATEDIR    ?= /var/lib/webhookd
NGINXDIR    ?= $(SYSCONFDIR)/nginx
# The paths written in the shipped files, and what they become when installed.
INSTALL_SED = -e 's|/usr/local/bin/|$(BINDIR)/|g' -e 's|/usr/local/libexec/|$(LIBEXECDIR)/|g' \
              -e 's|/etc/webhookd|$(SYSCONFDIR)/webhookd|g' \
              -e 's|/usr/local/share/doc/webhookd|$(DOCDIR)|g' -e 's|/usr/local/share/webhookd|$(PKGDATADIR)|g' \
              -e 's|/var/lib/webhookd|$(STATEDIR)|g'

.PHONY: all version man deb run fleet test-fleet bench-fleet deps-fleet test install uninstall unit sanitizers fuzzers fuzz soak bench deps-build deps-run deps-test deps-npm deps-deb clean thread-safety

all: $(BUILD)/webhookd $(BUILD)/webhookctl man

# `make version`: the package's version and the one --version prints.
version:
	@echo $(DEB_VERSION) $(VERSION)

# Installs only what dpkg says is missing; nothing at all when all is there.
define install_missing
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing missing Debian packages:" $$missing; \
	  sudo=; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

deps-build:
	$(call install_missing,$(PKGS_BUILD))
deps-run: deps-build
	$(call install_missing,$(PKGS_RUN))
deps-test: deps-run
	$(call install_missing,$(PKGS_TEST))
	@# The node client's test installs twilio-node with npm. Debian's nodejs
	@# comes without it (its npm package); a nodejs that carries its own npm
	@# conflicts with that package, so it is asked for only when missing.
	@command -v npm >/dev/null 2>&1 || $(MAKE) --no-print-directory deps-npm
deps-npm:
	$(call install_missing,npm)
deps-fleet: deps-run
	$(call install_missing,$(PKGS_FLEET) wrk)
deps-deb:
	$(call install_missing,$(PKGS_DEB))

# Rewritten only when the number changes, so that an edit of the changelog
# below its top line rebuilds nothing. Every object waits for it (order-only):
# before its first build no .d file says which sources include it.
$(BUILD)/gen/base/version_number.h: $(CHANGELOG)
	@mkdir -p $(dir $@)
	@printf '// Written by the Makefile from $(CHANGELOG)'"'"'s top entry: edit that, not this.\n#define WEBHOOKD_VERSION "%s"\n' '$(VERSION)' > $@.tmp
	@if cmp -s $@.tmp $@; then rm $@.tmp; else mv $@.tmp $@; fi

$(BUILD)/%.o: %.cc | $(BUILD)/gen/base/version_number.h
	@mkdir -p $(dir $@)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@

# Objects reached only through the lib%.a pattern rule are intermediate to
# make, which deletes them after archiving: one edit would then rebuild its
# whole layer (TRAPS.md, "The build"). Keep them.
.SECONDARY:
.SECONDEXPANSION:
$(BUILD)/lib%.a: $$(call layer_objs,%)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/webhookd: $(BUILD)/src/main.o $(LIBS_ALL)
	$(CXX) $(CXXFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/unit_tests: $(TEST_OBJS) $(LIBS_ALL)
	$(CXX) $(CXXFLAGS) $(LDFLAGS) $^ $(LDLIBS) -lboost_unit_test_framework -o $@

# webhookctl (src/ctl/: one file per command, the shared option parsing,
# the outgoing sender of fire) stands on the API (its form rules and JSON),
# the store, the model and base: never the edge, never libfcgi.
CTL_OBJS := $(patsubst %.cc,$(BUILD)/%.o,$(sort $(wildcard src/ctl/*.cc)))
$(BUILD)/webhookctl: $(CTL_OBJS) $(BUILD)/libapi.a $(LIBS_STORE)
	$(CXX) $(CXXFLAGS) $(LDFLAGS) $^ $(LDLIBS_STORE) -lcurl -o $@

# The man pages, from scdoc sources in conf/man/, with the version and the
# release's date (scdoc's SOURCE_DATE_EPOCH) from the changelog's top entry.
# Laid out as a man directory: `man -M build/man webhookctl`.
MAN_PAGES = $(BUILD)/man/man8/webhookd.8 $(BUILD)/man/man1/webhookctl.1 $(BUILD)/man/man5/webhookd.yaml.5
man: $(MAN_PAGES)
$(BUILD)/man/%: conf/man/$$(notdir $$*).scd $(CHANGELOG)
	@mkdir -p $(dir $@)
	sed 's/@VERSION@/$(VERSION)/g' $< | \
	  SOURCE_DATE_EPOCH=$$(date -d "$$(sed -n '0,/^ -- /s/^ -- .*>  //p' $(CHANGELOG))" +%s) scdoc > $@.tmp
	mv $@.tmp $@

# Proof that the store stands without the API and the edge: a program on
# store + model + base, linked without libfcgi (and RapidJSON is headers only:
# any use of it above the store would fail the include check instead).
$(BUILD)/store_link_check: $(BUILD)/tests/layers/store_link_check.o $(LIBS_STORE)
	$(CXX) $(CXXFLAGS) $^ $(LDLIBS_STORE) -o $@

# clang's -Wthread-safety over every source: GUARDED_BY / REQUIRES are
# checked, not just written. Syntax only: nothing is linked.
THREAD_SAFETY_CXX = clang++-14
thread-safety: $(BUILD)/gen/base/version_number.h
	@for f in $(sort $(wildcard src/*/*.cc src/*.cc)); do \
	  $(THREAD_SAFETY_CXX) -std=c++17 -Isrc -I$(BUILD)/gen -fsyntax-only -Wthread-safety -Werror=thread-safety $$f || exit 1; \
	done; echo "thread-safety: clean"

sanitizers:
	@$(MAKE) --no-print-directory -j$(JOBS) BUILD=$(BUILD)/asan OPT="-O1 -g" SANITIZE="$(ASAN_FLAGS)" $(BUILD)/asan/webhookd $(BUILD)/asan/unit_tests
	@$(MAKE) --no-print-directory -j$(JOBS) BUILD=$(BUILD)/tsan OPT="-O1 -g" SANITIZE="$(TSAN_FLAGS)" $(BUILD)/tsan/webhookd $(BUILD)/tsan/unit_tests

fuzzers:
	@$(MAKE) --no-print-directory -j$(JOBS) BUILD=$(BUILD)/fuzzlib CXX=$(FUZZ_CXX) OPT="-O1 -g" SANITIZE="$(FUZZ_FLAGS)" $(foreach l,edge api store model base,$(BUILD)/fuzzlib/lib$(l).a)
	@$(MAKE) --no-print-directory -j$(JOBS) $(FUZZ_TARGETS)

FUZZ_LIBS = $(foreach l,edge api store model base,$(BUILD)/fuzzlib/lib$(l).a)
$(BUILD)/fuzz/%_fuzzer: tests/fuzz/%_fuzz.cc $(FUZZ_LIBS)
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) -O1 -g -std=c++17 -Isrc -Itests/fuzz -fsanitize=fuzzer $(FUZZ_UBSAN) $^ $(LDLIBS) -o $@

# Each fuzz target for FUZZ_SECONDS (`make test` runs them for 5 s each).
fuzz: deps-test
	@$(MAKE) --no-print-directory fuzzers
	@$(PYTHON) tests/run_all.py --build $(BUILD) --fuzz-only --fuzz-seconds $(FUZZ_SECONDS)

# Sustained mixed load for SOAK_SECONDS: no 5xx, flat RSS, no fd leak (not in `make test`).
soak: deps-test
	@$(MAKE) --no-print-directory -j$(JOBS) $(BUILD)/webhookd
	@SOAK_SECONDS=$(SOAK_SECONDS) $(PYTHON) tests/soak.py

$(BUILD)/bench/%: tests/bench/%.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -o $@ $< -lfcgi -lpthread

# webhookd against the ceilings of nginx, nginx + FastCGI and durable writes, in one run.
bench: deps-test
	@$(MAKE) --no-print-directory -j$(JOBS) $(BUILD)/webhookd $(BUILD)/bench/fcgi_minimal $(BUILD)/bench/durable_write $(BUILD)/bench/read_loop
	@BENCH_SECONDS=$(BENCH_SECONDS) BENCH_ROUNDS=$(BENCH_ROUNDS) $(PYTHON) tests/bench/bench.py

# The Debian package, built from this checkout with dpkg-buildpackage in a
# clean bookworm root (tests/harness/deb.py, conf/debian/README.md); prints
# the .deb's path (build/deb/). As root.
deb: deps-deb
	@$(PYTHON) tests/harness/deb.py

run: deps-run
	@# webhookctl too: the README's session runs it beside the stack.
	@$(MAKE) --no-print-directory -j$(JOBS) $(BUILD)/webhookd $(BUILD)/webhookctl
	@exec $(PYTHON) tests/harness/stack.py --port $(PORT) --config $(CONFIG) --workers $(WORKERS) \
	  $(if $(STATE_DIR),--state-dir $(STATE_DIR))

# Three hosts (own network namespace, FUSE mount, webhookd, nginx) on one
# GlusterFS volume of three bricks, behind a front nginx on 127.0.0.1:PORT,
# until Ctrl-C. As root: glusterd, mounts and namespaces need it.
fleet: deps-fleet
	@$(MAKE) --no-print-directory -j$(JOBS) $(BUILD)/webhookd
	@exec $(PYTHON) tests/harness/fleet.py --port $(PORT) --config $(CONFIG) --workers $(WORKERS) \
	  $(if $(STATE_DIR),--state-dir $(STATE_DIR))

# The fleet tests alone (they are in `make test` too).
test-fleet: deps-fleet
	@$(MAKE) --no-print-directory -j$(JOBS) $(BUILD)/webhookd $(BUILD)/webhookctl
	@$(PYTHON) tests/run_all.py --build $(BUILD) --fleet-only

# GET and POST rates through the fleet's front against one host on the local disk.
bench-fleet: deps-fleet
	@$(MAKE) --no-print-directory -j$(JOBS) $(BUILD)/webhookd $(BUILD)/bench/durable_write $(BUILD)/bench/read_loop
	@BENCH_SECONDS=$(BENCH_SECONDS) BENCH_ROUNDS=$(BENCH_ROUNDS) $(PYTHON) tests/bench/fleet_bench.py

test: deps-test
	@$(MAKE) --no-print-directory -j$(JOBS) $(BUILD)/webhookd $(BUILD)/webhookctl $(BUILD)/unit_tests $(BUILD)/store_link_check man
	@$(MAKE) --no-print-directory thread-safety
	@$(MAKE) --no-print-directory sanitizers
	@$(MAKE) --no-print-directory fuzzers
	@$(PYTHON) tests/run_all.py --build $(BUILD)

# Installs the programs, the units (with the installed paths written in), the
# sysusers.d and tmpfiles.d entries, the nginx snippets and an example site
# (not enabled), a config that lets nobody in (never over an existing one),
# the README and the man pages, and the Prometheus alert rules. Builds
# nothing as root that was not built before: run `make` first as yourself if
# you like.
install: deps-build $(BUILD)/webhookd $(BUILD)/webhookctl man
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR)/webhookd $(DESTDIR)$(SYSTEMDDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) \
	  $(DESTDIR)$(NGINXDIR)/snippets $(DESTDIR)$(NGINXDIR)/sites-available $(DESTDIR)$(PKGDATADIR) \
	  $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(BUILD)/webhookd $(BUILD)/webhookctl $(DESTDIR)$(BINDIR)/
	sed $(INSTALL_SED) systemd/webhookd.service > $(DESTDIR)$(SYSTEMDDIR)/webhookd.service
	sed $(INSTALL_SED) systemd/webhookd.socket > $(DESTDIR)$(SYSTEMDDIR)/webhookd.socket
	sed $(INSTALL_SED) systemd/webhookd-sync.service > $(DESTDIR)$(SYSTEMDDIR)/webhookd-sync.service
	sed $(INSTALL_SED) systemd/webhookd-sync.timer > $(DESTDIR)$(SYSTEMDDIR)/webhookd-sync.timer
	sed $(INSTALL_SED) systemd/webhookd-sync > $(DESTDIR)$(LIBEXECDIR)/webhookd/webhookd-sync
	chmod 0755 $(DESTDIR)$(LIBEXECDIR)/webhookd/webhookd-sync
	sed $(INSTALL_SED) systemd/webhookd.sysusers > $(DESTDIR)$(SYSUSERSDIR)/webhookd.conf
	sed $(INSTALL_SED) systemd/webhookd.tmpfiles > $(DESTDIR)$(TMPFILESDIR)/webhookd.conf
	chmod 0644 $(DESTDIR)$(SYSTEMDDIR)/webhookd.service $(DESTDIR)$(SYSTEMDDIR)/webhookd.socket \
	  $(DESTDIR)$(SYSTEMDDIR)/webhookd-sync.service $(DESTDIR)$(SYSTEMDDIR)/webhookd-sync.timer \
	  $(DESTDIR)$(SYSUSERSDIR)/webhookd.conf $(DESTDIR)$(TMPFILESDIR)/webhookd.conf
	install -m 0644 conf/webhookd.locations.conf conf/webhookd.errors.conf $(DESTDIR)$(NGINXDIR)/snippets/
	install -m 0644 conf/webhookd.site $(DESTDIR)$(NGINXDIR)/sites-available/webhookd
	for doc in $(DOCS); do install -D -m 0644 $$doc $(DESTDIR)$(DOCDIR)/$$doc || exit 1; done
	for page in man8/webhookd.8 man1/webhookctl.1 man5/webhookd.yaml.5; do \
	  sed $(INSTALL_SED) $(BUILD)/man/$$page > $(DESTDIR)$(MANDIR)/$$page || exit 1; \
	done
	chmod 0644 $(DESTDIR)$(MANDIR)/man8/webhookd.8 $(DESTDIR)$(MANDIR)/man1/webhookctl.1 $(DESTDIR)$(MANDIR)/man5/webhookd.yaml.5
	install -m 0644 conf/webhookd.rules.yml $(DESTDIR)$(PKGDATADIR)/webhookd.rules.yml
	install -d -m 0750 $(DESTDIR)$(SYSCONFDIR)/webhookd
	@# A config already there is the admin's: never overwritten.
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/webhookd/webhookd.yaml ]; then \
	  echo "keeping $(DESTDIR)$(SYSCONFDIR)/webhookd/webhookd.yaml"; \
	else \
	  sed $(INSTALL_SED) conf/webhookd.default.yaml > $(DESTDIR)$(SYSCONFDIR)/webhookd/webhookd.yaml && \
	  chmod 0640 $(DESTDIR)$(SYSCONFDIR)/webhookd/webhookd.yaml; \
	fi
	@# Owner and group come from tmpfiles.d (the webhookd group may not exist yet).
	@echo "installed; next: systemd-sysusers && systemd-tmpfiles --create && systemctl daemon-reload"

# Removes what install put, except the config and the state (the admin's data).
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/webhookd $(DESTDIR)$(BINDIR)/webhookctl \
	  $(DESTDIR)$(SYSTEMDDIR)/webhookd.service $(DESTDIR)$(SYSTEMDDIR)/webhookd.socket \
	  $(DESTDIR)$(SYSTEMDDIR)/webhookd-sync.service $(DESTDIR)$(SYSTEMDDIR)/webhookd-sync.timer \
	  $(DESTDIR)$(LIBEXECDIR)/webhookd/webhookd-sync \
	  $(DESTDIR)$(SYSUSERSDIR)/webhookd.conf $(DESTDIR)$(TMPFILESDIR)/webhookd.conf \
	  $(DESTDIR)$(NGINXDIR)/snippets/webhookd.locations.conf $(DESTDIR)$(NGINXDIR)/snippets/webhookd.errors.conf \
	  $(DESTDIR)$(NGINXDIR)/sites-available/webhookd $(addprefix $(DESTDIR)$(DOCDIR)/,$(DOCS)) $(DESTDIR)$(PKGDATADIR)/webhookd.rules.yml \
	  $(DESTDIR)$(MANDIR)/man8/webhookd.8 $(DESTDIR)$(MANDIR)/man1/webhookctl.1 $(DESTDIR)$(MANDIR)/man5/webhookd.yaml.5
	-cd $(DESTDIR)$(DOCDIR) 2>/dev/null && rmdir -p $(sort $(filter-out ./,$(dir $(DOCS)))) 2>/dev/null
	-rmdir $(DESTDIR)$(DOCDIR) $(DESTDIR)$(PKGDATADIR) $(DESTDIR)$(LIBEXECDIR)/webhookd 2>/dev/null
	@echo "kept $(SYSCONFDIR)/webhookd and $(STATEDIR): remove them by hand if you mean to"

clean:
	rm -rf $(BUILD)

# The compiler's dependency files; not what lies in make deb's Debian roots
# and source trees (build/deb, build/container), whose /etc has rc2.d and co.
-include $(shell find $(BUILD) \( -path $(BUILD)/deb -o -path $(BUILD)/container \) -prune -o -type f -name '*.d' -print 2>/dev/null)
