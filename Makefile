# pmon3 — build, test, demo, install, package.
# Every target works from a fresh clone; install targets honour PREFIX and DESTDIR.

PREFIX   ?= /usr/local
DESTDIR  ?=
LIBDIR   ?= $(PREFIX)/lib/pmon3
BINDIR   ?= $(PREFIX)/bin
NODE     ?= node
NPM      ?= npm
DEMO_DIR ?= $(CURDIR)/.demo

.PHONY: all build test test-unit test-e2e demo demo-stop clean deps

all: build

# Install dependencies only when missing (npm ci builds better-sqlite3 and the peercred addon).
node_modules/.package-lock.json: package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	@touch $@

deps: node_modules/.package-lock.json

build: deps
	$(NODE) node_modules/typescript/bin/tsc -p tsconfig.json
	@chmod +x bin/pmon3 bin/pmond

# Every test: unit, e2e, reliability, security, packaging. Fixtures are plain scripts in test/fixtures.
test: build
	$(NODE) --test --test-concurrency=2 $$(find dist/test -name '*.test.js' | sort)

test-unit: build
	$(NODE) --test $$(find dist/test/unit -name '*.test.js' | sort)

test-e2e: build
	$(NODE) --test $$(find dist/test/e2e -name '*.test.js' | sort)

# Demo: an unprivileged-capable pmond with embedded defaults, a sample app, and `pmon3 ls`.
demo: build
	@bash contrib/demo/demo.sh start

demo-stop:
	@bash contrib/demo/demo.sh stop

clean:
	rm -rf dist build .demo
