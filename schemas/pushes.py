"""Every pushed message type, one model each (``Push``), for the WebSocket's documentation.

``PUSHES`` maps a type on the wire to its payload's model; server/push.py lists them in the
OpenAPI document as a ``oneOf`` over envelopes. Each schemas module that defines push models
exposes them as its ``PUSHES`` tuple; add the module here.
"""

from __future__ import annotations

from schemas import auth, hotline, incidents, planning, registry, tasks, welfare
from schemas.common import Push

MODULES = (incidents, registry, tasks, planning, hotline, welfare, auth)


def _by_type() -> dict[str, type[Push]]:
    out: dict[str, type[Push]] = {}
    for module in MODULES:
        for model in module.PUSHES:
            if model.TYPE in out:
                raise ValueError(f"push type {model.TYPE} has two models")
            out[model.TYPE] = model
    return out


PUSHES: dict[str, type[Push]] = _by_type()
