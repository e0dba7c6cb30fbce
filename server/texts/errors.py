"""Problems (RFC 9457 titles) by their machine code, for every reader."""

from __future__ import annotations

from server.texts.core import Catalogue

TEXTS: Catalogue = {}
