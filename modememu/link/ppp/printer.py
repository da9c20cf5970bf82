"""pppd's debug log format: `sent [LCP ConfReq id=0x1 <asyncmap 0x0> <magic 0x5f3c2a11>]`.

People who have run dial-up read this format fluently, so the monitor shows
control packets exactly as `pppd debug` logs them. The rules are pppd's own
(ppp-project/ppp, the same in 2.4.9 and 2.5): `utils.c` (`format_packet`,
`print_string`, and `vslprintf` for `%B`, `%I`, `%o`), `lcp.c` `lcp_printpkt`,
`ipcp.c` `ipcp_printpkt`, `upap.c` `upap_printpkt`, `chap-new.c` (`chap.c` in
2.5) `chap_print_pkt`, `ccp.c` `ccp_printpkt` and `multilink.c` `epdisc_to_str`.
pppd's quirks are kept on purpose, because a log that differs from pppd's
misleads exactly the people who know pppd:

- A protocol printer returns how many octets it used; whatever is left in the
  information field (padding after Length, or all of it when the header is
  impossible) follows the `]` as hex, at most 32 octets and then ` ...`.
- An option that is not understood, or has an unexpected length, is printed as
  its raw octets: `< 17 04 00 02>`; leftover octets after a decoded value
  follow it (`<compress VJ 0f 01>`).
- LCP limits the trailing hex to 32 octets (` ...`); IPCP, PAP, CHAP and CCP do
  not. CCP prints a Terminate message without the space before it.
- Strings are C `char` on amd64 (signed), so an octet >= 0x80 comes out as the
  octal of a sign-extended int: 0x80 is `\\37777777600`.
- IPCP's ms-dns and ms-wins options are read as 6 octets whatever their length
  field says, so a short one shifts the rest of the walk. Octets pppd would
  read past the end of the packet (its buffer holds stale data there) are
  taken as 00 here.

Deliberate differences:
- PAP passwords are always `password=<hidden>` (pppd's hide-password, Debian's
  default), and since any octet of a PAP packet pppd would dump as hex may be
  part of a password (a malformed Authenticate-Request, or one whose Length
  stops short), those dumps are shown as ` <hidden>`.
- Only the protocols above are decoded, as if pppd had been built without
  IPv6CP, ECP, EAP and CBCP: their packets print as `[proto=0x8057] 01 ...`,
  which is what such a pppd prints.

Pure functions; nothing here raises on wire input.
"""

from __future__ import annotations

from collections.abc import Callable

from modememu.link.ppp import wire

HEX_LIMIT = 32  # octets of trailing hex before " ..."
DATA_LIMIT = 8  # octets shown of a data packet
LOG_LINE_MAX = 1023  # pppd formats each log line into a 1024-octet buffer
MAX_ENDPOINT = 20  # MAX_ENDP_LEN: endpoint discriminator octets pppd keeps

_LCP_CODES = (
    "ConfReq",
    "ConfAck",
    "ConfNak",
    "ConfRej",
    "TermReq",
    "TermAck",
    "CodeRej",
    "ProtRej",
    "EchoReq",
    "EchoRep",
    "DiscReq",
    "Ident",
    "TimeRem",
)
_IPCP_CODES = _LCP_CODES[:7]
_CCP_CODES: tuple[str | None, ...] = (
    *_LCP_CODES[:7],
    *(None,) * 6,
    "ResetReq",
    "ResetAck",
)
_PAP_CODES = ("AuthReq", "AuthAck", "AuthNak")
_CHAP_CODES = ("Challenge", "Response", "Success", "Failure")
_CHAP_DIGESTS = {5: " MD5", 0x80: " MS", 0x81: " MS-v2"}
_ENDPOINT_CLASSES = ("null", "local", "IP", "MAC", "magic", "phone")
_VJ = 0x002D
_VJ_OLD = 0x0037
_CBCP = 6
_MPPE_H = 0x01
_MPPE_BITS = (("M", 0x80), ("S", 0x40), ("L", 0x20), ("D", 0x10), ("C", 0x01))
_MPPE_KNOWN = 0xF1  # MPPE_ALL_BITS: D, L, S, M and H (which shares C's value)
_PAP_HIDDEN = " <hidden>"


