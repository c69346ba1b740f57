#!/usr/bin/env bash
# Prints one TSV row per N and tool: N<TAB>tool<TAB>wall_s<TAB>user_s<TAB>peak_mb
# for `orchc check main.orch` and, when installed, `nickel typecheck main.ncl`
# on the program that ../shared/bench/gen.py N writes (run side by side, in
# the same run, so that their ratio means something on a shared machine).
#
# Usage: bench/check_rows.sh N...     (default: 1000 5000 20000 40000 100000)
# Env:   ORCHC (default target/release/orchc), NICKEL (default: nickel on PATH
#        or ~/.cargo/bin/nickel), GEN (default ../shared/bench/gen.py beside
#        the repository), REPEAT (runs per tool and N, median kept; default 3).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
orchc="${ORCHC:-$root/target/release/orchc}"
gen="${GEN:-$root/../shared/bench/gen.py}"
repeat="${REPEAT:-3}"
nickel="${NICKEL:-$(command -v nickel || true)}"
[[ -z "$nickel" && -x "$HOME/.cargo/bin/nickel" ]] && nickel="$HOME/.cargo/bin/nickel"
[[ -x "$orchc" ]] || { echo "no $orchc: cargo build --release -p orchc" >&2; exit 1; }
[[ -f "$gen" ]] || { echo "no generator at $gen (set GEN)" >&2; exit 1; }
[[ $# -gt 0 ]] || set -- 1000 5000 20000 40000 100000
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Runs "$@" REPEAT times; prints the median wall, user and peak (MB).
measure() {
  local runs=()
  for _ in $(seq "$repeat"); do
    if ! /usr/bin/time -f '%e %U %M' -o "$work/time" "$@" >/dev/null 2>"$work/err"; then
      echo "warning: $* failed: $(tail -3 "$work/err")" >&2
    fi
    runs+=("$(tail -1 "$work/time")")
  done
  printf '%s\n' "${runs[@]}" | python3 -c '
import sys, statistics
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
wall, user, peak = (statistics.median(c) for c in zip(*rows))
print(f"{wall:.3f}\t{user:.3f}\t{peak / 1024:.0f}")'
}

for n in "$@"; do
  dir="$work/g$n"
  python3 "$gen" "$n" "$dir" >/dev/null
  printf '%s\torchc check\t%s\n' "$n" "$(measure "$orchc" check "$dir/main.orch")"
  if [[ -n "$nickel" ]]; then
    printf '%s\tnickel typecheck\t%s\n' "$n" "$(measure "$nickel" typecheck "$dir/main.ncl")"
  fi
  rm -rf "$dir"
done
