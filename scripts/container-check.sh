#!/usr/bin/env bash
# Checks the container image's binary: builds isoremix statically (as Containerfile does), then
# builds the demo with it on an otherwise empty root filesystem as an unprivileged user, and
# compares the ISO with the one the ordinary build writes (same bytes expected).
#
# With a container engine that can run containers (podman or docker), the image is built from
# the static binary and run; otherwise, as root, the same root filesystem is entered with chroot.
# Takes about 10 minutes on 2 cores (a release build of its own, statically linked).
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-unknown-linux-gnu
RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --target "$target" --bin isoremix
cargo build --release --locked --bin isoremix
static="target/$target/release/isoremix"
if ldd "$static" >/dev/null 2>&1 && ! ldd "$static" 2>&1 | grep -q "statically linked"; then
  echo "FAIL: $static is dynamically linked" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
mkdir -p "$rootfs/tmp" "$rootfs/work" "$rootfs/usr/bin" "$rootfs/dev"
chmod 1777 "$rootfs/tmp"
cp "$static" "$rootfs/usr/bin/isoremix"
cp -r profiles "$rootfs/work/"
rm -rf "$rootfs/work/profiles/demo-out"
chown -R 65534:65534 "$rootfs/work" 2>/dev/null || chmod -R a+rwX "$rootfs/work"

target/release/isoremix build profiles/demo.toml -o "$work/host.iso"

ran=""
for engine in podman docker; do
  command -v "$engine" >/dev/null || continue
  sed -n '/^FROM scratch/,$p' Containerfile | sed 's#--from=build /rootfs/#rootfs/#' >"$work/Containerfile"
  mkdir -p "$work/ctx" && mv "$rootfs" "$work/ctx/rootfs" && mv "$work/Containerfile" "$work/ctx/"
  if "$engine" build -q -t isoremix-check "$work/ctx" >/dev/null &&
     "$engine" run --rm -v "$work/ctx/rootfs/work:/work" isoremix-check \
       build profiles/demo.toml -o out/demo.iso; then
    ran="$engine"
  fi
  mv "$work/ctx/rootfs" "$rootfs"
  [ -n "$ran" ] && break
  echo "note: $engine cannot run containers here; trying chroot" >&2
done
if [ -z "$ran" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "SKIPPED: no container engine runs containers here, and chroot needs root" >&2
    exit 2
  fi
  # What a container runtime provides in /dev.
  mknod -m 444 "$rootfs/dev/random" c 1 8
  mknod -m 444 "$rootfs/dev/urandom" c 1 9
  chroot --userspec=65534:65534 "$rootfs" /usr/bin/isoremix \
    build /work/profiles/demo.toml -o /work/out/demo.iso
  ran=chroot
fi

ours=$(sha256sum <"$rootfs/work/out/demo.iso")
theirs=$(sha256sum <"$work/host.iso")
if [ "$ours" != "$theirs" ]; then
  echo "FAIL: the static binary ($ran) built a different demo ISO" >&2
  exit 1
fi
echo "ok: static binary ($ran, empty root, uid 65534) builds the demo byte for byte as the host build"
