"""The computer behind the ISP's answering modem: a PPP or SLIP server and its services.

Modelled on slirp, the 1990s ISP in a process (ppp-tcp.md §6.1): the server is
10.0.2.2, callers get 10.0.2.15 upward (`IspPool`), DNS is announced as
10.0.2.3, where nothing answers yet: the stack speaks TCP only. The server's
`NetStack` answers echo, discard, daytime, chargen and HTTP.

PPP is the project's `PppSession`, configured with the words an ISP's pppd
would be started with (`10.0.2.2:10.0.2.15 ms-dns 10.0.2.3 require-pap`),
so any pppd-like client works, not only modememu's dialer. Secrets go in as
pppd reads them, from a secrets table, never as option words, so no word
list that might be logged ever holds one.

SLIP has no negotiation, so a caller cannot learn its address from the link.
Terminal servers of the day printed it first, as plain text; with `banner`
on, the ISP sends one line such as

    modememu ISP: SLIP, your address is 10.0.2.15, server 10.0.2.2, MTU 1006

ended by CR LF, then switches to SLIP framing. A dialer waits for that line
(`SLIP_BANNER` matches it). SLIP has no authentication: `auth` and `users`
apply to PPP calls only, so one config can serve both kinds of number.

Sans-I/O like the cores it joins: octets and `now` in, octets, events and one
deadline out; the wall clock for daytime and HTTP's Date is injected.
"""

from __future__ import annotations

import random
import re
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from ipaddress import AddressValueError, IPv4Address
from pathlib import Path
from types import MappingProxyType
from typing import Any

from modememu.agents.iplink import Gateway, IpOverLink, SlipLink
from modememu.events import Event
from modememu.link.ppp.lcp import MAX_MRU, MIN_MRU
from modememu.link.ppp.options import PppOptionError, PppOptions, parse_words
from modememu.link.ppp.session import LinkEnded, PppSession
from modememu.net.services import standard_services
from modememu.net.stack import NetStack
from modememu.net.tcp.connection import TcpConfig
from modememu.net.tcp.isn import IsnGenerator

PPP = "ppp"
SLIP = "slip"
MODES = (PPP, SLIP)
AUTHS = ("", "pap", "chap")
IP_TCP_HEADERS = 40  # MSS = MTU - 40: the ISP never sends a segment the link cannot carry
PPP_MTU = 1500  # RFC 1661's default MRU
SLIP_MTU = 1006  # RFC 1055: "accept 1006-byte packets"
MIN_SLIP_MTU = 68  # RFC 791: every IPv4 link carries 68 octets
MAX_SLIP_MTU = 65535
MAX_NAME = 255  # PAP's Peer-ID and Passwd are one length octet each

MODEM_HANGUP = "Modem hangup"  # pppd's words, used for SLIP too

SLIP_BANNER = re.compile(
    rb"modememu ISP: SLIP, your address is (?P<client>[0-9.]+), "
    rb"server (?P<server>[0-9.]+), MTU (?P<mtu>[0-9]+)\r\n"
)
"""Matches the SLIP banner line; a dialer reads its address and MTU from the groups."""


class IspConfigError(ValueError):
    """A bad ISP setting or users file; the message is one line and never holds a secret."""


class IspPoolExhausted(RuntimeError):
    """Every client address of the pool is in use: the call cannot be served."""


def slip_banner(client: str, server: str, mtu: int) -> bytes:
    """The line sent before SLIP framing starts."""
    line = f"modememu ISP: SLIP, your address is {client}, server {server}, MTU {mtu}\r\n"
    return line.encode("ascii")


