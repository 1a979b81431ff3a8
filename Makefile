# pmon3 — build, test, demo, install, package.
# Every target works from a fresh clone; install targets honour PREFIX and DESTDIR.

PREFIX   ?= /usr/local
DESTDIR  ?=
LIBDIR   ?= $(PREFIX)/lib/pmon3
BINDIR   ?= $(PREFIX)/bin
NODE     ?= node
NPM      ?= npm
DEMO_DIR ?= $(CURDIR)/.demo

.PHONY: all build test test-unit test-e2e demo demo-stop clean deps native

all: build

# Install dependencies only when missing (npm ci builds better-sqlite3 and our native parts).
node_modules/.package-lock.json: package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	@touch $@

deps: node_modules/.package-lock.json

# The native parts (internal/native): the N-API addon, the exec helper and the logger, rebuilt when their sources change.
NATIVE_STAMP := build/Release/.native-stamp
$(NATIVE_STAMP): binding.gyp internal/native/native.c internal/native/exec.c internal/native/log.c internal/native/static-flag.py | deps
	$(NPM) run --silent native
	@touch $@

native: $(NATIVE_STAMP)

build: deps native
	$(NODE) node_modules/typescript/bin/tsc -p tsconfig.json
	@mkdir -p dist/internal/http/dashboard && cp internal/http/dashboard/* dist/internal/http/dashboard/
	@chmod +x bin/pmon3 bin/pmon3.js bin/pmon3-snapshot bin/pmond

# A test run: node --test over every *.test.js under $(2) (flags $(1)), with one temp root that
# every temp dir of the run goes under and one prefix for every user it creates, new each run
# (test/helpers/tmp.ts). Then test/leftovers.ts names whatever the run left behind (files under
# the root, users, groups, processes) and removes it; leftovers fail a run node --test passed.
# The exit status is node --test's otherwise, and its summary stays the last thing node prints.
define run_tests
	@root=$$(mktemp -d "$${TMPDIR:-/tmp}/pmt.XXXXXX") && chmod 0755 "$$root" && \
	prefix="pmt$$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')-" && status=0 && \
	{ PMON3_TEST_ROOT="$$root" PMON3_TEST_USER_PREFIX="$$prefix" $(NODE) --test $(1) $$(find $(2) -name '*.test.js' | sort) || status=$$?; } && \
	{ $(NODE) dist/test/leftovers.js "$$root" "$$prefix" || { [ $$status -ne 0 ] || status=1; }; } && \
	exit $$status
endef

# Every test: unit, e2e, reliability, security, packaging. Fixtures are plain scripts in test/fixtures.
test: build
	$(call run_tests,--test-concurrency=2,dist/test)

test-unit: build
	$(call run_tests,,dist/test/unit)

test-e2e: build
	$(call run_tests,,dist/test/e2e)

# Demo: an unprivileged-capable pmond with embedded defaults, a sample app, and `pmon3 ls`.
demo: build
	@DEMO_DIR="$(DEMO_DIR)" bash contrib/demo/demo.sh start

demo-stop:
	@DEMO_DIR="$(DEMO_DIR)" bash contrib/demo/demo.sh stop

# build/ (the native parts, built by npm ci or make native) is kept.
clean:
	rm -rf dist .demo

# The CLI's start-up snapshot (internal/cli/snapshot.ts): the whole CLI bundled by esbuild, loaded and
# warmed up, saved as a V8 heap image bin/pmon3 starts from when it was built by the node in PATH
# (bin/pmon3-snapshot); bin/pmon3 runs the same CLI from dist/ otherwise (slower, same output).
.PHONY: snapshot bench readme
build: snapshot

snapshot: deps
	@mkdir -p dist/fast
	$(ESBUILD) internal/cli/snapshot.ts --bundle --minify --platform=node --target=node20 --format=cjs \
	  --log-level=warning --metafile=dist/fast/snapshot-meta.json --outfile=dist/fast/pmon3-snapshot.js
	bin/pmon3-snapshot

ESBUILD ?= node_modules/.bin/esbuild

# The README's command table, from the CLI's command table (test/packaging/help.test.ts checks it).
readme: build
	$(NODE) -e 'const fs=require("fs");const {withCommandsTable}=require("./dist/internal/cli/doc.js");fs.writeFileSync("README.md",withCommandsTable(fs.readFileSync("README.md","utf8")))'

# Benchmarks against PM2 and supervisord (bench/README.md); BENCH_QUICK=1 for a short run. Not part of `test`.
bench: build
	$(NODE) dist/bench/main.js

# ---------------------------------------------------------------------------------------------
# Install, service, completions, rpm. Layout: $(LIBDIR) holds the built app (package.json,
# dist/, bin/, the production part of node_modules, build/Release/peercred.node);
# $(BINDIR)/pmon3 and pmond are relative symlinks into it (valid inside DESTDIR too).
# Config, data and logs stay at the paths pmond uses for root, whatever PREFIX is.
SYSCONFDIR   ?= /etc
CONFDIR      ?= $(SYSCONFDIR)/pmond/config
UNITDIR      ?= $(SYSCONFDIR)/systemd/system
LOGROTATEDIR ?= $(SYSCONFDIR)/logrotate.d
SHAREDIR     ?= $(PREFIX)/share/pmon3
DOCDIR       ?= $(PREFIX)/share/doc/pmon3
BASHCOMPDIR  ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR   ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR  ?= $(PREFIX)/share/fish/vendor_completions.d
PMON_DATADIR ?= /var/lib/pmon3
PMON_LOGDIR  ?= /var/log/pmond
RPMTOPDIR    ?= $(CURDIR)/rpmbuild
PMON3_VERSION := $(shell sed -n 's/^  "version": "\([^"]*\)".*/\1/p' package.json)
# What install and rpm build first. The packaging tests set it empty to reuse the tree
# `make test` has just built (tsc rewriting dist/ under tests running in parallel is a race).
INSTALL_PREREQS ?= build completions
# systemd is running here (not in a chroot, container build or DESTDIR staging).
SYSTEMD_LIVE = [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]

