"""What `dlflow validate` spends its start-up on: each piece of work done once, nothing imported it does not use.

The times themselves are a benchmark (benchmarks/start_up.py), not a test; these check the mechanisms.
"""

from __future__ import annotations

import yaml

from dlflow.config.yaml_loader import load_yaml


def test_a_config_is_scanned_once(monkeypatch):
    # The depth check scans the text; the parse reuses its tokens instead of scanning again
    # (scanning is half of PyYAML's time).
    text = "fit:\n  epochs: 5\n  callbacks: [{EarlyStopping: {patience: 2}}]\nmodel: {sequential: [relu]}\n"
    scanned = []
    original = yaml.scanner.Scanner.fetch_more_tokens

    def counting(self):
        scanned.append(1)
        return original(self)

    monkeypatch.setattr(yaml.scanner.Scanner, "fetch_more_tokens", counting)
    list(yaml.scan(text, Loader=yaml.SafeLoader))
    once = len(scanned)
    scanned.clear()
    data, positions = load_yaml(text, "c.yaml")
    assert data["fit"]["callbacks"] == [{"EarlyStopping": {"patience": 2}}]
    assert positions.describe(("fit", "callbacks", 0, "EarlyStopping", "patience"), value=True) == "c.yaml:3:42"
    assert len(scanned) == once
