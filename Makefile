# certspoa - HAProxy SPOE agent for client-certificate authorization
#
# `make help` lists the targets (from the "## " comment after each one).
# Variables: CC CPPFLAGS CFLAGS LDFLAGS PREFIX DESTDIR; ERR=1 (warnings are
# errors, CI); SAN=address,undefined (sanitizers, built in build-san/ as
# certspoa-san); ONLY=pattern or T=pattern (one test or part, every suite).
# The layering of agent/ is in docs/ARCHITECTURE.md; `make arch-check`.

CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
BUILD   ?= build

WARN    := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes \
           -Wmissing-prototypes -Wvla -Wpointer-arith -Wcast-qual -Wundef
HARDEN  := -fstack-protector-strong -fPIE
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 $(WARN)
CPPFLAGS ?=
AGENT_CPPFLAGS := -Iagent -D_GNU_SOURCE -DCERTSPOA_VERSION='"$(VERSION)"'
override CPPFLAGS += $(AGENT_CPPFLAGS)
# Test code (tests/) also sees the unit helpers; agent objects never do.
TEST_CPPFLAGS := -Itests/unit
LDFLAGS ?=
LDLIBS  := -lssl -lcrypto -lev -linih -lpthread -ljansson
# libcurl: only the binary and the unit runner link it (the fetcher).
CURL_LDLIBS := -lcurl

ifeq ($(ERR),1)
CFLAGS  += -Werror
endif
ifneq ($(SAN),)
CFLAGS  += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SAN)
BUILD   := build-san
else
CFLAGS  += $(HARDEN)
override CPPFLAGS += -D_FORTIFY_SOURCE=2
LDFLAGS += -pie -Wl,-z,relro,-z,now
endif

# Pure modules (no sockets, no libev): shared by the daemon, unit tests and fuzzers.
CORE_SRC := agent/spop.c agent/cert-facts.c agent/cert-ext.c agent/cert-store.c agent/cert-crls.c agent/cert-file.c agent/tplist.c agent/cache.c agent/sbuf.c agent/uri.c \
            agent/strset.c agent/cidr.c agent/addr.c agent/lists.c agent/fwd.c agent/dn.c agent/inspect.c \
            agent/rules.c agent/decide.c agent/handler.c agent/cfg.c agent/log.c \
            agent/spiffe.c agent/strutil.c agent/ocsp.c agent/ocsp-cache.c agent/token.c
# runtime denies and the admin socket's command parser (fuzz target ctl)
CORE_SRC += agent/rtdeny.c agent/ctl-cmd.c
# the CRL disk cache in state_dir, read by revoc.c and certspoa explain
CORE_SRC += agent/crl-cache.c
# SPIFFE bundle documents (JSON, through jansson)
CORE_SRC += agent/spiffe-bundle.c
# who may read which stats page (pure; cfg.c validates token_file with it)
CORE_SRC += agent/statsauth.c
# The pure parts of the offline commands: probe's diagnosis and HTTP answer
# parser, lint's HAProxy-config reader (also a fuzz target).
CORE_SRC += agent/probe-diag.c agent/probe-http.c agent/hacfg.c
# Server side: sockets and event loops (unit tests drive them over socketpairs).
SERVER_SRC := agent/conn.c agent/listener.c agent/worker.c agent/declog.c agent/httpd.c \
              agent/stats.c agent/stats-prom.c agent/stats-json.c agent/stats-html.c \
              agent/stats-config.c agent/ctl.c agent/hapush.c
# The background fetcher (libcurl) and what it feeds: revocation sources.
FETCH_SRC := agent/fetch.c agent/revoc.c agent/ocsp-fetch.c
# The binary only: offline commands with I/O, reload, main.
OFFLINE_SRC := agent/explain.c agent/probe.c agent/lint.c agent/ctl-client.c
DAEMON_SRC := $(SERVER_SRC) $(FETCH_SRC) $(OFFLINE_SRC) agent/reload.c agent/pidfile.c agent/main.c
UNIT_SRC := $(wildcard tests/unit/test_*.c) tests/unit/run.c tests/unit/testpki.c tests/unit/testpeer.c tests/unit/testcfg.c \
            tests/unit/testjwt.c