def _string_char(octet: int) -> str:
    """How pppd's print_string shows one octet (a signed `char` widened to int)."""
    if 0x20 <= octet <= 0x7E:
        return "\\" + chr(octet) if octet in b'\\"' else chr(octet)
    special = {0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}.get(octet)
    if special is not None:
        return special
    value = octet | 0xFFFFFF00 if octet & 0x80 else octet  # %o of a negative int
    return f"\\{value:03o}"


_STRING_TABLE = {c: _string_char(c) for c in range(256) if _string_char(c) != chr(c)}


def _string(data: bytes) -> str:
    """print_string: the octets in double quotes, escaped the way pppd does."""
    return '"' + data.decode("latin-1").translate(_STRING_TABLE) + '"'


def _hex(data: bytes) -> str:
    """`%.*B`: each octet as ` %.2x`."""
    return " " + data.hex(" ") if data else ""


def _hex_limited(data: bytes, limit: int = HEX_LIMIT) -> str:
    """`%.32B ...`: the first `limit` octets, then ` ...` when there were more."""
    return _hex(data[:limit]) + " ..." if len(data) > limit else _hex(data)


def _take(pkt: bytes, at: int, count: int) -> bytes:
    """`count` octets from `at`, with 00 for any that pppd would read past the end."""
    chunk = pkt[at : at + count]
    return chunk + bytes(count - len(chunk)) if len(chunk) < count else chunk


def _u16(pkt: bytes, at: int) -> int:
    return int.from_bytes(_take(pkt, at, 2), "big")


def _u32(pkt: bytes, at: int) -> int:
    return int.from_bytes(_take(pkt, at, 4), "big")


def _ip(pkt: bytes, at: int) -> str:
    """`%I`: dotted quad."""
    return ".".join(map(str, _take(pkt, at, 4)))


def _header(pkt: bytes) -> tuple[int, int, int] | None:
    """Code, identifier and Length, or None where pppd's printers return 0."""
    if len(pkt) < wire.HEADER:
        return None
    length = pkt[2] << 8 | pkt[3]
    if length < wire.HEADER or length > len(pkt):
        return None
    return pkt[0], pkt[1], length


def _code(code: int, ident: int, names: tuple[str | None, ...]) -> str:
    name = names[code - 1] if 1 <= code <= len(names) else None
    return f" {name} id=0x{ident:x}" if name else f" code=0x{code:x} id=0x{ident:x}"


# -- LCP -------------------------------------------------------------------------


def _endpoint(cls: int, value: bytes) -> str:
    """multilink.c epdisc_to_str: `MAC:00:11:22:33:44:55`, `IP:10.0.0.1`, `local:01.02`."""
    if cls == 0 and not value:
        return "null"
    if cls == 2 and len(value) == 4:  # EPD_IP
        return "IP:" + _ip(value, 0)
    name = _ENDPOINT_CLASSES[cls] if cls < len(_ENDPOINT_CLASSES) else str(cls)
    if not value:
        return name
    if cls == 4 and len(value) % 4 == 0:  # EPD_MAGIC: 4-octet groups
        groups = [value[at : at + 4].hex() for at in range(0, len(value), 4)]
        return name + ":" + ".".join(groups)
    separator = ":" if cls == 3 and len(value) == 6 else "."  # EPD_MAC
    return name + ":" + value.hex(separator)


_Describe = Callable[[bytes, int, int, int, int], tuple[str, int]]


