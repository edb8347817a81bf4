#!/usr/bin/env python3
"""Plots a sweep's results: agentio beside the minimal server against concurrency.

    benches/sweep/plot.py RESULTS_DIR [OUT_DIR]

RESULTS_DIR is what ../shared/bench/run-side.sh (or benches/sweep/run.sh) wrote: one
folder per run, `limit-N` and `agentio-N`, each with a `c<C>.json` per level. OUT_DIR
(default: this script's folder) gets one SVG per metric, `sweep.json` (the medians and
ranges drawn) and `sweep.md` (the same as a table). Standard library only.
"""

import glob
import json
import math
import os
import statistics
import subprocess
import sys

SERVERS = (("limit", "minimal server", "#7f7f7f"), ("agentio", "agentio", "#1f77b4"))
METRICS = (
    # key, file, title, unit, log scale
    ("chats_s", "chats_per_second.svg", "Chats per second", "chats/s", False),
    ("p95_ms", "p95_chat_ms.svg", "p95 chat time (connect to TERMINATE)", "ms", True),
    ("cpu_ms", "cpu_per_chat_ms.svg", "Server CPU per chat", "ms", False),
    ("rss_mib", "peak_rss_mib.svg", "Server peak RSS", "MiB", False),
    ("poem_ms", "first_poem_token_ms.svg", "First poem token, p50", "ms", True),
)


def runs(results, server, level):
    """The metrics of each run of `server` at `level` that completed chats."""
    out = []
    for path in sorted(glob.glob(os.path.join(results, f"{server}-*", f"c{level}.json"))):
        with open(path) as f:
            d = json.load(f)
        done = d.get("completed") or 0
        if not done or "server" not in d:
            continue
        out.append({
            "chats_s": done / d["process_wall_s"],
            "p95_ms": (d.get("total_ms") or {}).get("p95"),
            "poem_ms": (d.get("first_poem_ms") or {}).get("p50"),
            "cpu_ms": d["server"]["cpu_s"] * 1000 / done,
            "rss_mib": d["server"]["peak_rss_kb_this_level"] / 1024,
            "failed": d.get("failed", 0),
            "chats": done,
        })
    return out


def levels_in(results):
    found = set()
    for path in glob.glob(os.path.join(results, "*-*", "c*.json")):
        name = os.path.basename(path)[1:-5]
        if name.isdigit():
            found.add(int(name))
    return sorted(found)


def summarize(results):
    levels = levels_in(results)
    summary = {"levels": levels, "servers": {}}
    for server, _, _ in SERVERS:
        per_level = {}
        for level in levels:
            rs = runs(results, server, level)
            entry = {"runs": len(rs), "failed": sum(r["failed"] for r in rs),
                     "chats": sum(r["chats"] for r in rs)}
            for key, *_ in METRICS:
                values = [r[key] for r in rs if r[key] is not None]
                if values:
                    entry[key] = {"median": statistics.median(values),
                                  "min": min(values), "max": max(values)}
            per_level[str(level)] = entry
        summary["servers"][server] = per_level
    return summary


def nice_ticks(lo, hi, log):
    if log:
        start, stop = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
        return [10 ** e for e in range(start, stop + 1)]
    step = 10 ** math.floor(math.log10(hi / 5)) if hi > 0 else 1
    for mult in (1, 2, 2.5, 5, 10):
        if hi / (step * mult) <= 6:
            step *= mult
            break
    ticks, t = [], 0.0
    while not ticks or ticks[-1] < hi:  # the last tick at or above the top
        ticks.append(t)
        t += step
    return ticks


def label(v):
    if v >= 1000:
        return f"{v / 1000:g}k"
    return f"{v:g}"


