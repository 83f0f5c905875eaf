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
# BENCH_SOURCE_SIZE changes the 600 MB source size; BENCH_REFLINK_DIR (a folder on XFS
# or btrfs) adds the ISO-only edit where unchanged data is shared, beside cp --reflink.
set -euo pipefail
# EPOCHREALTIME and awk agree on the decimal point.
export LC_ALL=C
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d)}
mkdir -p "$work"
if [ -z "${BENCH_BIN:-}" ]; then
  cargo build --release --quiet
fi
bin=${BENCH_BIN:-$PWD/target/release/isoremix}
size=${BENCH_SOURCE_SIZE:-600000000}
export SOURCE_DATE_EPOCH=1700000000

# Runs a command; prints "<seconds> <peak RSS KiB>" (a failure stops the script). The
# seconds are wall time to the millisecond, from bash's clock around GNU time (GNU time's
# own figure moves in 10 ms steps, too coarse for the 50 to 150 ms runs of cat and verify);
# the peak RSS is GNU time's.
secs() {
  local start end
  start=$EPOCHREALTIME
  if ! /usr/bin/time -f "%M" -o "$work/.time" "$@" >/dev/null 2>"$work/.err"; then
    echo "FAILED: $*" >&2
    cat "$work/.err" >&2
    exit 1
  fi
  end=$EPOCHREALTIME
  awk -v a="$start" -v b="$end" -v rss="$(tail -n1 "$work/.time")" \
    'BEGIN { printf "%.3f %s\n", b - a, rss }'
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

# Drops FILEs from the page cache, without root: each is synced, then
# POSIX_FADV_DONTNEED. The next read of it comes from the disk ("cold").
drop_cache() {
  python3 -c '
import os, sys
for path in sys.argv[1:]:
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)
' "$@"
}

# Runs a command that prints "<seconds> <peak RSS KiB>" 3 times (BEFORE, if
# set, is eval-ed before each run; AFTER after each); prints the median line.
median3_of() {
  local i
  for i in 1 2 3; do
    eval "${BEFORE:-:}"
    "$@"
    eval "${AFTER:-:}"
  done | sort -n | sed -n 2p
}
# The median of 3 timed runs of a command (see secs).
median3() { median3_of secs "$@"; }

# Prints A/B with two decimals and the target: "<ratio> (target <= T)".
vs() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { if (b > 0) printf "%.2f (target <= %s)\n", a / b, t; else print "n/a" }'; }

# The least time a re-pack (decode + encode at level 9) and a verify (copy out of the page
# cache + SHA-256 of the same bytes) can take on this machine, with the code isoremix runs,
# each part alone, in memory, on every core: `cargo bench --bench floors` on ISO. `floor NAME`
# then prints one figure in seconds (read, sha256, bzip2-decode, bzip2-encode, bzip2-pair).
run_floors() {
  floors=$(ISOREMIX_FLOOR_ISO="$1" cargo bench --quiet --bench floors 2>/dev/null)
  echo "$floors"
}
floor() { awk -v k="$1" '$1 == "floor" && $2 == k { print $3 }' <<<"$floors"; }

echo "== ISO-only edit vs cp and xorriso of the same ISO (median of 3)"
# xorriso's way: load the source's tree, replay its boot setup, edit, write a new ISO.
cat > "$work/xorriso-edit.sh" <<SH
exec xorriso -indev "$work/source.iso" -outdev "$work/out-xorriso.iso" -boot_image any replay \\
  -rm /EULA -- -map "$work/README.site" /README.site -commit
SH
cat "$work/source.iso" > /dev/null
rm_outs='rm -f "$work/copy.iso" "$work/out-iso-edit.iso" "$work/out-xorriso.iso"'
AFTER=$rm_outs
read -r cp_s cp_rss < <(median3 cp "$work/source.iso" "$work/copy.iso")
read -r ir_s ir_rss < <(median3 "$bin" build --force "$work/iso-edit.toml")
read -r xo_s xo_rss < <(median3 bash "$work/xorriso-edit.sh")
# Cold: the source's pages dropped before each run (the outputs are removed after each).
BEFORE='drop_cache "$work/source.iso"'
read -r cpc_s cpc_rss < <(median3 cp "$work/source.iso" "$work/copy.iso")
read -r irc_s irc_rss < <(median3 "$bin" build --force "$work/iso-edit.toml")
unset BEFORE AFTER
echo "hot:  cp ${cp_s}s (${cp_rss} KiB)  isoremix ${ir_s}s (${ir_rss} KiB)  xorriso replay ${xo_s}s (${xo_rss} KiB)"
echo "cold: cp ${cpc_s}s (${cpc_rss} KiB)  isoremix ${irc_s}s (${irc_rss} KiB)"
echo "ratio isoremix/cp hot:  $(vs "$ir_s" "$cp_s" 1.1)"
echo "ratio isoremix/cp cold: $(vs "$irc_s" "$cpc_s" 1.0)"
echo "ratio isoremix/xorriso: $(vs "$ir_s" "$xo_s" 1)"
echo "peak RSS target: <= 150000 KiB"
eval "$rm_outs"

