"""A call's plan as PCM: one track per direction and the speaker's mix."""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass

from modememu.audio.pcm import RATE, add, samples, silence
from modememu.audio.schedule import CALLER, Options, Plan, Segment, plan
from modememu.events import Stamped


@dataclass(frozen=True, slots=True)
class Rendered:
    caller: array[int]  # what the caller's modem sends
    answerer: array[int]  # what the caller hears back: the exchange, then the answerer
    mix: array[int]  # the caller's speaker

    @property
    def seconds(self) -> float:
        return len(self.mix) / RATE


def render_track(segments: Sequence[Segment], end: float) -> array[int]:
    """Segments placed at their times (rounded to samples), silence between them."""
    out = array("h")
    for seg in segments:
        start, stop = samples(seg.start), samples(seg.end)
        if start > len(out):
            out += silence(start - len(out))
        elif start < len(out):
            del out[start:]
        out += seg.signal.render(stop - start)
    total = samples(end)
    return out[:total] + silence(total - len(out))


def render_plan(p: Plan, speaker: int = 1) -> Rendered:
    caller = render_track(p.caller, p.end)
    answerer = render_track(p.answerer, p.end)
    mix = add(caller, answerer)
    if speaker == 0:
        mix = silence(len(mix))
    if speaker in (1, 3) and p.connect is not None:
        cut = samples(p.connect)
        mix = mix[:cut] + silence(len(mix) - cut)
    if speaker == 3 and p.dialed is not None:
        cut = min(samples(p.dialed), len(mix))
        mix = silence(cut) + mix[cut:]
    return Rendered(caller, answerer, mix)


def render_call(
    events: Sequence[Stamped], opts: Options | None = None, caller_source: str = CALLER
) -> Rendered:
    """The sound of one call from its stamped events (both modems' or the caller's)."""
    opts = opts or Options()
    return render_plan(plan(events, opts, caller_source), opts.speaker)
