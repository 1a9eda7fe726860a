# clicktocall: build, run, test, install, package.
#
#   make            release build
#   make run        build, then run on conf/clicktocall.config (Ctrl-C stops it)
#   make demo       the server on loopback, SIPp phones, a REFER and an anchored call
#                   placed through the JSON API with their progress (Ctrl-C stops it)
#   make test       everything CI runs: build, the whole test suite, lint
#   make lint       rustfmt --check and clippy with warnings as errors
#   make install    the package's layout under $(DESTDIR): binary, unit, man pages, docs,
#                   logrotate, configuration (never replacing one that is there)
#   make uninstall  remove what install put there, except the configuration and /var
#   make deb        target/clicktocall_<version>_<arch>.deb (dpkg-deb from a staged tree)
#   make rpm        target/clicktocall-<version>-1.<arch>.rpm (rpmbuild from the same tree)
#   make clean      remove build output

SHELL      := /bin/bash
CARGO      ?= cargo
PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
LOCALSTATEDIR ?= /var
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/clicktocall
# systemd reads units from /usr/local/lib/systemd/system too; the packages use /lib.
UNITDIR    ?= $(PREFIX)/lib/systemd/system
DESTDIR    ?=
CONFIG     ?= conf/clicktocall.config
# Honour a CARGO_TARGET_DIR from the environment, as cargo does.
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
BIN        := $(TARGET_DIR)/release/clicktocall
CONFDIR    := $(SYSCONFDIR)/clicktocall
VERSION    := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
STAGE      := $(TARGET_DIR)/stage
# The package layout, as installed under a staging root by `make stage`.
PKG_PATHS  := PREFIX=/usr SYSCONFDIR=/etc LOCALSTATEDIR=/var UNITDIR=/lib/systemd/system CONFIG_MODE=0644
# The configuration holds HttpAuthPwd: 0640, group clicktocall (the .deb sets that with
# dpkg-statoverride in its postinst, the .rpm with %attr).
CONFIG_MODE ?= 0640
DEB        := $(TARGET_DIR)/clicktocall_$(VERSION)_$(shell dpkg --print-architecture 2>/dev/null || echo amd64).deb
RPMARCH    := $(shell uname -m)
RPM        := $(TARGET_DIR)/clicktocall-$(VERSION)-1.$(RPMARCH).rpm

.PHONY: all build run demo test lint install install-files installed-config uninstall stage deb rpm clean

all: build

build:
	$(CARGO) build --release

# install needs a built binary but does not build one when it is there (so `sudo make
# install` after `make` runs no cargo as root).
$(BIN):
	$(CARGO) build --release

run: build
	$(BIN) -c $(CONFIG)

# A debug build: quicker to make, and the one the tests use.
demo:
	$(CARGO) build
	scripts/demo.sh $(TARGET_DIR)/debug/clicktocall

# Lint first (quick to fail); then every test binary runs even if one fails, and the
# last line sums all of cargo's "test result" lines as "N passed, N failed".
# The release build is the one the package tests put in the .deb.
test: lint
	$(CARGO) build --all-targets
	$(CARGO) build --release
	mkdir -p $(TARGET_DIR)
	set -o pipefail; $(CARGO) test --no-fail-fast 2>&1 | tee $(TARGET_DIR)/test.log
	@awk '/^test result:/ {p += $$4; f += $$6} END {printf "%d passed, %d failed\n", p, f}' $(TARGET_DIR)/test.log

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

# The configuration installed: the shipped one with the log under /var/log, rotated by
# logrotate (/etc/logrotate.d/clicktocall) instead of by line count. Made on every
# install, as it depends on LOCALSTATEDIR.
installed-config:
	mkdir -p $(TARGET_DIR)
	sed -e 's|^LogFilename = .*|LogFilename = $(LOCALSTATEDIR)/log/clicktocall/clicktocall.log|' \
	    -e 's|^LogFileMaxLines = .*|LogFileMaxLines = 0|' $(CONFIG) > $(TARGET_DIR)/clicktocall.config.tmp
	grep -q '^LogFileMaxLines = 0$$' $(TARGET_DIR)/clicktocall.config.tmp
	mv $(TARGET_DIR)/clicktocall.config.tmp $(TARGET_DIR)/clicktocall.config

install: $(BIN) install-files
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then \
	  getent group clicktocall >/dev/null || groupadd -r clicktocall; \
	  getent passwd clicktocall >/dev/null || useradd -r -g clicktocall \
	    -d $(LOCALSTATEDIR)/lib/clicktocall -s /usr/sbin/nologin -c "clicktocall SIP server" clicktocall; \
	  chown clicktocall:clicktocall $(LOCALSTATEDIR)/lib/clicktocall $(LOCALSTATEDIR)/log/clicktocall; \
	  chmod 0750 $(LOCALSTATEDIR)/lib/clicktocall $(LOCALSTATEDIR)/log/clicktocall; \
	  chgrp clicktocall $(CONFDIR)/clicktocall.config; \
	fi

