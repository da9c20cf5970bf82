"""Initial sequence numbers as RFC 9293 §3.4.1 asks: ISN = M + F(4-tuple, key).

M, a 4 µs clock, keeps a reused 4-tuple's new ISN ahead of its old segments
(MUST-8); F, a keyed PRF, stops an off-path host from predicting it (MUST-9,
the guessable counters of uIP and stock lwIP are what this avoids). The clock
comes in as `now` and the key can be given, so tests are deterministic.
"""

from __future__ import annotations

import hashlib
import secrets

TICKS_PER_SECOND = 250_000  # one tick per 4 µs
KEY_LENGTH = 16
_MAX_KEY_LENGTH = 32  # BLAKE2s accepts keys of 1..32 octets
_DIGEST_SIZE = 4
_MOD = 1 << 32


class IsnGenerator:
    """ISNs for one stack: a secret key, fixed for the stack's life."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes | None = None) -> None:
        if key is None:
            key = secrets.token_bytes(KEY_LENGTH)
        if not 1 <= len(key) <= _MAX_KEY_LENGTH:
            raise ValueError(f"ISN key must be 1 to {_MAX_KEY_LENGTH} octets, not {len(key)}")
        self._key = key

    def __call__(
        self, local: bytes, local_port: int, remote: bytes, remote_port: int, now: float
    ) -> int:
        """The ISN for this connection at monotonic time `now` (seconds)."""
        # Each address is prefixed by its length so no two distinct tuples hash the same input.
        message = b"".join(
            (
                len(local).to_bytes(1, "big"),
                local,
                local_port.to_bytes(2, "big"),
                len(remote).to_bytes(1, "big"),
                remote,
                remote_port.to_bytes(2, "big"),
            )
        )
        digest = hashlib.blake2s(message, key=self._key, digest_size=_DIGEST_SIZE).digest()
        offset = int.from_bytes(digest, "big")
        return (int(now * TICKS_PER_SECOND) + offset) % _MOD
