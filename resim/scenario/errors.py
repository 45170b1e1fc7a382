"""Errors a user can act on.

``ScenarioError`` is bad input: the command line prints its one-line message and
exits 2. Anything else reaching the top level is an internal error (exit 1).
"""

from __future__ import annotations

import re

from .tomlwriter import toml_value

#: Characters that would break the message over several lines (str.splitlines
#: splits on all of these) or garble a terminal.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """``text`` with line breaks and other control characters escaped."""

    def esc(m: re.Match[str]) -> str:
        c = m.group(0)
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(c, f"\\u{ord(c):04x}")

    return _CONTROL.sub(esc, text)


def show_value(value: object, limit: int = 60) -> str:
    """A value as the user wrote it in TOML, shortened to one line."""
    text = one_line(toml_value(value, preview=True))
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ScenarioError(Exception):
    """Bad scenario or flag. ``str()`` is the complete one-line message."""

    def __init__(self, source: str, path: str, message: str, value: object = ..., extra: str = ""):
        self.source = source
        self.path = path
        self.message = message
        self.value = value
        self.extra = extra
        parts = [source]
        if path:
            parts.append(path)
        text = ": ".join(parts) + ": " + message
        if value is not ...:
            text += f", got {show_value(value)}"
        if extra:
            text += extra
        super().__init__(one_line(text))
