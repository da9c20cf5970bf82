"""RFC 9293 §3.4.1 ISNs: a 4 µs clock plus a keyed function of the 4-tuple."""

from __future__ import annotations

import hashlib
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modememu.net.tcp.isn import TICKS_PER_SECOND, IsnGenerator

MOD = 1 << 32
LOCAL = bytes([10, 0, 2, 2])
REMOTE = bytes([10, 0, 2, 15])
KEY_A = bytes(range(16))
KEY_B = bytes(range(1, 17))

addresses = st.binary(min_size=4, max_size=4)
ports = st.integers(0, 0xFFFF)
four_tuples = st.tuples(addresses, ports, addresses, ports)


def tuples(count: int) -> list[tuple[bytes, int, bytes, int]]:
    """Distinct 4-tuples: one local end, many remote ports and hosts."""
    return [(LOCAL, 80, bytes([10, 0, 2, 15 + i % 7]), 40000 + i) for i in range(count)]


def test_rises_250000_per_second_for_one_tuple() -> None:
    isn = IsnGenerator(KEY_A)
    start = isn(LOCAL, 80, REMOTE, 49152, 100.0)
    assert isn(LOCAL, 80, REMOTE, 49152, 101.0) == (start + 250_000) % MOD
    assert (isn(LOCAL, 80, REMOTE, 49152, 100.000004) - start) % MOD in (0, 1)  # one tick
    assert TICKS_PER_SECOND == 250_000


def test_rises_with_now_across_the_wrap() -> None:
    isn = IsnGenerator(KEY_A)
    values = [isn(LOCAL, 80, REMOTE, 49152, float(t)) for t in range(0, 60_000, 1000)]
    steps = {(b - a) % MOD for a, b in itertools.pairwise(values)}
    assert steps == {1000 * 250_000 % MOD}
    assert any(b < a for a, b in itertools.pairwise(values))  # 2**32 ticks is 4.77 hours


@given(four_tuples, st.integers(0, 10**6), st.integers(0, 10**4))
def test_later_is_ahead_by_the_elapsed_ticks(
    four: tuple[bytes, int, bytes, int], start: int, seconds: int
) -> None:
    isn = IsnGenerator(KEY_A)
    # quarter seconds are exact in binary, so the tick count is exact too
    first = isn(*four, start / 4)
    later = isn(*four, start / 4 + seconds)
    assert (later - first) % MOD == seconds * 250_000 % MOD


@given(four_tuples, st.floats(0, 1e7))
def test_same_key_tuple_and_time_give_the_same_isn(
    four: tuple[bytes, int, bytes, int], now: float
) -> None:
    a = IsnGenerator(KEY_A)(*four, now)
    b = IsnGenerator(KEY_A)(*four, now)
    assert a == b
    assert 0 <= a < MOD


def test_value_is_clock_plus_keyed_blake2s() -> None:
    message = b"\x04" + LOCAL + (80).to_bytes(2, "big") + b"\x04" + REMOTE
    message += (49152).to_bytes(2, "big")
    offset = hashlib.blake2s(message, key=KEY_A, digest_size=4).digest()
    expected = (int(2.5 * 250_000) + int.from_bytes(offset, "big")) % MOD
    assert IsnGenerator(KEY_A)(LOCAL, 80, REMOTE, 49152, 2.5) == expected


def test_different_tuples_differ() -> None:
    isn = IsnGenerator(KEY_A)
    values = {isn(*t, 5.0) for t in tuples(500)}
    assert len(values) == 500


def test_swapping_the_ends_changes_the_isn() -> None:
    isn = IsnGenerator(KEY_A)
    assert isn(LOCAL, 80, REMOTE, 49152, 0.0) != isn(REMOTE, 49152, LOCAL, 80, 0.0)
    assert isn(LOCAL, 80, REMOTE, 49152, 0.0) != isn(LOCAL, 49152, REMOTE, 80, 0.0)


def test_different_keys_differ_with_no_constant_offset() -> None:
    a, b = IsnGenerator(KEY_A), IsnGenerator(KEY_B)
    differences = {(a(*t, 7.0) - b(*t, 7.0)) % MOD for t in tuples(300)}
    # A keyed PRF, not key + counter: knowing one key's ISNs says nothing about the other's.
    assert 0 not in differences
    assert len(differences) >= 295


def test_no_constant_offset_between_tuples_either() -> None:
    # Otherwise one observed connection would let an attacker predict the next.
    isn = IsnGenerator(KEY_A)
    reference = isn(LOCAL, 80, REMOTE, 1024, 0.0)
    differences = {(isn(*t, 0.0) - reference) % MOD for t in tuples(300)}
    assert len(differences) >= 295


def test_random_keys_by_default() -> None:
    values = {IsnGenerator()(LOCAL, 80, REMOTE, 49152, 0.0) for _ in range(20)}
    assert len(values) >= 19


@pytest.mark.parametrize("key", [b"", bytes(33)])
def test_rejects_keys_blake2s_cannot_take(key: bytes) -> None:
    with pytest.raises(ValueError, match="ISN key"):
        IsnGenerator(key)


def test_accepts_short_and_longest_keys() -> None:
    assert IsnGenerator(b"k")(LOCAL, 80, REMOTE, 1, 0.0) != IsnGenerator(bytes(32))(
        LOCAL, 80, REMOTE, 1, 0.0
    )
