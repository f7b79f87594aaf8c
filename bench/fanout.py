"""Fan-out bench: one show, N viewers, events published server-side at R per second.

Runs ONAIR (hub.publish with coalescing), stock python-socketio (one emit to the room per
event) and Node socket.io 4 (the same) one after another in this run, against the same
Node load client, and prints deliveries/s, p50/p99 latency, idle memory per viewer and
the ratios. The last line printed is one JSON object with every figure.

    python bench/fanout.py                      # 1,000 viewers x 1,000 events/s, 10 s
    python bench/fanout.py --smoke              # a few viewers, a second; for CI
    python bench/fanout.py --servers onair,node --viewers 2000 --rate 500
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import harness as h

TARGETS = {"ratio_vs_node": 5.0, "p99_ms": 200.0, "mem_kib": 20.0}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", "-n", type=int, default=1000)
    parser.add_argument("--rate", "-r", type=float, default=1000.0, help="events per second")
    parser.add_argument("--duration", "-d", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--servers", default="onair,node,pysio")
    parser.add_argument("--load-procs", type=int, default=1,
                        help="Node load-client processes (they share the machine's cores)")
    parser.add_argument("--tick-ms", type=int, help="ONAIR tick (default: the server's)")
    parser.add_argument("--redis", metavar="URL",
                        help="ONAIR runs with Redis (room log, bus, presence)")
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI")
    parser.add_argument("--profile", type=Path,
                        help="py-spy flame graphs of the Python servers over the window, here")
    parser.add_argument("--trace-memory", action="store_true",
                        help="print where ONAIR's Python memory per viewer goes (tracemalloc; "
                        "inflates the memory figure)")
    parser.add_argument("--keep-logs", type=Path, help="copy child logs here")
    args = parser.parse_args(argv)
    if args.smoke:
        args.viewers, args.rate, args.duration, args.warmup = 20, 50.0, 1.5, 0.5
    return args


async def run_one(spec: h.ServerSpec, args: argparse.Namespace, logdir: Path) -> dict[str, Any]:
    async with h.session(spec, args.viewers, load_procs=args.load_procs, logdir=logdir,
                         tag="fanout") as sess:
        seconds = args.warmup + args.duration
        result = await h.measured_window(
            sess, warmup=args.warmup, duration=args.duration, profile=args.profile,
            drive=lambda: sess.server.call(
                {"cmd": "publish", "rate": args.rate, "seconds": seconds}, seconds + 120),
        )
    if sess.memory_growth:
        print(f"{spec.name}: Python memory growth with {args.viewers} idle viewers:",
              *sess.memory_growth, sep="\n  ", file=sys.stderr)
    window = result["window"]
    sent = result["source"]["sent"]
    expected = sent * args.viewers
    return {
        "deliveries_per_s": round(window["deliveries"] / window["seconds"]),
        "offered_per_s": round(args.rate * args.viewers),
        "p50_ms": window["latency"].get("p50"),
        "p90_ms": window["latency"].get("p90"),
        "p99_ms": window["latency"].get("p99"),
        "max_ms": window["latency"].get("max"),
        "latency_samples": window["latency"].get("samples", 0),
        "frames_per_s": round(window["frames"] / window["seconds"]),
        "events_sent": sent,
        "delivered_share": round(result["total_deliveries"] / expected, 4) if expected else None,
        "drained": result["drained"],
        "mem_per_viewer_kib": round(sess.mem_per_viewer / 1024, 1)
        if sess.mem_per_viewer is not None else None,
        "connect_s": round(sess.connect_seconds, 2),
        "server_cpu": round(result["server_cpu"], 2),
        "load_cpu": round(result["load_cpu"], 2),
        "other_cpu": round(result["other_cpu"], 2),
        "closed_unexpectedly": window["closed_unexpectedly"],
        "deflate_viewers": window["deflate"],
    }


def summarise(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    onair, node, pysio = (results.get(k, {}) for k in ("onair", "node", "pysio"))
    ratios = {
        "onair_vs_node": h.ratio(onair.get("deliveries_per_s"), node.get("deliveries_per_s")),
        "onair_vs_pysio": h.ratio(onair.get("deliveries_per_s"), pysio.get("deliveries_per_s")),
        "mem_onair_vs_node": h.ratio(onair.get("mem_per_viewer_kib"),
                                     node.get("mem_per_viewer_kib")),
    }
    targets = {}
    if onair.get("deliveries_per_s") is not None:
        targets = {
            "deliveries_ge_5x_node": ratios["onair_vs_node"] is not None
            and ratios["onair_vs_node"] >= TARGETS["ratio_vs_node"],
            "p99_le_200ms": (onair.get("p99_ms") or 1e9) <= TARGETS["p99_ms"],
            "mem_le_20kib": (onair.get("mem_per_viewer_kib") or 1e9) <= TARGETS["mem_kib"],
        }
    return {"ratios": ratios, "targets": targets}


def print_table(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    print(f"\nfan-out: {args.viewers:,} viewers x {args.rate:,.0f} events/s, "
          f"{args.duration:g} s measured after {args.warmup:g} s warm-up")
    head = (f"{'server':<18}{'deliv/s':>11}{'offered':>11}{'p50 ms':>9}{'p99 ms':>9}"
            f"{'arrived':>9}{'KiB/view':>10}{'srv cpu':>9}{'load cpu':>9}{'other':>7}")
    print(head)
    for name, r in results.items():
        if "error" in r:
            print(f"{h.LABELS[name]:<18}  failed: {r['error'].splitlines()[0]}")
            continue
        share = r["delivered_share"]
        print(f"{h.LABELS[name]:<18}{h.fmt_rate(r['deliveries_per_s']):>11}"
              f"{h.fmt_rate(r['offered_per_s']):>11}{h.fmt_ms(r['p50_ms']):>9}"
              f"{h.fmt_ms(r['p99_ms']):>9}"
              f"{'-' if share is None else f'{share:.0%}':>9}"
              f"{'-' if r['mem_per_viewer_kib'] is None else r['mem_per_viewer_kib']:>10}"
              f"{r['server_cpu']:>9.0%}{r['load_cpu']:>9.0%}{r['other_cpu']:>7.0%}")


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    h.check_node_modules()
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    names = [n.strip() for n in args.servers.split(",") if n.strip()]
    results: dict[str, dict[str, Any]] = {}
    with h.temp_dir() as tmp:
        tmpdir = Path(tmp)
        for spec in h.server_specs(names, tmpdir, tick_ms=args.tick_ms, redis_url=args.redis,
                                   trace_memory=args.trace_memory):
            print(f"... {h.LABELS[spec.name]}", file=sys.stderr, flush=True)
            try:
                results[spec.name] = await run_one(spec, args, tmpdir)
            except h.BenchError as exc:
                results[spec.name] = {"error": str(exc)}
                print(f"{spec.name} failed: {exc}", file=sys.stderr)
        h.keep_logs(tmpdir, args.keep_logs)
    print_table(results, args)
    summary = summarise(results)
    r = summary["ratios"]
    print(f"ratios: ONAIR/Node {r['onair_vs_node']}x, ONAIR/python-socketio "
          f"{r['onair_vs_pysio']}x; targets {summary['targets'] or '-'}")
    out = {
        "bench": "fanout",
        "params": {"viewers": args.viewers, "rate": args.rate, "duration_s": args.duration,
                   "warmup_s": args.warmup, "load_procs": args.load_procs,
                   "tick_ms": args.tick_ms, "smoke": args.smoke,
                   "redis": bool(args.redis)},
        "machine": h.machine(),
        "servers": results,
        **summary,
    }
    print(json.dumps(out, separators=(",", ":")))
    return 1 if problems(results, args) else 0


def problems(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> list[str]:
    """What makes the run a failure: a server that failed and, in smoke mode (small and
    unhurried), any event that did not reach every viewer. Never a timing."""
    found = [f"{name}: failed" for name, r in results.items() if "error" in r]
    if args.smoke:
        found += [f"{name}: {r['delivered_share']:.1%} delivered"
                  for name, r in results.items()
                  if "error" not in r and r["delivered_share"] != 1.0]
    for line in found:
        print(f"problem: {line}", file=sys.stderr)
    return found


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
