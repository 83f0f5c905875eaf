#!/usr/bin/env bash
# Benchmarks isoremix side by side with the tools people use today, in one
# run, on this machine. Not a test: it prints figures to compare.
#
#   scripts/bench.sh [WORKDIR]     (default: a temporary folder)
#
# Needs: cargo, GNU time (/usr/bin/time), and for the comparisons bzip2,
# lbzip2, cpio, createrepo_c, xorriso, genisoimage, isohybrid (syslinux-utils),
# dpkg-deb and apt-get (a Debian kernel package gives real modules).
#
# BENCH_CACHE (default target/bench-cache) keeps the realistic install.img
# between runs; BENCH_SKIP_SERIAL=1 skips the slow bunzip2 + bzip2 -9 pair;
# BENCH_BIN runs another isoremix binary (no release build then);
# BENCH_SOURCE_SIZE changes the 600 MB source size.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d)}
mkdir -p "$work"
if [ -z "${BENCH_BIN:-}" ]; then
  cargo build --release --quiet
fi
bin=${BENCH_BIN:-$PWD/target/release/isoremix}
size=${BENCH_SOURCE_SIZE:-600000000}
export SOURCE_DATE_EPOCH=1700000000

# Runs a command; prints "<seconds> <peak RSS KiB>" (a failure stops the script).
secs() {
  if ! /usr/bin/time -f "%e %M" -o "$work/.time" "$@" >/dev/null 2>"$work/.err"; then
    echo "FAILED: $*" >&2
    cat "$work/.err" >&2
    exit 1
  fi
  tail -n1 "$work/.time"
}

echo "== workdir: $work"
echo "== making a 600 MB sample source"
"$bin" sample --force "$work/source.iso" --size "$size" >/dev/null
ls -l "$work/source.iso" | awk '{print "source size:", $5}'
sync

cat > "$work/iso-edit.toml" <<TOML
[source]
iso = "source.iso"
[output]
iso = "out-iso-edit.iso"
[iso]
remove = ["/EULA"]
[[iso.files]]
src = "README.site"
dest = "/README.site"
TOML
echo "site readme" > "$work/README.site"

echo "== ISO-only edit vs cp of the same ISO"
read -r cp_s cp_rss < <(secs cp "$work/source.iso" "$work/copy.iso")
read -r ir_s ir_rss < <(secs "$bin" build --force "$work/iso-edit.toml")
echo "cp:       ${cp_s}s  peak RSS ${cp_rss} KiB"
echo "isoremix: ${ir_s}s  peak RSS ${ir_rss} KiB"
awk -v a="$ir_s" -v b="$cp_s" 'BEGIN { if (b > 0) printf "ratio isoremix/cp: %.2f (target <= 1.3)\n", a / b }'
echo "peak RSS target: <= 150000 KiB"
rm -f "$work/copy.iso" "$work/out-iso-edit.iso"

echo "== verify vs cat of the same ISO (page cache hot for both)"
cat "$work/source.iso" > /dev/null
read -r cat_s cat_rss < <(secs cat "$work/source.iso")
read -r vf_s vf_rss < <(secs "$bin" verify "$work/source.iso")
echo "cat:             ${cat_s}s  peak RSS ${cat_rss} KiB"
echo "isoremix verify: ${vf_s}s  peak RSS ${vf_rss} KiB"
awk -v a="$vf_s" -v b="$cat_s" 'BEGIN { if (b > 0) printf "ratio verify/cat: %.2f (target <= 2)\n", a / b }'
echo "peak RSS target: <= 150000 KiB"

