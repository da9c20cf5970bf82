"""The one error type a port raises when the world refuses it (path, device, address)."""

from __future__ import annotations


class PortError(Exception):
    """A port that cannot be opened or served; str() is one line for the user."""