@dataclass(frozen=True, slots=True)
class IspConfig:
    """What the ISP offers on each call.

    `mtu` is the largest IP packet the ISP takes and sends: PPP's MRU (only
    announced when not 1500, as pppd does) and SLIP's MTU, which the banner
    tells the caller. 0 means the mode's usual size (`link_mtu`): 1500 for
    PPP, RFC 1055's 1006 for SLIP, which SLIP clients take without being told,
    and one config then serves both kinds of number. The ISP's TCP announces
    and uses an MSS of MTU - 40, so it never sends what the link cannot carry.
    `echo_interval`/`echo_failure` are pppd's lcp-echo-*: off by default, as
    in pppd; when on, a caller that stops answering is hung up on. With
    `gateway`, the caller's IP packets go to a driver's `Gateway` (a TUN
    device: the host kernel answers) instead of the ISP's own stack and services.
    """

    mode: str = PPP
    server: str = "10.0.2.2"
    pool: str = "10.0.2.15"
    dns: str = "10.0.2.3"
    auth: str = ""
    users: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, hash=False
    )
    mtu: int = 0
    banner: bool = True
    echo_interval: float = 0.0
    echo_failure: int = 4
    gateway: bool = False

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise IspConfigError(f"mode must be 'ppp' or 'slip', not {self.mode!r}")
        if self.auth not in AUTHS:
            raise IspConfigError(f"auth must be '', 'pap' or 'chap', not {self.auth!r}")
        if self.auth and not self.users:
            raise IspConfigError(f"auth {self.auth!r} needs at least one user")
        addresses = {}
        for name in ("server", "pool", "dns"):
            addresses[name] = _address(name, getattr(self, name))
        if addresses["pool"] in (addresses["server"], addresses["dns"]):
            raise IspConfigError("the pool must not start at the server's or the DNS address")
        low, high = (MIN_MRU, MAX_MRU) if self.mode == PPP else (MIN_SLIP_MTU, MAX_SLIP_MTU)
        if self.mtu and not low <= self.mtu <= high:
            raise IspConfigError(f"{self.mode} MTU {self.mtu} outside {low}..{high}")
        if self.echo_interval < 0 or self.echo_failure < 0:
            raise IspConfigError("echo_interval and echo_failure must not be negative")
        users = dict(self.users)
        for user, password in users.items():
            if problem := _user_problem(user, password):
                raise IspConfigError(f"user {user[:MAX_NAME]!r}: {problem}")
        object.__setattr__(self, "users", MappingProxyType(users))

    @property
    def link_mtu(self) -> int:
        """The MTU in force: `mtu`, or the mode's usual size when it is 0."""
        return self.mtu or (PPP_MTU if self.mode == PPP else SLIP_MTU)

    @classmethod
    def from_users_file(cls, path: str | Path, **kw: Any) -> IspConfig:
        """A config whose users come from a file of "user password" or "user:password" lines.

        Blank lines and lines starting with '#' are skipped. The colon form is
        taken when the first word holds a colon, so its password may contain
        spaces; the space form has exactly two words, so a pap-secrets line
        pasted in ("user * secret") is refused rather than misread. Errors
        name the file and line, never the line's text: it may hold a password.
        Say what the users are for with `auth="pap"` or `auth="chap"` in `kw`.
        """
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
            raise IspConfigError(f"{path}: cannot read users file ({reason})") from None
        users: dict[str, str] = {}
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if ":" in line.split(None, 1)[0]:
                user, _, password = line.partition(":")
                user, password = user.strip(), password.strip()
            else:
                words = line.split()
                if len(words) != 2:
                    raise IspConfigError(
                        f"{path}:{number}: expected 'user password' or 'user:password'"
                    )
                user, password = words
            if problem := _user_problem(user, password):
                raise IspConfigError(f"{path}:{number}: {problem}")
            if user in users:
                raise IspConfigError(f"{path}:{number}: user {user!r} given twice")
            users[user] = password
        if not users and kw.get("auth"):
            raise IspConfigError(f"{path}: no users")
        return cls(users=users, **kw)


def _address(name: str, text: str) -> IPv4Address:
    try:
        return IPv4Address(text)
    except (AddressValueError, ValueError):
        raise IspConfigError(f"{name}: {text!r} is not an IPv4 address") from None


def _user_problem(user: str, password: str) -> str:
    """Why this user cannot be served, or ""; the password is never quoted."""
    if not user:
        return "empty user name"
    if not password:
        return "empty password (CHAP needs a secret of at least one octet)"
    if len(user.encode()) > MAX_NAME or len(password.encode()) > MAX_NAME:
        return f"user name or password longer than {MAX_NAME} octets"
    if any(c.isspace() or not c.isprintable() for c in user):
        return "user name with spaces or control characters"
    return ""


