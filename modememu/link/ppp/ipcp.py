"""IPCP (RFC 1332) with the DNS options of RFC 1877: who gets which IPv4 address.

Behaves like pppd's `ipcp.c` in both roles. A server that knows the remote
address Naks the peer's 0.0.0.0 (or a wrong address) with it, and appends it in
a Nak if the peer did not ask at all; with `ms-dns` it Naks DNS 0.0.0.0 requests
with its servers. A client asking 0.0.0.0 adopts what the peer Naks. Van
Jacobson compression, IP-Addresses and NBNS are Rejected; a peer proposing
0.0.0.0 for itself gets our idea of its address (slirp needs that).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from ipaddress import IPv4Address
from typing import Any

from modememu.link.events import LinkEvent
from modememu.link.ppp.fsm import ControlProtocol
from modememu.link.ppp.wire import (
    CONF_ACK,
    CONF_NAK,
    CONF_REJ,
    IPCP,
    Option,
    encode_options,
    parse_options,
)

ADDRESSES = 1  # deprecated IP-Addresses
COMPRESSION = 2  # Van Jacobson
ADDRESS = 3
DNS1 = 129
DNS2 = 131
UNSET = IPv4Address(0)


@dataclass(frozen=True, slots=True)
class IpcpConfig:
    """pppd's IPCP options: `local:remote`, `ms-dns`, `usepeerdns`, `ipcp-accept-*`."""

    local: IPv4Address | None = None  # None: ask the peer (noipdefault)
    remote: IPv4Address | None = None  # what we give or expect the peer to use
    ms_dns: tuple[IPv4Address, ...] = ()  # up to two servers we hand out
    usepeerdns: bool = False  # ask the peer for DNS servers
    accept_local: bool = False  # take the peer's idea of our address
    accept_remote: bool = False  # take the peer's idea of its address


@dataclass(frozen=True, slots=True)
class IpcpOptions:
    """Our request (want/got): our address and the DNS servers we ask for."""

    addr: IPv4Address | None = UNSET
    dns1: IPv4Address | None = None
    dns2: IPv4Address | None = None


@dataclass(frozen=True, slots=True)
class NetworkUp(LinkEvent):
    """IPCP is Opened: IP datagrams may flow."""

    local: str
    remote: str
    dns: tuple[str, ...]


class Ipcp(ControlProtocol):
    protocol = IPCP
    name = "IPCP"

    def __init__(self, config: IpcpConfig, **automaton: Any) -> None:
        super().__init__(**automaton)
        self.config = config
        self.want = IpcpOptions(
            addr=config.local or UNSET,
            dns1=UNSET if config.usepeerdns else None,
            dns2=UNSET if config.usepeerdns else None,
        )
        self.got = self.want
        self.his_addr: IPv4Address | None = None
        self._appended = False  # the one unasked Nak of the peer's address (pppd)

    @property
    def local(self) -> IPv4Address:
        return self.got.addr or UNSET

    @property
    def remote(self) -> IPv4Address:
        return self.his_addr or self.config.remote or UNSET

    @property
    def dns(self) -> tuple[IPv4Address, ...]:
        return tuple(a for a in (self.got.dns1, self.got.dns2) if a is not None and a != UNSET)

    def reset_options(self) -> None:
        self.got = self.want
        self._appended = False

    def build_request(self) -> bytes:
        options = []
        if self.got.addr is not None:
            options.append(_address_option(ADDRESS, self.got.addr))
        for kind, value in ((DNS1, self.got.dns1), (DNS2, self.got.dns2)):
            if value is not None:
                options.append(_address_option(kind, value))
        return encode_options(options)

    def check_nak(self, data: bytes, treat_as_reject: bool) -> bool:
        options, whole = parse_options(data)
        if not whole:
            return False
        got = self.got
        for option in options:
            value = _address(option)
            if value is None:
                continue
            if option.type == ADDRESS and got.addr is not None:
                may_take = self.config.accept_local or self.config.local is None
                took = value if may_take and value != UNSET else got.addr
                got = replace(got, addr=None if treat_as_reject else took)
            elif option.type == DNS1 and got.dns1 is not None:
                got = replace(got, dns1=None if treat_as_reject else value)
            elif option.type == DNS2 and got.dns2 is not None:
                got = replace(got, dns2=None if treat_as_reject else value)
        self.got = got
        return True

    def check_reject(self, data: bytes) -> bool:
        options, whole = parse_options(data)
        if not whole:
            return False
        types = {option.type for option in options}
        self.got = replace(
            self.got,
            addr=None if ADDRESS in types else self.got.addr,
            dns1=None if DNS1 in types else self.got.dns1,
            dns2=None if DNS2 in types else self.got.dns2,
        )
        return True

    def judge_request(self, data: bytes, reject_if_disagree: bool) -> tuple[int, bytes]:
        options, whole = parse_options(data)
        naks: list[Option] = []
        rejects: list[Option] = []
        his_addr = None
        for option in options:
            verdict, better = self._judge(option)
            if option.type == ADDRESS and verdict == CONF_ACK:
                his_addr = _address(option)
            if verdict == CONF_NAK and reject_if_disagree:
                verdict = CONF_REJ
            if verdict == CONF_NAK:
                naks.append(better or option)
            elif verdict == CONF_REJ:
                rejects.append(option)
        asked = any(option.type == ADDRESS for option in options)
        remote = self.config.remote
        if not asked and remote is not None and not self._appended and not reject_if_disagree:
            self._appended = True  # pppd asks once for an address the peer did not request
            naks.append(_address_option(ADDRESS, remote))
        tail = b"" if whole else data[sum(len(o.encode()) for o in options) :]
        self.his_addr = his_addr
        if rejects or tail:
            return CONF_REJ, encode_options(rejects) + tail
        if naks:
            return CONF_NAK, encode_options(naks)
        return CONF_ACK, data

    def _judge(self, option: Option) -> tuple[int, Option | None]:
        value = _address(option)
        if value is None:
            return CONF_REJ, None
        if option.type == ADDRESS:
            remote = self.config.remote
            if remote is None:
                return (CONF_REJ, None) if value == UNSET else (CONF_ACK, None)
            if value == remote or (self.config.accept_remote and value != UNSET):
                return CONF_ACK, None
            return CONF_NAK, _address_option(ADDRESS, remote)
        if option.type in (DNS1, DNS2):
            index = 0 if option.type == DNS1 else 1
            if index >= len(self.config.ms_dns):
                return CONF_REJ, None
            server = self.config.ms_dns[index]
            return (
                (CONF_ACK, None)
                if value == server
                else (CONF_NAK, _address_option(option.type, server))
            )
        return CONF_REJ, None  # VJ compression, IP-Addresses, NBNS, unknown

    def layer_up(self) -> None:
        dns = tuple(str(a) for a in self.dns)
        self._events.append(NetworkUp(str(self.local), str(self.remote), dns))


def _address(option: Option) -> IPv4Address | None:
    return IPv4Address(option.data) if len(option.data) == 4 else None


def _address_option(kind: int, address: IPv4Address) -> Option:
    return Option(kind, address.packed)
