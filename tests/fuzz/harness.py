"""Running `dlflow` commands in-process on generated inputs and counting how each one ended.

A fuzzer (config_fuzz.py, data_fuzz.py) runs as its own process under a memory cap and prints one
JSON line of counts: tried, clean (exit 2 with a located line), accepted (exit 0), tracebacks
(exit 1 or an exception escaping the CLI), unlocated (exit 2 without a file:line or config path)
and hangs (no answer within the time limit).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import resource
import signal
import sys
from dataclasses import dataclass, field
from typing import Any

LOCATED = re.compile(r"error: (\S+?:\d+(:\d+)?[: ]|\S*[/.]\S*: |--set |[\w.\[\]-]+: )")


class _Hang(BaseException):  # not an Exception: the CLI's last-resort handler must not take it
    pass


@dataclass
class Counts:
    tried: int = 0
    clean: int = 0
    accepted: int = 0
    tracebacks: int = 0
    unlocated: int = 0
    hangs: int = 0
    failed: int = 0  # exit 1 from dlflow's own WorkFailed (e.g. training diverged): only where work_failed
    examples: dict[str, list[str]] = field(default_factory=dict)

    def note(self, kind: str, sample: str) -> None:
        self.examples.setdefault(kind, [])
        if len(self.examples[kind]) < 5:
            self.examples[kind].append(sample[:600])

    def summary(self) -> dict[str, Any]:
        return {
            "tried": self.tried,
            "clean_exit_2": self.clean,
            "accepted": self.accepted,
            "tracebacks": self.tracebacks,
            "unlocated": self.unlocated,
            "hangs": self.hangs,
            **({"work_failed": self.failed} if self.failed else {}),
            "examples": self.examples,
        }


def generated_only(examples: int) -> Any:
    """Hypothesis settings for a fuzzer: `examples` generated cases, no shrinking, no example database,
    no deadline or health checks (each case runs the real CLI or app, seconds each)."""
    from hypothesis import HealthCheck, Phase, settings

    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


def cap_memory(gib: float) -> None:
    """Cap this process's address space, so an input that blows memory up fails here, not the machine."""
    limit = int(gib * (1 << 30))
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def run_dlflow(
    args: list[str],
    counts: Counts,
    *,
    label: str,
    timeout: int = 20,
    out: list[str] | None = None,
    work_failed: bool = False,
) -> int:
    """Run `dlflow ARGS` in this process; count how it ended; return the exit code (-1 for a hang).

    Args:
        out: receives the command's stderr.
        work_failed: an exit 1 that is dlflow's own "the work failed" (no saved traceback) counts
            as `failed`, not as a traceback (train: a diverged run).
    """
    from dlflow.cli.main import main

    counts.tried += 1
    err = io.StringIO()

    def alarm(*_: Any) -> None:
        raise _Hang()

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(timeout)
    code: Any = 0
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            main(args)
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 1
    except _Hang:
        code = -1
    except BaseException as exc:  # noqa: BLE001 - anything escaping the CLI is a finding
        code = 1
        err.write(f"escaped: {type(exc).__name__}: {exc}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    text = err.getvalue()
    if out is not None:
        out.append(text)
    if code == 0:
        counts.accepted += 1
    elif code == 2:
        lines = [line for line in text.splitlines() if line.startswith("error:")]
        if lines and all(LOCATED.match(line) for line in lines):
            counts.clean += 1
        else:
            counts.unlocated += 1
            counts.note("unlocated", f"{label}: {text}")
    elif code == 1 and work_failed and "traceback saved" not in text and "escaped:" not in text:
        counts.failed += 1
    elif code == -1:
        counts.hangs += 1
        counts.note("hangs", label)
    else:
        counts.tracebacks += 1
        counts.note("tracebacks", f"{label}: exit {code}: {text}")
    return code


def report(counts: Counts) -> None:
    print(json.dumps(counts.summary()))
    sys.stdout.flush()


def fuzz_main(fuzz: Any, *, examples: int, memory_gib: float) -> None:
    """A fuzzer's command line: `--examples N --memory-gib G`, run in a temporary folder, counts printed."""
    import argparse
    import os
    import tempfile
    from pathlib import Path

    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=examples)
    parser.add_argument("--memory-gib", type=float, default=memory_gib)
    args = parser.parse_args()
    cap_memory(args.memory_gib)
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        report(fuzz(args.examples, Path(tmp)))
