"""Commands of this feature (filled in by its issue)."""

import typer


def register(app: typer.Typer) -> None:
    """Add this feature's commands to the `datagen` app."""
