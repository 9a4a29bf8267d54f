"""Run configurations: TOML files with one table per dataclass, checked key by key.

A run config is a TOML file whose tables (``[model]``, ``[data]``, ``[train]``) each fill one
frozen dataclass. The dataclasses are the schema: a key they do not have is an error naming the
key, the table and the nearest valid key (a typo like ``lr_drop`` must not silently leave the
default in place for a 16-day run). ``--set table.key=value`` overrides are parsed as TOML values
and typed by the field's annotation, so ``--set train.lr=1e-5`` is a float and
``--set data.crop_sizes=[320]`` a tuple.

Shipped configs live in ``training/configs/<network>/<stem>.toml`` and are named by their stem
(``thesis``, ``tiny``); anything else is read as a path.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomllib

CONFIG_DIR = Path(__file__).parent / "configs"


class ConfigError(ValueError):
    """A config that cannot be used as written; the message is one line for the user."""


@dataclass(frozen=True)
class TrainConfig:
    """The optimisation recipe shared by every network's fit loop (``[train]`` table).

    Defaults are the FBA thesis recipe (Ch. 4.3.6): RAdam (0.9, 0.999), lr 1e-5 dropped x0.1 at
    epoch 40 of 45, batch 1, weight decay 0.005 on conv kernels and 1e-5 on GroupNorm parameters.
    """

    seed: int = 0
    epochs: int = 45
    batch_size: int = 1
    lr: float = 1e-5
    lr_drop_epochs: tuple[int, ...] = (40,)
    lr_gamma: float = 0.1
    betas: tuple[float, ...] = (0.9, 0.999)
    weight_decay_conv: float = 0.005
    weight_decay_norm: float = 1e-5
    num_workers: int = 2
    log_steps: int = 10
    checkpoint_steps: int = 1000
    epoch_checkpoints: bool = True

    def __post_init__(self) -> None:
        positive = {"epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr,
                    "log_steps": self.log_steps, "checkpoint_steps": self.checkpoint_steps}
        for name, value in positive.items():
            if value <= 0:
                raise ConfigError(f"train.{name} must be > 0, got {value}")
        if self.num_workers < 0:
            raise ConfigError(f"train.num_workers must be >= 0, got {self.num_workers}")
        if len(self.betas) != 2:
            raise ConfigError(f"train.betas needs two values, got {list(self.betas)}")


def config_path(name: str | Path, network: str) -> Path:
    """A shipped config's file for a bare stem (``thesis``), else ``name`` as a path."""
    shipped = CONFIG_DIR / network / f"{name}.toml"
    if "/" not in str(name) and not str(name).endswith(".toml") and shipped.is_file():
        return shipped
    path = Path(name)
    if not path.is_file():
        stems = sorted(p.stem for p in (CONFIG_DIR / network).glob("*.toml"))
        raise ConfigError(f"config {name}: no such file and not a shipped {network} config "
                          f"({', '.join(stems)})")
    return path


def load_config(name: str | Path, network: str, schema: dict[str, type],
                overrides: typing.Sequence[str] = ()) -> dict[str, Any]:
    """Read config ``name`` (stem or path), apply ``overrides`` (``table.key=value``) and build
    one dataclass per table of ``schema``; a table missing from the file gets its defaults."""
    path = config_path(name, network)
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {path}: not valid TOML ({exc})") from None
    for table in raw:
        if table not in schema:
            raise ConfigError(f"config {path}: unknown table [{table}]{_suggest(table, schema)}")
        if not isinstance(raw[table], dict):
            raise ConfigError(f"config {path}: {table} must be a table ([{table}])")
    for item in overrides:
        table, key, value = _parse_override(item, schema)
        raw.setdefault(table, {})[key] = value
    return {table: _build(cls, raw.get(table, {}), table, path) for table, cls in schema.items()}


