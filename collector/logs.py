"""Logging: one line per event, key=value by default or JSON, and never a token."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

# Shapes of GitHub tokens (classic, fine-grained, app, OAuth), masked wherever they might slip through.
_TOKEN_RE = re.compile(r"\b(gh[pousr]_[A-Za-z0-9_]{8,}|github_pat_[A-Za-z0-9_]{8,})")

LOGGER_NAME = "collector"


def event(logger: logging.Logger, name: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event with structured fields."""
    logger.log(level, name, extra={"fields": fields})


class _Formatter(logging.Formatter):
    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__()
        self.json = fmt == "json"
        self.secrets = [s for s in secrets if s]

    def _scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return _TOKEN_RE.sub("***", text)

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="seconds"),
            "level": record.levelname.lower(),
        }
        if record.name == LOGGER_NAME or record.name.startswith(LOGGER_NAME + "."):
            fields["event"] = record.getMessage()
        else:  # a library's own message (psycopg, apscheduler, ...): still one parseable line
            fields.update(event="library_log", source=record.name, message=record.getMessage())
        fields.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[1] is not None:
            fields["error"] = f"{type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        if self.json:
            return self._scrub(json.dumps(fields, default=str))
        return self._scrub(" ".join(f"{k}={_kv(v)}" for k, v in fields.items()))


def _kv(value: Any) -> str:
    text = str(value)
    if text == "" or any(ch.isspace() or ch in '"=' for ch in text):
        return json.dumps(text)
    return text


class _LibraryHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The root logger's handler, so libraries' warnings come out as events too."""


def setup_logging(
    fmt: str = "kv", secrets: Iterable[str] = (), level: int = logging.INFO, drop: Iterable[str] = ()
) -> logging.Logger:
    """Configure the `collector` logger to write one line per event to stderr (except `drop` events)."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter(fmt, secrets))
    dropped = set(drop)
    if dropped:
        handler.addFilter(lambda record: record.getMessage() not in dropped)
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    # Libraries log through the root logger; without a handler there, Python's last resort prints their
    # bare message, which breaks the one-event-per-line promise (psycopg warns this way when a
    # connection drops mid-pipeline).
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not isinstance(h, _LibraryHandler)]
    library = _LibraryHandler(sys.stderr)
    library.setFormatter(_Formatter(fmt, secrets))
    library.setLevel(logging.WARNING)
    root.addHandler(library)
    return logger


def get_logger(name: str = "") -> logging.Logger:
    """A child of the `collector` logger."""
    return logging.getLogger(f"{LOGGER_NAME}.{name}" if name else LOGGER_NAME)
