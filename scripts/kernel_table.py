#!/usr/bin/env python3
"""Sums Chrome traces (Kineto's, as `catimage bench --profile` and scripts/bench_diffusers_model.py
--profile write them) per CUDA kernel, side by side: what each side launches per step, how often,
and for how long, so two runs of the same model on the same libtorch compare kernel by kernel
(the SDPA backend chosen, the GroupNorm/LayerNorm kernels, extra copies, GEMM variants).

    scripts/kernel_table.py catimage=a.json diffusers=b.json [--calls 2] [--top 40] [--cpu]

Each trace is divided by --calls (the steps or calls it recorded: --profile-calls). Kernels are
joined by their exact name (both sides run the same libtorch on the GPU machine). --cpu sums the
CPU operators ("cpu_op") instead, for a trace without kernels. Prints Markdown.
"""
import argparse
import collections
import json
import sys

GPU_CATS = {"kernel", "gpu_memcpy", "gpu_memset", "Kernel", "Memcpy", "Memset"}


def load(path, cpu):
    with open(path) as f:
        events = json.load(f)
    events = events.get("traceEvents", events) if isinstance(events, dict) else events
    want = {"cpu_op", "operator", "Operator"} if cpu else GPU_CATS
    sums = collections.defaultdict(lambda: [0, 0.0])  # name -> [count, total µs]
    for e in events:
        if e.get("ph") == "X" and e.get("cat") in want:
            s = sums[e["name"]]
            s[0] += 1
            s[1] += float(e.get("dur", 0))
    return sums


def short(name, width=90):
    return name if len(name) <= width else name[: width - 1] + "…"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("traces", nargs="+", help="LABEL=trace.json")
    ap.add_argument("--calls", type=int, default=2, help="steps (calls) each trace recorded")
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--cpu", action="store_true", help="CPU operators instead of GPU kernels")
    a = ap.parse_args()
    labels, tables = [], []
    for t in a.traces:
        label, _, path = t.partition("=")
        if not path:
            sys.exit(f"kernel_table.py: {t!r}: expected LABEL=trace.json")
        labels.append(label)
        tables.append(load(path, a.cpu))
    unit = "CPU operator" if a.cpu else "kernel"
    print("| side | " + unit + "s per call | µs per call |")
    print("|---|---:|---:|")
    for label, tab in zip(labels, tables):
        n = sum(c for c, _ in tab.values()) / a.calls
        us = sum(d for _, d in tab.values()) / a.calls
        print(f"| {label} | {n:.0f} | {us:.0f} |")
    names = set().union(*tables)
    by_time = sorted(names, key=lambda k: -max(t[k][1] if k in t else 0 for t in tables))[: a.top]
    print()
    print(f"| {unit} | " + " | ".join(f"{l} count / µs" for l in labels) + " |")
    print("|---|" + "---:|" * len(labels))
    for k in by_time:
        cells = []
        for t in tables:
            c, d = t.get(k, (0, 0.0))
            cells.append(f"{c / a.calls:.0f} / {d / a.calls:.0f}" if c else "—")
        print(f"| `{short(k)}` | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