echo "== verify vs cat of the same ISO (median of 3; hot: page cache warm for both; cold: the ISO dropped from it before each run)"
cat "$work/source.iso" > /dev/null
read -r cat_s cat_rss < <(median3 cat "$work/source.iso")
read -r vf_s vf_rss < <(median3 "$bin" verify "$work/source.iso")
BEFORE='drop_cache "$work/source.iso"'
read -r catc_s catc_rss < <(median3 cat "$work/source.iso")
read -r vfc_s vfc_rss < <(median3 "$bin" verify "$work/source.iso")
unset BEFORE
echo "hot:  cat ${cat_s}s (${cat_rss} KiB)  isoremix verify ${vf_s}s (${vf_rss} KiB)"
echo "cold: cat ${catc_s}s (${catc_rss} KiB)  isoremix verify ${vfc_s}s (${vfc_rss} KiB)"
echo "ratio verify/cat hot:  $(vs "$vf_s" "$cat_s" 2)"
echo "ratio verify/cat cold: $(vs "$vfc_s" "$catc_s" 2)"
run_floors "$work/source.iso"
sample_floor=$(awk -v a="$(floor read)" -v b="$(floor sha256)" 'BEGIN { print a + b }')
awk -v f="$sample_floor" -v c="$cat_s" -v v="$vf_s" \
  'BEGIN { printf "verify floor (read + sha256 alone): %ss = %.2f x cat; verify hot/floor %.2f\n", f, f / c, v / f }'
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
# Every timed run writes a new file, as cp does: the outputs are removed (and
# the page cache written back) after each run, median of 3.
AFTER='rm -f "$work/copy.iso" "$work"/out-*.iso; sync'
read -r hot_s hot_rss < <(median3 cp "$work/source.iso" "$work/copy.iso")
read -r same_s same_rss < <(median3 "$bin" build --force "$work/iso-edit.toml")
unset AFTER
read -r lbd_s lbd_rss < <(secs sh -c "lbzip2 -d -c '$img' > /dev/null")
row "cp of the ISO (hot)" "$hot_s" "$hot_rss"
row "isoremix build (ISO-only edit, same source)" "$same_s" "$same_rss"
row "lbzip2 -d of install.img (all cores)" "$lbd_s" "$lbd_rss"
for edit in patch removal; do
  rm -rf "$bench_cache"
  read -r cold_s cold_rss < <(secs env XDG_CACHE_HOME="$bench_cache" "$bin" build --force "$work/$edit.toml")
  rm -f "$work"/out-*.iso; sync
  AFTER='rm -f "$work"/out-*.iso; sync'
  read -r warm_s warm_rss < <(median3 env XDG_CACHE_HOME="$bench_cache" "$bin" build --force "$work/$edit.toml")
  unset AFTER
  row "isoremix build ($edit, cold)" "$cold_s" "$cold_rss"
  row "isoremix build ($edit, index cached)" "$warm_s" "$warm_rss"
  echo "$edit: cached/cp $(ratio "$warm_s" "$hot_s") (target <= 1.3); cached - ISO-only edit $(awk -v a="$warm_s" -v b="$same_s" 'BEGIN { printf "%.2f", a - b }') s (the splice itself); cold/(cp + lbzip2 -d) $(ratio "$cold_s" "$(awk -v a="$hot_s" -v b="$lbd_s" 'BEGIN { print a + b }')") (target <= 1)"
  eval "${edit}_s=\$warm_s ${edit}_rss=\$warm_rss ${edit}_cold_rss=\$cold_rss"
done
pa_rss="$patch_rss/$patch_cold_rss, removal $removal_rss/$removal_cold_rss"
rm -rf "$bench_cache"

echo
echo "== floors of this source (cargo bench --bench floors)"
run_floors "$work/source.iso"
codec_floor=$(awk -v a="$(floor bzip2-decode)" -v b="$(floor bzip2-encode)" 'BEGIN { print a + b }')
verify_floor=$(awk -v a="$(floor read)" -v b="$(floor sha256)" 'BEGIN { print a + b }')

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
echo "codec floor (decode + encode alone): ${codec_floor}s = $(ratio "$codec_floor" "$lb_sum") x lbzip2 pair; isoremix/floor $(ratio "$rp_s" "$codec_floor")"

