#!/usr/bin/env bash
# Benchmarks isoremix side by side with the tools people use today, in one
# run, on this machine. Not a test: it prints figures to compare.
#
#   scripts/bench.sh [WORKDIR]     (default: a temporary folder)
#
# Needs: cargo, GNU time (/usr/bin/time), and for the comparisons bzip2,
# lbzip2, cpio, createrepo_c.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-$(mktemp -d)}
mkdir -p "$work"
cargo build --release --quiet
bin=$PWD/target/release/isoremix
export SOURCE_DATE_EPOCH=1700000000

secs() { /usr/bin/time -f "%e %M" -o "$work/.time" "$@" >/dev/null 2>&1; cat "$work/.time"; }
# prints "<seconds> <peak RSS KiB>"

echo "== workdir: $work"
echo "== making a 600 MB sample source"
"$bin" sample "$work/source.iso" --size 600000000 >/dev/null
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
read -r ir_s ir_rss < <(secs "$bin" build "$work/iso-edit.toml")
echo "cp:       ${cp_s}s  peak RSS ${cp_rss} KiB"
echo "isoremix: ${ir_s}s  peak RSS ${ir_rss} KiB"
awk -v a="$ir_s" -v b="$cp_s" 'BEGIN { if (b > 0) printf "ratio isoremix/cp: %.2f (target <= 1.3)\n", a / b }'
echo "peak RSS target: <= 150000 KiB"
rm -f "$work/copy.iso" "$work/out-iso-edit.iso"

echo "== repodata: 1,000 generated RPMs, isoremix vs createrepo_c"
# Three figures on the same 1,004 packages (the sample's four plus 1,000 small generated ones):
#  - createrepo_c from scratch on the extracted tree (no sqlite, as isoremix writes none);
#  - isoremix build from a source without repodata (every package read and hashed), adding one;
#  - isoremix build re-run on its own output with nothing changed (every record reused).
"$bin" sample "$work/bulk.iso" --packages 1000 >/dev/null
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
read -r sc_s sc_rss < <(secs "$bin" build "$work/repo-scratch.toml")
read -r re_s re_rss < <(secs "$bin" build "$work/repo-rerun.toml")
echo "createrepo_c (from scratch):          ${cr_s}s  peak RSS ${cr_rss} KiB"
echo "isoremix build (no source repodata):  ${sc_s}s  peak RSS ${sc_rss} KiB  (whole build, ISO written)"
echo "isoremix build re-run (all reused):   ${re_s}s  peak RSS ${re_rss} KiB  (whole build, ISO written)"
awk -v a="$sc_s" -v b="$cr_s" 'BEGIN { if (b > 0) printf "ratio isoremix/createrepo_c: %.2f (target <= 1)\n", a / b }'
awk -v a="$re_s" -v b="$cr_s" 'BEGIN { if (b > 0) printf "ratio re-run/createrepo_c: %.2f (target <= 0.1)\n", a / b }'
rm -rf "$work/bulk-tree" "$work/out-repo-scratch.iso" "$work/out-repo-rerun.iso"

echo "== repodata step alone: 1,000 generated RPMs, isoremix vs createrepo_c"
cargo bench --quiet --bench repodata
