"""The `datagen` command line: a thin typer layer over the library.

Each feature keeps its commands beside its code in a `cli.py` exposing `register(app)`;
this module only assembles them. Command bodies import heavy dependencies (pymatting,
dask, pycocotools) lazily so that `datagen --help` starts in well under a second.
"""

from __future__ import annotations

import importlib

from datagen.cli_common import Version, command_app

app = command_app("datagen", "Build, verify and inspect training data and benchmarks for matting and interactive segmentation.")

# Feature modules that contribute commands, in the order they appear in --help.
FEATURES = (
    "datagen.shardtools.cli",    # shards info / verify / export / preview / datasheet
    "datagen.sources.cli",       # import objects / backgrounds / images
    "datagen.demo.cli",          # demo
    "datagen.datasets.cli",      # manifests (alias layouts) list / check
    "datagen.refit.cli",         # refit-foregrounds, spill-report
    "datagen.synth.cli",         # synth-seg, synth-matting
    "datagen.benchmarks.cli",    # build NAME
)


@app.callback()
def _main(version: Version = False) -> None:
    """Build, verify and inspect training data and benchmarks for matting and interactive segmentation."""


for _module in FEATURES:
    importlib.import_module(_module).register(app)


if __name__ == "__main__":
    app()