class IspPool:
    """Client addresses from `config.pool` upward, the lowest free one first.

    The server's and the DNS address are never handed out; by default the pool
    ends before the last octet reaches 255. A plain object: the driver that
    owns all the ISP's lines calls `take` on answer and `release` on hang-up.
    """

    def __init__(self, config: IspConfig, *, size: int | None = None) -> None:
        first = IPv4Address(config.pool)
        if size is None:
            size = 255 - int(first) % 256
        if size < 1:
            raise ValueError(f"pool size must be at least 1, not {size}")
        reserved = {IPv4Address(config.server), IPv4Address(config.dns)}
        last = min(int(first) + size, 2**32)
        self._addresses = [
            a for n in range(int(first), last) if (a := IPv4Address(n)) not in reserved
        ]
        self._in_use: set[IPv4Address] = set()

    def take(self) -> str:
        """The lowest free address, now in use; IspPoolExhausted when none is left."""
        for address in self._addresses:
            if address not in self._in_use:
                self._in_use.add(address)
                return str(address)
        raise IspPoolExhausted(f"all {len(self._addresses)} client addresses are in use")

    def release(self, address: str) -> None:
        """Free an address; releasing a free one again is harmless (hang-up paths overlap)."""
        ip = IPv4Address(address)
        if ip not in self._addresses:
            raise ValueError(f"{address} is not in this pool")
        self._in_use.discard(ip)

    @property
    def in_use(self) -> frozenset[str]:
        return frozenset(str(a) for a in self._in_use)

    @property
    def free(self) -> int:
        return len(self._addresses) - len(self._in_use)


@dataclass(frozen=True, slots=True)
class IspEvent(Event):
    """Base of the ISP agent's own events."""


@dataclass(frozen=True, slots=True)
class IspCallStarted(IspEvent):
    client: str
    mode: str


@dataclass(frozen=True, slots=True)
class IspCallEnded(IspEvent):
    """The call is over; `reason` in pppd's words ("Modem hangup", "Authentication failed" ...)."""

    reason: str


