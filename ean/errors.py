"""The errors ``ean`` reports to its user (one line, exit status 2), as opposed to bugs.

``UserError`` is anything wrong with what the user gave: a file, a path, a value.
``ConfigError`` is a ``UserError`` about one setting of a configuration: it names the file,
the dotted key and, where there is a closed set, the values allowed.
"""
from __future__ import annotations

from typing import Any, Iterable, Optional


class UserError(Exception):
    """An error caused by the user's input: printed as one line, exit status 2."""


class ConfigError(UserError, ValueError):
    """One setting of a configuration is wrong.

    Attributes:
        file: the YAML file (or other source) the setting came from, when known.
        key: the dotted key at fault (``optim.base_lr``, ``model.eab.fusion``), when known.
        allowed: the values the key may take, when they form a closed set.
        reason: what is wrong, without the file and key.

    It is also a ``ValueError``, so code that validates values may catch it as one.
    """

    def __init__(self, reason: str, *, key: Optional[str] = None, file: Optional[str] = None,
                 allowed: Optional[Iterable[Any]] = None) -> None:
        self.reason = reason
        self.key = key
        self.file = file
        self.allowed = list(allowed) if allowed is not None else None
        super().__init__(self._message())

    def _message(self) -> str:
        text = self.reason
        if self.allowed is not None:
            text += f" (allowed: {', '.join(map(str, self.allowed))})"
        if self.key:
            text = f"{self.key}: {text}"
        if self.file:
            text = f"{self.file}: {text}"
        return text

    def located(self, file: Optional[str] = None, prefix: str = "") -> "ConfigError":
        """The same error with its file set (when not set yet) and ``prefix`` before its key."""
        key = f"{prefix}{self.key}" if self.key and prefix else (self.key or prefix.rstrip(".") or None)
        return ConfigError(self.reason, key=key, file=self.file or file, allowed=self.allowed)

    def __reduce__(self):  # picklable across DataLoader workers / processes
        return (_rebuild, (self.reason, self.key, self.file, self.allowed))


def _rebuild(reason, key, file, allowed) -> ConfigError:
    return ConfigError(reason, key=key, file=file, allowed=allowed)
