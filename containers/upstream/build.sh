#!/usr/bin/env bash
# Builds the upstream iroh peer for each pinned version (a vX.Y.Z/ folder here, each with its own
# Cargo.lock) into build/bin/iroh-upstream-X.Y.Z: statically linked, so that an image FROM scratch
# holding only the binary runs it, and so does the host.
#
#   containers/upstream/build.sh [VERSION...]      (default: every pinned version)
#
# The versions share one Cargo target dir under $IROHCONF_CACHE: most dependencies are the same
# crates at the same versions, so the second version compiles only what differs.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="${IROHCONF_CACHE:-$HOME/.cache/irohconf}"
target_dir="$cache/cargo/upstream"
bin_dir="$root/build/bin"
# glibc's static libc is in every Debian toolchain; musl's target is not installed by default.
triple="$(rustc -vV | sed -n 's/^host: //p')"

if [ "$#" -eq 0 ]; then
	set -- $(cd "$here" && ls -d v*/ | sed 's|^v||; s|/$||')
fi

mkdir -p "$target_dir" "$bin_dir"
for version in "$@"; do
	manifest="$here/v$version/Cargo.toml"
	if [ ! -f "$manifest" ]; then
		echo "build.sh: no pinned version $version (no $manifest)" >&2
		exit 2
	fi
	# One build at a time per target dir: the versions' binaries share an output path.
	(
		flock 9
		RUSTFLAGS="-C target-feature=+crt-static" CARGO_TARGET_DIR="$target_dir" \
			nice cargo build --locked --release --quiet --target "$triple" --manifest-path "$manifest"
		built="$target_dir/$triple/release/iroh-upstream"
		out="$bin_dir/iroh-upstream-$version"
		tmp="$(mktemp "$out.XXXXXX")"
		if command -v strip >/dev/null; then strip -o "$tmp" "$built"; else cp "$built" "$tmp"; fi
		chmod 0755 "$tmp"
		# Replace only when the content changed, so timestamps (and image labels) stay put.
		if ! "$tmp" version | grep -q "\"version\":\"iroh $version\""; then
			echo "build.sh: $built does not report iroh $version: $("$tmp" version)" >&2
			rm "$tmp"
			exit 1
		fi
		if cmp -s "$tmp" "$out"; then rm "$tmp"; else mv "$tmp" "$out"; fi
	) 9>"$target_dir/.build.lock"
	echo "build/bin/iroh-upstream-$version: $("$bin_dir/iroh-upstream-$version" version)"
done
