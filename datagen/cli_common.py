"""Options and helpers shared by every datagen command, so they behave the same everywhere."""

from __future__ import annotations

import dataclasses
import errno
import functools
import inspect
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional, get_type_hints

import typer

Workers = Annotated[
    int,
    typer.Option("--workers", "-w", min=1, help="Local worker processes (1 = run in this process)."),
]
Scheduler = Annotated[
    Optional[str],
    typer.Option(
        "--scheduler",
        help="Address of a running dask.distributed scheduler (tcp://HOST:PORT); "
        "inputs and --out must be on a filesystem the workers share.",
    ),
]
Seed = Annotated[int, typer.Option("--seed", help="Global random seed; output is byte-identical for the same seed.")]
Progress = Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")]
Codec = Annotated[
    str,
    typer.Option(
        "--codec",
        help="Shard compression: zstd, gzip or none, optionally with a level (zstd:1 writes faster, "
        "zstd:9 smaller), then optional per-field overrides: 'zstd:1,image=none' stores image raw. "
        "Readers need nothing but the manifest.",
    ),
]


def _print_version(value: bool) -> None:
    if value:
        from datagen import __version__

        typer.echo(f"{Path(sys.argv[0]).name} (matting-datagen {__version__})")
        raise typer.Exit()


Version = Annotated[
    bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
]


class OneLineErrors(typer.Typer):
    """A Typer app on which errors of the environment end as one line and exit 1, not a traceback.

    They are the operating system's (a read-only or full disk, a missing file: OSError, h5py's
    included) and datasets that cannot be read (DatasetError, which names the file, sample and
    field). Both are about the user's files, not the program; anything else is a bug and keeps
    its traceback. Commands still catch the errors they can explain better themselves.
    """

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except Exception as error:
            message = one_line_error(error)
            if message is None:
                raise
            typer.echo(f"error: {message}", err=True)
            raise SystemExit(1) from None


def command_with_shared(app: typer.Typer, name: str) -> Callable[[Callable], Callable]:
    """Register ``body(<its own options>, *, shared: S)`` as command NAME of `app`, where S is a
    dataclass whose fields are typer-annotated options with defaults: the command takes S's
    options after its own and hands them to `body` as one S.

    Why: typer reads a command's options from its signature, so a family of commands with the
    same options (every `fit`, every `evaluate`) would otherwise list and pass them on one by
    one in each command; here they are declared once, in S, and spliced into each signature."""

    def register(body: Callable) -> Callable:
        hints = get_type_hints(body, include_extras=True)
        shared_type = hints["shared"]
        shared_hints = get_type_hints(shared_type, include_extras=True)
        own = [p.replace(annotation=hints[p.name]) for p in inspect.signature(body).parameters.values()
               if p.name != "shared"]
        added = [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default,
                                   annotation=shared_hints[f.name]) for f in dataclasses.fields(shared_type)]

        def run(**options) -> None:
            shared = shared_type(**{p.name: options.pop(p.name) for p in added})
            body(**options, shared=shared)

        command: Any = functools.wraps(body)(run)  # Any: the signature below is set by hand
        command.__signature__ = inspect.Signature(own + added)
        command.__annotations__ = {p.name: p.annotation for p in own + added}
        app.command(name)(command)
        return body

    return register


def command_app(name: str, help: str) -> OneLineErrors:
    """A top-level app as both `datagen` and `training` are: one-line errors, help when run bare,
    no shell-completion commands, plain tracebacks for the bugs that remain."""
    return OneLineErrors(name=name, help=help, no_args_is_help=True, add_completion=False,
                         pretty_exceptions_enable=False)


_ERRNO_HINTS = {
    errno.ENOSPC: "the disk is full",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EDQUOT: "disk quota exceeded",
}


def one_line_error(error: BaseException) -> str | None:
    """The one-line message for an error of the environment (see OneLineErrors); None for others."""
    from datagen.shards.manifest import DatasetError  # here, not at import: `--help` stays light

    if isinstance(error, DatasetError):
        return str(error)
    if not isinstance(error, OSError):
        return None
    text = (str(error).splitlines() or [type(error).__name__])[0]
    code = error.errno
    if code is None:  # h5py puts the C errno in its message: "... errno = 28, error message = ..."
        found = re.search(r"errno = (\d+)", text)
        code = int(found.group(1)) if found else None
    reason = (_ERRNO_HINTS.get(code) if code is not None else None) or error.strerror or text
    return f"{error.filename}: {reason}" if error.filename else reason


# A comma not preceded by a backslash: `\,` keeps a comma inside an item (ids come from file names).
_ITEM_SEPARATOR = re.compile(r"(?<!\\),")


def comma_list(values: Optional[list[str]]) -> Optional[list[str]]:
    """A list option's values with comma-separated items split out: `--fields mask,alpha` and
    `--fields mask --fields alpha` give the same list. Used as the `callback=` of every list
    option so that all commands read lists the same way.

    Items are stripped and empty ones dropped (`mask, alpha,`); `\\,` is a literal comma.
    """
    if values is None:
        return None
    items = [part.strip().replace("\\,", ",") for value in values for part in _ITEM_SEPARATOR.split(value)]
    items = [item for item in items if item]
    if values and not items:
        raise typer.BadParameter("expected at least one item (comma-separated or repeated)")
    return items


def plural(count: int, word: str) -> str:
    """`1 sample`, `2 samples`: counts in messages read as English."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def fail(message: str) -> NoReturn:
    """Print one clear error line and exit with status 2 (bad usage / bad input)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def exit_on_failures(result) -> None:
    """Print one line per failed item of a WriteResult and exit 1 if there were any."""
    for failure in result.failures:
        typer.echo(f"failed: {failure}", err=True)
    if result.failures:
        written = f"the other {plural(result.n_samples, 'sample')} {'was' if result.n_samples == 1 else 'were'} written"
        typer.echo(f"{plural(len(result.failures), 'item')} failed; {written} to {result.path}", err=True)
        raise typer.Exit(1)


def report_skipped(lines: list[str]) -> None:
    """One `skipped:` line per input folder holding files that were not read (not failures)."""
    for line in lines:
        typer.echo(f"skipped: {line}", err=True)


def report_written(result, what: str) -> None:
    """One line saying what was written where (or that it was already up to date)."""
    state = "up to date" if result.up_to_date else "written"
    resumed = f", {result.resumed_shards} shard(s) resumed" if result.resumed_shards else ""
    typer.echo(f"{what}: {plural(result.n_samples, 'sample')} {state} in {result.path}{resumed}")
