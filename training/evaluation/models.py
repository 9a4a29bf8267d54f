"""Turn a ``--model`` string into a model object for the protocol runners.

* ``baseline:NAME``: a classic method from :mod:`training.evaluation.baselines`;
* ``package.module:factory``: any importable callable returning a model (how trained
  models from the training issues plug in before they get their own short names).
"""

from __future__ import annotations

import importlib

from training.evaluation.baselines import make_baseline

PROTOCOL_METHODS = {"iseg": "predict_iseg", "matting": "predict_matting", "imatting": "predict_imatting"}


def load_model(spec: str, protocol: str):
    """Build the model named by ``spec`` and check it offers the method ``protocol`` calls."""
    if spec.startswith("baseline:"):
        model = make_baseline(spec.split(":", 1)[1])
    elif ":" in spec:
        module, attr = spec.rsplit(":", 1)
        try:
            factory = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"cannot import model factory {spec!r}: {exc}") from None
        model = factory()
    else:
        raise ValueError(f"model {spec!r}: use baseline:NAME or package.module:factory "
                         "(checkpoint files are loaded by the training package's factories)")
    method = PROTOCOL_METHODS[protocol]
    if not callable(getattr(model, method, None)):
        raise ValueError(f"model {spec!r} has no {method}() and cannot run the {protocol} protocol")
    return model
