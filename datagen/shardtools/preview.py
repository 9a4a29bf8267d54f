"""Contact sheets: a grid of random samples of a dataset, to look at it before training on it.

Each tile shows the sample's picture (objects: the foreground over a checkerboard, so the matte
is visible) with its annotations drawn on top: the mask or alpha outline (alpha >= half), the
trimap's unknown band and the ignore band tinted, and clicks where a recipe records them. Below
the picture: the sample id and a one-line recipe summary.

Only the chosen samples are read, and of each only the fields its tile draws (never `fg_full`,
`bg_full`, `fg`/`bg` of matting sets), so a sheet of a large set costs what its tiles cost.
This module needs cv2; `datagen.shards` does not import it, so the store stays light.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from datagen.compose.convert import to_uint8
from datagen.shards.reader import Dataset

TILE = 256
TEXT_BAND = 34          # two text lines under each picture
GAP = 4
SHEET_GREY = 24
OUTLINE = (0, 255, 0)
UNKNOWN_TINT = (255, 200, 0)
IGNORE_TINT = (255, 0, 255)
CLICK_COLOURS = {True: (0, 200, 0), False: (230, 0, 0)}

# What a tile can draw, by field; the picture field is chosen per kind in `_picture_fields`.
OVERLAY_FIELDS = ("mask", "alpha", "trimap", "ignore")


def choose_indices(n_total: int, n: int, seed: int) -> list[int]:
    """`n` distinct sample indices drawn with `seed`, in dataset order (all of them if n >= n_total)."""
    if n >= n_total:
        return list(range(n_total))
    return sorted(int(i) for i in np.random.default_rng(seed).choice(n_total, size=n, replace=False))


def grid_shape(n: int) -> tuple[int, int]:
    """(rows, cols) of the sheet: as square as possible, cols >= rows."""
    cols = max(1, math.ceil(math.sqrt(n)))
    return max(1, math.ceil(n / cols)), cols


def sheet_size(n: int, tile: int = TILE) -> tuple[int, int]:
    """(height, width) in pixels of a sheet of `n` tiles of width `tile`."""
    rows, cols = grid_shape(n)
    return rows * (tile + TEXT_BAND + GAP) + GAP, cols * (tile + GAP) + GAP


def read_fields(kind: str, available: Sequence[str], wanted: Sequence[str] | None = None) -> list[str]:
    """The fields a tile of `kind` reads: its picture, the overlays (all known ones, or `wanted`), recipe.

    Raises ValueError naming an overlay field the dataset does not have.
    """
    if wanted is not None:
        missing = [name for name in wanted if name not in available]
        if missing:
            raise ValueError(f"fields {missing} are not in this {kind} dataset (it has {', '.join(available)})")
    picture = _picture_fields(kind)
    overlays = [name for name in (OVERLAY_FIELDS if wanted is None else wanted)
                if name in OVERLAY_FIELDS and name in available and name not in picture]
    if kind == "seg" and wanted is None:
        overlays = [name for name in overlays if name != "alpha"]   # its outline is the mask's
    return [*picture, *overlays, *(["recipe"] if "recipe" in available else [])]


def _picture_fields(kind: str) -> list[str]:
    return ["fg", "alpha"] if kind == "objects" else ["image"]


def checkerboard(shape: tuple[int, int], square: int = 8) -> np.ndarray:
    """HxWx3 uint8 light/dark grey checkerboard, the usual backdrop that makes a matte visible."""
    y, x = np.indices(shape)
    light = ((y // square + x // square) % 2).astype(bool)
    return np.where(light[..., None], 200, 150).astype(np.uint8).repeat(3, axis=2)


def outline(mask: np.ndarray) -> np.ndarray:
    """Boolean band two pixels wide along the boundary of a boolean mask (dilation minus erosion)."""
    kernel = np.ones((3, 3), np.uint8)
    m = mask.astype(np.uint8)
    return cv2.dilate(m, kernel) > cv2.erode(m, kernel, borderType=cv2.BORDER_REPLICATE)


def tint(picture: np.ndarray, where: np.ndarray, colour: tuple[int, int, int], weight: float = 0.45) -> np.ndarray:
    """`picture` with the pixels under `where` blended towards `colour`."""
    out = picture.copy()
    out[where] = np.rint((1 - weight) * picture[where] + weight * np.asarray(colour, np.float32)).astype(np.uint8)
    return out


def recipe_summary(recipe: dict | None) -> str:
    """One line on how a sample was made: objects and their scale, background, realism steps."""
    if not recipe:
        return "no recipe"
    if "layers" in recipe:                       # synth-seg / synth-matting
        layers = recipe["layers"]
        primary = next((layer for layer in layers if layer.get("role") == "primary"), layers[-1] if layers else {})
        parts = [f"{len(layers)} obj", f"area {primary.get('area', 0):.2f}"]
        if "background" in recipe:
            parts.append(f"bg {recipe['background'].get('id', '?')}")
        realism = [name for name, value in recipe.get("realism", {}).items() if value is not None and name != "noise_seed"]
        if realism:
            parts.append("+" + "+".join(realism))
        return ", ".join(parts)
    if "refit" in recipe:                        # refit bank: the method, then the source's summary
        return f"refit {recipe['refit'].get('method', '?')}; {recipe_summary(recipe.get('source'))}"
    if "generator" in recipe:                    # demo banks
        size = "x".join(map(str, recipe.get("size", [])))
        return " ".join(str(part) for part in (recipe["generator"].rsplit(".", 1)[-1], recipe.get("kind", ""), size) if part)
    if "source" in recipe:                       # imported benchmarks: which set, which file
        return f"{recipe['source']}: {recipe.get('image', recipe.get('file', ''))}".rstrip(": ")
    scalars = [f"{key}={value}" for key, value in recipe.items() if isinstance(value, (str, int, float)) and key != "rule"]
    return ", ".join(scalars) if scalars else "recipe: " + ", ".join(recipe)


def recipe_clicks(recipe: dict | None) -> list[tuple[int, int, bool]]:
    """Clicks a recipe records as `[[y, x, positive], ...]` under "clicks" (none otherwise)."""
    return [(int(y), int(x), bool(positive)) for y, x, positive in (recipe or {}).get("clicks", [])]


def render_tile(sample: dict, kind: str, tile: int = TILE) -> np.ndarray:
    """One sample -> (tile + TEXT_BAND) x tile x 3 uint8: picture fitted in a tile x tile square
    (aspect kept, centred), annotations drawn at tile resolution, id and recipe line below."""
    picture, shape = _picture(sample, kind)
    scale = tile / max(shape)
    size = (max(1, round(shape[1] * scale)), max(1, round(shape[0] * scale)))   # cv2 wants (w, h)
    small = cv2.resize(picture, size, interpolation=cv2.INTER_AREA)
    small = _draw_overlays(small, sample, kind, size, scale)
    out = np.full((tile + TEXT_BAND, tile, 3), SHEET_GREY + 16, np.uint8)
    y0, x0 = (tile - size[1]) // 2, (tile - size[0]) // 2
    out[y0 : y0 + size[1], x0 : x0 + size[0]] = small
    _text(out, str(sample["id"]), tile + 13, (255, 255, 255))
    _text(out, recipe_summary(sample.get("recipe")), tile + 28, (190, 190, 190))
    return out


def _picture(sample: dict, kind: str) -> tuple[np.ndarray, tuple[int, int]]:
    if kind == "objects":
        fg = to_uint8(sample["fg"]).astype(np.float32)
        a = _unit(sample["alpha"])[..., None]
        composed = fg * a + checkerboard(a.shape[:2]).astype(np.float32) * (1 - a)
        return np.rint(composed).astype(np.uint8), sample["alpha"].shape
    image = to_uint8(sample["image"])
    return image, image.shape[:2]


def _unit(alpha: np.ndarray) -> np.ndarray:
    return alpha.astype(np.float32) / (65535.0 if alpha.dtype == np.uint16 else 255.0)


def _draw_overlays(small: np.ndarray, sample: dict, kind: str, size: tuple[int, int], scale: float) -> np.ndarray:
    def fit(plane: np.ndarray) -> np.ndarray:
        return cv2.resize(plane, size, interpolation=cv2.INTER_NEAREST)

    if "trimap" in sample:
        small = tint(small, fit(sample["trimap"]) == 128, UNKNOWN_TINT)
    if "ignore" in sample:
        small = tint(small, fit(sample["ignore"]) > 0, IGNORE_TINT)
    edge = "mask" if "mask" in sample else "alpha" if "alpha" in sample else None
    if edge is not None:
        inside = cv2.resize(_unit(sample[edge]) if edge == "alpha" else sample[edge].astype(np.float32), size,
                            interpolation=cv2.INTER_AREA) >= 0.5
        small = small.copy()
        small[outline(inside)] = OUTLINE
    for y, x, positive in recipe_clicks(sample.get("recipe")):
        cv2.circle(small, (round(x * scale), round(y * scale)), 4, CLICK_COLOURS[positive], -1, cv2.LINE_AA)
        cv2.circle(small, (round(x * scale), round(y * scale)), 4, (255, 255, 255), 1, cv2.LINE_AA)
    return small


def _text(canvas: np.ndarray, text: str, baseline: int, colour: tuple[int, int, int]) -> None:
    """Write `text` from the left edge, cut to the tile width."""
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 0.38
    width = canvas.shape[1] - 6
    while text and cv2.getTextSize(text, font, scale, 1)[0][0] > width:
        text = text[:-2] + "~" if len(text) > 2 else ""
    cv2.putText(canvas, text, (3, baseline), font, scale, colour, 1, cv2.LINE_AA)


def contact_sheet(dataset: Dataset, n: int = 24, seed: int = 0, fields: Sequence[str] | None = None,
                  tile: int = TILE) -> tuple[np.ndarray, list[str]]:
    """A sheet of `n` random samples of `dataset` (drawn with `seed`) and the ids shown, in order."""
    if n < 1:
        raise ValueError(f"--n must be >= 1, got {n}")
    if len(dataset) == 0:
        raise ValueError(f"{dataset.path}: the dataset has no samples")
    wanted = read_fields(dataset.kind, dataset.fields, fields)
    indices = choose_indices(len(dataset), n, seed)
    height, width = sheet_size(len(indices), tile)
    sheet = np.full((height, width, 3), SHEET_GREY, np.uint8)
    _, cols = grid_shape(len(indices))
    shown = []
    for slot, index in enumerate(indices):
        sample = dataset.read(index, fields=wanted)
        row, col = divmod(slot, cols)
        y, x = GAP + row * (tile + TEXT_BAND + GAP), GAP + col * (tile + GAP)
        sheet[y : y + tile + TEXT_BAND, x : x + tile] = render_tile(sample, dataset.kind, tile)
        shown.append(sample["id"])
    return sheet, shown