# ---------------------------------------------------------------------------
# install.img benchmarks, on a source whose install.img is realistic: about
# 640 MB of real binaries (a Debian kernel's modules, /usr/bin, shared
# libraries) in one newc archive, bzip2 -9, like XCP-ng's.
cache=${BENCH_CACHE:-$PWD/target/bench-cache}
mkdir -p "$cache"
img=$cache/install.img
budget=$((640 * 1000 * 1000))
if [ ! -s "$img" ]; then
  echo "== building a realistic install.img in $cache (once)"
  deb=$(ls "$cache"/linux-image-6.1.0-*-amd64_*.deb 2>/dev/null | head -n1 || true)
  if [ -z "$deb" ]; then
    pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' | cut -d' ' -f1 | sort -V | tail -n1)
    (cd "$cache" && apt-get download "$pkg")
    deb=$(ls "$cache"/linux-image-6.1.0-*-amd64_*.deb | head -n1)
  fi
  root=$cache/root
  rm -rf "$root"
  mkdir -p "$root"
  dpkg-deb -x "$deb" "$root"
  # The installer's own files: real Python sources under the XCP-ng path.
  mkdir -p "$root/opt/xensource/installer" "$root/etc"
  cp /usr/lib/python3.11/tarfile.py "$root/opt/xensource/installer/constants.py"
  cp /usr/lib/python3.11/argparse.py "$root/opt/xensource/installer/init"
  used=$(du -sb "$root" | cut -f1)
  # Top up with real binaries, in a stable order, up to the budget.
  find /usr/bin /usr/lib/x86_64-linux-gnu -type f -printf '%s %p\n' | LC_ALL=C sort -k2 |
    awk -v left=$((budget - used)) '{ if (left - $1 >= 0) { left -= $1; print $2 } }' |
    while read -r f; do mkdir -p "$root$(dirname "$f")"; cp -p "$f" "$root$f"; done
  (cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet) > "$cache/install.cpio"
  bzip2 -9 < "$cache/install.cpio" > "$img.tmp"
  mv "$img.tmp" "$img"
  rm -rf "$root" "$cache/install.cpio"
fi
img_size=$(stat -c %s "$img")
echo "install.img: $img_size bytes stored, $(bzip2 -dc "$img" | wc -c) bytes of cpio data"

echo "== making a $size-byte source with that install.img"
"$bin" sample --force "$work/base.iso" --size $((size - img_size)) >/dev/null
cat > "$work/swap.toml" <<TOML
[source]
iso = "base.iso"
[output]
iso = "source.iso"
[[iso.files]]
src = "$img"
dest = "/install.img"
TOML
"$bin" build --force "$work/swap.toml" >/dev/null
rm -f "$work/base.iso"
ls -l "$work/source.iso" | awk '{print "source size:", $5}'

# Inputs of the edits.
echo "site=bench" > "$work/site.conf"
mkdir -p "$work/patch/a/opt/xensource/installer" "$work/patch/b/opt/xensource/installer"
cp /usr/lib/python3.11/tarfile.py "$work/patch/a/opt/xensource/installer/constants.py"
sed '0,/^import /s//import os  # site patch\nimport /' "$work/patch/a/opt/xensource/installer/constants.py" \
  > "$work/patch/b/opt/xensource/installer/constants.py"
(cd "$work/patch" && diff -u a/opt/xensource/installer/constants.py b/opt/xensource/installer/constants.py > ../site.patch || true)

profile() { # NAME, then the [installer] lines
  local name=$1; shift
  { printf '[source]\niso = "source.iso"\n[output]\niso = "out-%s.iso"\n' "$name"; printf '%s\n' "$@"; } > "$work/$name.toml"
}
profile overlay '[[installer.files]]' 'src = "site.conf"' 'dest = "/etc/site.conf"'
profile patch '[installer]' 'patches = ["site.patch"]'
profile removal '[installer]' 'remove = ["/opt/xensource/installer/init"]'
profile repack '[installer]' 'mode = "repack"'

# The manual way: unpack the ISO and the image, edit, pack both again.
cat > "$work/manual.sh" <<SH
set -euo pipefail
d="$work/manual"
rm -rf "\$d"; mkdir -p "\$d/iso" "\$d/root"
xorriso -osirrox on -indev "$work/source.iso" -extract / "\$d/iso" 2>/dev/null
chmod -R u+w "\$d/iso"
# XCP-ng ships a real isolinux.bin; isohybrid needs one.
cp /usr/lib/ISOLINUX/isolinux.bin "\$d/iso/boot/isolinux/isolinux.bin"
(cd "\$d/root" && bunzip2 < "\$d/iso/install.img" | cpio -idm --quiet)
cp "$work/site.conf" "\$d/root/etc/site.conf"
(cd "\$d/root" && find . | cpio -o -H newc --quiet | bzip2 -9 > "\$d/iso/install.img")
genisoimage -quiet -r -J --joliet-long -V "XCP-ng 8.3" -c boot/isolinux/boot.cat \
  -b boot/isolinux/isolinux.bin -no-emul-boot -boot-load-size 4 -boot-info-table \
  -eltorito-alt-boot -e boot/efiboot.img -no-emul-boot -o "\$d/out.iso" "\$d/iso"