echo
echo "== (e) verify of this source: install.img decoded (first run), then remembered per content (median of 3, page cache hot)"
verify_cache=$work/verify-cache
cat "$work/source.iso" > /dev/null
read -r vcat_s vcat_rss < <(median3 cat "$work/source.iso")
BEFORE='rm -rf "$verify_cache"'
read -r vfirst_s vfirst_rss < <(median3 env XDG_CACHE_HOME="$verify_cache" "$bin" verify "$work/source.iso")
unset BEFORE
read -r vmemo_s vmemo_rss < <(median3 env XDG_CACHE_HOME="$verify_cache" "$bin" verify "$work/source.iso")
rm -rf "$verify_cache"
row "cat of the ISO" "$vcat_s" "$vcat_rss"
row "isoremix verify (first run)" "$vfirst_s" "$vfirst_rss"
row "isoremix verify (install.img remembered)" "$vmemo_s" "$vmemo_rss"
echo "verify/cat: remembered $(ratio "$vmemo_s" "$vcat_s") (target <= 2); first/(cat + lbzip2 -d) $(ratio "$vfirst_s" "$(awk -v a="$vcat_s" -v b="$lbd_s" 'BEGIN { print a + b }')")"
echo "verify floor (read + sha256 alone): ${verify_floor}s = $(ratio "$verify_floor" "$vcat_s") x cat; remembered/floor $(ratio "$vmemo_s" "$verify_floor")"

echo
echo "== (f) peak memory on a big machine: the same runs with ISOREMIX_THREADS=64 (as many threads"
echo "   as 64 cores would give; the work caps its own), page cache hot"
many_cache=$work/many-cache
rm -rf "$many_cache"
read -r mrp_s mrp_rss < <(secs env ISOREMIX_THREADS=64 "$bin" build --force "$work/repack.toml")
read -r mpa_s mpa_rss < <(secs env ISOREMIX_THREADS=64 XDG_CACHE_HOME="$many_cache" "$bin" build --force "$work/patch.toml")
rm -rf "$many_cache"
read -r mvf_s mvf_rss < <(secs env ISOREMIX_THREADS=64 XDG_CACHE_HOME="$many_cache" "$bin" verify "$work/source.iso")
rm -rf "$many_cache"
row "isoremix build (mode = repack), 64 threads" "$mrp_s" "$mrp_rss"
row "isoremix build (patch, first), 64 threads" "$mpa_s" "$mpa_rss"
row "isoremix verify (first run), 64 threads" "$mvf_s" "$mvf_rss"

echo
echo "peak RSS target: <= 150000 KiB (isoremix: overlay $ov_rss, patch cached/cold $pa_rss, repack $rp_rss, verify $vfirst_rss/$vmemo_rss; 64 threads: repack $mrp_rss, patch $mpa_rss, verify $mvf_rss)"
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
# The one package added: the demo's site-tools, built from a plain file by the profile.
printf '#!/bin/sh\necho site tool\n' >"$work/site-tool"
site_tools='[[packages.build]]
name = "site-tools"
version = "1.0"
summary = "Site tools"
license = "MIT"
[[packages.build.files]]
src = "site-tool"
dest = "/usr/bin/site-tool"
mode = "0755"'
cat > "$work/repo-scratch.toml" <<TOML
[source]
iso = "bulk-norepo.iso"
[output]
iso = "out-repo-scratch.iso"
[packages]
$site_tools
TOML
cat > "$work/repo-rerun.toml" <<TOML
[source]
iso = "out-repo-scratch.iso"
[output]
iso = "out-repo-rerun.iso"
[packages]
$site_tools
TOML
read -r cr_s cr_rss < <(secs createrepo_c -q --no-database "$work/bulk-tree")
read -r sc_s sc_rss < <(secs "$bin" build --force "$work/repo-scratch.toml")
read -r re_s re_rss < <(secs "$bin" build --force "$work/repo-rerun.toml")
echo "createrepo_c (from scratch):          ${cr_s}s  peak RSS ${cr_rss} KiB"
echo "isoremix build (no source repodata):  ${sc_s}s  peak RSS ${sc_rss} KiB  (whole build, ISO written)"
echo "isoremix build re-run (all reused):   ${re_s}s  peak RSS ${re_rss} KiB  (whole build, ISO written)"
# A whole build (ISO written) against the repodata step alone: context, not the targets, which
# are the step's own (<= 1 from scratch, <= 0.1 re-run), measured step against step below.
awk -v a="$sc_s" -v b="$cr_s" 'BEGIN { if (b > 0) printf "ratio whole build/createrepo_c: %.2f (the step alone is timed below)\n", a / b }'
awk -v a="$re_s" -v b="$cr_s" 'BEGIN { if (b > 0) printf "ratio whole re-run/createrepo_c: %.2f (the step alone is timed below)\n", a / b }'
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

