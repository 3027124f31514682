#!/usr/bin/env bash
# Turns the release ELF built for CHIP into a flash image and checks it fits the app partition
# of a 4 MiB flash with espflash's default single-app layout (app at 0x10000: 4,128,768 bytes).
# usage: image-size.sh TARGET_DIR CHIP
set -euo pipefail
target_dir="$1"
mcu="${2:-esp32s3}"
here="$(cd "$(dirname "$0")" && pwd)"
eval "$("$here/board.sh" "$mcu")"
target="$TARGET"
elf="$target_dir/$target/release/irohconf-fw-esp32"
image="$target_dir/$target/release/irohconf-fw-esp32.bin"
espflash save-image --chip "$mcu" --flash-size 4mb "$elf" "$image"
size=$(stat -c %s "$image")
capacity=4128768
echo "firmware: $image: $size bytes of $capacity ($((100 * size / capacity))% of a 4 MiB flash's app partition)"
if [ "$size" -gt "$capacity" ]; then
  echo "firmware: the image does not fit a 4 MiB flash" >&2
  exit 1
fi