def _option_list(
    pkt: bytes, at: int, left: int, describe: _Describe, out: list[str]
) -> tuple[int, int]:
    """Configure-* options as pppd prints them: ` <text hex>` each, up to a bad length.

    `describe(pkt, at, kind, size, end)` gives an option's text and where pppd's
    pointer stopped; IPCP's may run past a short option (pppd reads ms-dns blind).
    """
    while left >= 2:
        kind, size = _take(pkt, at, 2)
        if size < 2 or size > left:
            break
        left -= size
        end = at + size
        text, at = describe(pkt, at, kind, size, end)
        out.append(f" <{text}{_hex(_take(pkt, at, end - at)) if at < end else ''}>")
        at = max(at, end)
    return at, left


def _lcp_option(pkt: bytes, at: int, kind: int, size: int, end: int) -> tuple[str, int]:
    """The text pppd prints for one LCP option and where its octet pointer stops."""
    if kind == 1 and size == 4:
        return f"mru {_u16(pkt, at + 2)}", at + 4
    if kind == 2 and size == 6:
        return f"asyncmap 0x{_u32(pkt, at + 2):x}", at + 6
    if kind == 3 and size >= 4:
        protocol = _u16(pkt, at + 2)
        at += 4
        if protocol == wire.PAP:
            return "auth pap", at
        if protocol == wire.CHAP:
            digest = _CHAP_DIGESTS.get(pkt[at]) if at < end else None
            return ("auth chap" + digest, at + 1) if digest else ("auth chap", at)
        if protocol == wire.EAP:
            return "auth eap", at
        return f"auth 0x{protocol:x}", at
    if kind == 4 and size >= 4:
        protocol = _u16(pkt, at + 2)
        return ("quality lqr" if protocol == wire.LQR else f"quality 0x{protocol:x}"), at + 4
    if kind == 13 and size >= 3:
        operation = pkt[at + 2]
        return ("callback CBCP" if operation == _CBCP else f"callback 0x{operation:x}"), at + 3
    if kind == 5 and size == 6:
        return f"magic 0x{_u32(pkt, at + 2):x}", at + 6
    if kind == 7 and size == 2:
        return "pcomp", at + 2
    if kind == 8 and size == 2:
        return "accomp", at + 2
    if kind == 17 and size == 4:
        return f"mrru {_u16(pkt, at + 2)}", at + 4
    if kind == 18 and size == 2:
        return "ssnhf", at + 2
    if kind == 19 and size >= 3:
        count = min(size - 3, MAX_ENDPOINT)
        value = pkt[at + 3 : at + 3 + count]
        return f"endpoint [{_endpoint(pkt[at + 2], value)}]", at + 3 + count
    return "", at


def _lcp(pkt: bytes) -> tuple[str, int]:
    head = _header(pkt)
    if head is None:
        return "", 0
    code, ident, length = head
    out = [_code(code, ident, _LCP_CODES)]
    at, left = wire.HEADER, length - wire.HEADER
    if wire.CONF_REQ <= code <= wire.CONF_REJ:
        at, left = _option_list(pkt, at, left, _lcp_option, out)
    elif code in (wire.TERM_REQ, wire.TERM_ACK):
        if left > 0 and 0x20 <= pkt[at] < 0x7F:
            out.append(" " + _string(pkt[at : at + left]))
            at, left = at + left, 0
    elif code in (wire.ECHO_REQ, wire.ECHO_REP, wire.DISC_REQ):
        if left >= 4:
            out.append(f" magic=0x{_u32(pkt, at):x}")
            at, left = at + 4, left - 4
    elif code in (12, 13):  # Identification, Time-Remaining (RFC 1570)
        if left >= 4:
            out.append(f" magic=0x{_u32(pkt, at):x}")
            at, left = at + 4, left - 4
        if code == 12 or left >= 4:
            if code == 13:
                out.append(f" seconds={_u32(pkt, at)}")
                at, left = at + 4, left - 4
            if left > 0:
                out.append(" " + _string(pkt[at : at + left]))
                at, left = at + left, 0
    out.append(_hex_limited(pkt[at : at + left]))
    return "".join(out), at + left