.PHONY: completions install uninstall systemd_install systemd_uninstall systemd_permissions rpm

completions: build
	@mkdir -p completions
	$(NODE) bin/pmon3.js completion bash > completions/pmon3.bash.tmp && mv completions/pmon3.bash.tmp completions/pmon3.bash
	$(NODE) bin/pmon3.js completion zsh > completions/_pmon3.tmp && mv completions/_pmon3.tmp completions/_pmon3
	$(NODE) bin/pmon3.js completion fish > completions/pmon3.fish.tmp && mv completions/pmon3.fish.tmp completions/pmon3.fish

install: $(INSTALL_PREREQS)
	@case "$(LIBDIR)" in */pmon3) ;; *) echo "install: LIBDIR must end in /pmon3 (it is replaced as a whole)" >&2; exit 2;; esac
	@test -f dist/cmd/pmond/main.js -a -f build/Release/pmon3_native.node -a -f build/Release/pmon3-exec -a -f build/Release/pmon3-log -a -f completions/pmon3.bash \
	  || { echo "install: nothing built; run make build completions" >&2; exit 2; }
	install -d -m 0755 "$(DESTDIR)$(LIBDIR)/build/Release" "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(SHAREDIR)/hooks" \
	  "$(DESTDIR)$(DOCDIR)" "$(DESTDIR)$(BASHCOMPDIR)" "$(DESTDIR)$(ZSHCOMPDIR)" "$(DESTDIR)$(FISHCOMPDIR)"
	rm -rf "$(DESTDIR)$(LIBDIR)/dist" "$(DESTDIR)$(LIBDIR)/bin" "$(DESTDIR)$(LIBDIR)/node_modules"
	cp -R dist bin "$(DESTDIR)$(LIBDIR)/"
	rm -rf "$(DESTDIR)$(LIBDIR)/dist/test" "$(DESTDIR)$(LIBDIR)/dist/bench"
	install -m 0644 package.json package-lock.json "$(DESTDIR)$(LIBDIR)/"
	install -m 0755 build/Release/pmon3_native.node build/Release/pmon3-exec build/Release/pmon3-log "$(DESTDIR)$(LIBDIR)/build/Release/"
	@# The installed node_modules: a copy of the built one (better-sqlite3 compiled already),
	@# pruned to production dependencies offline, minus better-sqlite3's sources and objects.
	cp -R node_modules "$(DESTDIR)$(LIBDIR)/"
	cd "$(DESTDIR)$(LIBDIR)" && $(NPM) prune --omit=dev --offline --ignore-scripts --no-audit --no-fund --loglevel=error
	cd "$(DESTDIR)$(LIBDIR)/node_modules/better-sqlite3" && rm -rf deps src build/deps build/Release/obj \
	  build/Release/obj.target build/Release/.deps build/Release/sqlite3.a build/Release/test_extension.node
	@# cp does not keep mtimes: give the snapshot's stamp back the node binary's (bin/pmon3-snapshot).
	if [ -f dist/fast/pmon3.blob.node ]; then touch -r dist/fast/pmon3.blob.node "$(DESTDIR)$(LIBDIR)/dist/fast/pmon3.blob.node"; fi
	ln -sfr "$(DESTDIR)$(LIBDIR)/bin/pmon3" "$(DESTDIR)$(BINDIR)/pmon3"
	ln -sfr "$(DESTDIR)$(LIBDIR)/bin/pmond" "$(DESTDIR)$(BINDIR)/pmond"
	install -m 0644 completions/pmon3.bash "$(DESTDIR)$(BASHCOMPDIR)/pmon3"
	install -m 0644 completions/_pmon3 "$(DESTDIR)$(ZSHCOMPDIR)/_pmon3"
	install -m 0644 completions/pmon3.fish "$(DESTDIR)$(FISHCOMPDIR)/pmon3.fish"
	install -m 0755 contrib/hooks/on_restart.sh "$(DESTDIR)$(SHAREDIR)/hooks/on_restart.sh"
	install -m 0644 README.md rpm/config.yaml "$(DESTDIR)$(DOCDIR)/"

