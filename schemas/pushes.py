"""Every pushed message type, one model each (``Push``), for the WebSocket's documentation."""

from __future__ import annotations
