"""Structured JSON logs, one object per line; personal data is never logged."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

_ID = re.compile(r"\b\d{17}[\dXx]\b")
_MOBILE = re.compile(r"\b1[3-9]\d{9}\b")


def scrub(text: str) -> str:
    """Mask anything shaped like an ID number or a mobile, whatever logged it."""
    return _MOBILE.sub(lambda m: m.group(0)[:3] + "****" + m.group(0)[-4:],
                       _ID.sub(lambda m: m.group(0)[:6] + "********" + m.group(0)[-4:], text))


class JsonFormatter(logging.Formatter):
    SKIP = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        body = {"ts": datetime.now(UTC).isoformat(), "level": record.levelname,
                "logger": record.name, "msg": scrub(record.getMessage())}
        for k, v in record.__dict__.items():
            if k not in self.SKIP:
                body[k] = scrub(str(v)) if isinstance(v, str) else v
        if record.exc_info:
            body["exc"] = scrub(self.formatException(record.exc_info))
        return json.dumps(body, ensure_ascii=False, default=str)


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
