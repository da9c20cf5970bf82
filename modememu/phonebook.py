"""The phonebook: which phone number reaches what.

A modem's line needs to know what answers a dialled number: a built-in service
behind an answering modem, a TCP host, a program, another modem, or a fault.
The built-in numbers (`Phonebook.default()`) work with no file at all; a TOML
file adds numbers or replaces built-in ones.

File format::

    [numbers."5550102"]
    service = "echo"            # built-in services: "echo", "bbs", "isp-ppp", "isp-slip"
    rings = 1                   # optional: rings before it answers (default 1; 0..255)
    profile = "conexant-v92"    # optional: firmware profile of the answering modem
    snr_db = 12.0               # optional: signal-to-noise ratio of the line (dB; default 41)
    latency_ms = 80             # optional: one-way delay of the line (ms; default 0)
    ber = 1e-4                  # optional: a fixed bit error rate instead of one from snr_db
    drop_after = 10.0           # optional: seconds after CONNECT the far end drops carrier
    description = "echo test"   # optional: shown in listings

    [numbers."5551234"]
    tcp = "bbs.example.com:23"  # a TCP host, port required; raw bytes by default
    telnet = true               # optional, tcp only: speak telnet to it

    [numbers."5550150"]
    exec = ["prog", "arg"]      # a program as the far computer: stdin/stdout are its DTE

    [numbers."5550160"]
    modem = "5550160"           # another modem in this process, by its number

    [numbers."5550199"]
    fault = "busy"              # "busy", "no-answer" (rings forever), "no-carrier"

Each entry has exactly one of service, tcp, exec, modem or fault. Numbers are
written as people write them: space ( ) - . / are dropped, so "555-0102" is
5550102; what remains must be digits, `*`, `#` or A-D. Options that mean
nothing for an entry's kind (rings on a busy line) are accepted and unused.
Unknown keys are errors, so a typo never goes unnoticed.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from modememu.modem.dialstring import DialStringError, parse_host

KINDS = ("service", "tcp", "exec", "modem", "fault")
SERVICES = ("echo", "bbs", "isp-ppp", "isp-slip")
FAULTS = ("busy", "no-answer", "no-carrier")
OPTIONS = ("telnet", "rings", "profile", "snr_db", "latency_ms", "ber", "drop_after", "description")
NUMBER_CHARS = frozenset("0123456789*#ABCD")
SEPARATORS = str.maketrans("", "", " ()-./")


class PhonebookError(Exception):
    """A phonebook that cannot be used; `str()` is the one line to show the user."""


@dataclass(frozen=True, slots=True)
class Entry:
    """What answers one number; only the fields of its `kind` carry meaning."""

    number: str
    kind: str  # one of KINDS
    service: str = ""
    host: tuple[str, int] | None = None
    telnet: bool = False
    argv: tuple[str, ...] = ()
    modem: str = ""
    fault: str = ""
    rings: int = 1
    profile: str = ""  # "" = the default answering profile
    snr_db: float | None = None
    latency_ms: float | None = None
    ber: float | None = None
    drop_after: float | None = None
    description: str = ""


def normalise_number(text: str) -> str:
    """A number as dialled: separators people write dropped, letters upper-cased."""
    return text.translate(SEPARATORS).upper()


def _valid_number(number: str) -> bool:
    return bool(number) and NUMBER_CHARS.issuperset(number)


_DEFAULTS = (
    Entry("5550100", "service", service="isp-ppp", description="dial-up ISP, PPP"),
    Entry("5550101", "service", service="isp-slip", description="dial-up ISP, SLIP"),
    Entry("5550102", "service", service="echo", description="echoes what you send"),
    Entry("5550103", "service", service="bbs", description="text BBS: greeting, echoes lines"),
    Entry(
        "5550195",
        "service",
        service="echo",
        drop_after=10.0,
        description="carrier drops 10 s after CONNECT",
    ),
    Entry("5550196", "service", service="echo", snr_db=12.0, description="noisy line"),
    Entry("5550197", "fault", fault="no-carrier", description="answers, never a carrier"),
    Entry("5550198", "fault", fault="no-answer", description="rings forever"),
    Entry("5550199", "fault", fault="busy", description="always busy"),
)


class Phonebook:
    """Numbers and what answers them; immutable once built."""

    def __init__(self, entries: Mapping[str, Entry]) -> None:
        self._entries: Mapping[str, Entry] = MappingProxyType(dict(entries))

    @classmethod
    def default(cls) -> Phonebook:
        """The built-in numbers, so a fresh install has something to dial."""
        return cls({e.number: e for e in _DEFAULTS})

    @classmethod
    def load(cls, path: Path, base: Phonebook | None = None) -> Phonebook:
        """A phonebook file's entries over `base` (the built-in numbers unless given)."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise PhonebookError(f"{path}: no such phonebook file") from None
        except OSError as exc:
            raise PhonebookError(f"{path}: cannot read: {exc.strerror or exc}") from None
        entries = dict((base if base is not None else cls.default())._entries)
        entries.update(parse_phonebook(data, path))
        return cls(entries)

    def lookup(self, number: str) -> Entry | None:
        return self._entries.get(normalise_number(number))

    def entries(self) -> list[Entry]:
        return [self._entries[n] for n in sorted(self._entries)]

    def __len__(self) -> int:
        return len(self._entries)


def parse_phonebook(data: bytes, path: Path) -> dict[str, Entry]:
    """The entries of a phonebook file's bytes; `path` only names it in errors."""
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise PhonebookError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        reason = " ".join(str(exc).split())
        raise PhonebookError(f"{path}: not valid TOML: {reason}") from None
    return _Reader(path).document(doc)


