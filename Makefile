# certspoa - HAProxy SPOE agent for client-certificate authorization
#
#   make                  build ./certspoa
#   make test             unit + integration tests (needs haproxy, curl, openssl)
#   make demo             build, then show allow/deny decisions on a throw-away PKI
#   make check            test, then the whole suite again under ASan+UBSan
#   make unit             unit tests only
#   make mutate           mutation testing (MUTANTS=id,id for a subset)
#   make SAN=address,undefined ...   build with sanitizers
#   make ERR=1            warnings are errors (CI)
#   make install PREFIX=/usr/local DESTDIR=   (make install-config: /etc/certspoa/certspoa.ini)

CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
BUILD   ?= build

WARN    := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes \
           -Wmissing-prototypes -Wvla -Wpointer-arith -Wcast-qual -Wundef
HARDEN  := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE $(WARN) -DCERTSPOA_VERSION='"$(VERSION)"'
LDFLAGS ?=
LDLIBS  := -lssl -lcrypto -lev -linih -lpthread

ifeq ($(ERR),1)
CFLAGS  += -Werror
endif
ifneq ($(SAN),)
CFLAGS  += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SAN)
BUILD   := build-san
else
CFLAGS  += $(HARDEN)
LDFLAGS += -pie -Wl,-z,relro,-z,now
endif

# Pure modules (no sockets, no libev): shared by the daemon, unit tests and fuzzers.
CORE_SRC := agent/spop.c agent/cert-facts.c agent/cert-ext.c agent/cert-store.c agent/cert-file.c agent/tplist.c agent/cache.c agent/sbuf.c agent/uri.c \
            agent/strset.c agent/cidr.c agent/lists.c agent/fwd.c agent/dn.c agent/inspect.c \
            agent/rules.c agent/decide.c agent/handler.c agent/cfg.c agent/log.c \
            agent/spiffe.c agent/strutil.c
# who may read which stats page (pure; cfg.c validates token_file with it)
CORE_SRC += agent/statsauth.c
# Server side: sockets and event loops (unit tests drive them over socketpairs).
SERVER_SRC := agent/conn.c agent/listener.c agent/worker.c agent/declog.c agent/httpd.c \
              agent/stats.c agent/stats-prom.c agent/stats-json.c agent/stats-html.c
DAEMON_SRC := $(SERVER_SRC) agent/reload.c agent/explain.c agent/main.c
UNIT_SRC := $(wildcard tests/unit/test_*.c) tests/unit/run.c tests/unit/testpki.c

CORE_OBJ   := $(CORE_SRC:%.c=$(BUILD)/%.o)
DAEMON_OBJ := $(DAEMON_SRC:%.c=$(BUILD)/%.o)
UNIT_OBJ   := $(UNIT_SRC:%.c=$(BUILD)/%.o)
SERVER_OBJ := $(SERVER_SRC:%.c=$(BUILD)/%.o)

BIN  := certspoa
ifneq ($(SAN),)
BIN  := certspoa-san
endif

.PHONY: all test check unit integration demo docs docs-check fuzz fuzz-replay bench install clean help

all: $(BIN)