# -- IPCP ------------------------------------------------------------------------


def _ipcp_option(pkt: bytes, at: int, kind: int, size: int, end: int) -> tuple[str, int]:
    if kind == 1 and size == 10:
        return f"addrs {_ip(pkt, at + 2)} {_ip(pkt, at + 6)}", at + 10
    if kind == 2 and size >= 4:
        protocol = _u16(pkt, at + 2)
        name = {_VJ: "VJ", _VJ_OLD: "old-VJ"}.get(protocol, f"0x{protocol:x}")
        return f"compress {name}", at + 4
    if kind == 3 and size == 6:
        return f"addr {_ip(pkt, at + 2)}", at + 6
    # pppd reads these four without checking the option's length.
    if kind in (129, 131):
        return f"ms-dns{1 if kind == 129 else 2} {_ip(pkt, at + 2)}", at + 6
    if kind in (130, 132):
        return f"ms-wins {_ip(pkt, at + 2)}", at + 6
    return "", at


def _ncp(
    pkt: bytes,
    codes: tuple[str | None, ...],
    option: _Describe,
    *,
    term_space: str,
    pad: bool,
) -> tuple[str, int]:
    """A network control protocol's packet (IPCP, CCP): options, or a Terminate text.

    `term_space` goes before a Terminate text; with `pad`, octets pppd reads past
    the end print as 00 (as it does for IPCP).
    """
    head = _header(pkt)
    if head is None:
        return "", 0
    code, ident, length = head
    out = [_code(code, ident, codes)]
    at, left = wire.HEADER, length - wire.HEADER
    if wire.CONF_REQ <= code <= wire.CONF_REJ:
        at, left = _option_list(pkt, at, left, option, out)
    elif code in (wire.TERM_REQ, wire.TERM_ACK) and left > 0 and 0x20 <= pkt[at] < 0x7F:
        out.append(term_space + _string(pkt[at : at + left]))
        at, left = at + left, 0
    out.append(_hex(_take(pkt, at, left) if pad else pkt[at : at + left]))
    return "".join(out), at + left


def _ipcp(pkt: bytes) -> tuple[str, int]:
    return _ncp(pkt, _IPCP_CODES, _ipcp_option, term_space=" ", pad=True)


# -- PAP, CHAP -------------------------------------------------------------------


def _pap(pkt: bytes) -> tuple[str, int]:
    head = _header(pkt)
    if head is None:
        return "", 0
    code, ident, length = head
    out = [_code(code, ident, _PAP_CODES)]
    at, left = wire.HEADER, length - wire.HEADER
    if code == 1 and left >= 1:
        user_len = pkt[at]
        if left >= user_len + 2:
            password_len = pkt[at + user_len + 1]
            if left >= user_len + password_len + 2:
                user = pkt[at + 1 : at + 1 + user_len]
                out.append(f" user={_string(user)} password=<hidden>")
                at += user_len + password_len + 2
                left -= user_len + password_len + 2
    elif code in (2, 3) and left >= 1:
        message_len = pkt[at]
        if left >= message_len + 1:
            out.append(" " + _string(pkt[at + 1 : at + 1 + message_len]))
            at += message_len + 1
            left -= message_len + 1
    if left > 0:  # pppd dumps these as hex; they may hold a password
        out.append(_PAP_HIDDEN)
    return "".join(out), at + left


def _chap(pkt: bytes) -> tuple[str, int]:
    head = _header(pkt)
    if head is None:
        return "", 0
    code, ident, length = head
    out = [_code(code, ident, _CHAP_CODES)]
    body = pkt[wire.HEADER : length]
    if code in (1, 2):
        if body and len(body) >= body[0] + 1:
            value_len = body[0]
            value, name = body[1 : 1 + value_len], body[1 + value_len :]
            out.append(f" <{value.hex()}>, name = {_string(name)}")
    elif code in (3, 4):
        out.append(" " + _string(body))
    else:
        out.append(_hex(body))
    return "".join(out), length  # pppd counts the whole packet even when it printed nothing


