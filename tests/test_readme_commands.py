"""Every `datagen` / `training` command the README shows exists with every option it is given, so
the README's blocks cannot rot when a command or option is renamed; and the training block runs
as pasted: it writes only under `work/` (git-ignored), gives the two evaluations their own `--out`
and writes the clicks file it uses. (The training itself is not run here: minutes of CPU.)"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer

from datagen.cli import app as datagen_app
from training.cli import app as training_app

README = Path(__file__).resolve().parents[1] / "README.md"
APPS = {"datagen": datagen_app, "training": training_app}


def bash_blocks(text: str) -> list[str]:
    """The ```bash blocks of a markdown text, in order."""
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def training_block() -> str:
    """The first bash block of the README's `## Training` section: the one that runs as pasted."""
    section = README.read_text().split("\n## Training\n", 1)[1]
    return bash_blocks(section)[0]


def commands(block: str) -> list[list[str]]:
    """The `datagen` / `training` command lines of a block (continuations joined, comments and
    `torchrun ... -m` prefixes dropped) as argument lists."""
    joined = re.sub(r"\\\n\s*", " ", block)
    found = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        if "-m" in words and words[0] == "torchrun":
            words = words[words.index("-m") + 1:]
        if words and Path(words[0]).name in APPS:
            found.append(words)
    return found


def _check(words: list[str]) -> None:
    """The command path exists and takes every option given (an option's value is not checked)."""
    command = typer.main.get_command(APPS[Path(words[0]).name])
    rest = words[1:]
    while hasattr(command, "commands") and rest and not rest[0].startswith("-"):   # a group
        assert rest[0] in command.commands, f"{' '.join(words[:2])}: no command {rest[0]!r}"
        command, rest = command.commands[rest[0]], rest[1:]
    assert not hasattr(command, "commands"), f"{' '.join(words)}: names a group, not a command"
    known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    given = {word.split("=", 1)[0] for word in rest if word.startswith("-") and word != "-"}
    assert given <= known, f"{' '.join(words)}: unknown options {sorted(given - known)}"


ALL = [words for block in bash_blocks(README.read_text()) for words in commands(block)]


@pytest.mark.parametrize("words", ALL, ids=[" ".join(w[:3]) for w in ALL])
def test_every_readme_command_and_option_exists(words):
    _check(words)


def test_the_checker_catches_a_renamed_command_or_option():
    with pytest.raises(AssertionError, match="no command 'fitt'"):
        _check(["training", "fitt", "fba"])
    with pytest.raises(AssertionError, match=r"unknown options \['--max-step'\]"):
        _check(["training", "fit", "fba", "--max-step", "3"])


def test_the_training_block_runs_as_pasted_under_work():
    block = training_block()
    lines = commands(block)
    assert len(lines) >= 11 and {w[1] for w in lines} >= {"demo", "build", "fit", "predict", "evaluate"}
    outs = [w[w.index("--out") + 1] for w in lines if "--out" in w]
    assert all(out.startswith("work/") for out in outs), outs
    evaluations = [w[w.index("--out") + 1] for w in lines if w[1] == "evaluate"]
    assert len(evaluations) == len(set(evaluations)) == 2            # the second no longer replaces the first
    assert "> work/clicks.json" in block and "--clicks work/clicks.json" in block
    assert "/work/" in (README.parent / ".gitignore").read_text().split()
    for word in (w for line in lines for w in line):              # real shared data, no placeholders
        assert not re.fullmatch(r"[A-Z_]{3,}(\.[a-z]+)?", word), word