def chart(summary, key, title, unit, log):
    """One SVG line chart: a line per server, its runs' range as a bar at each level."""
    width, height = 640, 400
    left, right, top, bottom = 70, 20, 40, 60
    levels = summary["levels"]
    values = [e[key][b] for s in summary["servers"].values() for e in s.values()
              if key in e for b in ("min", "max")]
    if not levels or not values:
        return None
    positive = [v for v in values if v > 0] or [1]
    lo, hi = (min(positive), max(values)) if log else (0, max(values) * 1.1)
    ticks = nice_ticks(lo, hi, log)
    y_lo, y_hi = (ticks[0], ticks[-1]) if log else (0, ticks[-1])

    def x(i):
        span = width - left - right
        return left + span * (i + 0.5) / len(levels)

    def y(v):
        if log:
            v = max(v, y_lo)
            f = (math.log10(v) - math.log10(y_lo)) / (math.log10(y_hi) - math.log10(y_lo))
        else:
            f = (v - y_lo) / (y_hi - y_lo)
        return top + (height - top - bottom) * (1 - f)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15">{title}</text>']
    for t in ticks:
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
                   f'stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end">{label(t)}</text>')
    out.append(f'<text x="16" y="{(top + height - bottom) / 2}" text-anchor="middle" '
               f'transform="rotate(-90 16 {(top + height - bottom) / 2})">{unit}'
               f'{" (log scale)" if log else ""}</text>')
    for i, level in enumerate(levels):
        out.append(f'<text x="{x(i):.1f}" y="{height - bottom + 18}" text-anchor="middle">'
                   f'{level}</text>')
    out.append(f'<text x="{(left + width - right) / 2}" y="{height - 18}" text-anchor="middle">'
               'concurrent clients (C)</text>')
    for n, (server, name, colour) in enumerate(SERVERS):
        per_level = summary["servers"].get(server, {})
        points = []
        for i, level in enumerate(levels):
            entry = per_level.get(str(level), {})
            if key not in entry:
                continue
            m = entry[key]
            points.append((x(i), y(m["median"])))
            out.append(f'<line x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{y(m["min"]):.1f}" '
                       f'y2="{y(m["max"]):.1f}" stroke="{colour}" stroke-width="5" '
                       'stroke-opacity="0.35"/>')
        if points:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                       'stroke-width="2"/>')
            for px, py in points:
                out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{colour}"/>')
        lx, ly = left + 10 + n * 150, top + 8
        out.append(f'<rect x="{lx}" y="{ly}" width="14" height="4" fill="{colour}"/>')
        out.append(f'<text x="{lx + 20}" y="{ly + 6}">{name}</text>')
    out.append(f'<text x="{width - right}" y="{height - 4}" text-anchor="end" fill="#888" '
               'font-size="10">line: median of the runs; bar: their range</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def table(summary):
    rows = ["| C | metric | minimal server | agentio | agentio ÷ minimal |",
            "|---|---|---|---|---|"]
    for level in summary["levels"]:
        a = summary["servers"].get("limit", {}).get(str(level), {})
        b = summary["servers"].get("agentio", {}).get(str(level), {})
        for key, _, title, unit, _ in METRICS:
            if key not in a or key not in b:
                continue
            x, y = a[key]["median"], b[key]["median"]
            rows.append(f"| {level} | {title} ({unit}) | {x:.2f} | {y:.2f} | "
                        f"{y / x if x else float('nan'):.2f} |")
        rows.append(f"| {level} | failed chats / chats | {a.get('failed', 0)} / "
                    f"{a.get('chats', 0)} | {b.get('failed', 0)} / {b.get('chats', 0)} | |")
    return "\n".join(rows) + "\n"


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    results = sys.argv[1]
    out_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.dirname(os.path.abspath(__file__))
    summary = summarize(results)
    if not summary["levels"]:
        sys.exit(f"plot.py: no c<C>.json under {results}")
    # The commit the run measured (run.sh notes it beside the results), else
    # the one checked out now.
    try:
        with open(os.path.join(results, "commit.txt")) as f:
            summary["commit"] = f.read().strip()
    except OSError:
        try:
            summary["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"],
                                               capture_output=True, text=True).stdout.strip()
        except OSError:
            pass
    summary["results"] = os.path.basename(os.path.normpath(results))
    os.makedirs(out_dir, exist_ok=True)
    for key, name, title, unit, log in METRICS:
        svg = chart(summary, key, title, unit, log)
        if svg:
            with open(os.path.join(out_dir, name), "w") as f:
                f.write(svg)
    with open(os.path.join(out_dir, "sweep.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    md = table(summary)
    with open(os.path.join(out_dir, "sweep.md"), "w") as f:
        f.write(md)
    print(md)
    print(f"plots and sweep.json in {out_dir}")


if __name__ == "__main__":
    main()
