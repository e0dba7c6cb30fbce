"""Structured JSON logs, one object per line; personal data is never logged."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from server.identity import mask_id_number

# Digit lookarounds, not ``\b``: Python's ``\b`` sees CJK characters as word characters, so
# "电话13812345678" or "身份证11010519491231002X号" have no word boundary around the number.
_ID = re.compile(r"(?<!\d)\d{17}(?:\d(?!\d)|[Xx])")
# A mainland mobile, alone or with a +86 / 86 / 0086 prefix, with or without spaces or dashes.
_MOBILE = re.compile(r"(?<!\d)(?:(?:\+|00)?86[\s-]?)?(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)")
_MAX_DEPTH = 8


def _mask_id(m: re.Match[str]) -> str:
    return mask_id_number(m.group(0)) or ""


def scrub(text: str) -> str:
    """Mask anything shaped like an ID number or a mobile, whatever logged it."""
    text = _ID.sub(_mask_id, text)
    return _MOBILE.sub(lambda m: m.group(1) + "****" + m.group(3), text)


def scrub_value(value: Any, depth: int = 0) -> Any:
    """Scrub strings anywhere inside dicts, lists and tuples (``extra={"body": {...}}``)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        # An int can be a mobile (13812345678) too.
        text = str(value)
        masked = scrub(text)
        return value if masked == text else masked
    if depth >= _MAX_DEPTH:
        return scrub(str(value))
    if isinstance(value, dict):
        return {scrub(str(k)): scrub_value(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub_value(v, depth + 1) for v in value]
    # Anything else is logged through its text, so scrub that text.
    return scrub(str(value))


class JsonFormatter(logging.Formatter):
    SKIP = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        body = {
            "ts": datetime.now(UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        for k, v in record.__dict__.items():
            if k not in self.SKIP:
                body[k] = scrub_value(v)
        if record.exc_info:
            body["exc"] = scrub(self.formatException(record.exc_info))
        if record.stack_info:
            body["stack"] = scrub(self.formatStack(record.stack_info))
        return json.dumps(body, ensure_ascii=False, default=lambda v: scrub(str(v)))


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # Alembic announces every plugin it loads at INFO: noise on every start, not news.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
