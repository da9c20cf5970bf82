"""The Internet checksum (RFC 1071), as IPv4 headers and TCP segments carry it.

Every packet in and out goes through here, so there is no loop over words:
since 2**16 ≡ 1 (mod 0xFFFF), a buffer read as one big-endian integer is
congruent to the sum of its 16-bit words, and CPython reduces a big integer
modulo a one-digit number in C. The ones'-complement sum is that remainder,
except that a nonzero sum which is a multiple of 0xFFFF folds to 0xFFFF
("negative zero"), never 0.

The division costs far more per digit than reading the bytes, so a long
buffer is read as four pieces whose sum (congruent, a quarter the size) is
divided instead: about 1.4x faster at 1500 octets.
"""

from __future__ import annotations

_MASK = 0xFFFF
_SPLIT_AT = 256  # shorter buffers are divided whole: four conversions would cost more
_from_bytes = int.from_bytes


def ones_sum(data: bytes, total: int = 0) -> int:
    """Ones'-complement sum of `data`'s 16-bit words plus `total` (>= 0), folded to 16 bits.

    `total` carries a sum over earlier data (a pseudo-header, a header summed
    apart from its payload); that only composes when the earlier data had even length.
    """
    size = len(data)
    if size < _SPLIT_AT:
        value = _from_bytes(data, "big")
    else:
        # Cuts at even distances from the end keep each piece's words where the
        # whole integer has them, so the pieces' sum is congruent to the whole.
        quarter = (size >> 3) << 1
        a = size - 3 * quarter
        b = a + quarter
        c = b + quarter
        value = (
            _from_bytes(data[:a], "big")
            + _from_bytes(data[a:b], "big")
            + _from_bytes(data[b:c], "big")
            + _from_bytes(data[c:], "big")
        )
    if size & 1:
        value <<= 8  # pad the odd octet with a zero octet
    value += total
    folded = value % _MASK
    # Zero only when everything summed was zero; any other multiple of 0xFFFF is "negative zero".
    return _MASK if folded == 0 and value != 0 else folded


def internet_checksum(data: bytes, total: int = 0) -> int:
    """The value for a checksum field, with that field zero in `data`."""
    return ~ones_sum(data, total) & _MASK


def checksum_ok(data: bytes, total: int = 0) -> bool:
    """True when `data`, checksum field included, sums to 0xFFFF as received data must."""
    return ones_sum(data, total) == _MASK


def pseudo_header_sum(src: bytes, dst: bytes, protocol: int, length: int) -> int:
    """Sum of the RFC 9293 §3.1 pseudo-header (src, dst, zero, protocol, length), for `total`.

    The zero octet and the protocol make the word `protocol`, so both small
    fields add in directly instead of being packed into bytes.
    """
    if len(src) != 4 or len(dst) != 4:
        raise ValueError("pseudo-header addresses must be 4 octets (IPv4)")
    if not 0 <= protocol <= 0xFF or not 0 <= length <= _MASK:
        raise ValueError(f"pseudo-header protocol {protocol} or length {length} out of range")
    return ones_sum(src + dst, protocol + length)
