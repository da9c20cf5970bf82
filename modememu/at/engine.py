"""The AT command engine: runs a command line against the active configuration.

It answers with information text and a final result, or with an action that only
the modem can finish (dial, answer, go online, hang up). Which commands exist,
their ranges and their defaults come from the firmware profile, so every
profile accepts exactly what its real modem accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from modememu.at.config import STORED_NUMBERS, STORED_PROFILES, Config, MsSetting, StoredState
from modememu.at.results import Result
from modememu.at.syntax import (
    AtSyntaxError,
    Basic,
    Command,
    Dial,
    Extended,
    ExtKind,
    SRegister,
    StoreNumber,
    parse,
)
from modememu.profiles import Profile, Range


@dataclass(frozen=True, slots=True)
class DialAction:
    dialstring: str
    stay: bool  # ended with ';': back to command mode once dialed
    tone: bool


@dataclass(frozen=True, slots=True)
class AnswerAction:
    pass


@dataclass(frozen=True, slots=True)
class OnlineAction:
    retrain: bool


@dataclass(frozen=True, slots=True)
class HangupAction:
    off_hook: bool  # H1: take the line off-hook (busy) instead of hanging up


Action = DialAction | AnswerAction | OnlineAction | HangupAction


@dataclass(slots=True)
class Outcome:
    info: list[str] = field(default_factory=list)
    result: Result | None = Result.OK  # None: the action decides the final result
    action: Action | None = None
    remaining: list[Command] = field(default_factory=list)  # after a `D...;`
    reset: bool = False  # Z or &F: the modem must hang up and reload
    stored_changed: bool = False  # &W, &Y, &Z: NVRAM changed


@dataclass(frozen=True, slots=True)
class FlowControl:
    """How the modem and DTE throttle each other (the family's commands, or +IFC)."""

    cts: bool  # the modem drops CTS to stop the DTE
    rts: bool  # the modem stops sending while the DTE holds RTS off
    xon_xoff: bool  # XON/XOFF in-band, both ways

    @property
    def uart_rtscts(self) -> bool:
        return self.cts or self.rts


class _Error(Exception):
    """A command that cannot run: the line stops with ERROR."""


def _render_range(r: Range) -> str:
    if r.low == r.high:
        return f"({r.low})"
    if r.high == r.low + 1:
        return f"({r.low},{r.high})"
    return f"({r.low}-{r.high})"


def _int(value: str | None) -> int:
    if value is None or not value.isdigit() or len(value) > 10:
        raise _Error
    return int(value)


# The +IFC (by_dte, by_dce) pairs that a Rockwell &K (or ZyXEL &H) value means.
_IFC_TO_K = {(0, 0): 0, (2, 2): 3, (1, 1): 4, (3, 1): 5}


class AtEngine:
    def __init__(self, profile: Profile, stored: StoredState | None = None) -> None:
        self.profile = profile
        self.stored = stored if stored is not None else StoredState.factory(profile)
        self.config = self.stored.profiles[self.stored.powerup].copy()
        self.selected_sreg = 0
        self.dte_text = f"{profile.default_dte_rate} 8N1"  # shown by &V; the modem keeps it true
        self.last_dial = ""

    # ----- what the modem reads -----

    def setting(self, name: str) -> int:
        return self.config.settings.get(name, 0)

    def sreg(self, n: int) -> int:
        return self.config.sregs.get(n, 0)

    @property
    def extended_syntax(self) -> bool:
        """V.250-era firmware (it answers +GCAP) knows the '+' commands."""
        return bool(self.profile.gcap)

    @property
    def flow(self) -> FlowControl:
        return self._flow_of(self.config.settings)

    def _flow_of(self, settings: dict[str, int]) -> FlowControl:
        family = self.profile.flow_family
        if family == "usr":
            h, r, i = settings.get("&H", 0), settings.get("&R", 0), settings.get("&I", 0)
            return FlowControl(cts=h in (1, 3), rts=r == 2, xon_xoff=h in (2, 3) or i in (1, 2))
        if family == "zyxel":
            h = settings.get("&H", 0)
            return FlowControl(
                cts=h in (1, 3, 6, 7), rts=h in (2, 3, 6), xon_xoff=h in (4, 5, 6, 7)
            )
        k = settings.get("&K", 0)
        return FlowControl(cts=k in (3, 6), rts=k in (3, 6), xon_xoff=k in (4, 5, 6))

    def _flow_command(self) -> str:
        """The one command that holds flow control in single-command families."""
        return "&H" if self.profile.flow_family == "zyxel" else "&K"

    def _ifc_of(self, settings: dict[str, int]) -> tuple[int, int]:
        """+IFC (by_dte, by_dce) as the flow commands in `settings` mean it."""
        flow = self._flow_of(settings)
        by_dte = 2 if flow.rts else (1 if flow.xon_xoff else 0)
        by_dce = 2 if flow.cts else (1 if flow.xon_xoff else 0)
        transparent = self.profile.flow_family != "usr" and settings.get(self._flow_command()) == 5
        return (3 if transparent else by_dte), by_dce

    # ----- running a line -----

    def execute(self, body: str) -> Outcome:
        try:
            commands = parse(body)
        except AtSyntaxError:
            return Outcome(result=Result.ERROR)
        return self.run(commands)

    def run(self, commands: list[Command]) -> Outcome:
        out = Outcome()
        for index, command in enumerate(commands):
            try:
                self._one(command, out)
            except _Error:
                return Outcome(info=out.info, result=Result.ERROR, reset=out.reset,
                               stored_changed=out.stored_changed)
            if out.action is not None:
                out.result = None
                if isinstance(out.action, DialAction) and out.action.stay:
                    out.remaining = commands[index + 1 :]
                return out
        return out

    def _one(self, command: Command, out: Outcome) -> None:
        match command:
            case Basic():
                self._basic(command, out)
            case SRegister():
                self._sregister(command, out)
            case Dial():
                self._dial(command, out)
            case StoreNumber(slot, number):
                if slot >= STORED_NUMBERS or len(number) > 40:
                    raise _Error
                self.stored.numbers[slot] = number
                out.stored_changed = True
            case Extended():
                if not self.extended_syntax:
                    raise _Error
                self._extended(command, out)

    def _basic(self, cmd: Basic, out: Outcome) -> None:
        name, value = cmd.name, cmd.value
        n = value or 0
        if name in self.profile.settings:
            if n not in self.profile.settings[name]:
                raise _Error
            self.config.settings[name] = n
            return
        match name:
            case "A" if value is None:
                out.action = AnswerAction()
            case "H" if n in (0, 1):
                out.action = HangupAction(off_hook=n == 1)
            case "O" if n in (0, 1):
                out.action = OnlineAction(retrain=n == 1)
            case "Z" if n < STORED_PROFILES:
                self.config = self.stored.profiles[n].copy()
                out.reset = True
            case "&F" if n == 0:
                self.config = Config.factory(self.profile)
                out.reset = True
            case "&W" if n < STORED_PROFILES:
                self.stored.profiles[n] = self.config.copy()
                out.stored_changed = True
            case "&Y" if n < STORED_PROFILES:
                self.stored.powerup = n
                out.stored_changed = True
            case "&V" if n == 0:
                out.info += self.view()
            case "I" if n in self.profile.info:
                out.info += self.profile.info[n].splitlines()
            case "T" | "P" if value is None:
                self.config.tone = name == "T"
            case _:
                raise _Error

    def _sregister(self, cmd: SRegister, out: Outcome) -> None:
        n = self.selected_sreg if cmd.number is None else cmd.number
        allowed = self.profile.sregisters.get(n)
        if allowed is None:
            raise _Error
        self.selected_sreg = n
        if cmd.query:
            out.info.append(f"{self.config.sregs[n]:03d}")
        elif cmd.value is not None:
            if cmd.value not in allowed or n in self.profile.readonly_sregisters:
                raise _Error
            self.config.sregs[n] = cmd.value

    def _dial(self, cmd: Dial, out: Outcome) -> None:
        text = cmd.dialstring
        tone = self.config.tone
        if text[:1] in ("T", "P"):  # one leading mode letter, never more (ATDPRIME...)
            tone = text[0] == "T"
            text = text[1:]
        if text == "L":  # redial; ATDLOCALHOST is a host, not a redial
            if not self.last_dial:
                raise _Error
            text = self.last_dial
        elif text.startswith("S="):
            slot = text[2:]
            if not slot.isdigit() or int(slot) >= STORED_NUMBERS:
                raise _Error
            text = self.stored.numbers[int(slot)]
        self.last_dial = text
        out.action = DialAction(text, cmd.stay, tone)

    # ----- extended syntax -----

    def _extended(self, cmd: Extended, out: Outcome) -> None:
        name, kind = cmd.name, cmd.kind
        identity = {"+GMI": self.profile.gmi, "+GMM": self.profile.gmm, "+GMR": self.profile.gmr}
        if name in identity or name == "+GCAP":
            if kind is ExtKind.TEST:
                return
            if kind is not ExtKind.ACTION:
                raise _Error
            out.info.append(
                identity[name] if name in identity else "+GCAP: " + ",".join(self.profile.gcap)
            )
        elif name == "+IPR":
            self._ipr(cmd, out)
        elif name == "+MS":
            self._ms(cmd, out)
        elif name == "+IFC" and name in self.profile.extended:
            self._ifc(cmd, out)
        elif name in self.profile.extended:
            self._parameter(cmd, out, self.profile.extended[name])
        else:
            raise _Error

    def _parameter(self, cmd: Extended, out: Outcome, ranges: tuple[Range, ...]) -> None:
        current = self.config.extended[cmd.name]
        if cmd.kind is ExtKind.READ:
            out.info.append(f"{cmd.name}: " + ",".join(map(str, current)))
        elif cmd.kind is ExtKind.TEST:
            out.info.append(f"{cmd.name}: " + ",".join(_render_range(r) for r in ranges))
        elif cmd.kind is ExtKind.SET:
            self.config.extended[cmd.name] = self._values(cmd.values, current, ranges)
        else:
            raise _Error

    @staticmethod
    def _values(
        values: tuple[str | None, ...], current: list[int], ranges: tuple[Range, ...]
    ) -> list[int]:
        if len(values) > len(ranges):
            raise _Error
        new = list(current)
        for i, v in enumerate(values):
            if v is not None:
                number = _int(v)
                if number not in ranges[i]:
                    raise _Error
                new[i] = number
        return new

    def _ipr(self, cmd: Extended, out: Outcome) -> None:
        rates = (0, *self.profile.dte_rates)
        if cmd.kind is ExtKind.READ:
            out.info.append(f"+IPR: {self.config.ipr}")
        elif cmd.kind is ExtKind.TEST:
            out.info.append("+IPR: (" + ",".join(map(str, rates)) + ")")
        elif cmd.kind is ExtKind.SET and len(cmd.values) == 1:
            rate = 0 if cmd.values[0] is None else _int(cmd.values[0])
            if rate not in rates:
                raise _Error
            self.config.ipr = rate
        else:
            raise _Error

    def _ms(self, cmd: Extended, out: Outcome) -> None:
        ms, top = self.config.ms, self.profile.max_rate
        if cmd.kind is ExtKind.READ:
            out.info.append(f"+MS: {ms.render()}")
        elif cmd.kind is ExtKind.TEST:
            rate = f"(0-{top})"
            out.info.append(
                f"+MS: ({','.join(self.profile.modulations)}),(0,1),{rate},{rate},{rate},{rate}"
            )
        elif cmd.kind is ExtKind.SET and 1 <= len(cmd.values) <= 6:
            carrier = (cmd.values[0] or "").strip('"').upper()
            if carrier not in self.profile.modulations:
                raise _Error
            old = [ms.automode, ms.min_tx, ms.max_tx, ms.min_rx, ms.max_rx]
            limits = (Range(0, 1, 1),) + (Range(0, top, 0),) * 4
            new = self._values(cmd.values[1:], old, limits)
            if (new[1] and new[2] and new[1] > new[2]) or (new[3] and new[4] and new[3] > new[4]):
                raise _Error
            self.config.ms = MsSetting(carrier, *new)
        else:
            raise _Error

    def _ifc(self, cmd: Extended, out: Outcome) -> None:
        """+IFC is not stored: it reads and writes the family's own flow commands."""
        ranges = self.profile.extended["+IFC"]
        current = list(self._ifc_of(self.config.settings))
        if cmd.kind is ExtKind.READ:
            out.info.append(f"+IFC: {current[0]},{current[1]}")
            return
        if cmd.kind is not ExtKind.SET:
            self._parameter(cmd, out, ranges)
            return
        by_dte, by_dce = self._values(cmd.values, current, ranges)
        if self.profile.flow_family == "usr":
            updates = {
                "&H": {0: 0, 1: 2, 2: 1}[by_dce],
                "&R": 2 if by_dte == 2 else 1,
                "&I": {1: 1, 3: 2}.get(by_dte, 0),
            }
        elif (by_dte, by_dce) in _IFC_TO_K:
            updates = {self._flow_command(): _IFC_TO_K[by_dte, by_dce]}
        else:
            raise _Error
        for key, value in updates.items():
            if value not in self.profile.settings[key]:
                raise _Error
        self.config.settings.update(updates)

    # ----- &V -----

    def _render_config(self, cfg: Config) -> list[str]:
        basics = sorted(cfg.settings.items(), key=lambda kv: (len(kv[0]), kv[0]))
        words = [f"{k}{v}" for k, v in basics]
        lines = [" ".join(words[i : i + 16]) for i in range(0, len(words), 16)]
        regs = [f"S{n:02d}:{v:03d}" for n, v in sorted(cfg.sregs.items())]
        lines += [" ".join(regs[i : i + 8]) for i in range(0, len(regs), 8)]
        if self.extended_syntax:
            ext = [f"+IPR={cfg.ipr}", f"+MS={cfg.ms.render()}"]
            values = dict(cfg.extended)
            if "+IFC" in values:
                values["+IFC"] = list(self._ifc_of(cfg.settings))
            ext += [f"{k}={','.join(map(str, v))}" for k, v in sorted(values.items())]
            lines.append(" ".join(ext))
        return lines

    def view(self) -> list[str]:
        lines = ["ACTIVE PROFILE:", *self._render_config(self.config), f"DTE: {self.dte_text}"]
        for i, stored in enumerate(self.stored.profiles):
            lines += ["", f"STORED PROFILE {i}:", *self._render_config(stored)]
        lines += ["", f"POWER-UP PROFILE: {self.stored.powerup}", "TELEPHONE NUMBERS:"]
        lines += [f"{i}={n}" for i, n in enumerate(self.stored.numbers)]
        return lines