$(BIN): $(CORE_OBJ) $(DAEMON_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iagent -Itests/unit -MMD -MP -c -o $@ $<

$(BUILD)/tests/unit/run-unit: $(CORE_OBJ) $(SERVER_OBJ) $(UNIT_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

unit: $(BUILD)/tests/unit/run-unit
	$(BUILD)/tests/unit/run-unit tests

integration: $(BIN)
	CERTSPOA_BIN=$(CURDIR)/$(BIN) tests/integration/run.sh
	CERTSPOA_BIN=$(CURDIR)/$(BIN) tests/integration/inspect.sh

# Policy engine end to end (tests/integration/policy.sh), ~1.5 min: the
# certificate corpus through certspoa explain and through HAProxy, routes,
# shadow mode, revocation on an open connection, traces, explain/inspect
# output, haproxy-examples/behind-proxy.
policy: $(BIN)
	CERTSPOA_BIN=$(CURDIR)/$(BIN) tests/integration/policy.sh
	CERTSPOA_BIN=$(CURDIR)/$(BIN) tests/integration/lists.sh

.PHONY: policy

# Mutation testing (tests/mutation/, docs/TESTING.md): each mutant of
# tests/mutation/mutants.txt applied to a scratch copy in build/mutate/,
# built and run through its stages; one line per mutant, then
# "mutation: N killed, N survived". MUTANTS=id,id runs a subset.
mutate:
	MUTANTS='$(MUTANTS)' tests/mutation/mutate.py

.PHONY: mutate

demo: $(BIN)
	CERTSPOA_BIN=$(CURDIR)/$(BIN) tests/integration/demo.sh

# Operations tests (tests/ops/run.sh): Prometheus, promtool, headless Chromium.
ops: $(BIN)
	CERTSPOA_BIN=$(CURDIR)/$(BIN) tests/ops/run.sh

# Fault and abuse tests against the real agent (tests/fault/, docs/FAULT-TESTS.md), ~2 min.
fault: $(BIN)
	CERTSPOA_BIN=$(CURDIR)/$(BIN) tests/fault/run.sh

# memcheck on the unit tests and on the agent during a short run (not with SAN).
valgrind: certspoa $(BUILD)/tests/unit/run-unit
	CERTSPOA_BIN=$(CURDIR)/certspoa UNIT_BIN=$(CURDIR)/$(BUILD)/tests/unit/run-unit tests/fault/valgrind.sh

.PHONY: fault valgrind

# Adversarial suite (tests/adversarial/run.sh, docs/SECURITY.md): attacks
# through the shipped examples on HAProxy 2.6, 3.0 and 3.2 (VERSIONS=...,
# ONLY=pattern), ~6 min. 3.0/3.2 need the roots of tests/versions/.
adversarial: $(BIN)
	CERTSPOA_BIN=$(CURDIR)/$(BIN) tests/adversarial/run.sh

.PHONY: adversarial

# README's configuration reference, from --help-config.
docs: $(BIN)
	@{ echo '| section | key | type | default | meaning |'; echo '|---|---|---|---|---|'; \
	   ./$(BIN) --help-config | awk -f docs/config-ref.awk; } > build/config-ref.md
	@awk 'FNR == NR { ref = ref $$0 "\n"; next } \
	      /<!-- config-reference:end -->/ { printf "%s", ref; skip = 0 } \
	      !skip { print } /<!-- config-reference:start -->/ { skip = 1 }' \
	     build/config-ref.md README.md > build/README.md && mv build/README.md README.md
	@echo "README.md: configuration reference updated"

docs-check: $(BIN)
	CERTSPOA_BIN=$(CURDIR)/$(BIN) tests/docs/run.sh

# Test suites run one after the other (sub-makes), even under make -j.
test:
	$(MAKE) unit
	$(MAKE) docs-check
	$(MAKE) integration
	$(MAKE) fault

check: test
	$(MAKE) SAN=address,undefined unit
	$(MAKE) SAN=address,undefined integration

# HAProxy 2.6 (the host's), 3.0 and 3.2 (Debian roots, tests/versions/,
# docs/haproxy-versions.md): build or reuse the roots, then per version the
# integration and conformance suites, then spoe-compat; wall time per
# version. Needs root (chroot). CI runs it after check.
versions: $(BIN)
	CERTSPOA_BIN=$(CURDIR)/$(BIN) tests/versions/all.sh

.PHONY: versions

# Man pages and the example config come from the binary itself (key table in
# agent/cfg.c), so they always list the keys it knows. tests/deploy checks
# the installed result.
SYSCONFDIR ?= /etc
MANDIR     ?= $(PREFIX)/share/man
MAN_PAGES  := $(BUILD)/man/certspoa.8 $(BUILD)/man/certspoa.ini.5
MANDATE    := $(shell date -u -d "@$${SOURCE_DATE_EPOCH:-$$(date +%s)}" +%Y-%m-%d)

.PHONY: man install-config FORCE

man: $(MAN_PAGES)

$(BUILD)/man/keys.txt: $(BIN)
	@mkdir -p $(dir $@)
	./$(BIN) --help-config >$@.tmp && mv $@.tmp $@

# Rewritten only when VERSION, PREFIX or the date change: pages follow PREFIX.
$(BUILD)/man/vars: FORCE
	@mkdir -p $(dir $@)
	@echo '$(VERSION) $(PREFIX) $(MANDATE)' | cmp -s - $@ || echo '$(VERSION) $(PREFIX) $(MANDATE)' >$@

$(BUILD)/man/%: docs/man/%.in docs/man/mkman.awk $(BUILD)/man/keys.txt $(BUILD)/man/vars
	awk -v version='$(VERSION)' -v prefix='$(PREFIX)' -v date='$(MANDATE)' -f docs/man/mkman.awk \
	    $(BUILD)/man/keys.txt $< >$@.tmp && mv $@.tmp $@

$(BUILD)/certspoa.ini.example: $(BIN)
	./$(BIN) --example-config >$@.tmp && mv $@.tmp $@

install: $(BIN) $(MAN_PAGES) $(BUILD)/certspoa.ini.example
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/certspoa \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/certspoa
	install -m 0644 spoe-conf/*.conf $(DESTDIR)$(PREFIX)/share/certspoa/
	install -m 0644 $(BUILD)/certspoa.ini.example $(DESTDIR)$(PREFIX)/share/certspoa/
	install -m 0644 $(BUILD)/man/certspoa.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(BUILD)/man/certspoa.ini.5 $(DESTDIR)$(MANDIR)/man5/

# /etc/certspoa/certspoa.ini from the example, never over an existing file.
install-config: $(BUILD)/certspoa.ini.example
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/certspoa
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/certspoa/certspoa.ini ]; then \
	    echo "install-config: $(DESTDIR)$(SYSCONFDIR)/certspoa/certspoa.ini exists, left as it is"; \
	else \
	    install -m 0644 $(BUILD)/certspoa.ini.example $(DESTDIR)$(SYSCONFDIR)/certspoa/certspoa.ini; \
	    echo "install-config: wrote $(DESTDIR)$(SYSCONFDIR)/certspoa/certspoa.ini"; \
	fi

clean:
	rm -rf build build-san certspoa certspoa-san tests/out

help:
	@sed -n '2,13p' Makefile | sed 's/^# \{0,1\}//'

-include $(CORE_OBJ:.o=.d) $(DAEMON_OBJ:.o=.d) $(UNIT_OBJ:.o=.d)

# --- fuzzing ---
# libFuzzer targets for every parser of untrusted bytes (tests/fuzz/fuzz_*.c;
# docs/FUZZING.md). One target runs at a time.
#   make fuzz [FUZZ_TIME=60] [FUZZ_TARGETS="spop conn"] [FUZZ_ARGS=...]
#        clang, ASan+UBSan: each target for FUZZ_TIME seconds on a scratch
#        copy of its corpus in build/fuzz/work/<target>/ (kept between runs)
#   make fuzz-merge    add what those runs found that covers something new
#                      to tests/fuzz/corpus/<target>/ (review before commit)
#   make fuzz-replay   gcc + SAN=address,undefined: every checked-in corpus
#                      file through every target, as CI does
FUZZ_TARGETS ?= spop handler conn cfg cert fwd dn httpd uri rules
FUZZ_TIME    ?= 60
FUZZ_CC      ?= clang
FUZZ_ARGS    ?=
FUZZ_DIR     := build/fuzz
FUZZ_FLAGS   := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
                -fno-sanitize-recover=all -std=c11 -D_GNU_SOURCE $(WARN) \
                -DCERTSPOA_VERSION='"$(VERSION)"'
FUZZ_LIB_SRC := $(CORE_SRC) $(SERVER_SRC) tests/unit/testpki.c tests/fuzz/fuzzlib.c
FUZZ_LIB_OBJ := $(FUZZ_LIB_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_DICT_spop    := tests/fuzz/spop.dict
FUZZ_DICT_handler := tests/fuzz/spop.dict
FUZZ_DICT_conn    := tests/fuzz/spop.dict
FUZZ_DICT_cfg     := tests/fuzz/cfg.dict
FUZZ_DICT_cert    := tests/fuzz/cert.dict
FUZZ_DICT_fwd     := tests/fuzz/fwd.dict
FUZZ_DICT_httpd   := tests/fuzz/httpd.dict
FUZZ_DICT_dn      := tests/fuzz/dn.dict
FUZZ_DICT_uri     := tests/fuzz/uri.dict
FUZZ_DICT_rules   := tests/fuzz/rules.dict
FUZZ_MAXLEN_spop    := 16384
FUZZ_MAXLEN_handler := 16384
FUZZ_MAXLEN_conn    := 32768
FUZZ_MAXLEN_cfg     := 4096
FUZZ_MAXLEN_cert    := 8192
FUZZ_MAXLEN_fwd     := 32768
FUZZ_MAXLEN_httpd   := 16384
FUZZ_MAXLEN_dn      := 4096
FUZZ_MAXLEN_uri     := 4096
FUZZ_MAXLEN_rules   := 4096
REPLAY_DIR   := $(BUILD)/tests/fuzz

.PHONY: fuzz fuzz-merge fuzz-replay fuzz-replay-run
.SECONDARY: $(FUZZ_LIB_OBJ) $(FUZZ_TARGETS:%=$(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o) \
            $(FUZZ_TARGETS:%=$(REPLAY_DIR)/fuzz_%.o) $(FUZZ_TARGETS:%=$(REPLAY_DIR)/replay-%.o) \
            $(REPLAY_DIR)/fuzzlib.o

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -Iagent -Itests/unit -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

fuzz: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)
	@rc=0; for t in $(FUZZ_TARGETS); do \
	    $(MAKE) --no-print-directory fuzz-run-$$t || rc=1; \
	done; exit $$rc

# One target: new seeds are copied in, earlier findings stay. The log keeps
# libFuzzer's output; the last lines give executions and coverage.
fuzz-run-%: $(FUZZ_DIR)/fuzz_%
	@w=$(FUZZ_DIR)/work/$*; mkdir -p $$w/corpus $$w/artifacts; \
	cp -n tests/fuzz/corpus/$*/* $$w/corpus/; \
	echo "fuzz $*: $(FUZZ_TIME)s, log in $$w/log"; \
	$< -max_total_time=$(FUZZ_TIME) -max_len=$(FUZZ_MAXLEN_$*) -timeout=10 \
	    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=$$w/artifacts/ \
	    -dict=$(FUZZ_DICT_$*) $(FUZZ_ARGS) $$w/corpus >$$w/log 2>&1; rc=$$?; \
	grep -E '^#[0-9]+[[:space:]]+DONE|^stat::number_of_executed_units|^==[0-9]+==ERROR|fuzz invariant|^SUMMARY' $$w/log; \
	echo "fuzz $*: corpus $$(ls $$w/corpus | wc -l) files, exit $$rc, artifacts: $$(ls $$w/artifacts | wc -l)"; \
	exit $$rc

fuzz-merge: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)
	@for t in $(FUZZ_TARGETS); do \
	    $(MAKE) --no-print-directory fuzz-merge-$$t || exit 1; \
	done

fuzz-merge-%: $(FUZZ_DIR)/fuzz_%
	@w=$(FUZZ_DIR)/work/$*; \
	if [ ! -d $$w/corpus ]; then echo "fuzz-merge $*: no run yet (make fuzz)"; exit 0; fi; \
	before=$$(ls tests/fuzz/corpus/$* | wc -l); \
	$< -merge=1 -max_len=$(FUZZ_MAXLEN_$*) tests/fuzz/corpus/$* $$w/corpus \
	    >$$w/merge.log 2>&1 || { tail $$w/merge.log; exit 1; }; \
	echo "fuzz-merge $*: $$before -> $$(ls tests/fuzz/corpus/$* | wc -l) files," \
	     "$$(du -sk tests/fuzz/corpus/$* | cut -f1) KB"

# The replay driver is built with $(CC) and sanitizers, without libFuzzer.
fuzz-replay:
	$(MAKE) --no-print-directory SAN=address,undefined fuzz-replay-run

fuzz-replay-run: $(FUZZ_TARGETS:%=$(REPLAY_DIR)/replay-%)
	@rc=0; for t in $(FUZZ_TARGETS); do \
	    $(REPLAY_DIR)/replay-$$t tests/fuzz/corpus/$$t || rc=1; \
	done; exit $$rc

$(REPLAY_DIR)/replay-%.o: tests/fuzz/replay.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iagent -Itests/unit -DFUZZ_TARGET_NAME='"$*"' -MMD -MP -c -o $@ $<

$(REPLAY_DIR)/replay-%: $(REPLAY_DIR)/replay-%.o $(REPLAY_DIR)/fuzz_%.o $(REPLAY_DIR)/fuzzlib.o \
                       $(CORE_OBJ) $(SERVER_OBJ) $(BUILD)/tests/unit/testpki.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

-include $(FUZZ_LIB_OBJ:.o=.d) $(FUZZ_TARGETS:%=$(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.d) \
         $(FUZZ_TARGETS:%=$(REPLAY_DIR)/fuzz_%.d) $(FUZZ_TARGETS:%=$(REPLAY_DIR)/replay-%.d) \
         $(REPLAY_DIR)/fuzzlib.d
# --- end fuzzing ---

# --- benchmarks ---
# Agent-alone and micro-benchmarks (tests/bench/; figures in docs/BENCHMARKS.md).
#   make bench        certspoa next to a fixed-ACK floor agent, interleaved and
#                     repeated, then the micro-benchmarks; prints a table
#                     (~4 min; agent on cpu0 and load on cpu1 via taskset)
#   make bench-smoke  all of it, e2e.sh too, ~1 s per run, no timing assertions (CI)
#   make bench-e2e    HAProxy 2.6 end to end, scenarios a-d (tests/bench/e2e.sh)
#   make bench-tools  build spop-bench, floor-agent and micro only
BENCH_DIR   := $(BUILD)/tests/bench
BENCH_LIB   := $(BENCH_DIR)/benchpki.o $(BENCH_DIR)/benchmsg.o $(BUILD)/tests/unit/testpki.o
BENCH_TOOLS := $(BENCH_DIR)/spop-bench $(BENCH_DIR)/floor-agent $(BENCH_DIR)/micro
BENCH_ENV   := CERTSPOA_BIN=$(CURDIR)/$(BIN) BENCH_TOOLS=$(CURDIR)/$(BENCH_DIR)

.PHONY: bench-tools bench-smoke bench-e2e

$(BENCH_DIR)/spop-bench: $(BENCH_DIR)/spop-bench.o $(BENCH_LIB) $(BUILD)/agent/spop.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BENCH_DIR)/floor-agent: $(BENCH_DIR)/floor-agent.o $(BUILD)/agent/spop.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BENCH_DIR)/micro: $(BENCH_DIR)/micro.o $(BENCH_LIB) $(CORE_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

bench-tools: $(BIN) $(BENCH_TOOLS)

bench: bench-tools
	$(BENCH_ENV) tests/bench/run.sh

# The end-to-end smoke needs haproxy and ab (apache2-utils); without them it
# says so and is skipped.
bench-smoke: bench-tools
	$(BENCH_ENV) tests/bench/run.sh --smoke
	@if command -v haproxy >/dev/null && command -v ab >/dev/null; then \
	    $(BENCH_ENV) tests/bench/e2e.sh --smoke; \
	else echo "bench-smoke: no haproxy or ab: end-to-end smoke skipped"; fi

bench-e2e: bench-tools
	$(BENCH_ENV) tests/bench/e2e.sh

-include $(addsuffix .d,$(BENCH_TOOLS)) $(BENCH_LIB:.o=.d)
# --- end benchmarks ---

# --- probe ---
# certspoa probe (agent/probe.c; the diagnosis in agent/probe-diag.c and
# the HTTP answer parser in agent/probe-http.c, both pure; docs/PROBE.md). Added to the binary and the unit runner here so this block
# is the only Makefile change. `make probe`: tests/probe/run.sh against real
# HAProxy (HAPROXY="tests/versions/haproxy.sh 3.2" for 3.2), with the probe
# also run under ASan+UBSan (./certspoa-san, built first).
PROBE_PURE := $(BUILD)/agent/probe-diag.o $(BUILD)/agent/probe-http.o
PROBE_OBJ  := $(BUILD)/agent/probe.o $(PROBE_PURE)
$(BIN): $(PROBE_OBJ)
$(BUILD)/tests/unit/run-unit: $(PROBE_PURE)

probe: $(BIN)
	$(MAKE) --no-print-directory SAN=address,undefined certspoa-san
	CERTSPOA_BIN=$(CURDIR)/$(BIN) CERTSPOA_SAN_BIN=$(CURDIR)/certspoa-san tests/probe/run.sh

.PHONY: probe
-include $(PROBE_OBJ:.o=.d)
# --- end probe ---

# --- lint ---
# certspoa lint (agent/lint.c) on the pure HAProxy-config reader
# (agent/hacfg.c): extra objects of the binary and the unit tests. Then the
# corpus under tests/lint/: every rule's failing and passing fixture with
# its expected output, every shipped example linting clean, and each broken
# config shown failing open (or misbehaving) on a real HAProxy 2.6 (3.2
# where the rule is version-specific, when its root exists).
#   make lint          LINT_ONLY="fixtures examples proofs" to run parts
LINT_OBJ := $(BUILD)/agent/hacfg.o $(BUILD)/agent/lint.o
$(BIN): $(LINT_OBJ)
$(BUILD)/tests/unit/run-unit: $(BUILD)/agent/hacfg.o

lint: $(BIN)
	CERTSPOA_BIN=$(CURDIR)/$(BIN) tests/lint/run.sh

.PHONY: lint
-include $(LINT_OBJ:.o=.d)

# The reader is a fuzz target too (tests/fuzz/fuzz_hacfg.c): hacfg.o is not
# in CORE_SRC, so it is added to that target's link here.
FUZZ_TARGETS += hacfg
FUZZ_DICT_hacfg   := tests/fuzz/hacfg.dict
FUZZ_MAXLEN_hacfg := 8192
fuzz: $(FUZZ_DIR)/fuzz_hacfg
fuzz-merge: $(FUZZ_DIR)/fuzz_hacfg
fuzz-replay-run: $(REPLAY_DIR)/replay-hacfg
$(FUZZ_DIR)/fuzz_hacfg: $(FUZZ_DIR)/obj/agent/hacfg.o
$(REPLAY_DIR)/replay-hacfg: $(BUILD)/agent/hacfg.o
.SECONDARY: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_hacfg.o $(FUZZ_DIR)/obj/agent/hacfg.o \
            $(REPLAY_DIR)/fuzz_hacfg.o $(REPLAY_DIR)/replay-hacfg.o
# --- end lint ---

# --- packages ---
# The container image, the Kubernetes sidecar example as a real pod, and the
# Debian package (tests/package/, docs/DEPLOY.md). image, pod-test and
# deb-test need root (podman, chroot); deb does not.
#   make image      podman build of the Dockerfile from a clean clone (HEAD),
#                   on a debootstrap base (cached in /var/cache/certspoa/images),
#                   then run: user, read-only root, no compiler, size
#   make pod-test   podman kube play of haproxy-examples/sidecar/k8s/ with
#                   Debian's haproxy: mTLS, ConfigMap reload, probes, fail closed
#   make deb        build/deb/certspoa_VERSION-REV_ARCH.deb (dpkg-buildpackage
#                   -us -uc -b in a copy of the tree), lintian clean
#   make deb-test   the .deb installed, used, upgraded and purged in a fresh
#                   Debian 12 root (cached in /var/cache/certspoa/roots/bookworm)
.PHONY: image pod-test deb deb-test

image:
	tests/package/image.sh

pod-test:
	tests/package/pod.sh

deb:
	tests/package/mkdeb.sh

deb-test:
	tests/package/deb.sh
# --- end packages ---
