#!/usr/bin/env bash
# Checks what `make firmware` (build) or `make flash` (flash) needs for a board (CHIP PSRAM
# CONSOLE, see board.sh), and prints one line for each missing piece. Exits 2 for a board that
# does not exist, 1 if anything is missing.
set -u
what="${1:-build}"
here="$(cd "$(dirname "$0")" && pwd)"
"$here/board.sh" "${2:-esp32s3}" "${3:-none}" "${4:-uart}" >/dev/null || exit 2
missing=0
miss() { echo "firmware: missing: $*" >&2; missing=1; }

if ! command -v rustup >/dev/null 2>&1; then
  miss "rustup (https://rustup.rs), needed to select the esp toolchain"
elif ! rustup toolchain list 2>/dev/null | grep -q '^esp'; then
  miss "the 'esp' Rust toolchain (Xtensa and RISC-V ESP targets): cargo install espup && espup install && . ~/export-esp.sh"
fi
command -v ldproxy >/dev/null 2>&1 || miss "ldproxy (the ESP-IDF linker proxy): cargo install ldproxy"
command -v espflash >/dev/null 2>&1 || miss "espflash (image and flashing tool): cargo install espflash"
command -v git >/dev/null 2>&1 || miss "git (embuild clones ESP-IDF on the first build)"
command -v python3 >/dev/null 2>&1 || miss "python3 with venv (ESP-IDF's tool installer)"
if [ -z "${WIFI_CONFIG:-}" ]; then
  miss "WIFI_CONFIG='SSID:PASSWORD' in the environment (read at build time)"
elif [[ "$WIFI_CONFIG" != *:* ]]; then
  miss "a ':' in WIFI_CONFIG (format SSID:PASSWORD)"
fi
if [ -n "${IROH_SECRET:-}" ] && ! [[ "$IROH_SECRET" =~ ^[0-9a-fA-F]{64}$ ]]; then
  miss "a valid IROH_SECRET: 64 hex digits (or leave it unset for a key generated and kept in NVS)"
fi
if [ "$what" = flash ] && [ -n "${PORT:-}" ] && [ ! -e "$PORT" ]; then
  miss "the serial port $PORT (is the board plugged in?)"
fi
if [ "$missing" -ne 0 ]; then
  echo "firmware: cannot $what the ESP32 image here (see firmware/esp32/README.md)" >&2
  exit 1
fi
