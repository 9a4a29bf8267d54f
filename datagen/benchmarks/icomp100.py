"""Interactive Composition-100: the first two Composition-1k composites of each of the 50 objects.

The thesis does not say which two of the twenty backgrounds it used; we take the first two
and record it, so every sample is byte-identical to the Composition-1k sample of the same id.
No trimap: interactive matting starts from clicks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from datagen.benchmarks.composition1k import plan_test_set
from datagen.importing import Importer, Plan

ICOMP_BGS = 2


@dataclass(frozen=True)
class IcompOptions:
    root: Path
    backgrounds: Path | None = None   # required; None only so that a missing flag gets a clear error
    names: str = "ids"                # what composites.sha256 lists: sample ids or official file names


def plan(o: IcompOptions, check) -> Plan:
    return plan_test_set("icomp-100", o, check, ICOMP_BGS, trimap_radius=None)


IMPORTER = Importer("icomp-100", "build", "benchmark", IcompOptions, plan)
