#!/usr/bin/env bash
# Turns a board (CHIP, PSRAM, CONSOLE) into what the ESP32 build needs, as shell assignments:
#   TARGET=<rust target triple> MCU=<chip> ESP_IDF_SDKCONFIG_DEFAULTS=<fragments, ';'-separated>
# or one line saying what is wrong (exit 2). Used by `make firmware|flash CHIP=... PSRAM=...
# CONSOLE=...` and by toolchain-check.sh.
set -u
chip="${1:-esp32s3}" psram="${2:-none}" console="${3:-uart}"
fail() { echo "firmware: $*" >&2; exit 2; }

# Rust targets as the iroh ESP32 examples use them (n0-computer/iroh-esp32-examples): Xtensa
# for the ESP32 and S3 (Espressif's `esp` toolchain), RISC-V for the C3 (RV32IMC) and the C6
# (RV32IMAC, server-esp32-c6: "the port is config only").
case "$chip" in
  esp32) target=xtensa-esp32-espidf ;;
  esp32s3) target=xtensa-esp32s3-espidf ;;
  esp32c3) target=riscv32imc-esp-espidf ;;
  esp32c6) target=riscv32imac-esp-espidf ;;
  *) fail "CHIP=$chip: want esp32, esp32s3, esp32c3 or esp32c6" ;;
esac

# Memory: without PSRAM the examples' cuts, the S3's milder than the floor the smaller chips
# need; with PSRAM the heap grows by it. The C3 and C6 have no PSRAM interface; only the S3
# takes octal PSRAM.
case "$psram" in
  none) [ "$chip" = esp32s3 ] && memory="sdkconfig/no-psram.defaults" || memory="sdkconfig/no-psram-floor.defaults" ;;
  quad) memory="sdkconfig/psram.defaults" ;;
  octal) memory="sdkconfig/psram.defaults;sdkconfig/psram-octal.defaults" ;;
  *) fail "PSRAM=$psram: want none, quad (ESP32-WROVER, S3 N8R2) or octal (S3 N8R8, N16R8)" ;;
esac
case "$chip/$psram" in
  esp32c3/quad | esp32c3/octal | esp32c6/quad | esp32c6/octal) fail "PSRAM=$psram: the $chip has no PSRAM; use PSRAM=none" ;;
  esp32/octal) fail "PSRAM=octal: octal PSRAM is an ESP32-S3 module option; the esp32 takes PSRAM=quad" ;;
esac

case "$console" in
  uart | usb-serial-jtag) ;;
  *) fail "CONSOLE=$console: want uart (a USB-UART bridge) or usb-serial-jtag (the chip's own USB, 303a:1001)" ;;
esac
[ "$chip/$console" = esp32/usb-serial-jtag ] && fail "CONSOLE=usb-serial-jtag: the esp32 has no USB; use CONSOLE=uart"

echo "TARGET=$target MCU=$chip ESP_IDF_SDKCONFIG_DEFAULTS='sdkconfig.defaults;$memory;sdkconfig/console-$console.defaults'"
