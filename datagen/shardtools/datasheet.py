"""Datasheets: a markdown page per dataset saying what it is, where it came from and what it holds.

Everything but the statistics comes from `manifest.json` (kind, fields, provenance, failures,
shards) and from the source manifests in `manifests/` it names (licences), so a datasheet can be
written for any dataset without its inputs. The statistics read pixels, so they are bounded:
image sizes come from the shard metadata of every sample (no decoding), the alpha coverage and
unknown-band share from at most `max_samples` samples drawn with a fixed seed (the sheet says
how many), reading only the mask/alpha and trimap fields. The same dataset always gives the same
sheet, byte for byte (the plot's PNG carries no software version or date).

This module needs matplotlib; `datagen.shards` does not import it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from datagen.shards.layout import COMPANIONS, MANIFEST
from datagen.shards.reader import Dataset, open_dataset
from datagen.shards.schema import field_meaning

# The files written into a dataset folder by default: the names `shards verify` knows as companions.
DATASHEET, DATASHEET_PLOT = COMPANIONS
COVERAGE_BINS = np.linspace(0.0, 1.0, 11)
MAX_SAMPLES = 256
MAX_FAILURES_LISTED = 50
_SOURCE_DEPTH = 4           # how far licences are followed through input datasets (refit of import of ...)


# --------------------------------------------------------------------------- statistics
def coverage(matte: np.ndarray, is_mask: bool) -> float:
    """Mean opacity in [0, 1] of a mask {0,1} or an 8/16-bit alpha: the share of the picture the object covers."""
    full = 1.0 if is_mask else float(np.iinfo(matte.dtype).max)
    return float(matte.astype(np.float64).sum() / (matte.size * full))


def unknown_share(trimap: np.ndarray | None, alpha: np.ndarray | None) -> float | None:
    """Share of pixels in the unknown band: trimap == 128 where there is a trimap, else 0 < alpha < max."""
    if trimap is not None:
        return float(np.count_nonzero(trimap == 128) / trimap.size)
    if alpha is not None:
        top = np.iinfo(alpha.dtype).max
        return float(np.count_nonzero((alpha > 0) & (alpha < top)) / alpha.size)
    return None


def dataset_statistics(dataset: Dataset, max_samples: int = MAX_SAMPLES, seed: int = 0) -> dict:
    """Image sizes of every sample; coverage and unknown share over at most `max_samples` samples."""
    from datagen.shardtools.preview import choose_indices

    fields = dataset.fields
    picture = "alpha" if dataset.kind == "objects" else "image"
    sizes = [dataset.shape(index, picture)[:2] for index in range(len(dataset))] if picture in fields else []
    matte = "alpha" if "alpha" in fields else "mask" if "mask" in fields else None
    soft = "alpha" if "alpha" in fields else None
    read = [name for name in (matte, soft, "trimap" if "trimap" in fields else None) if name]
    indices = choose_indices(len(dataset), max_samples, seed) if read else []
    coverages, unknowns = [], []
    for index in indices:
        sample = dataset.read(index, fields=read)
        if matte in sample:
            coverages.append(coverage(sample[matte], is_mask=matte == "mask"))
        share = unknown_share(sample.get("trimap"), sample.get(soft) if soft else None)
        if share is not None:
            unknowns.append(share)
    return {
        "n_samples": len(dataset),
        "sizes": [list(map(int, size)) for size in sizes],
        "sampled": len(indices),
        "matte_field": matte,
        "coverage": coverages,
        "unknown_rule": "trimap == 128" if "trimap" in fields else "0 < alpha < max" if soft else None,
        "unknown": unknowns,
    }


# --------------------------------------------------------------------------- sources
def source_licences(manifest: dict, depth: int = _SOURCE_DEPTH) -> list[dict]:
    """The public datasets behind a dataset, with their licences: its own source manifest, then
    those of the datasets it was made from (inputs that are dataset folders), without repeats."""
    from datagen.datasets.layouts import LayoutError, load_layout

    found: dict[str, dict] = {}
    pending = [(manifest, depth)]
    seen_paths: set[str] = set()
    while pending:
        current, left = pending.pop(0)
        provenance = current.get("provenance", {})
        name = provenance.get("source_manifest", {}).get("name")
        if name and name not in found:
            try:
                doc = load_layout(name)
                found[name] = {key: doc.get(key, "") for key in ("name", "title", "license", "citation", "homepage")}
            except LayoutError as error:
                found[name] = {"name": name, "title": "", "license": f"unknown ({error})", "citation": "", "homepage": ""}
        if left <= 0:
            continue
        for entry in provenance.get("inputs", []):
            path = entry.get("path")
            if path and path not in seen_paths and (Path(path) / MANIFEST).is_file():
                seen_paths.add(path)
                try:
                    pending.append((json.loads((Path(path) / MANIFEST).read_text()), left - 1))
                except (OSError, json.JSONDecodeError):
                    continue
    return list(found.values())


# --------------------------------------------------------------------------- the page
def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|").replace("\n", " ") for cell in row) + " |" for row in rows]
    return lines


def _histogram_rows(values: list[float]) -> list[list]:
    counts, _ = np.histogram(np.clip(values, 0.0, 1.0), bins=COVERAGE_BINS)
    return [[f"{lo:.1f}-{hi:.1f}", int(count)] for lo, hi, count in zip(COVERAGE_BINS[:-1], COVERAGE_BINS[1:], counts, strict=True)]


def _digest_of(entry: dict) -> str:
    for key in ("sha256", "dataset_manifest_sha256", "listing_sha256", "fingerprint"):
        if entry.get(key):
            return f"{key} `{entry[key]}`"
    return "missing" if entry.get("missing") else "-"


def datasheet_markdown(name: str, manifest: dict, stats: dict, sources: list[dict], plot: str | None) -> str:
    """The datasheet text for dataset `name` from its manifest, statistics and source licences."""
    provenance = manifest.get("provenance", {})
    size = sum(shard["bytes"] for shard in manifest["shards"])
    lines = [f"# Datasheet: {name}", "",
             f"A `{manifest['kind']}` dataset of {manifest['num_samples']} samples in {len(manifest['shards'])} shard(s), "
             f"{size / 1e6:.1f} MB, stored with `{manifest['storage']['codec']}` in "
             f"{manifest['storage']['tile']}x{manifest['storage']['tile']} tiles; created {manifest.get('created', '?')}.", ""]

    lines += ["## Fields", ""]
    lines += _table(["field", "dtypes", "shape", "meaning"],
                    [[f"`{spec['name']}`", "/".join(spec["dtypes"]),
                      "JSON" if spec["channels"] == 0 else "HxW" if spec["channels"] == 1 else f"HxWx{spec['channels']}",
                      field_meaning(manifest["kind"], spec)] for spec in manifest["fields"]])

    lines += ["", "## Sources and licences", ""]
    if sources:
        for source in sources:
            lines.append(f"- **{source['name']}** ({source['title']}): {source['license']}"
                         + (f" Cite: {source['citation']}." if source.get("citation") else "")
                         + (f" <{source['homepage']}>" if source.get("homepage") else ""))
    else:
        lines.append("No public source dataset is recorded (no source manifest in the provenance, nor in that of "
                     "its input datasets): the samples were generated by this package or imported from local "
                     "files listed below; their terms are the files' own.")

    lines += ["", "## Provenance", ""]
    lines.append(f"- command: `{provenance.get('command', '?')}`")
    lines.append(f"- made by: {provenance.get('package', 'matting-datagen')} {provenance.get('version', '?')}")
    if "seed" in provenance:
        lines.append(f"- seed: {provenance['seed']}")
    if provenance.get("source_manifest"):
        lines.append(f"- source manifest: {provenance['source_manifest'].get('name')} "
                     f"version {provenance['source_manifest'].get('version', '?')}")
    lines.append(f"- fingerprint: `{manifest.get('fingerprint', '?')}`")
    for entry in provenance.get("inputs", []):
        lines.append(f"- input: `{entry.get('path', '?')}` ({_digest_of(entry)})")
    if provenance.get("params"):
        lines += ["", "Parameters:", "", "```json", json.dumps(provenance["params"], indent=2, sort_keys=True), "```"]

    failures = manifest.get("failures", [])
    lines += ["", "## Failures met", ""]
    if failures:
        lines.append(f"{len(failures)} item(s) could not become samples" +
                     (f" (first {MAX_FAILURES_LISTED} listed)" if len(failures) > MAX_FAILURES_LISTED else "") + ":")
        lines.append("")
        lines += [f"- `{failure['item']}`: {failure['error']}" for failure in failures[:MAX_FAILURES_LISTED]]
    else:
        lines.append("None: every item became a sample.")

    lines += ["", "## Statistics", ""]
    sizes = np.asarray(stats["sizes"]).reshape(-1, 2)
    if len(sizes):
        pixels = sizes[:, 0] * sizes[:, 1]
        distinct = len({tuple(size) for size in sizes.tolist()})
        lines.append(f"- image sizes (HxW, all {len(sizes)} samples): {distinct} distinct; smallest "
                     f"{_hw(sizes[np.argmin(pixels)])}, median {np.median(pixels) / 1e6:.2f} MP, largest {_hw(sizes[np.argmax(pixels)])}")
    if stats["sampled"]:
        subset = "all" if stats["sampled"] == stats["n_samples"] else f"{stats['sampled']} random (seed 0) of {stats['n_samples']}"
        if stats["coverage"]:
            lines.append(f"- `{stats['matte_field']}` coverage (mean opacity) over {subset} samples: "
                         f"mean {np.mean(stats['coverage']):.3f}, median {np.median(stats['coverage']):.3f}")
        if stats["unknown"]:
            lines.append(f"- unknown-band share ({stats['unknown_rule']}) over {subset} samples: "
                         f"mean {np.mean(stats['unknown']):.4f}, max {np.max(stats['unknown']):.4f}")
        if stats["coverage"]:
            lines += ["", "Coverage histogram:", ""]
            lines += _table(["coverage", "samples"], _histogram_rows(stats["coverage"]))
    if plot:
        lines += ["", f"![statistics]({plot})"]
    lines += ["", "## Shards", ""]
    lines += _table(["file", "samples", "bytes", "sha256"],
                    [[shard["file"], shard["num_samples"], shard["bytes"], f"`{shard['sha256']}`"] for shard in manifest["shards"]])
    return "\n".join(lines) + "\n"


def _hw(size) -> str:
    return f"{int(size[0])}x{int(size[1])}"


# --------------------------------------------------------------------------- the plot
def plot_statistics(stats: dict, path: Path) -> bool:
    """Coverage histogram, unknown-share histogram and image sizes as one PNG; False if nothing to plot."""
    panels = [name for name, ok in (("coverage", stats["coverage"]), ("unknown", stats["unknown"]), ("sizes", stats["sizes"])) if ok]
    if not panels:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.2), squeeze=False)
    for axis, panel in zip(axes[0], panels, strict=True):
        if panel == "coverage":
            axis.hist(np.clip(stats["coverage"], 0, 1), bins=COVERAGE_BINS, color="#4a7")
            axis.set(title=f"{stats['matte_field']} coverage", xlabel="mean opacity", ylabel="samples")
        elif panel == "unknown":
            axis.hist(stats["unknown"], bins=20, color="#c84")
            axis.set(title=f"unknown band ({stats['unknown_rule']})", xlabel="share of pixels", ylabel="samples")
        else:
            sizes = np.asarray(stats["sizes"])
            axis.scatter(sizes[:, 1], sizes[:, 0], s=8, color="#47c")
            axis.set(title="image sizes", xlabel="width", ylabel="height")
    figure.tight_layout()
    figure.savefig(path, dpi=80, metadata={"Software": None})
    plt.close(figure)
    return True


def write_datasheet(path: str | os.PathLike, out: str | os.PathLike | None = None,
                    max_samples: int = MAX_SAMPLES) -> Path:
    """Write the datasheet of the dataset at `path` (default `path/datasheet.md` with the plot
    `datasheet-stats.png` beside it; given `out`, the plot is `<out stem>-stats.png` beside
    that); returns the markdown file's path."""
    from datagen.files import write_atomic

    dataset = open_dataset(path)
    plot_name = DATASHEET_PLOT if out is None else f"{Path(out).stem}-stats.png"
    out = Path(path) / DATASHEET if out is None else Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    stats = dataset_statistics(dataset, max_samples)
    plot = out.with_name(plot_name)
    has_plot = plot_statistics(stats, plot)
    name = Path(path).resolve().name
    text = datasheet_markdown(name, dataset.manifest, stats, source_licences(dataset.manifest),
                              plot.name if has_plot else None)
    write_atomic(out, text.encode())
    dataset.close()
    return out
