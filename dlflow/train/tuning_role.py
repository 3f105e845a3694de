"""This process's part in a `dlflow tune` spread over processes (KerasTuner's distributed tuning).

```sh
dlflow tune exp.yaml --oracle 10.0.0.1:8000 --tuner-id chief    # serves the oracle, writes the tune directory
dlflow tune exp.yaml --oracle 10.0.0.1:8000 --tuner-id tuner0   # runs trials (tuner1, ... on other machines)
```
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping

from dlflow.errors import UsageError

# The variables KerasTuner reads for distributed tuning (`dlflow tune --oracle --tuner-id` sets them).
ENV_TUNER_ID = "KERASTUNER_TUNER_ID"
ENV_ORACLE_IP = "KERASTUNER_ORACLE_IP"
ENV_ORACLE_PORT = "KERASTUNER_ORACLE_PORT"
CHIEF_TUNER = "chief"


@dataclass(frozen=True)
class TuningRole:
    """This process's part in a `dlflow tune` spread over processes (KerasTuner's distributed tuning).

    The chief serves KerasTuner's oracle: it hands out trials, keeps their results and writes
    the tune directory; every other process (tuner0, tuner1, ...) asks it for a trial, trains
    it and reports the score, until the oracle has no trial left.

    Args:
        tuner_id: `chief`, or any other id for a process running trials; None when the whole
            search runs in this process.
        oracle: `HOST:PORT` where the chief's oracle listens.
    """

    tuner_id: str | None = None
    oracle: str | None = None

    @classmethod
    def from_options(
        cls, options: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> "TuningRole":
        """--oracle and --tuner-id, falling back to KerasTuner's KERASTUNER_* variables."""
        options = dict(options or {})
        environ = os.environ if environ is None else environ
        oracle = options.get("oracle")
        if oracle is None and environ.get(ENV_ORACLE_IP):
            oracle = f"{environ[ENV_ORACLE_IP]}:{environ.get(ENV_ORACLE_PORT, '')}"
        tuner_id = options.get("tuner_id") or environ.get(ENV_TUNER_ID) or None
        if (oracle is None) != (tuner_id is None):
            raise UsageError(
                "distributed tuning needs --oracle HOST:PORT and --tuner-id together "
                "(chief on the process serving the oracle, tuner0, tuner1, ... on the others)"
            )
        if oracle is not None:
            host, _, port = oracle.rpartition(":")
            if not host or not port.isdigit():
                raise UsageError(
                    f"--oracle: expected HOST:PORT (where the chief's oracle listens), received {oracle!r}"
                )
            if not tuner_id.replace("-", "").replace("_", "").isalnum():
                raise UsageError(f"--tuner-id: expected a name such as chief or tuner0, received {tuner_id!r}")
        return cls(tuner_id, oracle)

    @property
    def distributed(self) -> bool:
        return self.tuner_id is not None

    @property
    def is_chief(self) -> bool:
        """True on the process serving the oracle (KerasTuner's rule: its id contains 'chief')."""
        return self.distributed and CHIEF_TUNER in self.tuner_id

    @property
    def is_worker(self) -> bool:
        """True on a process running the chief's trials."""
        return self.distributed and not self.is_chief

    def activate(self) -> None:
        """Set the KERASTUNER_* variables KerasTuner reads when the tuner is created."""
        if self.distributed:
            host, _, port = self.oracle.rpartition(":")
            os.environ.update({ENV_TUNER_ID: self.tuner_id, ENV_ORACLE_IP: host, ENV_ORACLE_PORT: port})

    def describe(self) -> dict[str, Any]:
        """JSON-ready facts for the tune manifest."""
        return {"tuner_id": self.tuner_id, "oracle": self.oracle}