isohybrid --uefi "\$d/out.iso"
rm -rf "\$d"
SH

row() { printf '%-44s %8s s %10s KiB\n' "$1" "$2" "$3"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
sync
echo "== load before the install.img runs: $(uptime)"

echo
echo "== (a) one file dropped into install.img (overlay)"
read -r cp_s cp_rss < <(secs cp "$work/source.iso" "$work/copy.iso")
rm -f "$work/copy.iso"
read -r ov_s ov_rss < <(secs "$bin" build --force "$work/overlay.toml")
read -r man_s man_rss < <(secs bash "$work/manual.sh")
row "cp of the ISO" "$cp_s" "$cp_rss"
row "isoremix build (overlay)" "$ov_s" "$ov_rss"
row "manual: bunzip2|cpio, cpio|bzip2 -9, mkisofs" "$man_s" "$man_rss"
echo "ratio isoremix/cp: $(ratio "$ov_s" "$cp_s") (target <= 1.3); manual/isoremix: $(ratio "$man_s" "$ov_s")"

# Patches and removals are spliced: only the bzip2 blocks holding the changed
# entries are decoded and encoded again. "cold" runs with an empty index cache
# (one decode of install.img on all cores builds the index), "cached" with the
# index the cold run left.
bench_cache=$work/index-cache
echo
echo "== (b) patch of one installer file and (c) removal of one, spliced"
read -r hot_s hot_rss < <(secs cp "$work/source.iso" "$work/copy.iso")
rm -f "$work/copy.iso"
read -r lbd_s lbd_rss < <(secs sh -c "lbzip2 -d -c '$img' > /dev/null")
row "cp of the ISO (hot)" "$hot_s" "$hot_rss"
row "lbzip2 -d of install.img (all cores)" "$lbd_s" "$lbd_rss"
for edit in patch removal; do
  rm -rf "$bench_cache"
  read -r cold_s cold_rss < <(secs env XDG_CACHE_HOME="$bench_cache" "$bin" build --force "$work/$edit.toml")
  read -r warm_s warm_rss < <(secs env XDG_CACHE_HOME="$bench_cache" "$bin" build --force "$work/$edit.toml")
  row "isoremix build ($edit, cold)" "$cold_s" "$cold_rss"
  row "isoremix build ($edit, index cached)" "$warm_s" "$warm_rss"
  echo "$edit: cached/cp $(ratio "$warm_s" "$hot_s") (target <= 1.3); cold/(cp + lbzip2 -d) $(ratio "$cold_s" "$(awk -v a="$hot_s" -v b="$lbd_s" 'BEGIN { print a + b }')") (target <= 1)"
  eval "${edit}_s=\$warm_s ${edit}_rss=\$warm_rss ${edit}_cold_rss=\$cold_rss"
done
pa_rss="$patch_rss/$patch_cold_rss, removal $removal_rss/$removal_cold_rss"
rm -rf "$bench_cache"

echo
echo "== (d) forced repack"
read -r rp_s rp_rss < <(secs "$bin" build --force "$work/repack.toml")
read -r ld_s ld_rss < <(secs sh -c "lbzip2 -d -c '$img' > '$work/lb.cpio'")
read -r lc_s lc_rss < <(secs sh -c "lbzip2 -9 -c '$work/lb.cpio' > '$work/lb.bz2'")
rm -f "$work/lb.bz2"
row "isoremix build (mode = repack)" "$rp_s" "$rp_rss"
row "lbzip2 -d" "$ld_s" "$ld_rss"
row "lbzip2 -9" "$lc_s" "$lc_rss"
lb_sum=$(awk -v a="$ld_s" -v b="$lc_s" 'BEGIN { print a + b }')
row "lbzip2 pair" "$lb_sum" "-"
if [ "${BENCH_SKIP_SERIAL:-0}" != 1 ]; then
  read -r bd_s bd_rss < <(secs sh -c "bunzip2 -c '$img' > /dev/null")
  read -r bc_s bc_rss < <(secs sh -c "bzip2 -9 -c '$work/lb.cpio' > /dev/null")
  row "bunzip2" "$bd_s" "$bd_rss"
  row "bzip2 -9" "$bc_s" "$bc_rss"
fi
rm -f "$work/lb.cpio"
echo "ratio isoremix/lbzip2 pair: $(ratio "$rp_s" "$lb_sum") (target <= 0.5)"
echo
echo "peak RSS target: <= 150000 KiB (isoremix: overlay $ov_rss, patch cached/cold $pa_rss, repack $rp_rss)"
echo "== load after: $(uptime)"
rm -f "$work"/out-*.iso

echo "== repodata: 1,000 generated RPMs, isoremix vs createrepo_c"
# Three figures on the same 1,004 packages (the sample's four plus 1,000 small generated ones):
#  - createrepo_c from scratch on the extracted tree (no sqlite, as isoremix writes none);
#  - isoremix build from a source without repodata (every package read and hashed), adding one;
#  - isoremix build re-run on its own output with nothing changed (every record reused).
"$bin" sample --force "$work/bulk.iso" --packages 1000 >/dev/null
rm -rf "$work/bulk-tree"
xorriso -osirrox on -indev "$work/bulk.iso" -extract / "$work/bulk-tree" >/dev/null 2>&1
chmod -R u+w "$work/bulk-tree"
rm -rf "$work/bulk-tree/repodata"
xorriso -as mkisofs -quiet -r -J --joliet-long -V "XCP-ng 8.3" -c boot/isolinux/boot.cat \
    -b boot/isolinux/isolinux.bin -no-emul-boot -boot-load-size 4 -boot-info-table \
    -eltorito-alt-boot -e boot/efiboot.img -no-emul-boot \
    -o "$work/bulk-norepo.iso" "$work/bulk-tree"
mkdir -p "$work/rpms"
cp profiles/demo/rpms/*.rpm "$work/rpms/"
cat > "$work/repo-scratch.toml" <<TOML
[source]
iso = "bulk-norepo.iso"
[output]
iso = "out-repo-scratch.iso"
[packages]
add = ["rpms/*.rpm"]
TOML
cat > "$work/repo-rerun.toml" <<TOML
[source]
iso = "out-repo-scratch.iso"
[output]
iso = "out-repo-rerun.iso"
[packages]
add = ["rpms/*.rpm"]
TOML
read -r cr_s cr_rss < <(secs createrepo_c -q --no-database "$work/bulk-tree")
read -r sc_s sc_rss < <(secs "$bin" build --force "$work/repo-scratch.toml")
read -r re_s re_rss < <(secs "$bin" build --force "$work/repo-rerun.toml")
echo "createrepo_c (from scratch):          ${cr_s}s  peak RSS ${cr_rss} KiB"
echo "isoremix build (no source repodata):  ${sc_s}s  peak RSS ${sc_rss} KiB  (whole build, ISO written)"
echo "isoremix build re-run (all reused):   ${re_s}s  peak RSS ${re_rss} KiB  (whole build, ISO written)"
awk -v a="$sc_s" -v b="$cr_s" 'BEGIN { if (b > 0) printf "ratio isoremix/createrepo_c: %.2f (target <= 1)\n", a / b }'
awk -v a="$re_s" -v b="$cr_s" 'BEGIN { if (b > 0) printf "ratio re-run/createrepo_c: %.2f (target <= 0.1)\n", a / b }'
rm -rf "$work/bulk-tree" "$work/out-repo-scratch.iso" "$work/out-repo-rerun.iso"

echo "== repodata step alone: 1,000 generated RPMs, isoremix vs createrepo_c"
cargo bench --quiet --bench repodata

# ---------------------------------------------------------------------------
# Hostile inputs: what the worst inputs of tests/hostile_costs.rs cost (menus
# of 20,000 entries, a 2,040-deep or 100,000-entry install.img, repodata that
# decompresses to half a gigabyte, FIFOs as inputs). The test measures each
# run with GNU time and prints one FIGURE line per command; run one at a time
# so the figures are not shared with other runs.
echo "== hostile inputs: time and peak RSS per command (release build)"
cargo test --release --quiet --test hostile_costs -- --nocapture --test-threads=1 2>/dev/null \
  | sed -n 's/^FIGURE /  /p'
