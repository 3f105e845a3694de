"""`dlflow`: the entry point, joining the command modules to the app, and the error boundary (exit codes)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# No pydantic plugins (dlflow's config models use none): looking for them reads every installed
# package's entry points, ~0.05-0.15 s of each command's start-up (`--help`, `validate`).
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "1")

import typer  # noqa: E402

from dlflow import __version__
from dlflow.cli.app import State, app
from dlflow.errors import DlflowError

# The first stages in workflow order; the other commands follow them in import order.
HELP_ORDER = ("define", "collect", "develop", "train")


def _register() -> None:
    # Import order is help order: the workflow stages, then observing, then config tools.
    from dlflow.cli import stage_cmds, data_cmds, train_cmds, regularize_cmds, deploy_cmds, serve_cmds, monitor_cmds, generate_cmds, observe_cmds, config_cmds  # noqa: F401

    rank = {name: i for i, name in enumerate(HELP_ORDER)}
    app.registered_commands.sort(  # stable: unranked commands keep their order
        key=lambda c: rank.get(c.name or c.callback.__name__.replace("_", "-"), len(rank)))


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app, turning dlflow errors into messages and exit codes."""
    from dlflow.cli.output import print_error

    _register()
    try:
        # without standalone mode, click returns a `typer.Exit(code)` raised by a command as the result
        code = app(args=argv, standalone_mode=False)
    except DlflowError as error:
        print_error(error)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except Exception as error:  # usage errors of click or typer's vendored click
        if callable(getattr(error, "show", None)) and hasattr(error, "exit_code"):
            error.show()
            sys.exit(2)
        if type(error).__name__ == "Abort":
            print("error: aborted", file=sys.stderr)
            sys.exit(130)
        saved = _save_traceback(error)
        print(f"error: unexpected {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:400]
              + f" (traceback saved to {saved}; please report it)", file=sys.stderr)
        if State.verbose:
            import traceback

            traceback.print_exception(error, file=sys.stderr)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def _save_traceback(error: BaseException) -> str:
    """Write the traceback of an unexpected error to a file; its path (in the runs folder, else the temp folder)."""
    import tempfile
    import time
    import traceback

    text = "".join(traceback.format_exception(error))
    name = f"crash-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{os.getpid()}.txt"
    for folder in (State.runs_root / ".crashes", Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            path.write_text(f"dlflow {__version__}: {' '.join(sys.argv)}\n\n{text}")
            return str(path)
        except OSError:
            continue
    return "nowhere: the runs and temp folders are not writable"


if __name__ == "__main__":
    main()
