"""Chat bench: viewers send `chat` over their sockets; every message reaches every viewer.

ONAIR takes each message through its whole chat path (validation, limits, moderation,
history, the database batch, then the coalescing fan-out); stock python-socketio and
Node socket.io 4 re-broadcast each message to the room with one emit. Each rate runs on
a fresh server with a fresh crowd. Prints deliveries/s, p50/p99 latency (send to
arrival) and ack figures per server and rate, and the ratios; the last line is JSON.

    python bench/chat.py                        # 1,000 viewers; 100, 300, 1,000 msg/s
    python bench/chat.py --smoke
    python bench/chat.py --rates 1000 --servers onair,node
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import harness as h

TARGETS = {"ratio_vs_node": 4.0, "p99_ms": 250.0, "rate": 1000.0}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", "-n", type=int, default=1000)
    parser.add_argument("--rates", default="100,300,1000", help="messages per second, comma list")
    parser.add_argument("--duration", "-d", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--servers", default="onair,node,pysio")
    parser.add_argument("--load-procs", type=int, default=1)
    parser.add_argument("--tick-ms", type=int)
    parser.add_argument("--redis", metavar="URL",
                        help="ONAIR runs with Redis (room log, bus, presence, chat limits)")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--profile", type=Path,
                        help="py-spy flame graphs of the Python servers over the window, here")
    parser.add_argument("--keep-logs", type=Path)
    args = parser.parse_args(argv)
    if args.smoke:
        args.viewers, args.rates, args.duration, args.warmup = 20, "20", 1.5, 0.5
    args.rate_list = [float(r) for r in args.rates.split(",") if r.strip()]
    return args


async def run_one(spec: h.ServerSpec, rate: float, args: argparse.Namespace,
                  logdir: Path) -> dict[str, Any]:
    async with h.session(spec, args.viewers, load_procs=args.load_procs, logdir=logdir,
                         tag=f"chat{rate:g}", measure_memory=False) as sess:
        seconds = args.warmup + args.duration
        result = await h.measured_window(
            sess, warmup=args.warmup, duration=args.duration, profile=args.profile,
            drive=lambda: sess.load.chat(rate, seconds, sess.show_id),
        )
    window = result["window"]
    chat = window["chat"]
    return {
        "deliveries_per_s": round(window["deliveries"] / window["seconds"]),
        "offered_per_s": round(rate * args.viewers),
        "p50_ms": window["latency"].get("p50"),
        "p90_ms": window["latency"].get("p90"),
        "p99_ms": window["latency"].get("p99"),
        "max_ms": window["latency"].get("max"),
        "latency_samples": window["latency"].get("samples", 0),
        "sent": chat["sent"],
        "acked": chat["acked"],
        "rejected": chat["rejected"],
        "reject_codes": chat["reject_codes"],
        "ack_p50_ms": chat["ack_p50"],
        "ack_p99_ms": chat["ack_p99"],
        "delivered_share": round(result["total_deliveries"]
                                 / (result["source"]["sent"] * args.viewers), 4)
        if result["source"]["sent"] else None,
        "drained": result["drained"],
        "server_cpu": round(result["server_cpu"], 2),
        "load_cpu": round(result["load_cpu"], 2),
        "other_cpu": round(result["other_cpu"], 2),
        "closed_unexpectedly": window["closed_unexpectedly"],
        "deflate_viewers": window["deflate"],
    }


def summarise(results: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    ratios: dict[str, dict[str, float | None]] = {}
    for rate, by_server in results.items():
        onair, node, pysio = (by_server.get(k, {}) for k in ("onair", "node", "pysio"))
        ratios[rate] = {
            "onair_vs_node": h.ratio(onair.get("deliveries_per_s"), node.get("deliveries_per_s")),
            "onair_vs_pysio": h.ratio(onair.get("deliveries_per_s"),
                                      pysio.get("deliveries_per_s")),
        }
    targets: dict[str, bool] = {}
    key = f"{TARGETS['rate']:g}"
    top = results.get(key, {}).get("onair", {})
    if top.get("deliveries_per_s") is not None:
        r = ratios[key]["onair_vs_node"]
        targets = {
            "deliveries_ge_4x_node_at_1000": r is not None and r >= TARGETS["ratio_vs_node"],
            "p99_le_250ms_at_1000": (top.get("p99_ms") or 1e9) <= TARGETS["p99_ms"],
        }
    return {"ratios": ratios, "targets": targets}


def print_table(results: dict[str, dict[str, dict[str, Any]]], args: argparse.Namespace) -> None:
    print(f"\nchat: {args.viewers:,} viewers, every viewer a sender; "
          f"{args.duration:g} s measured after {args.warmup:g} s warm-up")
    print(f"{'msg/s':>6} {'server':<18}{'deliv/s':>11}{'p50 ms':>9}{'p99 ms':>9}"
          f"{'acked':>8}{'refused':>8}{'ack p99':>9}{'arrived':>9}{'srv cpu':>9}"
          f"{'load':>6}{'other':>7}")
    for rate, by_server in results.items():
        for name, r in by_server.items():
            if "error" in r:
                print(f"{rate:>6} {h.LABELS[name]:<18}  failed: {r['error'].splitlines()[0]}")
                continue
            share = r["delivered_share"]
            print(f"{rate:>6} {h.LABELS[name]:<18}{h.fmt_rate(r['deliveries_per_s']):>11}"
                  f"{h.fmt_ms(r['p50_ms']):>9}{h.fmt_ms(r['p99_ms']):>9}"
                  f"{r['acked']:>8}{r['rejected']:>8}{h.fmt_ms(r['ack_p99_ms']):>9}"
                  f"{'-' if share is None else f'{share:.0%}':>9}"
                  f"{r['server_cpu']:>9.0%}{r['load_cpu']:>6.0%}{r['other_cpu']:>7.0%}")


async def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    h.check_node_modules()
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    names = [n.strip() for n in args.servers.split(",") if n.strip()]
    results: dict[str, dict[str, dict[str, Any]]] = {}
    with h.temp_dir() as tmp:
        tmpdir = Path(tmp)
        for rate in args.rate_list:
            key = f"{rate:g}"
            results[key] = {}
            for spec in h.server_specs(names, tmpdir / key, tick_ms=args.tick_ms,
                                       redis_url=args.redis):
                print(f"... {h.LABELS[spec.name]} at {key} msg/s", file=sys.stderr, flush=True)
                try:
                    results[key][spec.name] = await run_one(spec, rate, args, tmpdir)
                except h.BenchError as exc:
                    results[key][spec.name] = {"error": str(exc)}
                    print(f"{spec.name} failed: {exc}", file=sys.stderr)
        h.keep_logs(tmpdir, args.keep_logs)
    print_table(results, args)
    summary = summarise(results)
    for rate, r in summary["ratios"].items():
        print(f"ratios at {rate} msg/s: ONAIR/Node {r['onair_vs_node']}x, "
              f"ONAIR/python-socketio {r['onair_vs_pysio']}x")
    print(f"targets: {summary['targets'] or '-'}")
    out = {
        "bench": "chat",
        "params": {"viewers": args.viewers, "rates": args.rate_list,
                   "duration_s": args.duration, "warmup_s": args.warmup,
                   "load_procs": args.load_procs, "tick_ms": args.tick_ms, "smoke": args.smoke,
                   "redis": bool(args.redis)},
        "machine": h.machine(),
        "results": results,
        **summary,
    }
    print(json.dumps(out, separators=(",", ":")))
    return 1 if problems(results, args) else 0


def problems(results: dict[str, dict[str, dict[str, Any]]], args: argparse.Namespace,
             ) -> list[str]:
    """What makes the run a failure: a server that failed and, in smoke mode, a refused
    message or one that did not reach every viewer. Never a timing."""
    found: list[str] = []
    for rate, by_server in results.items():
        for name, r in by_server.items():
            if "error" in r:
                found.append(f"{name} at {rate} msg/s: failed")
            elif args.smoke and (r["rejected"] or r["delivered_share"] != 1.0):
                found.append(f"{name} at {rate} msg/s: {r['rejected']} refused "
                             f"{r['reject_codes']}, {r['delivered_share']:.1%} delivered")
    for line in found:
        print(f"problem: {line}", file=sys.stderr)
    return found


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