# ---------------------------------------------------------------------------
# Scaling: the cost of an edit against the size of the source. One row per
# source size (`isoremix sample --size` with the realistic install.img swapped
# in, removed after its row), one
# column per case. A case is a function scale_<name> SOURCE that prints
# "<seconds> <peak RSS KiB>" (page cache hot) and removes what it wrote; to add
# a column, define its function and append its name to scale_cases.
scale_cases=(cp iso_only patch)
scale_cp() {
  secs cp "$1" "$work/scale-copy.iso"
  rm -f "$work/scale-copy.iso"; sync
}
scale_iso_only() {
  cat > "$work/scale-edit.toml" <<TOML
[source]
iso = "$1"
[output]
iso = "scale-out.iso"
[iso]
remove = ["/EULA"]
TOML
  secs "$bin" build --force "$work/scale-edit.toml"
  rm -f "$work/scale-out.iso"; sync
}
scale_patch() { # the installer patch; the first of the three runs indexes install.img
  cat > "$work/scale-patch.toml" <<TOML
[source]
iso = "$1"
[output]
iso = "scale-out.iso"
[installer]
patches = ["site.patch"]
TOML
  secs env XDG_CACHE_HOME="$work/scale-index-cache" "$bin" build --force "$work/scale-patch.toml"
  rm -f "$work/scale-out.iso"; sync
}
scaling_table() { # SIZES...
  local size case line
  printf '%-14s' "source bytes"
  for case in "${scale_cases[@]}"; do printf ' %14s' "$case (s)"; done
  printf '\n'
  for size in "$@"; do
    "$bin" sample --force "$work/scale-base.iso" --size $((size - img_size)) >/dev/null 2>&1
    sed -e 's/^iso = "base.iso"/iso = "scale-base.iso"/' -e 's/^iso = "source.iso"/iso = "scale-source.iso"/' \
      "$work/swap.toml" > "$work/scale-swap.toml"
    "$bin" build --force "$work/scale-swap.toml" >/dev/null 2>&1
    rm -f "$work/scale-base.iso"
    # Each run starts with nothing waiting to be written back (a source or an output of
    # gigabytes still being written would slow the next run down).
    sync
    cat "$work/scale-source.iso" > /dev/null
    line=$(printf '%-14s' "$(stat -c %s "$work/scale-source.iso")")
    for case in "${scale_cases[@]}"; do
      read -r t _ < <(median3_of "scale_$case" "$work/scale-source.iso")
      line+=$(printf ' %14s' "$t")
    done
    echo "$line"
    rm -rf "$work/scale-source.iso" "$work/scale-index-cache"
  done
}
echo "== scaling: an ISO-only edit and an installer patch against cp, per source size (median of 3, page cache hot, written back between runs)"
scaling_table 300000000 600000000 1200000000 2400000000

# ---------------------------------------------------------------------------
# On a filesystem that shares extents (XFS, btrfs), an ISO-only edit shares the unchanged
# data instead of copying it, like `cp --reflink`. BENCH_REFLINK_DIR names a folder on one
# (it needs about 1.3 GB free); without it this part is skipped.
if [ -n "${BENCH_REFLINK_DIR:-}" ]; then
  echo "== ISO-only edit on the filesystem of $BENCH_REFLINK_DIR, vs cp --reflink=auto (median of 3)"
  r=$BENCH_REFLINK_DIR/isoremix-bench.$$
  mkdir -p "$r"
  "$bin" sample --force "$r/source.iso" --size "$size" >/dev/null
  sed -e "s#^iso = \"source.iso\"#iso = \"$r/source.iso\"#" -e "s#^iso = \"out-iso-edit.iso\"#iso = \"$r/out.iso\"#" \
    -e "s#^src = \"README.site\"#src = \"$work/README.site\"#" "$work/iso-edit.toml" > "$r/edit.toml"
  sync
  AFTER="rm -f '$r/out.iso' '$r/copy.iso'; sync"
  read -r rcp_s rcp_rss < <(median3 cp --reflink=auto "$r/source.iso" "$r/copy.iso")
  read -r rir_s rir_rss < <(median3 "$bin" build --force "$r/edit.toml")
  unset AFTER
  echo "cp --reflink=auto ${rcp_s}s (${rcp_rss} KiB)  isoremix ${rir_s}s (${rir_rss} KiB)"
  rm -rf "$r"
fi
