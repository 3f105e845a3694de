"""Serve benchmark: `dlflow serve` on a trained digits MLP under 8 concurrent HTTP clients.

Trains configs/digits_mlp.yaml for 2 epochs in a scratch folder, starts the servers on
127.0.0.1 and sends single-image `:predict` requests (row format), after a warm-up, in these
scenarios:

- `batched`: 8 clients, the default micro-batching (up to 64 examples; a batch is what queued
  while the model was busy), with the default prediction log (every request recorded);
- `batched_no_log`: the same with `--log-sample 0` (no prediction log); `log_keeps` is the
  median over rounds of `batched` / `batched_no_log` throughput (the log's cost);
- `unbatched`: 8 clients, `--max-batch-size 1` (one model call per request);
- `bare_fastapi`: 8 clients against benchmarks/bare_app.py, a FastAPI endpoint on uvicorn that
  reads the body and returns a fixed answer: the HTTP stack's limit on this machine;
- `single_client`, `batched_wait_2ms`: 1 client; `--batch-timeout-ms 2`.

The client (default `light`, benchmarks/load.py): one thread per client, each with one
keep-alive blocking socket, requests encoded once as bytes, responses read by Content-Length;
it costs the machine tens of microseconds per request, so the servers get the CPU. `--client
httpx` is the earlier load generator (asyncio httpx in one process), which spent about as much
CPU per request as the server and so measured mostly itself.

Each round runs every scenario once, in turn, so drift in the machine's load hits all alike;
a scenario sends `--requests` requests per round (every one counted; an error is any answer
but 200, or none), or runs `--seconds` / rounds seconds. Reports the median over rounds of
requests/s, p50 and p99 client-side latency, the errors summed, the servers' mean batch size
(from /metrics), dlflow's requests/s as a fraction of the bare endpoint's (per round, then
the median), and the HTTP stack the servers run on (uvicorn's parser and event loop, from dlflow's
/metadata; the bare endpoint runs uvicorn's defaults, which pick the same); writes
bench-results/serve.json. The clients share the machine with the servers, so on a small machine
the figures are a lower bound. This machine's speed drifts by about 15% within a minute, so a
round's ratio varies (0.52 to 0.75 in one run); the default is 5 rounds.

Usage: python benchmarks/serve.py [--requests 10000 | --seconds 30] [--rounds 5] [--clients 8]
       [--client light|httpx] [--run RUN] [--scenarios batched,batched_no_log,unbatched,bare_fastapi]
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

from load import LoadResult, run_load  # noqa: E402  (benchmarks run as scripts: their folder is on sys.path)

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
    process = subprocess.Popen(
        [*DLFLOW, "serve", str(run), "--port", "0", "--json", *args],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
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
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / "bare_app.py"), str(port)],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
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
    result = run_load(url, bodies, clients=1, requests=WARMUP_REQUESTS)
    if result.errors:
        raise SystemExit(f"{url}: {result.errors} of {WARMUP_REQUESTS} warm-up requests failed")


async def httpx_load(
    url: str, bodies: list[bytes], clients: int, seconds: float | None, requests: int | None
) -> LoadResult:
    """The earlier client: `clients` asyncio httpx loops in this process (heavier than the light one)."""
    import httpx

    result = LoadResult()
    numbers = iter(range(requests if requests is not None else MAX_REQUESTS))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"content-type": "application/json"}
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        started = time.perf_counter()
        end = started + seconds if seconds is not None else float("inf")

        async def worker() -> None:
            for i in numbers:
                if time.perf_counter() >= end:
                    break
                sent = time.perf_counter()
                try:
                    status = (await client.post(url, content=bodies[i % len(bodies)], headers=headers)).status_code
                except httpx.HTTPError:
                    status = 0
                result.latencies.append(time.perf_counter() - sent)
                result.errors += status != 200

        await asyncio.gather(*(worker() for _ in range(clients)))
        result.seconds = time.perf_counter() - started
    return result


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


def measure(info: dict, bodies: list[bytes], clients: int, args: argparse.Namespace) -> dict:
    """One scenario's round: warm up, load, and what it measured."""
    url = f"{info['url']}:predict"
    warm_up(url, bodies)
    before = batch_totals(info["metrics"])
    seconds = None if args.requests else args.seconds / args.rounds
    if args.client == "httpx":
        result = asyncio.run(httpx_load(url, bodies, clients, seconds, args.requests))
    else:
        result = run_load(url, bodies, clients=clients, seconds=seconds, requests=args.requests)
    after = batch_totals(info["metrics"])
    ordered = sorted(result.latencies)
    return {
        "requests": result.requests,
        "errors": result.errors,
        "seconds": result.seconds,
        "requests_per_s": result.requests / result.seconds,
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        "mean_ms": 1000 * statistics.fmean(ordered),
        "examples": after[0] - before[0],
        "calls": after[1] - before[1],
    }