def parse_numbers(numbers: object, path: Path) -> dict[str, Entry]:
    """The entries of a `numbers` table already read from TOML (a scenario's, say)."""
    return _Reader(path).document({"numbers": numbers})


class _Reader:
    """Checks one parsed file, failing with the dotted name of the bad key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> PhonebookError:
        # TOML keys may hold any character: keep the message on one line.
        if not key.isprintable():
            key = repr(key)[1:-1]
        return PhonebookError(f"{self.path}: {key}: {problem}")

    def document(self, doc: dict[str, Any]) -> dict[str, Entry]:
        for key in doc:
            if key != "numbers":
                raise self.fail(key, "unknown key (expected: numbers)")
        numbers = doc.get("numbers", {})
        if not isinstance(numbers, dict):
            raise self.fail("numbers", f"expected a table, got {_kind(numbers)}")
        entries: dict[str, Entry] = {}
        written: dict[str, str] = {}  # normalised number -> key as written
        for raw, table in numbers.items():
            where = f"numbers.{raw}"
            number = normalise_number(raw)
            if not _valid_number(number):
                raise self.fail(where, "a number must be digits, *, # or A-D")
            if number in written:
                raise self.fail(where, f"same number as numbers.{written[number]}")
            written[number] = raw
            entries[number] = self.entry(where, number, table)
        return entries

    def entry(self, where: str, number: str, table: object) -> Entry:
        if not isinstance(table, dict):
            raise self.fail(where, f"expected a table, got {_kind(table)}")
        for key in table:
            if key not in KINDS and key not in OPTIONS:
                allowed = ", ".join(KINDS + OPTIONS)
                raise self.fail(f"{where}.{key}", f"unknown key (allowed: {allowed})")
        kinds = [k for k in KINDS if k in table]
        if not kinds:
            raise self.fail(where, f"needs one of {', '.join(KINDS)}")
        if len(kinds) > 1:
            raise self.fail(where, f"{' and '.join(kinds)} both given; use only one")
        kind = kinds[0]
        key = f"{where}.{kind}"
        value = table[kind]
        fields: dict[str, Any] = {}
        if kind == "service":
            fields["service"] = self.choice(key, value, SERVICES)
        elif kind == "fault":
            fields["fault"] = self.choice(key, value, FAULTS)
        elif kind == "tcp":
            text = self.typed(key, value, str)
            try:
                fields["host"] = parse_host(text.strip(), default_port=None)
            except DialStringError as exc:
                raise self.fail(key, str(exc)) from None
        elif kind == "exec":
            ok = isinstance(value, list) and all(isinstance(a, str) for a in value)
            if not ok or not value or not value[0].strip():
                raise self.fail(key, "expected a list of strings, the program first")
            fields["argv"] = tuple(value)
        else:
            modem = normalise_number(self.typed(key, value, str))
            if not _valid_number(modem):
                raise self.fail(key, "a number must be digits, *, # or A-D")
            fields["modem"] = modem
        if "telnet" in table:
            if kind != "tcp":
                raise self.fail(f"{where}.telnet", "only for tcp entries")
            fields["telnet"] = self.typed(f"{where}.telnet", table["telnet"], bool)
        if "rings" in table:
            rings = self.typed(f"{where}.rings", table["rings"], int)
            if not 0 <= rings <= 255:
                raise self.fail(f"{where}.rings", f"{rings} outside 0..255")
            fields["rings"] = rings
        if "profile" in table:
            fields["profile"] = self.typed(f"{where}.profile", table["profile"], str).strip()
        if "description" in table:
            fields["description"] = self.typed(f"{where}.description", table["description"], str)
        if "snr_db" in table:
            fields["snr_db"] = self.number(f"{where}.snr_db", table["snr_db"])
        if "latency_ms" in table:
            latency = self.number(f"{where}.latency_ms", table["latency_ms"])
            if not 0 <= latency <= 10000:
                raise self.fail(f"{where}.latency_ms", f"{latency} outside 0..10000 ms")
            fields["latency_ms"] = latency
        if "ber" in table:
            ber = self.number(f"{where}.ber", table["ber"])
            if not 0 <= ber <= 0.5:
                raise self.fail(f"{where}.ber", f"{ber} outside 0..0.5")
            fields["ber"] = ber
        if "drop_after" in table:
            drop = self.number(f"{where}.drop_after", table["drop_after"])
            if drop <= 0:
                raise self.fail(f"{where}.drop_after", f"must be above 0 seconds, not {drop}")
            fields["drop_after"] = drop
        return Entry(number, kind, **fields)

    def typed(self, key: str, value: object, kind: type[Any]) -> Any:
        # bool is an int subclass: never accept one for the other.
        if isinstance(value, bool) != (kind is bool) or not isinstance(value, kind):
            raise self.fail(key, f"expected {_TYPE_NAMES[kind]}, got {_kind(value)}")
        return value

    def number(self, key: str, value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"expected a number, got {_kind(value)}")
        if not math.isfinite(value):
            raise self.fail(key, f"expected a finite number, got {value}")
        return float(value)

    def choice(self, key: str, value: object, allowed: tuple[str, ...]) -> str:
        text: str = self.typed(key, value, str)
        if text not in allowed:
            raise self.fail(key, f"unknown value {text!r} (allowed: {', '.join(allowed)})")
        return text


_TYPE_NAMES: dict[type, str] = {
    dict: "a table",
    list: "an array",
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    float: "a float",
}


def _kind(value: object) -> str:
    """A TOML value's type as the file's author would call it."""
    return _TYPE_NAMES.get(type(value), type(value).__name__)
