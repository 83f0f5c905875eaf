#!/usr/bin/env bash
# Fuzzes every parser for a while, then keeps the inputs that reached new code.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     (default: 60 seconds, every target)
#
# Runs each target of fuzz/ (cargo-fuzz, nightly) alone on one core for SECONDS, prints its
# executions, and merges the new inputs into fuzz/corpus/<target>/ (the corpus
# `cargo test --test fuzz_corpus` replays on stable), minimized to the fewest inputs that reach
# every edge reached before: `seed-*` (from our builders) and `regress-*` (inputs that once
# failed) are always kept, the rest is replaced by the minimized set, smallest inputs first up to
# FUZZ_MAX_FILES (default 200) files and FUZZ_MAX_BYTES (default 2000000) bytes per target. A crash, broken round trip,
# timeout or memory blow-up is saved under fuzz/artifacts/<target>/ and makes the script exit
# non-zero once every target has run; reproduce one with
#   cargo +nightly fuzz run -s none TARGET fuzz/artifacts/TARGET/crash-...
# and keep it in fuzz/corpus/TARGET/ with its fix.
#
# Needs: a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# FUZZ_RSS_MB (default 2048) is the memory ceiling, FUZZ_TIMEOUT (default 10) the seconds one
# input may take. The seeds are written by `cargo run --example fuzz_seeds -- fuzz/corpus`.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fuzz=(cargo +nightly fuzz run -s none)
limits=(-rss_limit_mb="${FUZZ_RSS_MB:-2048}" -timeout="${FUZZ_TIMEOUT:-10}")
max_files=${FUZZ_MAX_FILES:-200}
max_bytes=${FUZZ_MAX_BYTES:-2000000}

failed=()
printf '%-12s %12s %10s %s\n' target executions inputs result
for t in "${targets[@]}"; do
  corpus=fuzz/corpus/$t
  [ -d "$corpus" ] || { echo "$corpus: no seeds (run the fuzz_seeds example)" >&2; exit 2; }
  mkdir -p "$work/$t" "fuzz/artifacts/$t"
  result=ok
  if ! "${fuzz[@]}" "$t" "$work/$t" "$corpus" -- -max_total_time="$seconds" \
      "${limits[@]}" -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$t/" \
      >"$work/$t.log" 2>&1; then
    result="FAILED: $(grep -m1 -oE '(panicked at .*|ERROR: libFuzzer: .*|SUMMARY: .*)' "$work/$t.log" || echo 'see log')"
    failed+=("$t")
    cp "$work/$t.log" "fuzz/artifacts/$t/last-run.log"
  fi
  execs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$work/$t.log" | grep -oE '[0-9]+$' || echo '?')
  before=$(find "$corpus" -type f | wc -l)
  # Pinned inputs first, then only what reaches edges they do not (counters ignored).
  mkdir -p "$work/$t.min" "$work/$t.old"
  find "$corpus" -type f \( -name 'seed-*' -o -name 'regress-*' \) -exec cp -t "$work/$t.min" {} +
  find "$corpus" -type f ! -name 'seed-*' ! -name 'regress-*' -exec mv -t "$work/$t.old" {} +
  if "${fuzz[@]}" "$t" "$work/$t.min" "$work/$t.old" "$work/$t" -- -merge=1 -use_counters=0 \
      "${limits[@]}" >"$work/$t.merge.log" 2>&1; then
    # Smallest first, within the corpus budget (the replay in `cargo test` stays fast).
    files=$(find "$corpus" -type f | wc -l)
    bytes=$(du -sb "$corpus" | cut -f1)
    while read -r size f; do
      [ -n "$f" ] || continue
      if [ $((files + 1)) -gt "$max_files" ] || [ $((bytes + size)) -gt "$max_bytes" ]; then
        break
      fi
      cp "$f" "$corpus/"
      files=$((files + 1))
      bytes=$((bytes + size))
    done < <(find "$work/$t.min" -type f ! -name 'seed-*' ! -name 'regress-*' -printf '%s %p\n' | sort -n)
  else
    echo "  $t: merge failed (see below); the corpus keeps its old inputs" >&2
    tail -5 "$work/$t.merge.log" >&2
    find "$work/$t.old" -type f -exec mv -t "$corpus" {} +
  fi
  after=$(find "$corpus" -type f | wc -l)
  printf '%-12s %12s %10s %s\n' "$t" "$execs" "$before→$after" "$result"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "failing targets: ${failed[*]} (inputs under fuzz/artifacts/)" >&2
  exit 1
fi