def summarize(name: str, rounds: list[dict], clients: int, server_args: tuple[str, ...]) -> dict:
    """A scenario's rounds: medians of req/s, p50, p99; errors and requests summed."""
    calls = sum(r["calls"] for r in rounds)
    return {
        "clients": clients,
        "server_args": list(server_args),
        "requests": sum(r["requests"] for r in rounds),
        "errors": sum(r["errors"] for r in rounds),
        "seconds": sum(r["seconds"] for r in rounds),
        "requests_per_s": statistics.median(r["requests_per_s"] for r in rounds),
        "p50_ms": statistics.median(r["p50_ms"] for r in rounds),
        "p99_ms": statistics.median(r["p99_ms"] for r in rounds),
        "mean_ms": statistics.median(r["mean_ms"] for r in rounds),
        "model_calls": int(calls),
        "mean_batch_size": sum(r["examples"] for r in rounds) / calls if calls else 0.0,
        "by_round": [{key: r[key] for key in ("requests_per_s", "p50_ms", "p99_ms", "errors")} for r in rounds],
    }


PLANS = {
    "batched": ("batched", None),
    "batched_no_log": ("no_log", None),
    "batched_wait_2ms": ("wait", None),
    "unbatched": ("unbatched", None),
    "single_client": ("batched", 1),
    "bare_fastapi": ("bare", None),
}
SERVER_ARGS = {
    "batched": (),
    "no_log": ("--log-sample", "0"),
    "wait": ("--batch-timeout-ms", "2"),
    "unbatched": ("--max-batch-size", "1"),
}
DEFAULT_SCENARIOS = "batched,batched_no_log,unbatched,bare_fastapi"


def http_stack(info: dict) -> str:
    """What a dlflow server says it runs on (its /metadata: uvicorn, the HTTP parser, the event loop)."""
    import httpx

    return httpx.get(f"{info['url']}/metadata", timeout=30).json()["metadata"]["dlflow"]["serving"]["http"]


def run_rounds(args: argparse.Namespace, bodies: list[bytes], stacks: dict[str, str]) -> dict:
    """Every scenario once per round, `args.rounds` times; {scenario: summary}. `stacks` gets each
    dlflow server's HTTP stack."""
    plans = {name: PLANS[name] for name in args.scenarios.split(",")}
    servers_needed = {server for server, _ in plans.values()}
    rounds: dict[str, list[dict]] = {name: [] for name in plans}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        run = Path(args.run).resolve() if args.run else train(work)
        servers = {key: start_server(run, work, *extra) for key, extra in SERVER_ARGS.items() if key in servers_needed}
        servers["bare"] = start_bare(work)
        stacks.update({key: http_stack(info) for key, (_, info) in servers.items() if key != "bare"})
        try:
            for round_ in range(args.rounds):
                for name, (server, clients) in plans.items():
                    measured = measure(servers[server][1], bodies, clients or args.clients, args)
                    rounds[name].append(measured)
                    print(
                        f"round {round_ + 1} {name:16s} {measured['requests_per_s']:8.1f} req/s  p50 "
                        f"{measured['p50_ms']:6.2f} ms  p99 {measured['p99_ms']:6.2f} ms  errors "
                        f"{measured['errors']}",
                        file=sys.stderr,
                    )
        finally:
            for process, _ in servers.values():
                stop_server(process)
    return {
        name: summarize(name, rounds[name], plans[name][1] or args.clients, SERVER_ARGS.get(plans[name][0], ()))
        for name in plans
    }


