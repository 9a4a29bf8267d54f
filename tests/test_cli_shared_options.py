"""`command_with_shared`: a family of commands declares its common options once, in a dataclass."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer
from typer.testing import CliRunner

from datagen.cli_common import command_with_shared

Level = Annotated[int, typer.Option("--level", help="A shared level.")]
Loud = Annotated[bool, typer.Option("--loud/--quiet", help="A shared switch.")]


@dataclass(frozen=True)
class Common:
    level: Level = 3
    loud: Loud = False


def _app(seen: list) -> typer.Typer:
    app = typer.Typer()

    @command_with_shared(app, "one")
    def one(name: Annotated[str, typer.Option("--name")], *, shared: Common) -> None:
        seen.append((name, shared))

    @command_with_shared(app, "two")
    def two(count: Annotated[int, typer.Option("--count")] = 1, *, shared: Common) -> None:
        seen.append((count, shared))

    return app


def test_each_command_takes_its_own_and_the_shared_options():
    seen: list = []
    app = _app(seen)
    runner = CliRunner()
    assert runner.invoke(app, ["one", "--name", "a", "--level", "7", "--loud"]).exit_code == 0
    assert runner.invoke(app, ["two"]).exit_code == 0
    assert seen == [("a", Common(level=7, loud=True)), (1, Common(level=3, loud=False))]


def test_help_lists_both_and_unknown_options_are_refused():
    app = _app([])
    runner = CliRunner()
    text = runner.invoke(app, ["one", "--help"]).output
    assert "--name" in text and "--level" in text and "--loud" in text
    refused = runner.invoke(app, ["two", "--name", "a"])
    assert refused.exit_code == 2 and "No such option" in refused.output
