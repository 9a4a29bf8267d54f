"""Public-dataset layouts: load the JSON definitions in `manifests/` and check a user's copy.

A layout describes how a public dataset is laid out on disk (folders, extensions, counts,
which folders pair up by file stem, which name lists the dataset itself ships) plus its
licence. We never commit third-party name lists: when a dataset ships one, the check reads
it from the user's copy and verifies every listed file exists.

Problems come in three kinds, named as the CLI prints them:
- missing: a folder, file or listed name that is not there, or a count shortfall;
- extra: files the layout does not expect (wrong extension, no partner);
- malformed: files that exist but cannot be what they claim (empty, undecodable header,
  a name list with blank or duplicate lines, a .mat file without its variable).
A problem is *identified* when it names the exact file; count shortfalls of datasets that
ship no name list cannot name files. Builders refuse to run on identified missing files and
malformed name lists, and only warn on the rest (partial copies are useful for tests).

The files keep their historical folder name, `manifests/`, and the command `datagen manifests`
stays; in the code they are layouts, so that `load_layout` (a public dataset's layout) is not
confused with `datagen.shards.load_manifest` (a built dataset's manifest.json).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

SCHEMA = 1

# A wheel carries the layouts as `layout_files/` beside this module (setup.py copies them there);
# a checkout or an editable install has no such folder and reads the top-level `manifests/`,
# where people edit them. The shipped copy is looked for first: in site-packages, parents[2]
# is site-packages itself, where a folder named `manifests` could belong to anything.
_SHIPPED_DIR = Path(__file__).resolve().parent / "layout_files"
LAYOUT_DIR = _SHIPPED_DIR if _SHIPPED_DIR.is_dir() else Path(__file__).resolve().parents[2] / "manifests"


@dataclass(frozen=True)
class Problem:
    kind: str          # "missing" | "extra" | "malformed"
    path: str          # relative to the dataset root (or "@backgrounds/...")
    message: str
    identified: bool = True

    def __str__(self) -> str:
        return f"{self.kind}: {self.path}: {self.message}"


@dataclass
class Report:
    name: str
    root: str
    parts: list[str]
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def of(self, kind: str) -> list[Problem]:
        return [p for p in self.problems if p.kind == kind]

    @property
    def ok(self) -> bool:
        """True when nothing is missing or malformed (extra files are allowed)."""
        return not self.of("missing") and not self.of("malformed")

    @property
    def blocking(self) -> list[Problem]:
        """Problems a builder cannot work around: named missing files and name lists with
        blank or repeated lines (a short list is only warned about: it builds a smaller set)."""
        return [p for p in self.problems
                if (p.kind == "missing" and p.identified)
                or (p.kind == "malformed" and p.identified and p.path.endswith(".txt"))]

    def summary(self) -> str:
        head = (f"{self.name} at {self.root} [{', '.join(self.parts)}]: "
                f"{len(self.of('missing'))} missing, {len(self.of('extra'))} extra, "
                f"{len(self.of('malformed'))} malformed")
        return "\n".join([head] + [f"  {p}" for p in self.problems])


class LayoutError(ValueError):
    """Unknown layout name or a layout file that breaks the schema."""


def available() -> list[str]:
    """The names of the known dataset layouts, sorted."""
    return sorted(p.stem for p in LAYOUT_DIR.glob("*.json"))


def load_layout(name: str) -> dict:
    """The layout document of dataset `name`, checked against the schema (LayoutError if not)."""
    path = LAYOUT_DIR / f"{name}.json"
    if not path.is_file():
        raise LayoutError(f"unknown dataset manifest {name!r}; known: {', '.join(available())}")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise LayoutError(f"{path}: not valid JSON ({exc})") from exc
    if doc.get("schema") != SCHEMA or doc.get("name") != name or not isinstance(doc.get("parts"), dict):
        raise LayoutError(f"{path}: expected schema {SCHEMA}, name {name!r} and a 'parts' object")
    return doc


def read_namelist(path: Path) -> tuple[list[str], list[str]]:
    """Names of a dataset list file, in order, and the problems seen in it.

    Lists are read with `splitlines` because the DIM lists have no trailing newline and
    some copies have CRLF endings; a blank line in the middle is reported, not skipped
    silently, because it shifts every later pairing.
    """
    text = path.read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    issues = []
    seen: set[str] = set()
    for i, line in enumerate(lines, 1):
        if not line.strip():
            issues.append(f"line {i} is blank")
        elif line != line.strip():
            issues.append(f"line {i} has surrounding whitespace: {line!r}")
        elif line in seen:
            issues.append(f"line {i} repeats {line!r}")
        seen.add(line)
    return lines, issues


def _files(folder: Path, recursive: bool) -> list[Path]:
    it = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in it if p.is_file() and not p.name.startswith("."))


def _decode_problem(path: Path, decode: str | None) -> str | None:
    """Cheap validity check: image header or .mat variable table, never full decoding."""
    if path.stat().st_size == 0:
        return "empty file"
    if decode == "image":
        from PIL import Image
        try:
            with Image.open(path):  # open() parses the header
                pass
        except Exception as exc:  # noqa: BLE001 - any decoder failure means malformed
            return f"not a readable image ({type(exc).__name__}: {exc})"
    elif decode and decode.startswith("mat:"):
        import scipy.io
        var = decode[4:]
        try:
            names = [v[0] for v in scipy.io.whosmat(str(path))]
        except Exception as exc:  # noqa: BLE001
            return f"not a readable MATLAB file ({type(exc).__name__}: {exc})"
        if var not in names:
            return f"has no variable {var!r} (found {', '.join(names) or 'none'})"
    return None


def _resolve(root: Path, extra_roots: dict[str, Path], rel: str) -> tuple[Path | None, str]:
    if rel.startswith("@"):
        key = rel[1:]
        base = extra_roots.get(key)
        return base, f"@{key}"
    return root / rel, rel


def check(name: str, root: Path, parts: list[str] | None = None,
          extra_roots: dict[str, Path] | None = None, decode: bool = True) -> Report:
    """Check the copy of dataset `name` at `root` against its layout.

    `parts` defaults to every part with at least one folder present (all parts if none is),
    so a user who only downloaded the training archives is not told the test set is missing.
    `extra_roots` maps `@key` references (e.g. `@backgrounds`) to folders given separately.
    """
    doc = load_layout(name)
    root = Path(root)
    extra_roots = {k: Path(v) for k, v in (extra_roots or {}).items()}
    if parts is None:
        present = [p for p, spec in doc["parts"].items()
                   if any((root / f["path"]).is_dir() for f in spec.get("folders", []) if f["path"] != ".")]
        parts = present or list(doc["parts"])
    unknown = [p for p in parts if p not in doc["parts"]]
    if unknown:
        raise LayoutError(f"{name} has no part {', '.join(unknown)}; parts: {', '.join(doc['parts'])}")
    report = Report(name=name, root=str(root), parts=list(parts))
    if not root.is_dir():
        report.problems.append(Problem("missing", str(root), "dataset root folder does not exist"))
        return report
    checked: set[str] = set()
    for part in parts:
        spec = doc["parts"][part]
        for folder in spec.get("folders", []):
            if folder["path"] not in checked:
                checked.add(folder["path"])
                _check_folder(root, folder, report, decode)
        for f in spec.get("files", []):
            if not (root / f["path"]).is_file() and not f.get("optional"):
                report.problems.append(Problem("missing", f["path"], "file not found"))
        for nl in spec.get("namelists", []):
            if nl["path"] not in checked:
                checked.add(nl["path"])
                _check_namelist(root, extra_roots, nl, report)
    return report


def _present(exists: bool, spec: dict, report: Report, what: str) -> bool:
    """Whether an entry of the layout is there; a missing one is a problem unless optional."""
    if not exists and not spec.get("optional"):
        report.problems.append(Problem("missing", spec["path"], f"{what} not found"))
    return exists


def _check_folder(root: Path, spec: dict, report: Report, decode: bool) -> None:
    rel = spec["path"]
    folder = root / rel
    if not _present(folder.is_dir(), spec, report, "folder"):
        return
    exts = {e.lower() for e in spec.get("extensions", [])}
    files = _files(folder, spec.get("recursive", False))
    good = [f for f in files if not exts or f.suffix.lower().lstrip(".") in exts]
    for f in files:
        if f not in good:
            report.problems.append(Problem("extra", _rel(root, f), f"unexpected extension (expected {', '.join(sorted(exts))})"))
    report.counts[rel] = len(good)
    expected = spec.get("count")
    partner = spec.get("pair_with")
    if partner and (root / partner).is_dir():
        mine = {f.stem: f for f in good}
        theirs = {f.stem: f for f in _files(root / partner, False)}
        for stem in sorted(set(theirs) - set(mine)):
            report.problems.append(Problem("missing", f"{rel}/{stem}.*", f"no file for {_rel(root, theirs[stem])}"))
        for stem in sorted(set(mine) - set(theirs)):
            report.problems.append(Problem("extra", _rel(root, mine[stem]), f"no partner in {partner}"))
    if expected is not None and len(good) < expected:
        report.problems.append(Problem(
            "missing", rel, f"{len(good)} files, the dataset has {expected} ({expected - len(good)} missing; "
            "this dataset ships no name list, so they cannot be named)", identified=False))
    elif expected is not None and len(good) > expected:
        report.problems.append(Problem("extra", rel, f"{len(good)} files, the dataset has {expected}", identified=False))
    if decode:
        for f in good:
            why = _decode_problem(f, spec.get("decode"))
            if why:
                report.problems.append(Problem("malformed", _rel(root, f), why))


def _check_namelist(root: Path, extra_roots: dict[str, Path], spec: dict, report: Report) -> None:
    rel = spec["path"]
    path = root / rel
    if not _present(path.is_file(), spec, report, "name list"):
        return
    names, issues = read_namelist(path)
    report.counts[rel] = len(names)
    for issue in issues:
        report.problems.append(Problem("malformed", rel, issue))
    if spec.get("count") is not None and len(names) != spec["count"]:
        report.problems.append(Problem("malformed", rel, f"{len(names)} names, the dataset ships {spec['count']}",
                                       identified=False))
    suffixes = spec.get("suffixes") or [""] * len(spec.get("in", []))
    for where, suffix in zip(spec.get("in", []), suffixes, strict=True):
        alternatives = [_resolve(root, extra_roots, w) for w in where.split("|")]
        label = " or ".join(lab for _, lab in alternatives)
        bases = [base for base, _ in alternatives if base is not None]
        if len(bases) < len(alternatives):
            report.problems.append(Problem("missing", label, f"needed for {rel}: pass the folder (e.g. --backgrounds)"))
            continue
        folders = [base for base in bases if base.is_dir()]
        if not folders:
            continue  # the folder itself is reported by _check_folder (or is an absent extra root)
        listing = {p.name for folder in folders for p in folder.iterdir()}
        for name in names:
            if not name.strip():
                continue
            candidates = [name + suffix] + [name.replace(a, b, 1) + suffix
                                            for a, b in spec.get("aliases", {}).items() if name.startswith(a)]
            if not any(c in listing for c in candidates):
                report.problems.append(Problem("missing", f"{label}/{name + suffix}", f"listed in {rel}"))


def _rel(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def require(name: str, root: Path, parts: list[str] | None = None,
            extra_roots: dict[str, Path] | None = None, warn=print) -> Report:
    """Check inputs before a build: raise with every blocking problem listed, warn on the rest.

    Decoding checks are skipped here: the build decodes every file anyway and reports failures
    per item, so a single unreadable file never stops the rest.
    """
    report = check(name, root, parts, extra_roots, decode=False)
    if report.blocking:
        lines = "\n".join(f"  {p}" for p in report.blocking)
        raise InputsError(f"{name}: the copy at {root} does not match manifests/{name}.json "
                          f"({len(report.blocking)} problems):\n{lines}")
    for p in report.problems:
        warn(f"warning: {p}")
    return report


class InputsError(RuntimeError):
    """A build's inputs do not match the dataset layout; the message lists what is missing."""
