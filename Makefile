# irohconf: every Go command here runs with the RFC 7250 crypto/tls overlay (see tlsoverlay/).
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Builds that must survive a clean checkout (Cargo target dirs, built images) live here.
IROHCONF_CACHE ?= $(HOME)/.cache/irohconf
export IROHCONF_CACHE

OVERLAY_DIR := $(CURDIR)/build/tls-overlay
OVERLAY     := $(OVERLAY_DIR)/overlay.json
# Ginkgo and go both read GOFLAGS; the overlay path must be absolute (ginkgo runs go in package dirs).
export GOFLAGS := -overlay=$(OVERLAY)
# The generator itself must build with the stock toolchain: it is what makes the overlay.
GO_STOCK := env GOFLAGS= go
GINKGO   := go run github.com/onsi/ginkgo/v2/ginkgo

.PHONY: help
help:
	@echo "make test                  unit tests (Go, Rust), then the suites on this machine"
	@echo "make test-unit             everything but the suites (what CI runs before the suites' shards)"
	@echo "make lint-ci               actionlint on .github/workflows/"
	@echo "make overlay               generate the crypto/tls overlay into build/tls-overlay"
	@echo "make test-tls-std          go test -short crypto/tls under the overlay (Go's tests and the patch's)"
	@echo "make test-firmware         the firmware workspace tests (crypto provider KATs, app, virtual board)"
	@echo "make virtual-board         build/bin/virtual-board (the firmware's application on Linux, console on a pty)"
	@echo "make firmware              the ESP32 image (needs Espressif's Rust toolchain; WIFI_CONFIG=SSID:PASSWORD;"
	@echo "                           CHIP=esp32|esp32s3|esp32c3|esp32c6 PSRAM=none|quad|octal CONSOLE=uart|usb-serial-jtag)"
	@echo "make flash PORT=...        build and flash the ESP32 image, then monitor its console"
	@echo "make test-reports          the report writer's tests, including index.html in headless Chromium"
	@echo "make build                 build/bin/irohconf (the Go peer: keys, tickets, serve, dial)"
	@echo "make fuzz                  fuzz the ticket decoder, FUZZTIME per target (default 30s)"
	@echo "make interop               the interop matrix; the report lands in reports/latest/ (LABELS=... to slice it)"
	@echo "make interop SHARD=k/n     part k of n of the matrix (also hil, hil-virtual); irohconf report merge joins them"
	@echo "make faults                every pair under every network fault profile (LABELS='net:rebind-port' to slice it)"
	@echo "make hil PORT=/dev/ttyUSB0 the board suite on a real board (or BOARD=<profile in fixtures/boards>;"
	@echo "                           FLASH=1 flashes it first, ELF=<image> decodes panics)"
	@echo "make hil-virtual           the board suite on the virtual board"
	@echo "make hil-virtual-rfc2217   the board suite on the virtual board exported by ser2net (RFC 2217)"
	@echo "make upstream              build/bin/iroh-upstream-<version>: upstream iroh 1.4.1 and 1.0.0 (static)"
	@echo "make bench                 benchmarks: Go peer handshake and echo throughput, the in-path relay's cost, dissection"
	@echo "make bench-matrix          every client x server pair side by side, in rotating rounds, beside the"
	@echo "                           machine's limits; reports/bench/latest/ (COMPARE=<earlier run dir>: what"
	@echo "                           moved by > 20%; QUICK=1: a 2-round run of small sizes)"

## ---- the crypto/tls overlay --------------------------------------------------
# It refuses a Go release the patch was not tested with (IROHCONF_OVERLAY_ALLOW_UNTESTED=1 overrides)
# and an overlay made from another toolchain (a changed Go release or GOROOT file): after a Go
# update run `make overlay REGENERATE=1`, then `make test-tls-std`.
.PHONY: overlay
overlay:
	@$(GO_STOCK) run ./tlsoverlay -out $(OVERLAY_DIR) $(if $(REGENERATE),-regenerate)

# Go's own crypto/tls tests, plus the patch's (rawpublickeys_test.go, added by the overlay), on the
# patched package: the patch must not change standard behaviour.
.PHONY: test-tls-std
test-tls-std: overlay
	go vet crypto/tls
	go test -short -count=1 crypto/tls

## ---- tests ----------------------------------------------------------------------
.PHONY: test test-unit
test: test-unit
	$(MAKE) interop
	$(MAKE) hil-virtual

# Everything but the suites (a CI job of its own before the suites' shards).
test-unit: overlay lint-ci test-tls-std test-reports test-firmware virtual-board test-hil-driver upstream
	go vet ./...
	@# hil/ and reports/ ran in their own targets above; the suites run in `make test`.
	go test -count=1 $$(go list ./... | grep -v -e /suites/interop -e /suites/hil -e /hil/ -e /reports)

