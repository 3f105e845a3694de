"""Serve benchmark: `dlflow serve` on a trained digits MLP under 8 concurrent HTTP clients.

Trains configs/digits_mlp.yaml for 2 epochs in a scratch folder, starts the servers on
127.0.0.1 and sends single-image `:predict` requests (row format) from asyncio httpx clients,
after a warm-up, in these scenarios:

- `batched`: 8 clients, the default micro-batching (up to 64 examples; a batch is what queued
  while the model was busy), with the default prediction log (every request recorded);
- `batched_no_log`: the same with `--log-sample 0` (no prediction log); `log_keeps` is the
  median over rounds of `batched` / `batched_no_log` throughput (the log's cost);
- `batched_wait_2ms`: 8 clients, `--batch-timeout-ms 2` (a batch also waits up to 2 ms for
  requests already arriving);
- `unbatched`: 8 clients, `--max-batch-size 1` (one model call per request);
- `bare_fastapi`: 8 clients against benchmarks/bare_app.py, a FastAPI endpoint on uvicorn that
  reads the body and returns a fixed answer: the HTTP stack's limit on this machine;
- `single_client`, `batched_wait_2ms` (with --all): 1 client; `--batch-timeout-ms 2`.

The scenarios alternate over a few rounds, so drift in the machine's load hits all alike.
Reports requests/s, errors, p50/p99 client-side latency, the servers' mean batch size (from
/metrics) and dlflow's requests/s as a fraction of the bare endpoint's; writes
bench-results/serve.json. The clients share the machine with the servers, so on a small
machine the figures are a lower bound.

Usage: python benchmarks/serve.py [--seconds 12] [--rounds 3] [--clients 8] [--scenarios batched,batched_no_log,bare_fastapi]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import selectors
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DLFLOW = [sys.executable, "-m", "dlflow.cli"]
WARMUP_REQUESTS = 50
MAX_REQUESTS = 100_000  # per scenario, whatever the duration


def train(work: Path) -> Path:
    command = [*DLFLOW, "train", str(ROOT / "configs" / "digits_mlp.yaml"), "--set", "fit.epochs=2", "--json"]
    done = subprocess.run(command, cwd=work, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"training failed:\n{done.stderr[-3000:]}")
    return Path(json.loads(done.stdout)["run"])


def start_server(run: Path, work: Path, *args: str) -> tuple[subprocess.Popen, dict]:
    process = subprocess.Popen([*DLFLOW, "serve", str(run), "--port", "0", "--json", *args], cwd=work,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if selector.select(timeout=0.5):
            return process, json.loads(process.stdout.readline())
        if process.poll() is not None:
            raise SystemExit(f"dlflow serve exited with {process.returncode}:\n{process.stderr.read()[-3000:]}")
    process.kill()
    raise SystemExit("dlflow serve was not ready within 180 s")


def start_bare(work: Path) -> tuple[subprocess.Popen, dict]:
    import socket

    with socket.socket() as probe:  # a free port for uvicorn
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "bare_app.py"), str(port)], cwd=work,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    info = json.loads(process.stdout.readline())
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.post(f"{info['url']}:predict", content=b"{}")
            return process, info
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit("the bare FastAPI endpoint did not start")


def stop_server(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()


def warm_up(url: str, bodies: list[bytes]) -> None:
    import httpx

    with httpx.Client(timeout=30) as client:
        for i in range(WARMUP_REQUESTS):
            client.post(url, content=bodies[i % len(bodies)], headers={"content-type": "application/json"}
                        ).raise_for_status()


async def load(url: str, bodies: list[bytes], clients: int, seconds: float) -> tuple[list[float], float, int]:
    """`clients` concurrent request loops for `seconds`; returns the latencies, the elapsed time, the errors."""
    import httpx

    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"content-type": "application/json"}
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        started = time.perf_counter()
        end = started + seconds

        async def worker(offset: int) -> None:
            nonlocal errors
            i = offset
            while time.perf_counter() < end and len(latencies) < MAX_REQUESTS:
                sent = time.perf_counter()
                response = await client.post(url, content=bodies[i % len(bodies)], headers=headers)
                latencies.append(time.perf_counter() - sent)
                errors += response.status_code != 200
                i += clients

        await asyncio.gather(*(worker(k) for k in range(clients)))
        return latencies, time.perf_counter() - started, errors


def batch_totals(metrics_url: str | None) -> tuple[float, float]:
    """(examples, model calls) so far, from the server's /metrics."""
    import httpx

    if metrics_url is None:
        return 0.0, 0.0
    values = {}
    for line in httpx.get(metrics_url).text.splitlines():
        if line.startswith(("dlflow_serve_batch_size_sum", "dlflow_serve_batch_size_count")):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values.get("dlflow_serve_batch_size_sum", 0.0), values.get("dlflow_serve_batch_size_count", 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="Measured seconds per scenario, over all rounds.")
    parser.add_argument("--rounds", type=int, default=3, help="Scenarios alternate this many times (drift hits all alike).")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--scenarios", default="", help="Comma-separated scenarios to run (default: all).")
    args = parser.parse_args()
    from sklearn.datasets import load_digits

    images = load_digits().images[:, :, :, None].tolist()
    bodies = [json.dumps({"instances": [image]}).encode() for image in images[:256]]
    plans = {"batched": ("batched", args.clients), "batched_no_log": ("no_log", args.clients),
             "batched_wait_2ms": ("wait", args.clients), "unbatched": ("unbatched", args.clients),
             "single_client": ("batched", 1), "bare_fastapi": ("bare", args.clients)}
    if args.scenarios:
        plans = {name: plans[name] for name in args.scenarios.split(",")}
    server_args = {"batched": (), "no_log": ("--log-sample", "0"), "wait": ("--batch-timeout-ms", "2"),
                   "unbatched": ("--max-batch-size", "1")}
    server_args = {key: value for key, value in server_args.items() if key in {p[0] for p in plans.values()}}
    totals = {name: {"latencies": [], "seconds": 0.0, "examples": 0.0, "calls": 0.0, "errors": 0, "rounds_rps": []}
              for name in plans}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        run = train(work)
        servers = {key: start_server(run, work, *extra) for key, extra in server_args.items()}
        servers["bare"] = start_bare(work)
        try:
            for round_ in range(args.rounds):
                for name, (server, clients) in plans.items():
                    info = servers[server][1]
                    warm_up(f"{info['url']}:predict", bodies)
                    before = batch_totals(info["metrics"])
                    latencies, elapsed, errors = asyncio.run(load(f"{info['url']}:predict", bodies, clients,
                                                                  args.seconds / args.rounds))
                    after = batch_totals(info["metrics"])
                    total = totals[name]
                    total["latencies"] += latencies
                    total["seconds"] += elapsed
                    total["errors"] += errors
                    total["examples"] += after[0] - before[0]
                    total["calls"] += after[1] - before[1]
                    total["rounds_rps"].append(len(latencies) / elapsed)
                    print(f"round {round_ + 1} {name:14s} {len(latencies) / elapsed:8.1f} req/s", file=sys.stderr)
        finally:
            for process, _ in servers.values():
                stop_server(process)
    results = {}
    for name, total in totals.items():
        ordered = sorted(total["latencies"])
        results[name] = {
            "clients": plans[name][1], "server_args": list(server_args.get(plans[name][0], ())),
            "requests": len(ordered), "errors": total["errors"], "seconds": total["seconds"],
            "requests_per_s": len(ordered) / total["seconds"],
            "requests_per_s_by_round": total["rounds_rps"],
            "p50_ms": 1000 * statistics.median(ordered),
            "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
            "mean_ms": 1000 * statistics.fmean(ordered),
            "model_calls": int(total["calls"]),
            "mean_batch_size": total["examples"] / total["calls"] if total["calls"] else 0.0,
        }
    bare = results["bare_fastapi"]["requests_per_s_by_round"]
    for name in ("batched", "unbatched"):  # per round, then the median: each round's pair ran back to back
        ratios = [d / b for d, b in zip(results[name]["requests_per_s_by_round"], bare)]
        results[name]["vs_bare_by_round"] = ratios
        results[name]["vs_bare"] = statistics.median(ratios)
    report = {"benchmark": "serve", "config": "configs/digits_mlp.yaml", "payload": "1 image (8x8x1) per request",
              "client": "httpx.AsyncClient in one process on the same machine", "cpu_count": os.cpu_count(),
              "load_average_at_end": os.getloadavg(), "seconds_per_scenario": args.seconds,
              "rounds": args.rounds, "goals": {"vs_bare": 0.6, "p99_ms": 25}, "scenarios": results}
    if "batched" in totals and "batched_no_log" in totals:
        ratios = [a / b for a, b in zip(totals["batched"]["rounds_rps"], totals["batched_no_log"]["rounds_rps"])]
        report["log_keeps"] = statistics.median(ratios)
        report["log_keeps_by_round"] = ratios
    out = ROOT / "bench-results" / "serve.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"{'scenario':14s}{'clients':>8s}{'req/s':>10s}{'errors':>7s}{'p50 ms':>9s}{'p99 ms':>9s}{'batch':>7s}"
          f"{'vs bare':>9s}")
    for name, r in results.items():
        ratio = f"{r['vs_bare']:9.3f}" if "vs_bare" in r else f"{'':9s}"
        print(f"{name:14s}{r['clients']:8d}{r['requests_per_s']:10.1f}{r['errors']:7d}{r['p50_ms']:9.2f}"
              f"{r['p99_ms']:9.2f}{r['mean_batch_size']:7.2f}{ratio}")
    if "log_keeps" in report:
        print(f"with the prediction log: {report['log_keeps']:.1%} of the throughput without it (median of rounds)")
    print(f"load average (1, 5, 15 min) at the end: {', '.join(f'{v:.1f}' for v in os.getloadavg())}")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
