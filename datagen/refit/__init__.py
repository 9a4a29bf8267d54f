"""Dataset-wide foreground refit: read objects, run a `datagen.foreground` solver on each, store
`fg_full` / `bg_full` and a report. The image math lives in `datagen.foreground`; this package
only drives it (inputs in `objects`, one object in `task`, the whole dataset in `driver`, the
report in `report`, the commands in `cli`)."""
