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