## ---- CI files: .github/workflows/ checked by actionlint (a Go tool pinned in go.mod) ----------
# actionlint checks `run:` scripts with shellcheck when it is installed (.ci/run installs it).
.PHONY: lint-ci
lint-ci:
	$(GO_STOCK) tool actionlint

## ---- the Go peer: iroh/endpoint, iroh/echo, iroh/contract, irohconf serve and dial --------
# Its tests run in `go test ./...` above. Benchmarks: handshake time and echo throughput, Go to Go
# on loopback (one echo of the named size per iteration; MB/s is payload one way).
.PHONY: bench bench-go-peer bench-wire
bench: bench-go-peer bench-upstream bench-wire
bench-go-peer: overlay
	go test -run '^$$' -bench . -benchmem -count=1 ./iroh/endpoint/

# The in-path relay's cost: a 16 MiB echo between peer processes (the Go peer, upstream iroh)
# direct, through the relay, and through the relay with its capture, side by side in rotating
# rounds, on shared cores and with the relay on a core of its own (docs/wire.md, "Cost");
# dissecting a cell's capture.
bench-wire: overlay build upstream
	go test -run '^$$' -bench . -benchtime 9x ./wire/relay/
	go test -run '^$$' -bench . -benchtime 3x ./wire/dissect/

# The benchmark matrix (bench/): handshake, connection rate, upload, echo, concurrent streams and
# CPU per MB for every client x server pair of the interop matrix, all peers up at once, each
# measure in rounds that sample every pair (and AES-128-GCM, Go's and the firmware provider's, and
# UDP loopback) once in a rotating order. QUICK=1: two rounds of small sizes, to see it work.
COMPARE ?=
QUICK ?=
AEAD_EXAMPLE = $(FIRMWARE_TARGET_DIR)/release/examples/aead_throughput
.PHONY: bench-matrix
bench-matrix: overlay build virtual-board upstream
	cd firmware && CARGO_TARGET_DIR=$(FIRMWARE_TARGET_DIR) nice cargo build --release -p irohconf-fw-crypto --example aead_throughput
	go run ./bench/cmd/bench-matrix -aead-example $(AEAD_EXAMPLE) $(if $(COMPARE),-compare '$(COMPARE)') $(if $(QUICK),-quick)

## ---- reports: the report writer (results.json, junit.xml, summary.md, index.html) ------
# Its browser test needs Chromium (apt-get install -y chromium); IROHCONF_NO_BROWSER=1 skips it.
.PHONY: test-reports
test-reports: overlay
	go test -count=1 ./reports/...

## ---- firmware: the Rust workspace (crypto provider, application, virtual board) ------
# The target dir lives outside the checkout so CI can cache it; nice keeps a shared machine usable.
FIRMWARE_TARGET_DIR := $(IROHCONF_CACHE)/cargo/firmware
# The crypto provider is tested a second time on the portable backends a 32-bit ESP32 runs
# (software AES, GHASH and SHA-256; 32-bit field arithmetic), which x86_64 never selects itself.
FIRMWARE_PORTABLE_CFG := --cfg aes_force_soft --cfg polyval_force_soft --cfg sha2_backend="soft" \
  --cfg curve25519_dalek_bits="32" --cfg curve25519_dalek_backend="serial"
.PHONY: test-firmware
test-firmware:
	cd firmware && CARGO_TARGET_DIR=$(FIRMWARE_TARGET_DIR) nice cargo test --release --workspace
	cd firmware && CARGO_TARGET_DIR=$(FIRMWARE_TARGET_DIR)-portable \
	  RUSTFLAGS='$(FIRMWARE_PORTABLE_CFG)' nice cargo test -p irohconf-fw-crypto

# The virtual board: the application for Linux, a test peer for the hil and interop suites. Built
# in the same release profile as the tests above (firmware/Cargo.toml), so one cold build serves
# both.
.PHONY: virtual-board
virtual-board:
	cd firmware && CARGO_TARGET_DIR=$(FIRMWARE_TARGET_DIR) nice cargo build --release -p irohconf-virtual-board
	@mkdir -p $(BIN_DIR)
	cp $(FIRMWARE_TARGET_DIR)/release/virtual-board $(BIN_DIR)/virtual-board

