#!/usr/bin/env bash
# benches/sweep/run.sh: agentio beside the minimal server (../shared/bench/limit) from one
# client to 1,024, alternating the two servers, then the plots (benches/sweep/plot.py).
#
# Run it from the project's root, with ../shared beside it:
#
#   benches/sweep/run.sh                       # C = 1 8 64 256 1024, 3 alternating runs
#   REPS=1 LEVELS="1 64" benches/sweep/run.sh  # quicker
#   benches/sweep/plot.py DIR                  # the plots again, from a run's results
#
# It is ../shared/bench/run-side.sh with more levels and enough rounds at each that the
# server's CPU time (read from /proc in 10 ms ticks) is well above its resolution. The
# plots and the medians behind them go to benches/sweep/ (SVG files and sweep.json).
set -uo pipefail

[ -f Cargo.toml ] && [ -d ../shared/bench ] || {
    echo "run.sh: run it from the project's root, with ../shared beside it" >&2; exit 1; }
export LEVELS="${LEVELS:-1 8 64 256 1024}" REPS="${REPS:-3}"
# About 300 chats or more per level; no pause between a lone client's rounds.
export ROUNDS_1="${ROUNDS_1:-300}" ROUNDS_8="${ROUNDS_8:-40}" ROUNDS_64="${ROUNDS_64:-5}" \
    ROUNDS_256="${ROUNDS_256:-2}" ROUNDS_1024="${ROUNDS_1024:-1}" PAUSE_MS="${PAUSE_MS:-20}"
log="$(mktemp)"
../shared/bench/run-side.sh 2>&1 | tee "$log"
results="$(sed -n 's/^results: \([^ ]*\) .*/\1/p' "$log" | tail -1)"
rm -f "$log"
[ -n "$results" ] || { echo "run.sh: run-side.sh gave no results" >&2; exit 1; }
git rev-parse --short HEAD > "$results/commit.txt" 2>/dev/null
python3 "$(dirname "$0")/plot.py" "$results"