def table_to_dict(table: Any) -> dict[str, Any]:
    """One config dataclass as a plain TOML/JSON-able table (tuples as lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(table).items()}


def config_to_dict(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A loaded config as plain TOML/JSON-able tables, e.g. for checkpoints."""
    return {table: table_to_dict(obj) for table, obj in config.items()}


def config_toml(tables: dict[str, dict[str, Any]], header: str = "") -> str:
    """Tables of :func:`config_to_dict` as TOML text that :func:`load_config` reads back to the
    same config (``header``: comment lines on top). Plain values only: booleans, numbers,
    strings and lists of them, which is all a config holds."""
    lines = [f"# {line}" for line in header.splitlines()]
    for table, values in tables.items():
        lines += ["", f"[{table}]"] + [f"{key} = {_toml_value(value)}" for key, value in values.items()]
    return "\n".join(lines).lstrip("\n") + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"a config value must be a boolean, number, string or list, got {type(value).__name__}")


class TableConfig:
    """Mixin of the config dataclasses a checkpoint stores on their own (a model's constructor
    config): ``to_dict`` for the file, ``from_dict`` back with the same key and type checks as a
    config file's ``[TABLE]`` table, so a checkpoint's config is as strictly read as a TOML one."""

    TABLE: typing.ClassVar[str] = "model"

    def to_dict(self) -> dict[str, Any]:
        return table_to_dict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any], origin: str = "of the checkpoint"):
        return _build(cls, values, cls.TABLE, origin)


def _suggest(word: str, valid) -> str:
    close = difflib.get_close_matches(word, list(valid), n=1)
    return f" (did you mean {close[0]!r}?)" if close else f" (valid: {', '.join(sorted(valid))})"


def _parse_override(item: str, schema: dict[str, type]) -> tuple[str, str, Any]:
    """``train.lr=1e-5`` -> ("train", "lr", 1e-05); a value that is not TOML stays a string."""
    target, sep, text = item.partition("=")
    table, dot, key = target.strip().partition(".")
    if not sep or not dot or not key:
        raise ConfigError(f"--set {item!r}: expected TABLE.KEY=VALUE, e.g. train.lr=1e-5")
    if table not in schema:
        raise ConfigError(f"--set {item!r}: unknown table {table!r}{_suggest(table, schema)}")
    try:
        value = tomllib.loads(f"v = {text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = text.strip()
    return table, key, value


def _build(cls: type, values: dict[str, Any], table: str, origin) -> Any:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    for key in values:
        if key not in names:
            raise ConfigError(f"config {origin}: unknown key {table}.{key}{_suggest(key, names)}")
    typed = {key: _coerce(value, hints[key], f"{table}.{key}", origin) for key, value in values.items()}
    try:
        return cls(**typed)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"config {origin}: [{table}] {exc}") from None


def _coerce(value: Any, hint: Any, name: str, origin) -> Any:
    """``value`` as the annotated type (int -> float, list -> tuple), else a ConfigError."""
    origin_type = typing.get_origin(hint)
    if origin_type in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in (o for o in options if o is not type(None)):
            try:
                return _coerce(value, option, name, origin)
            except ConfigError as exc:
                errors.append(exc)
        raise errors[0]
    if origin_type is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"config {origin}: {name} must be a list, got {value!r}")
        args = typing.get_args(hint)
        item_types = [args[0]] * len(value) if len(args) == 2 and args[1] is Ellipsis else list(args)
        if len(item_types) != len(value):
            raise ConfigError(f"config {origin}: {name} needs {len(item_types)} values, got {list(value)}")
        return tuple(_coerce(v, t, name, origin) for v, t in zip(value, item_types, strict=True))
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint in (int, str, bool):
        if isinstance(value, hint) and not (hint is int and isinstance(value, bool)):
            return value
        raise ConfigError(f"config {origin}: {name} must be {hint.__name__}, got {value!r}")
    if hint is Any or isinstance(hint, type) and isinstance(value, hint):
        return value
    raise ConfigError(f"config {origin}: {name} must be {getattr(hint, '__name__', hint)}, got {value!r}")
