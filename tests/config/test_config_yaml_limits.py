"""YAML that could crash or exhaust the loader ends in one located config error (issue #10)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from dlflow.config.yaml_loader import load_yaml
from dlflow.errors import ConfigError

LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n" for p, n in zip("abcdefgh", "bcdefghi")
)

CASES = {
    "billion_laughs": (LAUGHS, r"^c\.yaml:\d+:\d+: the document expands to more than 20000 values"),
    "deep_flow": ("a: " + "[" * 5000 + "]" * 5000 + "\n", r"^c\.yaml:1:\d+: nested more than 64 levels deep"),
    "deep_block": (
        "".join("  " * i + f"k{i}:\n" for i in range(1500)) + "  " * 1500 + "v: 1\n",
        r"^c\.yaml:65:\d+: nested more than 64 levels deep",
    ),
    "recursive_alias": ("a: &a [*a]\n", r"^c\.yaml:1:\d+: nested more than 64 levels deep"),
    "nul": ("name: x\nfit:\n  epochs: 1\x00\n", r"^c\.yaml:3:12: unacceptable character U\+0000"),
    "bell": ("name: x\x07y\n", r"^c\.yaml:1:8: unacceptable character U\+0007"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_yaml_is_one_located_config_error(case):
    text, pattern = CASES[case]
    with pytest.raises(ConfigError) as raised:
        load_yaml(text, "c.yaml")
    assert re.search(pattern, str(raised.value)), str(raised.value)


def test_billion_laughs_through_validate_stays_small(tmp_path):
    """The CLI under a 1 GiB address-space cap: exit 2, not killed for memory."""
    (tmp_path / "c.yaml").write_text(LAUGHS)
    cap = "import resource; resource.setrlimit(resource.RLIMIT_AS, (1 << 31, 1 << 31))"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            f"{cap}; import sys; sys.argv=['dlflow','validate','c.yaml'];from dlflow.cli.main import main; main()",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "expands to more than" in done.stderr
