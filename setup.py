"""Build hook: ship the public-dataset layouts inside the package.

People read and edit the layouts in the top-level `manifests/` folder, and a checkout or an
editable install reads them there. A wheel has no top-level folder, so the build copies them
into `datagen/datasets/layout_files/`, which `datagen.datasets.layouts` reads when it exists.
Everything else about the package is declared in pyproject.toml.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

LAYOUTS = Path(__file__).resolve().parent / "manifests"
SHIPPED = Path("datagen", "datasets", "layout_files")  # inside the built package


class BuildWithLayouts(build_py):
    """`build_py` that also copies manifests/*.json into the built package (not in editable
    mode: an editable install reads the top-level folder itself)."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / SHIPPED
        self.mkpath(str(target))
        for path in sorted(LAYOUTS.glob("*.json")):
            self.copy_file(str(path), str(target / path.name))


setup(cmdclass={"build_py": BuildWithLayouts})
