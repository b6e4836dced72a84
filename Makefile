# certspoa - HAProxy SPOE agent for client-certificate authorization
#
#   make                  build ./certspoa
#   make test             unit + integration tests (needs haproxy, curl, openssl)
#   make demo             build, then show allow/deny decisions on a throw-away PKI
#   make check            test, then the whole suite again under ASan+UBSan
#   make unit             unit tests only
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
CORE_SRC := agent/spop.c agent/cert.c agent/tplist.c agent/cache.c \
            agent/rules.c agent/handler.c agent/cfg.c agent/log.c
# Server side: sockets and event loops (unit tests drive them over socketpairs).
SERVER_SRC := agent/conn.c agent/listener.c agent/worker.c
DAEMON_SRC := $(SERVER_SRC) agent/main.c
UNIT_SRC := $(wildcard tests/unit/test_*.c) tests/unit/run.c tests/unit/testpki.c

CORE_OBJ   := $(CORE_SRC:%.c=$(BUILD)/%.o)
DAEMON_OBJ := $(DAEMON_SRC:%.c=$(BUILD)/%.o)
UNIT_OBJ   := $(UNIT_SRC:%.c=$(BUILD)/%.o)
SERVER_OBJ := $(SERVER_SRC:%.c=$(BUILD)/%.o)

BIN  := certspoa
ifneq ($(SAN),)
BIN  := certspoa-san
endif

.PHONY: all test check unit integration demo fuzz fuzz-replay bench install clean help

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

demo: $(BIN)
	CERTSPOA_BIN=$(CURDIR)/$(BIN) tests/integration/demo.sh

# Test suites run one after the other (sub-makes), even under make -j.
test:
	$(MAKE) unit
	$(MAKE) integration

check: test
	$(MAKE) SAN=address,undefined unit
	$(MAKE) SAN=address,undefined integration

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
	@sed -n '2,12p' Makefile | sed 's/^# \{0,1\}//'

-include $(CORE_OBJ:.o=.d) $(DAEMON_OBJ:.o=.d) $(UNIT_OBJ:.o=.d)
