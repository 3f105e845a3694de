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
from dlflow.cli.pydantic_plugins import skip_plugin_search
from dlflow.cli.registry import register
from dlflow.errors import DlflowError

skip_plugin_search()  # and not import importlib.metadata for it


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app, turning dlflow errors into messages and exit codes."""
    from dlflow.cli.output import new_command

    args = list(sys.argv[1:] if argv is None else argv)
    wants_json = "--json" in args[: args.index("--")] if "--" in args else "--json" in args
    new_command()
    try:
        _run(args)
    except _Failed as failed:
        if wants_json:
            from dlflow.cli.output import print_json_error

            print_json_error(failed.lines, failed.exit_code, failed.kind)
        sys.exit(failed.exit_code)


class _Failed(Exception):
    """How a command failed: its message lines (already printed on stderr), exit status and kind."""

    def __init__(self, lines: list[str], exit_code: int, kind: str):
        super().__init__(lines[0] if lines else kind)
        self.lines, self.exit_code, self.kind = lines, exit_code, kind


def _run(args: list[str]) -> None:
    """Run the app; a failure is printed on stderr and raised as `_Failed`; success exits."""
    from dlflow.cli.output import print_error

    register(app, args)
    try:
        # without standalone mode, click returns a `typer.Exit(code)` raised by a command as the result
        code = app(args=args, prog_name="dlflow", standalone_mode=False)
    except DlflowError as error:
        print_error(error)
        raise _Failed(error.lines(), error.exit_code, type(error).__name__) from None
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        raise _Failed(["interrupted"], 130, "Interrupted") from None
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except Exception as error:  # usage errors of click or typer's vendored click
        if callable(getattr(error, "show", None)) and hasattr(error, "exit_code"):
            error.show()
            raise _Failed([error.format_message()], 2, "UsageError") from None
        if type(error).__name__ == "Abort":
            print("error: aborted", file=sys.stderr)
            raise _Failed(["aborted"], 130, "Interrupted") from None
        raise _Failed([_unexpected(error)], 1, "UnexpectedError") from None
    sys.exit(code if isinstance(code, int) else 0)


def _unexpected(error: Exception) -> str:
    """Report an unexpected error: one line on stderr (its traceback saved to a file); returns the line."""
    saved = _save_traceback(error)
    line = (
        f"unexpected {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:400]
        + f" (traceback saved to {saved}; please report it)"
    )
    print(f"error: {line}", file=sys.stderr)
    if State.verbose:
        import traceback

        traceback.print_exception(error, file=sys.stderr)
    return line


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