# -- CCP -------------------------------------------------------------------------


def _mppe(value: bytes) -> str:
    """The four octets after an MPPE option's header, as ccp_printpkt shows them."""
    first, _, _, bits = value
    unknown = bool(first & ~_MPPE_H or value[1] or value[2] or bits & ~_MPPE_KNOWN)
    flags = ["+H" if first & _MPPE_H else "-H"]
    flags += [("+" if bits & mask else "-") + name for name, mask in _MPPE_BITS]
    text = "mppe " + " ".join(flags) + (" +U" if unknown else "")
    return text + (" (" + value.hex(" ") + ")" if unknown else "")


def _ccp_option(pkt: bytes, at: int, kind: int, size: int, end: int) -> tuple[str, int]:
    if kind == 18 and size >= 6:
        return _mppe(pkt[at + 2 : at + 6]), at + 6
    if kind in (26, 24) and size >= 4:  # Deflate, and the draft's old number
        value = pkt[at + 2]
        text = f"deflate{'(old#)' if kind == 24 else ''} {(value >> 4) + 8}"
        if value & 0x0F != 8:
            text += f" method {value & 0x0F}"
        if pkt[at + 3] != 0:
            text += f" check {pkt[at + 3]}"
        return text, at + 4
    if kind == 21 and size >= 3:  # BSD-Compress
        value = pkt[at + 2]
        return f"bsd v{value >> 5} {value & 0x1F}", at + 3
    if kind in (1, 2) and size >= 2:
        return f"predictor {kind}", at + 2
    return "", at


def _ccp(pkt: bytes) -> tuple[str, int]:
    # pppd's own quirks for CCP: no space before a Terminate text, no padding past the end.
    return _ncp(pkt, _CCP_CODES, _ccp_option, term_space="", pad=False)


# -- the packet ------------------------------------------------------------------

_PRINTERS: dict[int, tuple[str, Callable[[bytes], tuple[str, int]]]] = {
    wire.LCP: ("LCP", _lcp),
    wire.PAP: ("PAP", _pap),
    wire.CHAP: ("CHAP", _chap),
    wire.IPCP: ("IPCP", _ipcp),
    wire.CCP: ("CCP", _ccp),
}
# A control protocol's data protocol is its number without 0x8000 (utils.c).
_DATA_NAMES = {wire.IP: "IP", wire.CCP & ~0x8000: "Compressed"}


def format_packet(protocol: int, info: bytes) -> str:
    """What pppd logs for the packet with this protocol and information field.

    `[IPCP ConfNak id=0x1 <addr 10.0.2.15>]`, `[IP data] 45 00 ... ...`,
    `[proto=0x2d] ...`. Any octets may be given; nothing raises on them.
    """
    if not 0 <= protocol <= 0xFFFF:
        raise ValueError(f"a PPP protocol number is 16 bits, not {protocol:#x}")
    info = bytes(info)
    entry = _PRINTERS.get(protocol)
    if entry is not None:
        name, printer = entry
        body, used = printer(info)
        text, rest = f"[{name}{body}]", info[used:]
    elif protocol in _DATA_NAMES:
        text, rest = f"[{_DATA_NAMES[protocol]} data]" + _hex_limited(info, DATA_LIMIT), b""
    else:
        text, rest = f"[proto=0x{protocol:x}]", info
    if protocol == wire.PAP:
        return text + _PAP_HIDDEN if rest else text
    return text + _hex_limited(rest)


def log_line(sent: bool, protocol: int, info: bytes) -> str:
    """pppd's whole debug line for a packet: `sent [...]` or `rcvd [...]`.

    Cut at 1023 characters, as pppd's 1024-octet log buffer cuts it.
    """
    line = ("sent " if sent else "rcvd ") + format_packet(protocol, info)
    return line[:LOG_LINE_MAX]
