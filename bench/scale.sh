#!/usr/bin/env bash
# Scale benchmark: orchc check / plan / apply and the DAG at N resources,
# beside the peers installed on this machine, in one run.
#
#   bench/scale.sh                 # N = 1000 5000 20000 40000 100000
#   bench/scale.sh 1000 10000      # other sizes
#
# Environment:
#   ORCHC      the orchc binary (default: target/release/orchc; built if missing)
#   GEN        the generator (default: ../shared/bench/gen.py beside the repository,
#              else /work/shared/bench/gen.py)
#   BENCH_DIR  where the programs are written (default: a temporary folder, removed at the end)
#   REPEAT     runs of each measurement; the median wall time is shown (default 1)
#   DAG_NS     sizes of the exec.run DAG against ninja (default: 10000 if it is in the list
#              of N, else the largest N up to 10000)
#
# Prints one table: N, command, wall s, user s, peak MB, and the ratio of the
# wall time to its peer measured in the same run (check: nickel typecheck
# and KCL when installed; the DAG: ninja -j 2). Measured with /usr/bin/time -f.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
ns=("$@")
if [ ${#ns[@]} -eq 0 ]; then ns=(1000 5000 20000 40000 100000); fi
repeat=${REPEAT:-1}

orchc=${ORCHC:-$root/target/release/orchc}
if [ ! -x "$orchc" ]; then
    (cd "$root" && cargo build --release --locked -p orchc)
fi
gen=${GEN:-}
if [ -z "$gen" ]; then
    for candidate in "$root/../shared/bench/gen.py" /work/shared/bench/gen.py; do
        if [ -f "$candidate" ]; then gen=$candidate; break; fi
    done
fi
[ -n "$gen" ] && [ -f "$gen" ] || { echo "scale.sh: gen.py not found (set GEN)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "scale.sh: /usr/bin/time is needed (GNU time)" >&2; exit 2; }

if [ -n "${BENCH_DIR:-}" ]; then
    work=$BENCH_DIR
    mkdir -p "$work"
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/orch-scale.XXXXXX")
    trap 'rm -rf "$work"' EXIT
fi
export ORCH_CONFIG_DIR=$work/config
mkdir -p "$ORCH_CONFIG_DIR"

if [ -n "${DAG_NS:-}" ]; then
    read -r -a dag_ns <<<"$DAG_NS"
else
    dag_ns=()
    best=0
    for n in "${ns[@]}"; do
        if [ "$n" -eq 10000 ]; then best=10000; break; fi
        if [ "$n" -le 10000 ] && [ "$n" -gt "$best" ]; then best=$n; fi
    done
    if [ "$best" -gt 0 ]; then dag_ns=("$best"); fi
fi

rows=()
# measure NAME PREPARE COMMAND...: runs COMMAND $repeat times (PREPARE, a
# shell snippet, before each), keeps the run with the median wall time, and
# leaves "wall user peak_mb" in $result. A failing command stops the script.
measure() {
    local prepare=$1
    shift
    local samples=()
    local i
    for ((i = 0; i < repeat; i++)); do
        if [ -n "$prepare" ]; then bash -c "$prepare"; fi
        /usr/bin/time -o "$work/time" -f "%e %U %M" "$@" >/dev/null 2>"$work/stderr" || {
            echo "scale.sh: failed: $*" >&2
            cat "$work/stderr" "$work/time" >&2
            exit 1
        }
        samples+=("$(tail -n 1 "$work/time")")
    done
    result=$(printf '%s\n' "${samples[@]}" | sort -n -k1,1 | sed -n "$(((repeat + 1) / 2))p" |
        awk '{ printf "%.2f %.2f %.0f", $1, $2, $3 / 1024 }')
}

row() { # N command wall user peak ratio
    rows+=("$(printf '%-7s | %-44s | %7s | %7s | %8s | %s' "$@")")
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

for n in "${ns[@]}"; do
    dir=$work/g$n
    python3 "$gen" "$n" "$dir" >/dev/null
    cd "$dir"

    # Peers of check, measured first in the same run.
    nickel_wall=
    if command -v nickel >/dev/null; then
        measure "" nickel typecheck main.ncl
        read -r nickel_wall user peak <<<"$result"
        row "$n" "nickel typecheck main.ncl" "$nickel_wall" "$user" "$peak" "peer"
    fi
    kcl_wall=
    if python3 -c 'import kcl_lib' 2>/dev/null; then
        measure "" python3 -c 'import sys, kcl_lib.api as a; r = a.API().exec_program(a.ExecProgramArgs(k_filename_list=["main.k"])); sys.exit(r.err_message or 0)'
        read -r kcl_wall user peak <<<"$result"
        row "$n" "kcl (kcl_lib exec_program main.k)" "$kcl_wall" "$user" "$peak" "peer"
    fi

    # check beside its peers, on the same program in the same run
    # (bench/check_rows.sh measures check alone, with repeats).
    measure "" "$orchc" check main.orch
    read -r wall user peak <<<"$result"
    r="-"
    [ -n "$nickel_wall" ] && r="$(ratio "$wall" "$nickel_wall") × nickel"
    [ -n "$kcl_wall" ] && r="$r $(ratio "$wall" "$kcl_wall") × kcl"
    row "$n" "orchc check main.orch" "$wall" "$user" "$peak" "$r"

    # The first apply from an empty state, then a plan with no change.
    measure "rm -rf '$dir/.orch'" "$orchc" apply main.orch --auto-approve
    read -r wall user peak <<<"$result"
    row "$n" "orchc apply main.orch (first, local state)" "$wall" "$user" "$peak" "-"
    measure "" "$orchc" plan main.orch
    read -r wall user peak <<<"$result"
    row "$n" "orchc plan main.orch (no change)" "$wall" "$user" "$peak" "-"
    rm -rf "$dir/.orch"

    for d in "${dag_ns[@]}"; do
        [ "$d" -eq "$n" ] || continue
        if command -v ninja >/dev/null; then
            measure "rm -f '$dir/.ninja_log' '$dir/.ninja_deps'" ninja -f dag_true.ninja -j 2
            read -r ninja_wall user peak <<<"$result"
            row "$n" "ninja -f dag_true.ninja -j 2" "$ninja_wall" "$user" "$peak" "peer"
        fi
        measure "rm -rf '$dir/.orch'" "$orchc" apply dag_true.orch --auto-approve --parallelism 2
        read -r wall user peak <<<"$result"
        r="-"
        [ -n "${ninja_wall:-}" ] && r="$(ratio "$wall" "$ninja_wall") × ninja"
        row "$n" "orchc apply dag_true.orch --parallelism 2" "$wall" "$user" "$peak" "$r"
        rm -rf "$dir/.orch"
    done
    cd "$work"
    rm -rf "$dir"
done

printf '%-7s | %-44s | %7s | %7s | %8s | %s\n' N command "wall s" "user s" "peak MB" "ratio (wall) to peer"
printf '%s\n' "--------+----------------------------------------------+---------+---------+----------+---------------------"
printf '%s\n' "${rows[@]}"