def add_ratios(report: dict) -> None:
    """dlflow vs bare per round (each round's pair ran back to back), then the median; the log's cost."""
    results = report["scenarios"]
    bare = [r["requests_per_s"] for r in results["bare_fastapi"]["by_round"]]
    for name in ("batched", "batched_no_log", "unbatched"):
        if name in results:
            ratios = [r["requests_per_s"] / b for r, b in zip(results[name]["by_round"], bare, strict=True)]
            results[name]["vs_bare_by_round"] = ratios
            results[name]["vs_bare"] = statistics.median(ratios)
    if "batched" in results and "batched_no_log" in results:
        ratios = [
            a["requests_per_s"] / b["requests_per_s"]
            for a, b in zip(results["batched"]["by_round"], results["batched_no_log"]["by_round"], strict=True)
        ]
        report["log_keeps"] = statistics.median(ratios)
        report["log_keeps_by_round"] = ratios


def print_table(report: dict, out: Path) -> None:
    print(
        f"{'scenario':16s}{'clients':>8s}{'req/s':>10s}{'errors':>7s}{'of':>8s}{'p50 ms':>9s}{'p99 ms':>9s}"
        f"{'batch':>7s}{'vs bare':>9s}"
    )
    for name, r in report["scenarios"].items():
        ratio = f"{r['vs_bare']:9.3f}" if "vs_bare" in r else f"{'':9s}"
        print(
            f"{name:16s}{r['clients']:8d}{r['requests_per_s']:10.1f}{r['errors']:7d}{r['requests']:8d}"
            f"{r['p50_ms']:9.2f}{r['p99_ms']:9.2f}{r['mean_batch_size']:7.2f}{ratio}"
        )
    if "log_keeps" in report:
        print(f"with the prediction log: {report['log_keeps']:.1%} of the throughput without it (median of rounds)")
    print(
        f"medians of {report['rounds']} alternated rounds; client: {report['client']}; {', '.join(report['http_stack'])}"
    )
    print(
        f"load average (1, 5, 15 min) at the start: {', '.join(f'{v:.1f}' for v in report['load_average_at_start'])}"
        f"; at the end: {', '.join(f'{v:.1f}' for v in report['load_average_at_end'])}"
    )
    print(f"written: {out}")


CLIENTS = {
    "light": "benchmarks/load.py: one thread per client, one keep-alive blocking socket each, "
    "requests pre-encoded as bytes, responses read by Content-Length",
    "httpx": "httpx.AsyncClient in one process on the same machine",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests",
        type=int,
        default=10_000,
        help="Requests per scenario per round, every one counted (0: run --seconds instead).",
    )
    parser.add_argument(
        "--seconds", type=float, default=30.0, help="With --requests 0: measured seconds per scenario, over all rounds."
    )
    parser.add_argument("--rounds", type=int, default=5, help="Scenarios alternate this many times.")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--client", choices=sorted(CLIENTS), default="light", help="The load generator (see above).")
    parser.add_argument("--run", help="Serve this trained digits-MLP run instead of training one.")
    parser.add_argument("--scenarios", default=DEFAULT_SCENARIOS, help="Comma-separated scenarios to run.")
    args = parser.parse_args()
    args.requests = args.requests or None
    from sklearn.datasets import load_digits

    images = load_digits().images[:, :, :, None].tolist()
    bodies = [json.dumps({"instances": [image]}).encode() for image in images[:256]]
    load_at_start = os.getloadavg()
    stacks: dict[str, str] = {}  # each dlflow server's HTTP stack, from its /metadata
    report = {
        "benchmark": "serve",
        "config": "configs/digits_mlp.yaml",
        "payload": "1 image (8x8x1) per request",
        "client": args.client,
        "client_is": CLIENTS[args.client],
        "cpu_count": os.cpu_count(),
        "load_average_at_start": load_at_start,
        "requests_per_round": args.requests,
        "seconds_per_scenario": None if args.requests else args.seconds,
        "rounds": args.rounds,
        "figures": "medians over rounds (errors and requests: sums)",
        "goals": {"vs_bare": 0.6, "p99_ms": 25, "errors": 0},
        "scenarios": run_rounds(args, bodies, stacks),
    }
    report["http_stack"] = sorted(set(stacks.values()))  # the bare endpoint runs uvicorn's defaults, the same
    report["load_average_at_end"] = os.getloadavg()
    add_ratios(report)
    out = ROOT / "bench-results" / "serve.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print_table(report, out)


if __name__ == "__main__":
    main()
