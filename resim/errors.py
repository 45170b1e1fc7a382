"""Errors a user can act on.

``ScenarioError`` is bad input: the command line prints its one-line message and
exits 2. Anything else reaching the top level is an internal error (exit 1).
"""

from __future__ import annotations


def show_value(value: object, limit: int = 60) -> str:
    """A value as the user wrote it in TOML, shortened to one line."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = '"' + value.replace("\n", "\\n") + '"'
    elif isinstance(value, float) and value != value:
        text = "nan"
    else:
        text = repr(value).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ScenarioError(Exception):
    """Bad scenario or flag. ``str()`` is the complete one-line message."""

    def __init__(self, source: str, path: str, message: str, value: object = ..., extra: str = ""):
        self.source = source
        self.path = path
        self.message = message
        self.value = value
        parts = [source]
        if path:
            parts.append(path)
        text = ": ".join(parts) + ": " + message
        if value is not ...:
            text += f", got {show_value(value)}"
        if extra:
            text += extra
        super().__init__(text)
