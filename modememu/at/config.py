"""The modem's active configuration and its stored (non-volatile) profiles.

`Config` is everything AT commands set: basic settings, S-registers, extended
parameters, +IPR and +MS. `StoredState` is what &W, &Y and &Z write to NVRAM; it
converts to and from plain JSON data so a driver can keep it in a `--state` file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modememu.profiles import Profile

STORED_PROFILES = 2
STORED_NUMBERS = 4


@dataclass(frozen=True, slots=True)
class MsSetting:
    """+MS: the carrier to try first, automode, and the rate bounds each way."""

    carrier: str
    automode: int
    min_tx: int
    max_tx: int
    min_rx: int
    max_rx: int

    def render(self) -> str:
        return (
            f"{self.carrier},{self.automode},{self.min_tx},{self.max_tx},"
            f"{self.min_rx},{self.max_rx}"
        )


@dataclass(slots=True)
class Config:
    settings: dict[str, int]
    sregs: dict[int, int]
    extended: dict[str, list[int]]
    ipr: int  # 0: follow the DTE's rate (autobaud)
    ms: MsSetting
    tone: bool = True  # T / P: default dial mode

    @classmethod
    def factory(cls, profile: Profile) -> Config:
        top = profile.top_modulation
        return cls(
            settings={k: r.default for k, r in profile.settings.items()},
            sregs={n: r.default for n, r in profile.sregisters.items()},
            extended={k: [r.default for r in rs] for k, rs in profile.extended.items()},
            ipr=0,
            ms=MsSetting(top, 1, 300, profile.max_rate, 300, profile.max_rate),
        )

    def copy(self) -> Config:
        return Config(
            dict(self.settings),
            dict(self.sregs),
            {k: list(v) for k, v in self.extended.items()},
            self.ipr,
            self.ms,
            self.tone,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "settings": self.settings,
            "sregs": {str(k): v for k, v in self.sregs.items()},
            "extended": self.extended,
            "ipr": self.ipr,
            "ms": self.ms.render(),
            "tone": self.tone,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], profile: Profile) -> Config:
        """Stored values over factory defaults; anything the profile does not allow is dropped."""
        cfg = cls.factory(profile)
        for k, v in dict(data.get("settings", {})).items():
            if k in profile.settings and v in profile.settings[k]:
                cfg.settings[k] = v
        for k, v in dict(data.get("sregs", {})).items():
            n = int(k) if str(k).isdigit() else -1
            if n in profile.sregisters and v in profile.sregisters[n]:
                cfg.sregs[n] = v
        for k, values in dict(data.get("extended", {})).items():
            ranges = profile.extended.get(k)
            if ranges and len(values) == len(ranges) and all(
                v in r for v, r in zip(values, ranges, strict=True)
            ):
                cfg.extended[k] = list(values)
        if data.get("ipr") in (0, *profile.dte_rates):
            cfg.ipr = int(data["ipr"])
        parts = str(data.get("ms", "")).split(",")
        if len(parts) == 6 and parts[0] in profile.modulations and all(
            p.isdigit() for p in parts[1:]
        ):
            nums = [int(p) for p in parts[1:]]
            cfg.ms = MsSetting(parts[0], *nums)
        cfg.tone = bool(data.get("tone", True))
        return cfg


@dataclass(slots=True)
class StoredState:
    """NVRAM: stored profiles (&W n), the power-up choice (&Y n), numbers (&Z n=)."""

    profiles: list[Config]
    powerup: int = 0
    numbers: list[str] = field(default_factory=lambda: [""] * STORED_NUMBERS)

    @classmethod
    def factory(cls, profile: Profile) -> StoredState:
        return cls([Config.factory(profile) for _ in range(STORED_PROFILES)])

    def to_json(self) -> dict[str, Any]:
        return {
            "profiles": [p.to_json() for p in self.profiles],
            "powerup": self.powerup,
            "numbers": list(self.numbers),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], profile: Profile) -> StoredState:
        raw_profiles = list(data.get("profiles", []))[:STORED_PROFILES]
        profiles = [Config.from_json(dict(p), profile) for p in raw_profiles]
        while len(profiles) < STORED_PROFILES:
            profiles.append(Config.factory(profile))
        powerup = data.get("powerup", 0)
        numbers = [str(n) for n in list(data.get("numbers", []))[:STORED_NUMBERS]]
        numbers += [""] * (STORED_NUMBERS - len(numbers))
        return cls(profiles, powerup if powerup in range(STORED_PROFILES) else 0, numbers)