CORE_OBJ   := $(CORE_SRC:%.c=$(BUILD)/%.o)
DAEMON_OBJ := $(DAEMON_SRC:%.c=$(BUILD)/%.o)
UNIT_OBJ   := $(UNIT_SRC:%.c=$(BUILD)/%.o)
SERVER_OBJ := $(SERVER_SRC:%.c=$(BUILD)/%.o)
FETCH_OBJ  := $(FETCH_SRC:%.c=$(BUILD)/%.o)

BIN  := certspoa
ifneq ($(SAN),)
BIN  := certspoa-san
endif

.PHONY: all test check unit integration demo docs docs-check fuzz fuzz-replay bench install clean help \
        arch-check shellcheck

all: $(BIN) ## build ./certspoa (./certspoa-san with SAN=)

$(BIN): $(CORE_OBJ) $(DAEMON_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CURL_LDLIBS)

$(BUILD)/agent/%.o: agent/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(TEST_CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/unit/run-unit: $(CORE_OBJ) $(SERVER_OBJ) $(FETCH_OBJ) $(UNIT_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CURL_LDLIBS)

# The runner takes a substring of the test names (ONLY= or T=).
ONLY ?= $(T)
export ONLY
unit: $(BUILD)/tests/unit/run-unit ## unit tests (ONLY=substring for some)
	$(BUILD)/tests/unit/run-unit tests $(ONLY)

integration: $(BIN) ## integration tests: the agent with HAProxy (haproxy, curl, openssl)
	CERTSPOA_BIN=$(CURDIR)/$(BIN) tests/integration/run.sh
	CERTSPOA_BIN=$(CURDIR)/$(BIN) tests/integration/inspect.sh
	CERTSPOA_BIN=$(CURDIR)/$(BIN) tests/integration/pidfile.sh

# The locked pid file, reload/stop, and -c on addresses (tests/integration/pidfile.sh), ~2 s.
pidfile-test: $(BIN) ## the pid file with two agents, reload/stop, -c addresses (~2 s)
	CERTSPOA_BIN=$(CURDIR)/$(BIN) tests/integration/pidfile.sh

.PHONY: pidfile-test

# Policy engine end to end (tests/integration/policy.sh), ~1.5 min: the
# certificate corpus through certspoa explain and through HAProxy, routes,
# shadow mode, revocation on an open connection, traces, explain/inspect
# output, haproxy-examples/behind-proxy.
policy: $(BIN) ## policy engine end to end, ~1.5 min (ONLY="explain routes ...")
	CERTSPOA_BIN=$(CURDIR)/$(BIN) tests/integration/policy.sh
	CERTSPOA_BIN=$(CURDIR)/$(BIN) tests/integration/lists.sh

.PHONY: policy

# SPIFFE trust domains and per-client rate limiting end to end
# (tests/spiffe/run.sh): explain, HAProxy 2.6 and 3.2 (VERSIONS=...),
# haproxy-examples/rate-limit; ONLY="explain haproxy ratelimit".
spiffe: $(BIN) ## SPIFFE trust domains, rate-limit example; HAProxy 2.6 + 3.2 (VERSIONS=, ONLY=)
	CERTSPOA_BIN=$(CURDIR)/$(BIN) tests/spiffe/run.sh

.PHONY: spiffe

# Mutation testing (tests/mutation/, docs/TESTING.md): each mutant of
# tests/mutation/mutants.txt applied to a scratch copy in build/mutate/,
# built and run through its stages; one line per mutant, then
# "mutation: N killed, N survived". MUTANTS=id,id (or 'cidr-*') for a subset.
# Each mutant runs its kill_hint (the test that killed it last) first; MUTATE_HINTS=0 not.
mutate: ## mutation testing of the decision path (MUTANTS=id,id or 'rules-*')
	MUTANTS='$(MUTANTS)' tests/mutation/mutate.py

.PHONY: mutate

# Certificate-bound tokens end to end (tests/token/run.sh, docs/TOKENS.md):
# tokens minted by tests/token/mint.c, sent by curl with a client
# certificate through haproxy-examples/mtls-api on HAProxy 2.6 and 3.2
# (VERSIONS="2.6 3.2", ONLY=pattern), ~1 min.
MINT_BIN := $(BUILD)/tests/token/mint
$(MINT_BIN): $(BUILD)/tests/token/mint.o $(BUILD)/tests/unit/testjwt.o $(BUILD)/agent/token.o $(BUILD)/agent/strutil.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

token: $(BIN) $(MINT_BIN) ## certificate-bound tokens through HAProxy 2.6 and 3.2, ~1 min (VERSIONS=, ONLY=)
	CERTSPOA_BIN=$(CURDIR)/$(BIN) MINT_BIN=$(CURDIR)/$(MINT_BIN) tests/token/run.sh

.PHONY: token

demo: $(BIN) ## build, then show allow/deny decisions on a throw-away PKI
	CERTSPOA_BIN=$(CURDIR)/$(BIN) tests/integration/demo.sh

# Operations tests (tests/ops/run.sh): Prometheus, promtool, headless Chromium.
ops: $(BIN) ## operations tests: Prometheus, promtool, headless Chromium
	CERTSPOA_BIN=$(CURDIR)/$(BIN) tests/ops/run.sh

# Fault and abuse tests against the real agent (tests/fault/, docs/FAULT-TESTS.md), ~2 min.
fault: $(BIN) ## fault and abuse tests, ~2 min (ONLY="abuse flood ...")
	CERTSPOA_BIN=$(CURDIR)/$(BIN) tests/fault/run.sh

# memcheck on the unit tests and on the agent during a short run (not with SAN).
valgrind: $(BIN) $(BUILD)/tests/unit/run-unit ## memcheck on the unit tests and a short agent run
	CERTSPOA_BIN=$(CURDIR)/$(BIN) UNIT_BIN=$(CURDIR)/$(BUILD)/tests/unit/run-unit tests/fault/valgrind.sh

.PHONY: fault valgrind

# The runtime API (tests/ctl/run.sh, docs/OPERATE.md): admin_socket,
# certspoa ctl, runtime denies with HAProxy and curl traffic, ~1 min.
ctl: $(BIN) ## runtime API: admin socket, certspoa ctl, runtime denies (ONLY="keepalive load ...")
	CERTSPOA_BIN=$(CURDIR)/$(BIN) tests/ctl/run.sh

.PHONY: ctl

# Adversarial suite (tests/adversarial/run.sh, docs/SECURITY.md): attacks
# through the shipped examples on HAProxy 2.6, 3.0 and 3.2 (VERSIONS=...,
# ONLY=pattern), ~6 min. 3.0/3.2 need the roots of tests/versions/.
adversarial: $(BIN) ## attacks through the shipped examples, ~6 min (VERSIONS=, ONLY=)
	CERTSPOA_BIN=$(CURDIR)/$(BIN) tests/adversarial/run.sh

.PHONY: adversarial

# Revocation suite (tests/revocation/run.sh, docs/REVOCATION.md): CRLs from
# distribution points and URLs through HAProxy 2.6, 3.0, 3.2; the fetcher's
# faults under valgrind. Ends with "revocation: N passed, N failed".
revocation: $(BIN) $(MINT_BIN) ## CRL/OCSP fetching end to end, ~3 min (VERSIONS=, ONLY=)
	CERTSPOA_BIN=$(CURDIR)/$(BIN) tests/revocation/run.sh

.PHONY: revocation

# README's configuration reference, from --help-config.
docs: $(BIN) ## regenerate README's configuration reference
	@{ echo '| section | key | type | default | meaning |'; echo '|---|---|---|---|---|'; \
	   ./$(BIN) --help-config | awk -f docs/config-ref.awk; } > $(BUILD)/config-ref.md
	@awk 'FNR == NR { ref = ref $$0 "\n"; next } \
	      /<!-- config-reference:end -->/ { printf "%s", ref; skip = 0 } \
	      !skip { print } /<!-- config-reference:start -->/ { skip = 1 }' \
	     $(BUILD)/config-ref.md README.md > $(BUILD)/README.md && mv $(BUILD)/README.md README.md
	@echo "README.md: configuration reference updated"

docs-check: $(BIN) ## the docs agree with the binary (keys, variables, examples)
	CERTSPOA_BIN=$(CURDIR)/$(BIN) tests/docs/run.sh

# Test suites run one after the other (sub-makes), even under make -j. A
# failing suite does not stop the ones after it (each prints its own
# summary line); the target fails at the end if any suite failed.
TEST_SUITES = unit docs-check integration fault
test: ## unit, docs-check, integration and fault, one after the other (ONLY= for one test)
	@rc=0; for t in $(TEST_SUITES); do $(MAKE) $$t || { echo "make $$t: FAILED"; rc=1; }; done; exit $$rc

check: ## arch-check, test, then unit and integration under ASan+UBSan
	@rc=0; \
	for t in arch-check $(TEST_SUITES); do $(MAKE) $$t || { echo "make $$t: FAILED"; rc=1; }; done; \
	for t in unit integration; do \
		$(MAKE) SAN=address,undefined $$t || { echo "make SAN=address,undefined $$t: FAILED"; rc=1; }; \
	done; exit $$rc

# HAProxy 2.6 (the host's), 3.0 and 3.2 (Debian roots, tests/versions/,
# docs/haproxy-versions.md): build or reuse the roots, then per version the
# integration and conformance suites, then spoe-compat; wall time per
# version. Needs root (chroot). CI runs it after check.
versions: $(BIN) ## HAProxy 2.6, 3.0, 3.2: integration, conformance, spoe-compat (VERSIONS=, root)
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

man: $(MAN_PAGES) ## the man pages, in build/man/

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

install: $(BIN) $(MAN_PAGES) $(BUILD)/certspoa.ini.example ## install under DESTDIR/PREFIX (default /usr/local)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/certspoa \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/certspoa
	install -m 0644 spoe-conf/*.conf $(DESTDIR)$(PREFIX)/share/certspoa/
	install -m 0644 $(BUILD)/certspoa.ini.example $(DESTDIR)$(PREFIX)/share/certspoa/
	install -m 0644 $(BUILD)/man/certspoa.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(BUILD)/man/certspoa.ini.5 $(DESTDIR)$(MANDIR)/man5/

# /etc/certspoa/certspoa.ini from the example, never over an existing file.
install-config: $(BUILD)/certspoa.ini.example ## /etc/certspoa/certspoa.ini, never over an existing one
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/certspoa
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/certspoa/certspoa.ini ]; then \
	    echo "install-config: $(DESTDIR)$(SYSCONFDIR)/certspoa/certspoa.ini exists, left as it is"; \
	else \
	    install -m 0644 $(BUILD)/certspoa.ini.example $(DESTDIR)$(SYSCONFDIR)/certspoa/certspoa.ini; \
	    echo "install-config: wrote $(DESTDIR)$(SYSCONFDIR)/certspoa/certspoa.ini"; \
	fi

clean: ## remove the build trees, the binaries and tests/out
	rm -rf build build-san certspoa certspoa-san tests/out

help: ## this list
	@awk -F':.*## ' '/^[a-zA-Z0-9_%-]+:.*## / { printf "  make %-16s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

# The include rule of docs/ARCHITECTURE.md (layers of agent/).
arch-check: ## agent/ includes follow the layering of docs/ARCHITECTURE.md
	tests/arch/check-includes.sh

# Shellcheck over the test scripts and CI scripts (settings and the reasons
# for what is disabled project-wide: .shellcheckrc).
SHELL_SCRIPTS = $(sort $(shell find tests .ci -name '*.sh') .ci/run)
shellcheck: ## shellcheck tests/**/*.sh and .ci/*
	@out=$$(shellcheck -f gcc -x -P SCRIPTDIR $(SHELL_SCRIPTS)); \
	bad=$$(printf '%s' "$$out" | cut -d: -f1 | sort -u | grep -c .); \
	[ -z "$$out" ] || printf '%s\n' "$$out"; \
	echo "shellcheck: $$(( $(words $(SHELL_SCRIPTS)) - bad )) passed, $$bad failed"; \
	[ "$$bad" = 0 ]

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
FUZZ_TARGETS ?= spop handler conn cfg cert fwd dn httpd uri rules hacfg bundle ctl crl ocsp token
FUZZ_TIME    ?= 60
FUZZ_CC      ?= clang
FUZZ_ARGS    ?=
FUZZ_DIR     := build/fuzz
FUZZ_FLAGS   := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
                -fno-sanitize-recover=all -std=c11 $(WARN)
FUZZ_LIB_SRC := $(CORE_SRC) $(SERVER_SRC) $(FETCH_SRC) tests/unit/testpki.c tests/fuzz/fuzzlib.c
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
FUZZ_DICT_hacfg   := tests/fuzz/hacfg.dict
FUZZ_DICT_ocsp    := tests/fuzz/ocsp.dict
FUZZ_MAXLEN_hacfg   := 8192
FUZZ_DICT_ctl     := tests/fuzz/ctl.dict
FUZZ_MAXLEN_ctl     := 4096
FUZZ_DICT_bundle  := tests/fuzz/bundle.dict
FUZZ_MAXLEN_bundle  := 16384
FUZZ_MAXLEN_ocsp    := 4096
FUZZ_DICT_crl     := tests/fuzz/crl.dict
FUZZ_MAXLEN_crl     := 8192
FUZZ_DICT_token   := tests/fuzz/token.dict
FUZZ_MAXLEN_token   := 8192
REPLAY_DIR   := $(BUILD)/tests/fuzz

.PHONY: fuzz fuzz-merge fuzz-replay fuzz-replay-run
.SECONDARY: $(FUZZ_LIB_OBJ) $(FUZZ_TARGETS:%=$(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o) \
            $(FUZZ_TARGETS:%=$(REPLAY_DIR)/fuzz_%.o) $(FUZZ_TARGETS:%=$(REPLAY_DIR)/replay-%.o) \
            $(REPLAY_DIR)/fuzzlib.o

$(FUZZ_DIR)/obj/agent/%.o: agent/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(AGENT_CPPFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/obj/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(AGENT_CPPFLAGS) $(TEST_CPPFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS) $(CURL_LDLIBS)

fuzz: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%) ## libFuzzer, clang: each target FUZZ_TIME s (FUZZ_TARGETS=)
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

fuzz-merge: $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%) ## add what fuzz found that covers something new to the corpus
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
fuzz-replay: ## every corpus file through every target, gcc + ASan+UBSan (CI)
	$(MAKE) --no-print-directory SAN=address,undefined fuzz-replay-run

fuzz-replay-run: $(FUZZ_TARGETS:%=$(REPLAY_DIR)/replay-%)
	@rc=0; for t in $(FUZZ_TARGETS); do \
	    $(REPLAY_DIR)/replay-$$t tests/fuzz/corpus/$$t || rc=1; \
	done; exit $$rc

$(REPLAY_DIR)/replay-%.o: tests/fuzz/replay.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(TEST_CPPFLAGS) $(CFLAGS) -DFUZZ_TARGET_NAME='"$*"' -MMD -MP -c -o $@ $<

$(REPLAY_DIR)/replay-%: $(REPLAY_DIR)/replay-%.o $(REPLAY_DIR)/fuzz_%.o $(REPLAY_DIR)/fuzzlib.o \
                       $(CORE_OBJ) $(SERVER_OBJ) $(FETCH_OBJ) $(BUILD)/tests/unit/testpki.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CURL_LDLIBS)

-include $(FUZZ_LIB_OBJ:.o=.d) $(FUZZ_TARGETS:%=$(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.d) \
         $(FUZZ_TARGETS:%=$(REPLAY_DIR)/fuzz_%.d) $(FUZZ_TARGETS:%=$(REPLAY_DIR)/replay-%.d) \
         $(REPLAY_DIR)/fuzzlib.d
# --- end fuzzing ---

# --- benchmarks ---
# Agent-alone and micro-benchmarks (tests/bench/; figures in docs/BENCHMARKS.md).
#   make bench        certspoa next to a fixed-ACK floor agent, interleaved and
#                     repeated, then the micro-benchmarks; prints a table
#                     (~4 min; agent on cpu0 and load on cpu1 via taskset)
#   make bench-smoke  all of it, e2e.sh, agent-cost.sh and the fleet too, ~1 s
#                     per run, no timing assertions (CI)
#   make bench-e2e    HAProxy 2.6, 3.0 and 3.2 end to end, scenarios a d b c r
#                     (tests/bench/e2e.sh; E2E_VERSIONS="2.6" for one)
#   make bench-agent  agent CPU per NOTIFY behind HAProxy 2.6/3.0/3.2 (tests/bench/agent-cost.sh)
#   make bench-fleet  10,000 distinct client certificates cycling: cache miss
#                     against hit, agent alone (tests/bench/run.sh --fleet)
#   make bench-tools  build spop-bench, floor-agent and micro only
BENCH_DIR   := $(BUILD)/tests/bench
BENCH_LIB   := $(BENCH_DIR)/benchpki.o $(BENCH_DIR)/benchmsg.o $(BUILD)/tests/unit/testpki.o
BENCH_TOOLS := $(BENCH_DIR)/spop-bench $(BENCH_DIR)/floor-agent $(BENCH_DIR)/micro
BENCH_ENV   := CERTSPOA_BIN=$(CURDIR)/$(BIN) BENCH_TOOLS=$(CURDIR)/$(BENCH_DIR)

.PHONY: bench-tools bench-smoke bench-e2e bench-agent bench-agent-smoke bench-fleet

$(BENCH_DIR)/spop-bench: $(BENCH_DIR)/spop-bench.o $(BENCH_LIB) $(BUILD)/agent/spop.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BENCH_DIR)/floor-agent: $(BENCH_DIR)/floor-agent.o $(BUILD)/agent/spop.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BENCH_DIR)/micro: $(BENCH_DIR)/micro.o $(BENCH_LIB) $(CORE_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

bench-tools: $(BIN) $(BENCH_TOOLS) ## build spop-bench, floor-agent and micro only

bench: bench-tools ## agent alone next to a floor agent, then micro-benchmarks (~4 min)
	$(BENCH_ENV) tests/bench/run.sh

# The end-to-end smoke needs haproxy and ab (apache2-utils); without them it
# says so and is skipped.
bench-smoke: bench-tools ## all benchmarks, ~1 s per run, no timing assertions (CI)
	$(BENCH_ENV) tests/bench/run.sh --smoke
	$(BENCH_ENV) FLEET_CERTS=200 BENCH_ROUNDS=1 BENCH_SECONDS=1 tests/bench/run.sh --fleet
	@if command -v haproxy >/dev/null && command -v ab >/dev/null; then \
	    $(BENCH_ENV) tests/bench/e2e.sh --smoke && \
	    $(BENCH_ENV) tests/bench/agent-cost.sh --smoke; \
	else echo "bench-smoke: no haproxy or ab: end-to-end smoke skipped"; fi

bench-e2e: bench-tools ## HAProxy 2.6, 3.0, 3.2 end to end, scenarios a d b c r (~12 min)
	$(BENCH_ENV) tests/bench/e2e.sh

# Agent CPU per NOTIFY behind HAProxy 2.6, 3.0 and 3.2 (issue 15): VERSIONS,
# and AGENT_COST_* in the environment (tests/bench/agent-cost.sh).
bench-agent: bench-tools ## agent CPU per NOTIFY and HAProxy CPU per request, HAProxy 2.6/3.0/3.2 (~2 min)
	$(BENCH_ENV) tests/bench/agent-cost.sh $(VERSIONS)

bench-agent-smoke: bench-tools ## agent-cost.sh --smoke: 1 s behind HAProxy 2.6 (CI)
	$(BENCH_ENV) tests/bench/agent-cost.sh --smoke

bench-fleet: bench-tools ## 10,000 distinct client certificates: cache miss vs hit (~2 min)
	$(BENCH_ENV) tests/bench/run.sh --fleet

-include $(addsuffix .d,$(BENCH_TOOLS)) $(BENCH_LIB:.o=.d)
# --- end benchmarks ---

# --- offline commands ---
# certspoa probe (docs/PROBE.md) against real HAProxy (HAPROXY="tests/versions/haproxy.sh 3.2"
# for 3.2), the probe also run under ASan+UBSan (./certspoa-san, built first).
probe: $(BIN) ## certspoa probe against real HAProxy, also under ASan+UBSan
	$(MAKE) --no-print-directory SAN=address,undefined certspoa-san
	CERTSPOA_BIN=$(CURDIR)/$(BIN) CERTSPOA_SAN_BIN=$(CURDIR)/certspoa-san tests/probe/run.sh

# certspoa lint (docs/LINT.md): the corpus under tests/lint/, every shipped
# example linting clean, and each broken config shown failing open on a
# real HAProxy 2.6 (3.2 where the rule is version-specific, when its root
# exists). ONLY="fixtures examples proofs" to run parts.
lint: $(BIN) ## certspoa lint: fixtures, shipped examples, proofs on HAProxy
	CERTSPOA_BIN=$(CURDIR)/$(BIN) tests/lint/run.sh

.PHONY: probe lint
# --- end offline commands ---

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

image: ## podman build of the Dockerfile from a clean clone, then run it (root)
	tests/package/image.sh

pod-test: ## haproxy-examples/sidecar/k8s/ as a real pod (root)
	tests/package/pod.sh

deb: ## build/deb/certspoa_VERSION-REV_ARCH.deb, lintian clean
	tests/package/mkdeb.sh

deb-test: ## the .deb installed, used, upgraded, purged in a Debian 12 root (root)
	tests/package/deb.sh
# --- end packages ---