uninstall:
	@case "$(LIBDIR)" in */pmon3) ;; *) echo "uninstall: LIBDIR must end in /pmon3" >&2; exit 2;; esac
	rm -f "$(DESTDIR)$(BINDIR)/pmon3" "$(DESTDIR)$(BINDIR)/pmond"
	rm -f "$(DESTDIR)$(BASHCOMPDIR)/pmon3" "$(DESTDIR)$(ZSHCOMPDIR)/_pmon3" "$(DESTDIR)$(FISHCOMPDIR)/pmon3.fish"
	rm -rf "$(DESTDIR)$(LIBDIR)" "$(DESTDIR)$(SHAREDIR)" "$(DESTDIR)$(DOCDIR)"
	@echo "uninstall: kept $(CONFDIR), $(PMON_DATADIR) and $(PMON_LOGDIR) (config, database, logs): remove them by hand to purge"

# The directories pmond writes to, with their modes (also fixes the modes of existing ones).
systemd_permissions:
	install -d -m 0755 "$(DESTDIR)$(SYSCONFDIR)/pmond" "$(DESTDIR)$(CONFDIR)"
	install -d -m 0700 "$(DESTDIR)$(PMON_DATADIR)"
	install -d -m 0755 "$(DESTDIR)$(PMON_LOGDIR)"
	chmod 0700 "$(DESTDIR)$(PMON_DATADIR)"
	chmod 0755 "$(DESTDIR)$(PMON_LOGDIR)" "$(DESTDIR)$(CONFDIR)"

# The app plus the unit (ExecStart pointing at $(BINDIR)/pmond), logrotate, a default config
# unless one exists; enabled and started only when systemd runs here and DESTDIR is empty.
systemd_install: install systemd_permissions
	install -d -m 0755 "$(DESTDIR)$(UNITDIR)" "$(DESTDIR)$(LOGROTATEDIR)"
	sed -e 's#^ExecStart=/usr/bin/pmond#ExecStart=$(BINDIR)/pmond#' -e 's#/usr/share/doc/pmon3#$(DOCDIR)#' \
	  rpm/pmond.service > "$(DESTDIR)$(UNITDIR)/pmond.service.tmp"
	chmod 0644 "$(DESTDIR)$(UNITDIR)/pmond.service.tmp" && mv "$(DESTDIR)$(UNITDIR)/pmond.service.tmp" "$(DESTDIR)$(UNITDIR)/pmond.service"
	sed -e 's#/var/log/pmond/#$(PMON_LOGDIR)/#g' rpm/pmond.logrotate > "$(DESTDIR)$(LOGROTATEDIR)/pmond.tmp"
	chmod 0644 "$(DESTDIR)$(LOGROTATEDIR)/pmond.tmp" && mv "$(DESTDIR)$(LOGROTATEDIR)/pmond.tmp" "$(DESTDIR)$(LOGROTATEDIR)/pmond"
	test -e "$(DESTDIR)$(CONFDIR)/config.yaml" || install -m 0644 rpm/config.yaml "$(DESTDIR)$(CONFDIR)/config.yaml"
	@if $(SYSTEMD_LIVE); then \
	  systemctl daemon-reload && systemctl enable --now pmond; \
	else \
	  echo "systemd_install: pmond not enabled (DESTDIR is set or systemd is not running here); then run: systemctl daemon-reload && systemctl enable --now pmond"; \
	fi

# Stops and disables pmond (with handle_interrupts: true it stops its processes first), removes
# the unit and logrotate file, then uninstalls the app. Config, data and logs are kept.
systemd_uninstall:
	@if $(SYSTEMD_LIVE); then systemctl disable --now pmond || true; fi
	rm -f "$(DESTDIR)$(UNITDIR)/pmond.service" "$(DESTDIR)$(LOGROTATEDIR)/pmond"
	@if $(SYSTEMD_LIVE); then systemctl daemon-reload; fi
	$(MAKE) --no-print-directory uninstall

# rpmbuild/RPMS/<arch>/pmon3-<version>-1.<arch>.rpm, from the built tree (rpm/pmond.spec).
rpm: $(INSTALL_PREREQS)
	rm -rf "$(RPMTOPDIR)"
	mkdir -p "$(RPMTOPDIR)/BUILD" "$(RPMTOPDIR)/BUILDROOT" "$(RPMTOPDIR)/RPMS" "$(RPMTOPDIR)/SOURCES" "$(RPMTOPDIR)/SPECS" "$(RPMTOPDIR)/SRPMS"
	rpmbuild -bb --quiet rpm/pmond.spec --define "_topdir $(RPMTOPDIR)" \
	  --define "pmon3_srcdir $(CURDIR)" --define "pmon3_version $(PMON3_VERSION)"
	@find "$(RPMTOPDIR)/RPMS" -name '*.rpm'
