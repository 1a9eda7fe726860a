# clicktocall: build, run, test, install.
#
#   make            release build
#   make run        build, then run on conf/clicktocall.config (Ctrl-C stops it)
#   make test       everything CI runs: build, the whole test suite, lint
#   make lint       rustfmt --check and clippy with warnings as errors
#   make install    binary to $(DESTDIR)$(PREFIX)/bin, sample config to $(DESTDIR)/etc/clicktocall/
#   make clean      remove build output

SHELL      := /bin/bash
CARGO      ?= cargo
PREFIX     ?= /usr/local
DESTDIR    ?=
CONFIG     ?= conf/clicktocall.config
# Honour a CARGO_TARGET_DIR from the environment, as cargo does.
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
BIN        := $(TARGET_DIR)/release/clicktocall
ETCDIR     := $(DESTDIR)/etc/clicktocall

.PHONY: all build run test lint install clean

all: build

build:
	$(CARGO) build --release

run: build
	$(BIN) -c $(CONFIG)

# Lint first (quick to fail); then every test binary runs even if one fails, and the
# last line sums all of cargo's "test result" lines as "N passed, N failed".
test: lint
	$(CARGO) build --all-targets
	mkdir -p $(TARGET_DIR)
	set -o pipefail; $(CARGO) test --no-fail-fast 2>&1 | tee $(TARGET_DIR)/test.log
	@awk '/^test result:/ {p += $$4; f += $$6} END {printf "%d passed, %d failed\n", p, f}' $(TARGET_DIR)/test.log

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

# The sample is always installed as clicktocall.config.sample; it becomes
# clicktocall.config only where there is none, so an operator's file is never replaced.
install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(ETCDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/clicktocall
	install -m 0644 $(CONFIG) $(ETCDIR)/clicktocall.config.sample
	test -e $(ETCDIR)/clicktocall.config || install -m 0644 $(CONFIG) $(ETCDIR)/clicktocall.config

clean:
	$(CARGO) clean
