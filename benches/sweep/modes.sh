#!/usr/bin/env bash
# benches/sweep/modes.sh: agentio's CPU per chat, chats/s and RSS in each of its websocket
# modes beside the minimal server's (text frames), in the same runs, alternating.
#
#   benches/sweep/modes.sh                    # C = 64 and 256, 3 runs of each
#   REPS=1 LEVELS=64 MODES="text agui" benches/sweep/modes.sh
#
# Modes: text (AutoGen's text frames), events (?format=events), session (?session=…, text),
# session-events, agui (AG-UI over websockets, ?format=agui: a RunAgentInput per run) and
# ai-sdk (the AI SDK's WebSocketChatTransport on /api/chat: a `send` frame). Every mode
# runs the same chat against the same scripted model; the load client reads until the
# poem's TERMINATE. Results go under ${BENCH_BUILD_DIR:-/tmp/agentio-bench}/modes-DATE,
# the table to benches/sweep/modes.md.
set -uo pipefail

[ -f Cargo.toml ] && [ -d ../shared/bench ] || {
    echo "modes.sh: run it from the project's root, with ../shared beside it" >&2; exit 1; }
BENCH="$(cd ../shared/bench && pwd)"
HERE="$(cd "$(dirname "$0")" && pwd)"
BUILD="${BENCH_BUILD_DIR:-${TMPDIR:-/tmp}/agentio-bench}"
LEVELS="${LEVELS:-64 256}" REPS="${REPS:-3}"
MODES="${MODES:-text events session session-events agui ai-sdk}"
export ROUNDS_64="${ROUNDS_64:-5}" ROUNDS_256="${ROUNDS_256:-2}" DELAY_US="${DELAY_US:-0}" WORDS="${WORDS:-200}"

mkdir -p "$BUILD"
for t in mock-openai wsload limit; do
    cargo build --release -q --manifest-path "$BENCH/$t/Cargo.toml" --target-dir "$BUILD/$t" \
        || { echo "modes.sh: building $t failed" >&2; exit 1; }
done
cargo build --release -q --example load || { echo "modes.sh: building the load example failed" >&2; exit 1; }
export MOCK="$BUILD/mock-openai/release/mock-openai" LIMIT="$BUILD/limit/release/limit"
export AGENTIO_LOAD="$PWD/target/release/examples/load" AGENTIO_BACKLOG=128
REAL_WSLOAD="$BUILD/wsload/release/wsload"
RESULTS="$BUILD/modes-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$RESULTS"

# wsload with this mode's first frame (its last --message and --term-mode win).
WRAPPER="$RESULTS/wsload-with-message.sh"
cat > "$WRAPPER" <<'SH'
#!/usr/bin/env bash
# The protocols' frames are no AG2 events: TERMINATE is searched in the raw frame.
if [ -n "${WS_MESSAGE:-}" ]; then
    exec "$REAL_WSLOAD" "$@" --message "$WS_MESSAGE" --term-mode substring
fi
exec "$REAL_WSLOAD" "$@"
SH
chmod +x "$WRAPPER"
export REAL_WSLOAD

TASK="Check out the weather in Paris and write a poem about it."
query_of() {
    case "$1" in
        text) echo "" ;;
        events) echo "?format=events" ;;
        session) echo "?session={session}" ;;
        session-events) echo "?session={session}&format=events" ;;
        agui) echo "?format=agui" ;;
        ai-sdk) echo "/api/chat" ;;
    esac
}
message_of() {
    case "$1" in
        agui) printf '{"threadId":"t1","runId":"r1","messages":[{"id":"m1","role":"user","content":"%s"}],"tools":[],"context":[],"state":{},"forwardedProps":{}}' "$TASK" ;;
        ai-sdk) printf '{"type":"send","requestId":"q1","id":"chat-1","trigger":"submit-message","messages":[{"id":"m1","role":"user","parts":[{"type":"text","text":"%s"}]}]}' "$TASK" ;;
        *) echo "" ;;
    esac
}

run() { # run NAME SERVER QUERY MESSAGE REP
    echo "run $5/$REPS: $1" >&2
    WSLOAD="$WRAPPER" WS_MESSAGE="$4" SERVER="$2" URI_QUERY="$3" SKIP_BUILD=1 LEVELS="$LEVELS" \
        TRANSCRIPT="" BUDGET_S=900 OUT="$RESULTS/$1-$5" "$BENCH/run-one.sh" >"$RESULTS/$1-$5.log" 2>&1 \
        || echo "modes.sh: $1 run $5 failed, see $RESULTS/$1-$5.log" >&2
}
for rep in $(seq 1 "$REPS"); do
    run limit limit "" "" "$rep"
    for mode in $MODES; do
        run "agentio_${mode//-/_}" agentio "$(query_of "$mode")" "$(message_of "$mode")" "$rep"
    done
done

python3 - "$RESULTS" "$LEVELS" "$MODES" "$HERE" <<'PY'
import importlib.util, json, os, statistics, sys
results, levels, modes, here = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), sys.argv[4]
spec = importlib.util.spec_from_file_location("plot", os.path.join(here, "plot.py"))
plot = importlib.util.module_from_spec(spec); spec.loader.exec_module(plot)
med = lambda rs, k: statistics.median([r[k] for r in rs if r[k] is not None]) if rs else float("nan")
rows = ["| C | server | CPU ms per chat | ÷ minimal | chats/s | ÷ minimal | peak RSS MiB | ÷ minimal | failed / chats |",
        "|---|---|---|---|---|---|---|---|---|"]
summary = {}
for c in levels:
    base = plot.runs(results, "limit", c)
    for name in ["limit"] + [f"agentio_{m.replace('-', '_')}" for m in modes]:
        rs = plot.runs(results, name, c)
        cpu, cps, rss = med(rs, "cpu_ms"), med(rs, "chats_s"), med(rs, "rss_mib")
        b_cpu, b_cps, b_rss = med(base, "cpu_ms"), med(base, "chats_s"), med(base, "rss_mib")
        label = "minimal (text)" if name == "limit" else "agentio " + name[len("agentio_"):].replace("_", "-")
        rows.append(f"| {c} | {label} | {cpu:.2f} | {cpu / b_cpu:.2f} | {cps:.0f} | {cps / b_cps:.2f} | "
                    f"{rss:.1f} | {rss / b_rss:.2f} | {sum(r['failed'] for r in rs)} / {sum(r['chats'] for r in rs)} |")
        summary.setdefault(c, {})[name] = {"cpu_ms": cpu, "chats_s": cps, "rss_mib": rss, "runs": len(rs)}
table = "\n".join(rows) + "\n"
json.dump(summary, open(os.path.join(results, "modes.json"), "w"), indent=1)
open(os.path.join(here, "modes.md"), "w").write(table)
print(f"\nresults: {results}\n\n{table}")
PY