class IspSession:
    """One call at the ISP, from carrier up to hang-up.

    The driver feeds it the modem's octets and sends what `data_to_send()`
    returns. When `hang_up` turns True it sends what is still queued (PPP's
    last Terminate-Ack) and then drops DTR. `hang_up` stays False when the
    caller hung up first (`carrier_lost`): then the line is already down.
    """

    def __init__(
        self,
        config: IspConfig,
        client: str,
        *,
        wallclock: Callable[[], datetime],
        seed: int | None = None,
    ) -> None:
        client_ip = _address("client", client)
        if client_ip in (IPv4Address(config.server), IPv4Address(config.dns)):
            raise ValueError(f"client address {client} is the server's or the DNS address")
        self.config = config
        self._client = str(client_ip)
        self._seed = seed
        key = None if seed is None else random.Random(seed).randbytes(16)
        self._stack = NetStack(
            config.server,
            config=TcpConfig(mss=config.link_mtu - IP_TCP_HEADERS),
            isn=IsnGenerator(key),
        )
        for port, factory in standard_services(wallclock).items():
            self._stack.serve(port, factory)
        self._gateway = Gateway() if config.gateway else None
        self._ppp: PppSession | None = None
        self._joint: IpOverLink | None = None
        self._out = bytearray()
        self._events: deque[Event] = deque()
        self._ended: IspCallEnded | None = None
        self._hang_up = False
        self.ignored = 0  # octets dropped before carrier or after the call ended

    # -- inputs ---------------------------------------------------------------------

    def connected(self, now: float) -> None:
        """Carrier up: PPP opens LCP at once (as an ISP's pppd does); SLIP sends its banner."""
        if self._joint is not None or self._ended is not None:
            raise RuntimeError("connected() called twice for one call")
        config = self.config
        if config.mode == PPP:
            self._ppp = PppSession(self.ppp_options(), seed=self._seed)
            self._joint = IpOverLink(self._ppp, self._gateway or self._stack)
            self._events.append(IspCallStarted(self._client, config.mode))
            self._ppp.open(now)
        else:
            self._joint = IpOverLink(SlipLink(mtu=config.link_mtu), self._gateway or self._stack)
            self._events.append(IspCallStarted(self._client, config.mode))
            if config.banner:
                self._out += slip_banner(self._client, config.server, config.link_mtu)
        self._settle(now)

    def receive_data(self, data: bytes, now: float) -> None:
        """Octets from the modem: the caller's once connected.

        Before carrier they can only be the ISP modem's own result codes (RING,
        CONNECT), and after the call ended a stopped PPP session would
        renegotiate on the next Configure-Request: both are dropped, counted
        in `ignored`.
        """
        joint = self._joint
        if joint is None or self._ended is not None:
            self.ignored += len(data)
            return
        joint.receive_data(data, now)
        self._settle(now)

    def gateway_input(self, packet: bytes, now: float) -> None:
        """A packet from outside (the TUN device) for the caller; only with `gateway`."""
        if self._gateway is None or self._joint is None or self._ended is not None:
            self.ignored += len(packet)
            return
        self._gateway.deliver(packet)
        self._joint.pump(now)
        self._settle(now)

    def gateway_output(self) -> list[bytes]:
        """The caller's packets for outside, taken once; always empty without `gateway`."""
        return self._gateway.outbound() if self._gateway is not None else []

    def carrier_lost(self, now: float) -> None:
        """The modem hung up: PPP goes down as pppd's lower_down; the call ends."""
        if self._joint is None or self._ended is not None:
            return
        if self._ppp is not None:
            self._ppp.lower_down(now)
            self._joint.pump(now)
        self._settle(now, carrier_lost=True)

    def handle_timer(self, now: float) -> None:
        if self._joint is None or self._ended is not None:
            return
        self._joint.handle_timer(now)
        self._settle(now)

    # -- outputs --------------------------------------------------------------------

    def data_to_send(self) -> bytes:
        """Octets for the modem: the banner, then link frames."""
        if self._joint is not None:
            self._out += self._joint.data_to_send()
        out = bytes(self._out)
        self._out.clear()
        return out

    def get_timer(self) -> float | None:
        if self._joint is None or self._ended is not None:
            return None
        return self._joint.get_timer()

    def next_event(self) -> Event | None:
        """PPP and SLIP events, the stack's TCP events and the ISP's own, in order."""
        return self._events.popleft() if self._events else None

    @property
    def hang_up(self) -> bool:
        """True once the ISP wants the line dropped (the PPP link ended on its side)."""
        return self._hang_up

    @property
    def ended(self) -> IspCallEnded | None:
        """How the call ended, once it has (whoever ended it)."""
        return self._ended

    @property
    def client_address(self) -> str:
        return self._client

    @property
    def stack(self) -> NetStack:
        return self._stack

    @property
    def ppp(self) -> PppSession | None:
        """The PPP session once a PPP call is connected, for monitors (phase, IPCP)."""
        return self._ppp

    def ppp_words(self) -> list[str]:
        """The pppd options this ISP runs with, as an /etc/ppp/options file would list them."""
        c = self.config
        words = [f"{c.server}:{self._client}", "ms-dns", c.dns]
        words += [f"require-{c.auth}"] if c.auth else ["noauth"]
        if c.link_mtu != PPP_MTU:
            words += ["mru", str(c.link_mtu)]
        if c.echo_interval > 0:
            words += ["lcp-echo-interval", f"{c.echo_interval:g}"]
            words += ["lcp-echo-failure", str(c.echo_failure)]
        return words

    def ppp_options(self) -> PppOptions:
        """`ppp_words()` applied over the users as pppd's secrets table."""
        secrets = {user: password.encode() for user, password in self.config.users.items()}
        try:
            return parse_words(self.ppp_words(), PppOptions(secrets=MappingProxyType(secrets)))
        except PppOptionError as error:
            raise IspConfigError(str(error)) from None

    # -- internals --------------------------------------------------------------------

    def _settle(self, now: float, *, carrier_lost: bool = False) -> None:
        """Collect the joint's events and notice the end of the call."""
        del now
        joint = self._joint
        assert joint is not None
        while (event := joint.next_event()) is not None:
            self._events.append(event)
        if self._ended is not None:
            return
        ended: LinkEnded | None = self._ppp.ended if self._ppp is not None else None
        if ended is not None:
            self._hang_up = not carrier_lost and ended.reason != MODEM_HANGUP
            self._end(ended.reason)
        elif carrier_lost:
            self._end(MODEM_HANGUP)

    def _end(self, reason: str) -> None:
        self._ended = IspCallEnded(reason)
        self._events.append(self._ended)