# The ESP32 binary (firmware/esp32) needs Espressif's Rust toolchain (espup), ldproxy and espflash;
# where they are missing these targets print one line per missing piece and fail. WIFI_CONFIG
# ('SSID:PASSWORD') and the optional IROH_SECRET are read at build time. The board: CHIP (esp32,
# esp32s3, esp32c3, esp32c6), PSRAM (none, quad, octal), CONSOLE (uart, usb-serial-jtag);
# firmware/esp32/board.sh turns them into a target triple and sdkconfig fragments.
ESP32_TARGET_DIR := $(IROHCONF_CACHE)/cargo/firmware-esp32
PORT ?=
CHIP ?= esp32s3
PSRAM ?= none
CONSOLE ?= uart
ESP32_BOARD = eval "$$(./board.sh $(CHIP) $(PSRAM) $(CONSOLE))" && export MCU ESP_IDF_SDKCONFIG_DEFAULTS
.PHONY: firmware flash
firmware:
	@firmware/esp32/toolchain-check.sh build $(CHIP) $(PSRAM) $(CONSOLE)
	cd firmware/esp32 && $(ESP32_BOARD) && \
	  CARGO_TARGET_DIR=$(ESP32_TARGET_DIR) cargo +esp build --release --target "$$TARGET"
	@firmware/esp32/image-size.sh $(ESP32_TARGET_DIR) $(CHIP)

flash:
	@test -n "$(PORT)" || { echo "make flash: set PORT, e.g. make flash PORT=/dev/ttyUSB0" >&2; exit 2; }
	@firmware/esp32/toolchain-check.sh flash $(CHIP) $(PSRAM) $(CONSOLE)
	cd firmware/esp32 && $(ESP32_BOARD) && \
	  CARGO_TARGET_DIR=$(ESP32_TARGET_DIR) ESPFLASH_PORT=$(PORT) cargo +esp run --release --target "$$TARGET"

## ---- irohconf binary, keys and tickets (iroh/key, iroh/ticket, cmd/irohconf) ----------
# Their tests run in `go test ./...` above. The version string comes from git.
BIN_DIR          := $(CURDIR)/build/bin
IROHCONF_VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo unknown)
.PHONY: build
build: overlay
	go build -ldflags '-X github.com/irohconf/irohconf/internal/cli.Version=irohconf-$(IROHCONF_VERSION)' \
	  -o $(BIN_DIR)/irohconf ./cmd/irohconf

# Fuzz the ticket decoder from the corpus in fixtures/tickets/ (a failing input lands in
# iroh/ticket/testdata/fuzz/ and is replayed by every later `go test`).
FUZZTIME ?= 30s
.PHONY: fuzz
fuzz:
	$(GO_STOCK) test ./iroh/ticket/ -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	$(GO_STOCK) test ./iroh/ticket/ -run '^$$' -fuzz '^FuzzFromBytes$$' -fuzztime $(FUZZTIME)

## ---- hil/: the board driver (profiles, serial port, resets, console, espflash, virtual board) --
# Tested on pseudo-terminals replaying fixtures/boot-logs, and against build/bin/virtual-board
# (IROHCONF_REQUIRE_VIRTUAL_BOARD=1: a missing binary fails instead of being reported skipped).
.PHONY: test-hil-driver
test-hil-driver: overlay virtual-board
	IROHCONF_REQUIRE_VIRTUAL_BOARD=1 go test -count=1 ./hil/...

## ---- upstream iroh (containers/): pinned crates.io releases as a peer, in Docker or as a process --
# Static binaries build/bin/iroh-upstream-<version> (containers/upstream/build.sh); the versions
# share one Cargo target dir, $(IROHCONF_CACHE)/cargo/upstream. Images irohconf/upstream:<version>
# are built from them by the tests (FROM scratch, nothing pulled). Tests: `go test ./containers/`.
.PHONY: upstream bench-upstream
upstream:
	containers/upstream/build.sh

# What a matrix cell costs with upstream: image build and check, serve+stop, one dial (Docker and
# process runtimes).
bench-upstream: overlay upstream
	go test -run '^$$' -bench . -benchtime 20x ./containers/

