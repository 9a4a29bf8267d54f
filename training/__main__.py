"""``python -m training`` (what ``torchrun ... -m training fit fba`` runs on every rank)."""

from training.cli import app

app(prog_name="training")
