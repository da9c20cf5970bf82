"""A PPP session's settings, and pppd's option words for them.

`parse_words(["require-chap", "user", "alice", "10.0.2.2:10.0.2.15", ...])`
accepts the options pppd users write in /etc/ppp/peers files; a bad word gets
one `PppOptionError` line naming it. Secrets are fields that never print.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from ipaddress import AddressValueError, IPv4Address
from types import MappingProxyType
from typing import Any

from modememu.link.ppp.fsm import MAX_CONFIGURE, MAX_FAILURE, MAX_TERMINATE, RESTART_SECONDS
from modememu.link.ppp.ipcp import IpcpConfig
from modememu.link.ppp.lcp import MAX_MRU, MIN_MRU

NO_AUTH = ""
PAP = "pap"
CHAP = "chap"


class PppOptionError(ValueError):
    """A pppd option word that is unknown or has a bad value."""


@dataclass(frozen=True, slots=True)
class PppOptions:
    """What pppd would be told on its command line."""

    require: str = NO_AUTH  # "", "pap" or "chap": how the peer must authenticate to us
    user: str = ""  # our name when we authenticate (PAP user, CHAP name)
    password: bytes = field(default=b"", repr=False)  # our PAP password or CHAP secret
    secrets: Mapping[str, bytes] = field(
        default_factory=lambda: MappingProxyType({}), repr=False
    )  # name -> secret, to check the peer (pap-secrets / chap-secrets)
    name: str = "modememu"  # our name in CHAP challenges
    mru: int = 1500
    asyncmap: int = 0
    magic: bool = True
    pfc: bool = True
    acfc: bool = True
    echo_interval: float = 0.0  # lcp-echo-interval
    echo_failure: int = 0  # lcp-echo-failure
    restart: float = RESTART_SECONDS  # lcp-restart, ipcp-restart
    max_configure: int = MAX_CONFIGURE
    max_terminate: int = MAX_TERMINATE
    max_failure: int = MAX_FAILURE
    ipcp: IpcpConfig = field(default_factory=IpcpConfig)

    def __post_init__(self) -> None:
        if self.require not in (NO_AUTH, PAP, CHAP):
            raise PppOptionError(f"unknown authentication {self.require!r}")
        if not MIN_MRU <= self.mru <= MAX_MRU:
            raise PppOptionError(f"mru {self.mru} outside {MIN_MRU}..{MAX_MRU}")


def parse_words(words: Sequence[str], base: PppOptions = PppOptions()) -> PppOptions:
    """Apply pppd option words to `base`."""
    options = base
    ipcp = base.ipcp
    secrets = dict(base.secrets)
    tokens = iter(words)
    for word in tokens:
        if word in _NO_OPS:
            continue
        if word in _FLAGS:
            name, value = _FLAGS[word]
            if name.startswith("ipcp."):
                ipcp = replace(ipcp, **{name[5:]: value})
            else:
                options = replace(options, **{name: value})
        elif word in _VALUED:
            name, convert = _VALUED[word]
            raw = _next(tokens, word)
            try:
                value = convert(raw)
            except (ValueError, AddressValueError) as error:
                raise PppOptionError(f"option {word}: bad value {raw!r} ({error})") from None
            if word == "ms-dns":
                ipcp = replace(ipcp, ms_dns=(*ipcp.ms_dns, value)[-2:])
            elif word == "secret":
                user, _, secret = raw.partition(":")
                secrets[user] = secret.encode()
            else:
                options = replace(options, **{name: value})
        elif ":" in word:
            ipcp = _addresses(word, ipcp)
        else:
            raise PppOptionError(f"unrecognized option '{word}'")
    return replace(options, ipcp=ipcp, secrets=MappingProxyType(secrets))


def _next(tokens: Iterator[str], word: str) -> str:
    value = next(tokens, None)
    if value is None:
        raise PppOptionError(f"option {word} needs a value")
    return value


def _addresses(word: str, ipcp: IpcpConfig) -> IpcpConfig:
    local, _, remote = word.partition(":")
    try:
        return replace(
            ipcp,
            local=IPv4Address(local) if local else ipcp.local,
            remote=IPv4Address(remote) if remote else ipcp.remote,
        )
    except AddressValueError:
        raise PppOptionError(f"bad local:remote address pair '{word}'") from None


def _seconds(raw: str) -> float:
    value = float(raw)
    if value < 0:
        raise ValueError("negative")
    return value


def _count(raw: str) -> int:
    value = int(raw, 0)
    if value < 0:
        raise ValueError("negative")
    return value


def _mru(raw: str) -> int:
    value = int(raw, 0)
    if not MIN_MRU <= value <= MAX_MRU:
        raise ValueError(f"outside {MIN_MRU}..{MAX_MRU}")
    return value


def _asyncmap(raw: str) -> int:
    value = int(raw, 16)
    if not 0 <= value <= 0xFFFFFFFF:
        raise ValueError("not 32 bits")
    return value


_FLAGS: dict[str, tuple[str, Any]] = {
    "noauth": ("require", NO_AUTH),
    "require-pap": ("require", PAP),
    "require-chap": ("require", CHAP),
    "nomagic": ("magic", False),
    "nopcomp": ("pfc", False),
    "noaccomp": ("acfc", False),
    "usepeerdns": ("ipcp.usepeerdns", True),
    "noipdefault": ("ipcp.local", None),
    "ipcp-accept-local": ("ipcp.accept_local", True),
    "ipcp-accept-remote": ("ipcp.accept_remote", True),
}

# Accepted and ignored: they concern the tty, the kernel or logging, not the protocol
# (and VJ compression is never negotiated here anyway).
_NO_OPS = frozenset(
    {
        "novj",
        "debug",
        "nodetach",
        "noipx",
        "lock",
        "crtscts",
        "modem",
        "local",
        "hide-password",
        "persist",
        "defaultroute",
        "noccp",
        "nobsdcomp",
        "nodeflate",
    }
)

_VALUED: dict[str, tuple[str, Callable[[str], Any]]] = {
    "mru": ("mru", _mru),
    "asyncmap": ("asyncmap", _asyncmap),
    "lcp-echo-interval": ("echo_interval", _seconds),
    "lcp-echo-failure": ("echo_failure", _count),
    "lcp-restart": ("restart", _seconds),
    "lcp-max-configure": ("max_configure", _count),
    "lcp-max-terminate": ("max_terminate", _count),
    "lcp-max-failure": ("max_failure", _count),
    "user": ("user", str),
    "password": ("password", str.encode),
    "name": ("name", str),
    "ms-dns": ("ms_dns", IPv4Address),
    "secret": ("secrets", str),  # NAME:SECRET, a line of pap-/chap-secrets
}