# Every file of the package, under $(DESTDIR). The binary is stripped; man pages and docs are compressed as Debian wants.
install-files: installed-config
	test -x $(BIN) || { echo "no $(BIN): run make first" >&2; exit 1; }
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(CONFDIR) $(DESTDIR)$(SYSCONFDIR)/logrotate.d \
	  $(DESTDIR)$(UNITDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	  $(DESTDIR)$(DOCDIR)/examples
	# 0755 here; the user and 0750 come from the postinst (dpkg-statoverride), %files, or install.
	install -d $(DESTDIR)$(LOCALSTATEDIR)/lib/clicktocall $(DESTDIR)$(LOCALSTATEDIR)/log/clicktocall
	install -m 0755 -s --strip-program=strip $(BIN) $(DESTDIR)$(BINDIR)/clicktocall
	test -e $(DESTDIR)$(CONFDIR)/clicktocall.config || \
	  install -m $(CONFIG_MODE) $(TARGET_DIR)/clicktocall.config $(DESTDIR)$(CONFDIR)/clicktocall.config
	install -m 0644 packaging/clicktocall.logrotate $(DESTDIR)$(SYSCONFDIR)/logrotate.d/clicktocall
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@CONFDIR@|$(CONFDIR)|g' packaging/clicktocall.service.in \
	  > $(DESTDIR)$(UNITDIR)/clicktocall.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/clicktocall.service
	gzip -9nc man/clicktocall.8 > $(DESTDIR)$(MANDIR)/man8/clicktocall.8.gz
	gzip -9nc man/clicktocall.config.5 > $(DESTDIR)$(MANDIR)/man5/clicktocall.config.5.gz
	gzip -9nc README.md > $(DESTDIR)$(DOCDIR)/README.md.gz
	gzip -9nc packaging/changelog > $(DESTDIR)$(DOCDIR)/changelog.gz
	install -m 0644 packaging/copyright $(DESTDIR)$(DOCDIR)/copyright
	install -m 0644 $(CONFIG) $(DESTDIR)$(DOCDIR)/examples/clicktocall.config
	chmod 0644 $(DESTDIR)$(MANDIR)/man*/clicktocall* $(DESTDIR)$(DOCDIR)/*.gz

# The operator's configuration, logs and state stay.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/clicktocall $(DESTDIR)$(UNITDIR)/clicktocall.service \
	  $(DESTDIR)$(SYSCONFDIR)/logrotate.d/clicktocall \
	  $(DESTDIR)$(MANDIR)/man8/clicktocall.8.gz $(DESTDIR)$(MANDIR)/man5/clicktocall.config.5.gz
	rm -rf $(DESTDIR)$(DOCDIR)

# The package tree, owned by root whoever builds it (dpkg-deb --root-owner-group, rpm's
# %attr); the clicktocall user and modes come from the maintainer scripts / %files.
# Packages are always made from an up-to-date release build (a no-op when it is).
stage: build
	rm -rf $(STAGE)
	mkdir -p $(STAGE)
	# The debug info is split off, not shipped: $(STAGE)/clicktocall.debug.
	objcopy --only-keep-debug $(BIN) $(STAGE)/clicktocall.debug
	$(MAKE) --no-print-directory install-files DESTDIR=$(abspath $(STAGE))/root $(PKG_PATHS)

# dpkg-deb from the staged tree, not debhelper: no build dependencies beyond dpkg, and
# the .deb, the .rpm and `make install` share one list of files (install-files).
deb: stage
	mkdir -p $(STAGE)/root/DEBIAN
	cp packaging/debian/conffiles $(STAGE)/root/DEBIAN/
	install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm $(STAGE)/root/DEBIAN/
	# The shared libraries the binary links (libc6, libssl3, ...), as dpkg-shlibdeps names them.
	mkdir -p $(STAGE)/debian
	printf 'Source: clicktocall\n\nPackage: clicktocall\nArchitecture: any\n' > $(STAGE)/debian/control
	cd $(STAGE) && dpkg-shlibdeps -O root/usr/bin/clicktocall 2>/dev/null | sed -n 's/^shlibs:Depends=//p' > shlibs
	test -s $(STAGE)/shlibs
	sed -e 's|@VERSION@|$(VERSION)|' -e "s|@ARCH@|$$(dpkg --print-architecture)|" \
	    -e "s|@SHLIBS@|$$(cat $(STAGE)/shlibs)|" \
	    -e "s|@SIZE@|$$(du -sk --exclude=DEBIAN $(STAGE)/root | cut -f1)|" \
	    packaging/debian/control.in > $(STAGE)/root/DEBIAN/control
	dpkg-deb --root-owner-group -Zxz --build $(STAGE)/root $(DEB)
	rm -rf $(STAGE)/root/DEBIAN
	@echo "built $(DEB)"

rpm: stage
	rm -rf $(STAGE)/rpmbuild
	rpmbuild -bb --quiet --define "_topdir $(abspath $(STAGE))/rpmbuild" \
	  --define "stage $(abspath $(STAGE))/root" --define "version $(VERSION)" \
	  --define "_rpmdir $(abspath $(TARGET_DIR))" --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
	  --target $(RPMARCH) packaging/clicktocall.spec
	@echo "built $(RPM)"

clean:
	$(CARGO) clean
