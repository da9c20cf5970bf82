"""Firmware profiles: loading, validating and finding them.

A profile is data (TOML in `firmware_profiles/`, schema in its README); this
module turns it into a frozen `Profile` or refuses it with a `ProfileError` that
names the file, the key and the problem in one line.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

# Carrier names as +MS spells them, slowest first: the order defines "top modulation".
CARRIERS: tuple[str, ...] = (
    "B103",
    "V21",
    "V23C",
    "B212",
    "V22",
    "V22B",
    "V32",
    "V32B",
    "V34",
    "V90",
    "V92",
)
ERROR_CONTROLS = ("LAPM", "MNP")
COMPRESSIONS = ("V42B", "MNP5")
RESULT_FAMILIES = ("hayes", "rockwell", "usr")
CONNECT_STYLES = ("hayes", "zyxel", "rockwell", "usr")
FLOW_FAMILIES = ("rockwell", "usr", "zyxel")
REQUIRED_SETTINGS = ("E", "Q", "V", "X", "&C", "&D", "&S")
FLOW_SETTINGS = {
    "rockwell": ("&K",),
    "usr": ("&H", "&R", "&I"),
    "zyxel": ("&H",),
}
REQUIRED_SREGISTERS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 25)
ENV_PROFILES_DIR = "MODEMEMU_PROFILES"
DEFAULT_PROFILE = "usr-courier-v34"


class ProfileError(Exception):
    """A profile that cannot be used; `str()` is the one line to show the user."""


@dataclass(frozen=True, slots=True)
class Range:
    """An integer setting: its allowed values and its factory default."""

    low: int
    high: int
    default: int

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and self.low <= value <= self.high


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    path: Path
    maker: str
    model: str
    gmi: str
    gmm: str
    gmr: str
    gcap: tuple[str, ...]
    info: Mapping[int, str]
    modulations: tuple[str, ...]
    max_rate: int
    error_control: tuple[str, ...]
    compression: tuple[str, ...]
    digital: bool
    dte_rates: tuple[int, ...]
    default_dte_rate: int
    line_limit: int
    result_family: str
    connect_style: str
    flow_family: str
    readonly_sregisters: frozenset[int]
    settings: Mapping[str, Range]
    sregisters: Mapping[int, Range]
    extended: Mapping[str, tuple[Range, ...]] = field(default_factory=dict)

    @property
    def top_modulation(self) -> str:
        return max(self.modulations, key=CARRIERS.index)


def profiles_dir() -> Path:
    """Where the shipped profiles are: env override, then the wheel, then the source tree."""
    override = os.environ.get(ENV_PROFILES_DIR)
    if override:
        return Path(override)
    packaged = resources.files("modememu") / "firmware_profiles"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "firmware_profiles"


def profile_names() -> list[str]:
    return sorted(p.stem for p in profiles_dir().glob("*.toml"))


def load_profile(name_or_path: str) -> Profile:
    """Load a shipped profile by name, or any profile file by path."""
    if name_or_path.endswith(".toml") or os.sep in name_or_path:
        path = Path(name_or_path)
        if not path.is_file():
            raise ProfileError(f"{path}: no such profile file")
    else:
        path = profiles_dir() / f"{name_or_path}.toml"
        if not path.is_file():
            known = ", ".join(profile_names())
            raise ProfileError(f"unknown profile {name_or_path!r} (known: {known})")
    return parse_profile(path.read_bytes(), path)


def load_all() -> list[Profile]:
    return [load_profile(name) for name in profile_names()]


def parse_profile(data: bytes, path: Path) -> Profile:
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ProfileError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from None
    return _Reader(path, doc).profile()


class _Reader:
    """Reads a parsed TOML document key by key, failing with the key's dotted name."""

    def __init__(self, path: Path, doc: dict[str, Any]) -> None:
        self.path = path
        self.doc = doc

    def fail(self, key: str, problem: str) -> ProfileError:
        # TOML keys may hold any character: keep the message on one line.
        key = key.replace("\r", "\\r").replace("\n", "\\n")
        return ProfileError(f"{self.path}: {key}: {problem}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        node: Any = self.doc
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                if default is not ...:
                    return default
                raise self.fail(key, "missing")
            node = node[part]
        # bool is an int subclass: never accept one for the other.
        if isinstance(node, bool) != (kind is bool) or not isinstance(node, kind):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise self.fail(key, f"expected {names}, got {type(node).__name__}")
        return node

    def text(self, key: str) -> str:
        value: str = self.get(key, str)
        if not value.strip():
            raise self.fail(key, "empty")
        return value

    def int_list(self, key: str) -> tuple[int, ...]:
        values = self.get(key, list)
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise self.fail(key, "expected a list of integers")
        return tuple(values)

    def text_list(self, key: str) -> tuple[str, ...]:
        values = self.get(key, list, [])
        if not all(isinstance(v, str) and v.strip() for v in values):
            raise self.fail(key, "expected a list of non-empty strings")
        return tuple(values)

    def choices(self, key: str, allowed: tuple[str, ...], *, nonempty: bool) -> tuple[str, ...]:
        values = self.get(key, list)
        for v in values:
            if v not in allowed:
                raise self.fail(key, f"unknown value {v!r} (allowed: {', '.join(allowed)})")
        if nonempty and not values:
            raise self.fail(key, "empty")
        return tuple(values)

    def choice(self, key: str, allowed: tuple[str, ...]) -> str:
        value = self.text(key)
        if value not in allowed:
            raise self.fail(key, f"unknown value {value!r} (allowed: {', '.join(allowed)})")
        return value

    def range_(self, key: str, raw: Any) -> Range:
        ok = (
            isinstance(raw, list)
            and len(raw) == 3
            and all(isinstance(v, int) and not isinstance(v, bool) for v in raw)
        )
        if not ok:
            raise self.fail(key, "expected [min, max, default]")
        low, high, default = raw
        if low > high:
            raise self.fail(key, f"min {low} above max {high}")
        if not low <= default <= high:
            raise self.fail(key, f"default {default} outside {low}..{high}")
        return Range(low, high, default)

    def profile(self) -> Profile:
        info_raw = self.get("identity.info", dict)
        info: dict[int, str] = {}
        for k, v in info_raw.items():
            # isascii: str.isdigit() also accepts digits such as "²" that int() rejects.
            if not (k.isascii() and k.isdigit()):
                raise self.fail(f"identity.info.{k}", "key must be a number")
            if not isinstance(v, str):
                raise self.fail(f"identity.info.{k}", "expected str")
            info[int(k)] = v

        settings = {
            k.upper(): self.range_(f"settings.{k}", v)
            for k, v in self.get("settings", dict).items()
        }
        flow_family = self.choice("commands.flow_control", FLOW_FAMILIES)
        for name in REQUIRED_SETTINGS + FLOW_SETTINGS[flow_family]:
            if name not in settings:
                raise self.fail(f"settings.{name}", "missing")

        sregisters: dict[int, Range] = {}
        for k, v in self.get("sregisters", dict).items():
            if not (k.isascii() and k.isdigit()) or int(k) > 255:
                raise self.fail(f"sregisters.{k}", "key must be a register number 0..255")
            sregisters[int(k)] = self.range_(f"sregisters.{k}", v)
        for n in REQUIRED_SREGISTERS:
            if n not in sregisters:
                raise self.fail(f"sregisters.{n}", "missing")

        extended: dict[str, tuple[Range, ...]] = {}
        for k, v in self.get("extended", dict, {}).items():
            if not k.startswith("+") or not isinstance(v, list) or not v:
                raise self.fail(f"extended.{k}", "expected '+NAME' = [[min, max, default], ...]")
            extended[k.upper()] = tuple(
                self.range_(f"extended.{k}[{i}]", r) for i, r in enumerate(v)
            )

        dte_rates = self.int_list("dte.rates")
        if not dte_rates or any(r <= 0 for r in dte_rates):
            raise self.fail("dte.rates", "expected positive rates")
        default_rate = self.get("dte.default_rate", int)
        if default_rate not in dte_rates:
            raise self.fail("dte.default_rate", f"{default_rate} is not one of dte.rates")

        line_limit = self.get("commands.line_limit", int)
        if not 40 <= line_limit <= 1024:
            raise self.fail("commands.line_limit", f"{line_limit} outside 40..1024")
        readonly = (
            self.int_list("commands.readonly_sregisters")
            if "readonly_sregisters" in (self.get("commands", dict))
            else ()
        )

        max_rate = self.get("line.max_rate", int)
        if not 300 <= max_rate <= 56000:
            raise self.fail("line.max_rate", f"{max_rate} outside 300..56000")

        return Profile(
            name=self.path.stem,
            path=self.path,
            maker=self.text("identity.maker"),
            model=self.text("identity.model"),
            gmi=self.text("identity.gmi"),
            gmm=self.text("identity.gmm"),
            gmr=self.text("identity.gmr"),
            gcap=self.text_list("identity.gcap"),
            info=MappingProxyType(info),
            modulations=self.choices("line.modulations", CARRIERS, nonempty=True),
            max_rate=max_rate,
            error_control=self.choices("line.error_control", ERROR_CONTROLS, nonempty=False),
            compression=self.choices("line.compression", COMPRESSIONS, nonempty=False),
            digital=self.get("line.digital", bool, False),
            dte_rates=tuple(sorted(dte_rates)),
            default_dte_rate=default_rate,
            line_limit=line_limit,
            result_family=self.choice("commands.result_family", RESULT_FAMILIES),
            connect_style=self.choice("commands.connect_style", CONNECT_STYLES),
            flow_family=flow_family,
            readonly_sregisters=frozenset(readonly),
            settings=MappingProxyType(settings),
            sregisters=MappingProxyType(sregisters),
            extended=MappingProxyType(extended),
        )