## ---- suites: the interop matrix -------------------------------------------------------
# Cells run in parallel Ginkgo processes (most of a cell's time is spent waiting on the network).
# Workers print one line per finished cell into IROHCONF_PROGRESS, the file behind this recipe's
# stderr, since Ginkgo does not show a passing worker's output. A pair's cells run in order on
# one process (they share the pair's server), so the matrix takes at least its longest pair: one
# process per pair (the interop matrix has 15) lets every pair start at once, and the pairs that
# wait (the idle cells, 35 s each) overlap those that work (suites/framework/matrix.go).
INTEROP_PROCS ?= 16
LABELS        ?=
# SHARD=k/n runs part k of n of the cells (of those LABELS selects), split by the cells' durations
# in the run IROHCONF_SHARD_DURATIONS names (a run folder or its results.json), else by count;
# `irohconf report merge` joins the n reports (docs/ci.md).
SHARD         ?=
# The network fault dimension (suites/cases/faults.go): a 256 KiB echo over each fault profile of
# the cell's relay, labelled net:<profile>. The suites run its quick slice (faults:quick: for every
# server each profile once, the client rotating); `make faults` runs all of it. LABELS narrows
# either (LABELS='net:rebind-port'); IROHCONF_FAULT_SEED repeats a run's fault decisions.
QUICK_FAULTS := !/^net:/ || faults:quick
ALL_FAULTS   := /^net:/
NO_FAULTS    := !/^net:/
# label_filter is the suite's own filter ($1) narrowed by LABELS.
label_filter = $(if $(LABELS),($(1)) && ($(LABELS)),$(1))
# SUITE_RUN runs one suite ($1, with the environment $2, in $3 parallel processes, default
# INTEROP_PROCS, the cells the label filter $4 selects, default the quick slice of the faults) and
# ends with the path of its report page.
define SUITE_RUN
	export IROHCONF_PROGRESS=/proc/$$$$/fd/2 IROHCONF_SHARD='$(SHARD)' $(2); \
	$(GINKGO) -p --procs=$(or $(3),$(INTEROP_PROCS)) --output-interceptor-mode=none --silence-skips --no-color \
	  --label-filter='$(call label_filter,$(or $(4),$(QUICK_FAULTS)))' ./suites/$(1); rc=$$?; \
	echo "report: $$(readlink -f reports/latest)/index.html (every run: $(CURDIR)/reports/index.html)"; exit $$rc
endef

.PHONY: interop
interop: overlay build virtual-board upstream
	@$(call SUITE_RUN,interop)

# The whole fault matrix: every pair under every fault profile (under 10 minutes on 2 cores).
.PHONY: faults
faults: overlay build virtual-board upstream
	@$(call SUITE_RUN,interop,,,$(ALL_FAULTS))

## ---- suites: hardware in the loop ----------------------------------------------------
# make hil PORT=/dev/ttyUSB0     a board on that port, with a default profile (classic reset)
# make hil BOARD=<profile>       a profile from fixtures/boards/ (or a path to one)
# make hil-virtual               the virtual board, as our firmware and as the iroh ESP32 examples'
#                                firmware (what CI runs)
# FLASH=1 flashes each board with espflash (hil/flash) before its first boot: the profile's
# flash.elf, else the image `make firmware` built last; FLASH=path/to/image.elf flashes that one.
# ELF=path/to/image.elf decodes a panic's backtrace in the serial log without flashing (the
# flashed image does that too). A board whose port is missing or busy stops the run before any
# cell: one line, exit 2 (irohconf board check).
BOARD ?=
FLASH ?=
ELF   ?=
, := ,
HIL_FLASH = $(if $(filter 1 yes true,$(FLASH)),profile,$(FLASH))
HIL_BUILT_ELF = $$(ls -t $(ESP32_TARGET_DIR)/*/release/irohconf-fw-esp32 2>/dev/null | head -n1)
.PHONY: hil hil-virtual
hil: overlay build upstream
	@test -n "$(PORT)$(BOARD)" || { echo "make hil: set PORT=/dev/ttyUSB0 or BOARD=<profile in fixtures/boards>" >&2; exit 2; }
	@$(BIN_DIR)/irohconf board check $(if $(BOARD),--board '$(BOARD)',--port '$(PORT)') >/dev/null
	@$(call SUITE_RUN,hil,IROHCONF_PORT='$(PORT)' IROHCONF_BOARD='$(BOARD)' IROHCONF_FLASH='$(HIL_FLASH)' \
	  IROHCONF_ELF='$(ELF)' IROHCONF_FIRMWARE_ELF="$(HIL_BUILT_ELF)",1) # one port: one pair at a time

# The network faults are left to make interop here: its quick slice runs every profile against
# the virtual board already.
hil-virtual: overlay build virtual-board upstream
	@$(call SUITE_RUN,hil,IROHCONF_BOARD=virtual$(,)virtual-example-firmware,,$(NO_FAULTS))

# The board suite on the virtual board as a board on another host: its console exported by
# ser2net as rfc2217://127.0.0.1:<free port>, a serial profile on that URL (hil/virtual/rfc2217.sh).
.PHONY: hil-virtual-rfc2217
hil-virtual-rfc2217: overlay build virtual-board upstream
	@# -o: the prerequisites above are built; the inner make only runs the suite.
	@hil/virtual/rfc2217.sh $(MAKE) --no-print-directory -o overlay -o build -o upstream hil
