"""`modememu replay FILE.jsonl`: a recorded session, told again as the demo told it.

A `--log` file holds every event as one JSON object a line (time, source,
type, fields). Replaying turns each record back into its event class and hands
it to the same `Transcript` the live session used, so the output reads the
same. Records of unknown types or with fields that no longer fit are skipped
and counted, never fatal: a log outlives the version that wrote it.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import modememu.agents.chat
import modememu.agents.dialer
import modememu.agents.isp
import modememu.link.ppp.session
import modememu.modem.events
import modememu.net.events
from modememu.agents.dialer import DialerStep
from modememu.events import Event, Stamped
from modememu.transcript import Transcript

_MODULES = (
    modememu.agents.chat,
    modememu.agents.dialer,
    modememu.agents.isp,
    modememu.link.ppp.session,
    modememu.modem.events,
    modememu.net.events,
)


class ReplayError(Exception):
    """The file cannot be replayed at all (one line for the CLI)."""


def event_classes() -> dict[str, type[Event]]:
    """Every event class a transcript can show, by name."""
    found: dict[str, type[Event]] = {}
    for module in _MODULES:
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Event) and value is not Event:
                found[value.__name__] = value
    return found


def _rebuild(kind: type[Event], fields: dict[str, object]) -> Event:
    """The event from its JSON fields; bytes were written as their repr (json default=str)."""
    hints = typing.get_type_hints(kind)
    values = {}
    for field in dataclasses.fields(kind):
        if field.name not in fields and field.default is not dataclasses.MISSING:
            continue  # a field added since the log was written keeps its default
        value = fields[field.name]
        if hints.get(field.name) is bytes and isinstance(value, str):
            value = ast.literal_eval(value)
            if not isinstance(value, bytes):
                raise TypeError(f"{field.name} is not bytes")
        values[field.name] = value
    return kind(**values)


def records(path: Path, skipped: list[int]) -> Iterator[Stamped]:
    """The log's events in order; `skipped` collects the line numbers that did not fit."""
    classes = event_classes()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ReplayError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ReplayError(f"{path} is not a JSON-lines event log") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            kind = classes.get(record["type"])
            if kind is None:
                continue  # a modem's byte counts, timer ticks ...: not for the transcript
            event = _rebuild(kind, record["fields"])
            stamped = Stamped(float(record["time"]), str(record["source"]), event)
        except (ValueError, KeyError, TypeError, SyntaxError):
            skipped.append(number)
            continue
        yield stamped


def caller_of(dialer: str) -> str:
    """The modem a dialer sat on, from the names the demo and scenarios give them."""
    return "caller" if dialer == "dialer" else dialer.removeprefix("dialer-")


def replay(path: Path, out: TextIO) -> int:
    """Print the transcript of a recorded session; ReplayError when nothing could be read."""
    skipped: list[int] = []
    stamped = list(records(path, skipped))
    dialers = sorted({s.source for s in stamped if isinstance(s.event, DialerStep)}) or ["dialer"]
    transcripts = {d: Transcript(out, caller=caller_of(d), dialer=d) for d in dialers}
    route = {caller_of(d): t for d, t in transcripts.items()} | transcripts
    first = transcripts[dialers[0]]
    for record in stamped:
        route.get(record.source, first)(record)  # anyone else (the ISP) once, via the first
    if skipped:
        print(f"modememu replay: {len(skipped)} lines skipped (first: line {skipped[0]})", file=out)
    if not stamped:
        raise ReplayError(f"{path}: no events a transcript shows")
    return 0
