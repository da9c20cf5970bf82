"""The whole line handshake of one call, from the answerer going off-hook to CONNECT.

Given what each modem offers and what the line is like, `negotiate` plays the
start-up the way real modems run it (v-series.md): V.8 when both ends have it
(ANSam, CM and JM through a real two-copy receiver, CJ), otherwise a V.25 answer
tone and the answerer's automode cycle; then the chosen modulation trains at the
line's SNR (V.22bis S1, V.32bis rate words, V.34 INFO0 and MP, V.90/V.92 PCM with
a digital answerer), falling back a modulation when nothing trains; then error
control (skipped detection when V.8 agreed LAPM, ODP/ADP, MNP fallback) and
compression. Every signal and decision is a `Step` with its time and numbers.

It is a pure function of its inputs, so both modems of a call (even in two
processes) compute the same handshake, each from its own and the far end's
offer, and replay their steps on their own clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache

from modememu.events import Event
from modememu.line.channel import ber_from_margin
from modememu.profiles import CARRIERS
from modememu.vseries import v32bis, v34
from modememu.vseries.v8 import (
    ANSAM_DETECTED,
    ANSAM_START,
    CJ,
    CJ_DETECTED,
    CJ_SILENCE,
    CM_ACCEPTED,
    CM_START,
    JM_ACCEPTED,
    TE,
    Sync,
    V8Offer,
    V8Receiver,
    build_cm,
    build_jm,
    frame,
    highest_common_mode,
    joint_menu,
    line_seconds,
    offer_for,
)

CALLER = "caller"
ANSWERER = "answerer"

# The line a call gets when nothing says otherwise: V.34 trains at 33600 (§2.4).
DEFAULT_SNR_DB = 41.0

# -- V.8 message timing ----------------------------------------------------------
# Messages take their real length at 300 bit/s; on top, each receiver needs a while
# to decide, taken from the measured trace (§1.4), whose messages were 5 octets.
_REF_MESSAGE = line_seconds(frame(bytes(5), Sync.CM_JM))
CM_DECISION = (CM_ACCEPTED - CM_START) - 2 * _REF_MESSAGE
JM_DECISION = (JM_ACCEPTED - CM_ACCEPTED) - 2 * _REF_MESSAGE
CJ_DECISION = (CJ_DETECTED - JM_ACCEPTED) - line_seconds(CJ, preamble=False)
CJ_END = 4.30 - CJ_DETECTED  # both report success 20 ms after CJ is seen (§1.4)

# -- V.25 answer and automode (§1.5, §2.1) ---------------------------------------
ANSWER_SILENCE = 2.15  # 2150 ±350 ms of silence before the answer tone
ANS_SECONDS = 3.3  # ANS 2100 Hz (2225 Hz Bell) for 3.3 ±0.7 s
ANS_GAP = 0.075  # then 75 ±20 ms of silence
# Heuristic: how long an automode answerer offers one family before the next.
AUTOMODE_STAGE = 1.0

# -- training durations (heuristic unless noted) ---------------------------------
V22BIS_TRAIN = {2400: 1.60, 1200: 1.72}  # measured with spandsp (§4: v22check)
V22_TRAIN = 0.27 + 0.765  # scrambled 1s, then 765 ms before data (§2.1, no S1)
FSK_TRAIN = 0.6  # V.21 / Bell 103 / V.23: carrier on, a moment of marks
V32_AC_AA = 0.3  # AA / AC / CA / AC exchange
V32_HALF = (256 + 16 + 1280) / 2400  # S, S-bar, TRN at 2400 Bd (§2.2 sbridge)
V32_RWORD = 64 / 2400  # one rate word sent repeatedly, then E
V34_PHASE2 = 1.9  # INFO0, tones A/B, L1/L2 probing, INFO1 (§2.3)
V34_PHASE3 = 2.4  # S S̄ MD S S̄ PP TRN J: ≤ 2 round trips + 2 s (Gough-v34)
V34_PHASE4 = 0.6  # TRN, MP, MP', E, B1
PCM_LEARNING = 11.0  # V.90 digital impairment learning and rate renegotiation (>20 s total)

# -- error control (§3) ----------------------------------------------------------
T400 = 0.75  # no ADP within T400: try MNP
ODP_SECONDS = 0.2  # two ODPs and the ADPs back
LAPM_SETUP = 0.3  # XID exchange, SABME/UA
MNP_SETUP = 0.4  # MNP LR/LA
ODP = b"\x11" + b"\xff" * 8 + b"\x91" + b"\xff" * 8
ADP_LAPM = b"E" + b"\xff" * 8 + b"C" + b"\xff" * 8

# -- low-speed modulations: SNR needed (heuristic, below V.32bis's sourced table) --
LOW_SPEED_SNR = {2400: 12.0, 1200: 8.0, 300: 5.0}

# -- PCM (V.90/V.92): downstream 28000 + k·8000/6, here 1.5 steps per dB over 30 dB --
PCM_MIN_SNR = 30.0
PCM_STEPS_PER_DB = 1.5
PCM_DOWN_MAX = 56000
PCM_UP_MIN, PCM_UP_MAX = 24000, 48000  # V.92 upstream PCM

V8_CARRIERS = frozenset({"V34", "V90", "V92"})  # a modem with these has V.8
BELL_CARRIERS = ("B212", "B103")


@dataclass(frozen=True, slots=True)
class LineCaps:
    """What one end's modem brings to the handshake.

    `modulations` are +MS carriers already cut to the +MS ceiling; `v8` says the
    modem has V.8 at all. `error_control` lists the protocols the settings allow,
    best first; `ec_required` hangs up when none is agreed (&M5, \\N2, \\N4...).
    `bell` is the B1 setting: Bell 212A/103 rather than V.22/V.21 at low speed.
    """

    modulations: tuple[str, ...]
    max_rate: int  # receive ceiling, bit/s
    error_control: tuple[str, ...] = ()
    digital: bool = False
    compression: tuple[str, ...] = ()
    ec_required: bool = False
    max_tx: int = 0  # 0: the same as max_rate
    v8: bool | None = None  # None: from the modulations
    bell: bool = True

    def __post_init__(self) -> None:
        if self.max_tx == 0:
            object.__setattr__(self, "max_tx", self.max_rate)
        if self.v8 is None:
            object.__setattr__(self, "v8", not V8_CARRIERS.isdisjoint(self.modulations))

    def has(self, carrier: str) -> bool:
        return carrier in self.modulations

    def to_json(self) -> dict[str, object]:
        return {
            "modulations": list(self.modulations),
            "max_rate": self.max_rate,
            "max_tx": self.max_tx,
            "error_control": list(self.error_control),
            "ec_required": self.ec_required,
            "compression": list(self.compression),
            "digital": self.digital,
            "v8": bool(self.v8),
            "bell": self.bell,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> LineCaps | None:
        """Caps from a trunk frame; None when the far side sent nonsense."""
        mods, rate = data.get("modulations"), data.get("max_rate")
        if not isinstance(mods, list) or not isinstance(rate, int) or rate <= 0:
            return None
        max_tx = data.get("max_tx", rate)
        ec = data.get("error_control", [])
        comp = data.get("compression", [])
        v8 = data.get("v8")
        return cls(
            tuple(m for m in mods if isinstance(m, str) and m in CARRIERS),
            rate,
            _names(ec, ("LAPM", "MNP")) if isinstance(ec, list) else ("LAPM", "MNP") * bool(ec),
            bool(data.get("digital")),
            _names(comp, ("V42B", "MNP5")) if isinstance(comp, list) else (),
            bool(data.get("ec_required")),
            max_tx if isinstance(max_tx, int) and max_tx > 0 else rate,
            v8 if isinstance(v8, bool) else None,
            bool(data.get("bell", True)),
        )


def _names(values: list[object], known: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v for v in values if isinstance(v, str) and v in known)


@dataclass(frozen=True, slots=True)
class LineQuality:
    """The telephone line between the two modems."""

    snr_db: float = DEFAULT_SNR_DB
    latency: float = 0.0  # one way, seconds
    ber: float | None = None  # a fixed bit error rate instead of one from the SNR

    def to_json(self) -> dict[str, object]:
        return {"snr_db": self.snr_db, "latency": self.latency, "ber": self.ber}

    @classmethod
    def from_json(cls, data: object) -> LineQuality:
        """The line a trunk frame describes; the default line for anything else."""
        if not isinstance(data, dict):
            return cls()
        snr, latency, ber = data.get("snr_db"), data.get("latency"), data.get("ber")
        return cls(
            float(snr) if isinstance(snr, int | float) else DEFAULT_SNR_DB,
            float(latency) if isinstance(latency, int | float) and latency >= 0 else 0.0,
            float(ber) if isinstance(ber, int | float) and 0 <= ber <= 0.5 else None,
        )


DEFAULT_LINE = LineQuality()


@dataclass(frozen=True, slots=True)
class Step(Event):
    """One signal or decision of the handshake, `t` seconds after the answer."""

    t: float
    by: str  # CALLER or ANSWERER: who sent it or decided it
    name: str  # "ANSam", "CM", "JM", "CJ", "ANS", "AC", "AA", "USB1", "S1", "R1", ...
    detail: str = ""
    octets: bytes = b""
    word: int | None = None
    rates: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Agreement:
    """What the call settled on."""

    carrier: str
    call_to_answer: int  # bit/s from the caller to the answerer
    answer_to_call: int
    error_control: str | None = None  # "LAPM", "MNP" or None
    compression: str | None = None  # "V42B", "MNP5" or None
    symbol_rate: int | None = None  # V.34 and V.90 upstream

    def rates(self, originate: bool) -> tuple[int, int]:
        """(tx, rx) as one end sees them."""
        if originate:
            return self.call_to_answer, self.answer_to_call
        return self.answer_to_call, self.call_to_answer


@dataclass(frozen=True, slots=True)
class Handshake:
    steps: tuple[Step, ...]
    agreement: Agreement | None
    duration: float  # CONNECT (or the moment it gave up), seconds after the answer
    failure: str = ""  # why no agreement, when there is none
    hang_up: bool = False  # the failure makes the modems hang up at once


@dataclass(slots=True)
class _Run:
    """The handshake being built: a clock and the steps so far."""

    caller: LineCaps
    answerer: LineCaps
    line: LineQuality
    t: float = 0.0
    steps: list[Step] = field(default_factory=list)

    def step(self, by: str, name: str, detail: str = "", **numbers: object) -> None:
        self.steps.append(Step(self.t, by, name, detail, **numbers))  # type: ignore[arg-type]

    def common(self) -> list[str]:
        """Carriers both have, best first."""
        return [c for c in reversed(CARRIERS) if self.caller.has(c) and self.answerer.has(c)]


def negotiate(caller: LineCaps, answerer: LineCaps, line: LineQuality) -> Handshake:
    """The handshake between these two modems on this line (cached: it is pure)."""
    return _negotiate(caller, answerer, line)


@lru_cache(maxsize=4096)
def _negotiate(caller: LineCaps, answerer: LineCaps, line: LineQuality) -> Handshake:
    run = _Run(caller, answerer, line)
    lapm_agreed = False
    candidates: list[str] = []
    if caller.v8 and answerer.v8:
        picked, lapm_agreed = _v8(run)
        candidates = _fallbacks(run, picked)
    else:
        candidates = _automode(run)
    agreement = None
    for carrier in candidates:
        agreement = _train(run, carrier)
        if agreement is not None:
            break
        run.step(ANSWERER, "fallback", f"{carrier} did not train at {line.snr_db:g} dB")
    if agreement is None:
        why = "no common modulation" if not candidates else f"nothing trains at {line.snr_db:g} dB"
        run.step(ANSWERER, "failed", why)
        return Handshake(tuple(run.steps), None, run.t, why)
    agreement = _error_control(run, agreement, lapm_agreed)
    if agreement is None:
        run.step(ANSWERER, "failed", "error control required and none agreed")
        return Handshake(tuple(run.steps), None, run.t, "error control required", hang_up=True)
    run.step(
        ANSWERER,
        "connect",
        _describe(agreement),
        rates=(agreement.call_to_answer, agreement.answer_to_call),
    )
    return Handshake(tuple(run.steps), agreement, run.t)


def _describe(a: Agreement) -> str:
    parts = [a.carrier, f"{a.call_to_answer}/{a.answer_to_call}"]
    parts += [a.error_control or "no error control", a.compression or "no compression"]
    return " ".join(parts)


# -- V.8 ---------------------------------------------------------------------------


def v8_offer(caps: LineCaps) -> V8Offer:
    return offer_for(caps.modulations, lapm="LAPM" in caps.error_control, digital=caps.digital)


def _v8(run: _Run) -> tuple[str | None, bool]:
    """ANSam, CM until two JMs, JM until CJ (§1.4); the mode and whether LAPM was agreed."""
    latency = run.line.latency
    run.t = ANSAM_START
    run.step(ANSWERER, "ANSam", "2100 Hz, 15 Hz AM, phase reversals every 450 ms")
    run.t = ANSAM_DETECTED + latency
    run.step(CALLER, "ANSam heard")
    cm = build_cm(v8_offer(run.caller))
    cm_time = line_seconds(frame(cm, Sync.CM_JM))
    run.t += TE
    run.step(CALLER, "CM", "call menu", octets=cm)
    answer_rx = V8Receiver()
    sent = run.t
    accepted = None
    while accepted is None:  # the caller repeats CM; the answerer counts copies
        sent += cm_time
        accepted = answer_rx.feed(cm, sent + latency)
    run.t = sent + latency + CM_DECISION
    jm_offer = joint_menu(accepted, v8_offer(run.answerer))
    jm = build_jm(jm_offer)
    run.step(ANSWERER, "CM accepted", "second identical copy")
    run.step(ANSWERER, "JM", "joint menu", octets=jm)
    jm_time = line_seconds(frame(jm, Sync.CM_JM))
    caller_rx = V8Receiver()
    sent = run.t
    heard = None
    while heard is None:
        sent += jm_time
        heard = caller_rx.feed(jm, sent + latency)
    run.t = sent + latency + JM_DECISION
    run.step(CALLER, "JM accepted", "second identical copy")
    run.step(CALLER, "CJ", "end of menus", octets=CJ)
    run.t += line_seconds(CJ, preamble=False) + latency + CJ_DECISION
    run.step(ANSWERER, "CJ heard")
    run.t += CJ_END + CJ_SILENCE
    mode = highest_common_mode(heard)
    if mode == "V90" and run.caller.has("V92") and run.answerer.has("V92"):
        mode = "V92"  # both sent the V.92 message (V.8 2000, §1.2)
    run.step(ANSWERER, "V.8 done", f"highest common mode {mode or 'none'}")
    return mode, heard.lapm


def _fallbacks(run: _Run, picked: str | None) -> list[str]:
    """The mode V.8 picked, then the lower modes both have, best first."""
    common = run.common()
    if picked is None:
        return _automode_order(run, common)
    at = common.index(picked) if picked in common else 0
    rest = [c for c in common[at:] if c not in ("V90", "V92") or c == picked]
    return _one_per_family(run, rest)


# -- V.25 answer tone and automode -----------------------------------------------


def _automode(run: _Run) -> list[str]:
    """The answer tone, then the answerer's automode: each family from the top down."""
    if run.answerer.v8:
        run.t = ANSAM_START
        run.step(ANSWERER, "ANSam", "2100 Hz, 15 Hz AM")
        run.t += ANS_SECONDS
        run.step(ANSWERER, "no CM", "the caller has no V.8")
    else:
        bell_only = all(m in BELL_CARRIERS for m in run.answerer.modulations)
        run.t = ANSWER_SILENCE
        run.step(ANSWERER, "ANS", "2225 Hz (Bell)" if bell_only else "2100 Hz (V.25)")
        run.t += ANS_SECONDS
        if run.caller.v8:
            run.step(CALLER, "ANS heard", "no AM: not a V.8 answerer")
    run.t += ANS_GAP
    return _automode_order(run, run.common())


def _automode_order(run: _Run, common: list[str]) -> list[str]:
    """Walk the answerer's automode stages; the first the caller answers wins."""
    order = _one_per_family(run, common)
    stages = [
        ("AC", "600+3000 Hz (V.32bis)", ("V32B", "V32"), "AA", "1800 Hz"),
        ("USB1", "unscrambled 1s at 1200 (V.22bis)", ("V22B", "V22", "B212"), "", ""),
        ("ch2 marks", "V.21 ch2 / Bell 2225 Hz", ("V23C", "V21", "B103"), "marks", "ch1 marks"),
    ]
    latency = run.line.latency
    for name, what, carriers, reply, reply_what in stages:
        if not any(run.answerer.has(c) for c in carriers):
            continue
        run.step(ANSWERER, name, what)
        match = [c for c in order if c in carriers]
        if match:
            if reply:  # V.22bis: the caller's S1 comes with training
                run.t += 0.2 + 2 * latency
                run.step(CALLER, reply, reply_what)
            return order[order.index(match[0]) :]
        run.t += AUTOMODE_STAGE
    for top in ("V34", "V90", "V92"):  # V.8 modems on both ends but no V.8 pick
        if top in order:
            return order[order.index(top) :]
    return []


def _one_per_family(run: _Run, common: list[str]) -> list[str]:
    """Collapse carriers that train together (V.32bis covers V.32, Bell vs CCITT by B)."""
    out: list[str] = []
    bell = run.answerer.bell
    for name in common:
        carrier = name
        if carrier == "V32" and "V32B" in out:
            continue
        if carrier in ("V22", "B212"):
            if "V22B" in out or any(c in out for c in ("V22", "B212")):
                continue
            both = "V22" in common and "B212" in common
            if both:
                carrier = "B212" if bell else "V22"
        if carrier in ("V21", "B103"):
            if any(c in out for c in ("V21", "B103")):
                continue
            if "V21" in common and "B103" in common:
                carrier = "B103" if bell else "V21"
        out.append(carrier)
    return out


# -- training ----------------------------------------------------------------------


def _train(run: _Run, carrier: str) -> Agreement | None:
    snr = run.line.snr_db
    if carrier in ("V90", "V92"):
        return _train_pcm(run, carrier)
    if carrier == "V34":
        return _train_v34(run, snr)
    if carrier in ("V32B", "V32"):
        return _train_v32(run, carrier, snr)
    if carrier == "V22B":
        return _train_v22bis(run, snr)
    return _train_low(run, carrier, snr)


def _cap(rate: int, *ceilings: int) -> int:
    return min(rate, *ceilings)


def _train_low(run: _Run, carrier: str, snr: float) -> Agreement | None:
    """FSK and Bell 212A / V.22: one rate; it works or it does not."""
    rate = 1200 if carrier in ("V22", "B212", "V23C") else 300
    if snr < LOW_SPEED_SNR[rate]:
        return None
    run.t += V22_TRAIN if carrier in ("V22", "B212") else FSK_TRAIN
    if carrier == "V23C":  # 1200 to the caller, 75 back (§2)
        run.step(ANSWERER, "trained", "V.23 1200/75", rates=(75, 1200))
        return Agreement(carrier, 75, 1200)
    run.step(ANSWERER, "trained", f"{carrier} {rate}", rates=(rate, rate))
    return Agreement(carrier, rate, rate)


def _train_v22bis(run: _Run, snr: float) -> Agreement | None:
    """USB1, then S1 from both ends means 2400; a poor line keeps S1 back (§2.1)."""
    if snr < LOW_SPEED_SNR[1200]:
        return None
    fast = snr >= LOW_SPEED_SNR[2400] and min(run.caller.max_tx, run.answerer.max_tx) >= 2400
    if not run.steps or run.steps[-1].name != "USB1":
        run.step(ANSWERER, "USB1", "unscrambled 1s at 1200")
    run.t += 0.155 + 0.456
    rate = 2400 if fast else 1200
    if fast:
        run.step(CALLER, "S1", "unscrambled 00/11 at 1200: 2400 wanted")
        run.step(ANSWERER, "S1", "2400 agreed")
    else:
        run.step(CALLER, "no S1", "the line is too poor for 2400")
    run.t += V22BIS_TRAIN[rate] - 0.155 - 0.456 + 2 * run.line.latency
    run.step(ANSWERER, "trained", f"V.22bis {rate}", rates=(rate, rate))
    return Agreement("V22B", rate, rate)


def _train_v32(run: _Run, carrier: str, snr: float) -> Agreement | None:
    """R1 from the answerer, R2 from the caller, R3 and E: the best common rate (§2.2)."""
    rates = v32bis.RATES if carrier == "V32B" else v32bis.V32_RATES
    training = v32bis.train(_upto(rates, run.answerer), _upto(rates, run.caller), snr)
    latency = run.line.latency
    run.t += V32_AC_AA + 2 * latency
    run.step(ANSWERER, "S S-bar TRN", "equaliser training (answerer)")
    run.t += V32_HALF + latency
    _rate_word(run, ANSWERER, "R1", "rates the answerer can receive", training.r1)
    run.step(CALLER, "S S-bar TRN", "equaliser training (caller)")
    run.t += V32_HALF + latency
    _rate_word(run, CALLER, "R2", "rates the caller can receive", training.r2)
    run.t += V32_RWORD + latency
    _rate_word(run, ANSWERER, "R3", "common rates", training.r3)
    if training.rate is None:
        return None
    run.t += V32_RWORD + latency
    run.step(CALLER, "E", f"{training.rate} confirmed", word=training.e, rates=(training.rate,))
    name = "V.32bis" if carrier == "V32B" else "V.32"
    run.step(ANSWERER, "trained", f"{name} {training.rate}", rates=(training.rate,) * 2)
    return Agreement(carrier, training.rate, training.rate)


def _rate_word(run: _Run, by: str, name: str, detail: str, word: int) -> None:
    run.step(by, name, detail, word=word, rates=tuple(sorted(v32bis.word_rates(word))))


def _upto(rates: tuple[int, ...], caps: LineCaps) -> tuple[int, ...]:
    """The rates this modem may use both ways (V.32bis is symmetric)."""
    return tuple(r for r in rates if r <= min(caps.max_rate, caps.max_tx))


def _v34_side(caps: LineCaps) -> v34.V34Side:
    top = min(max(caps.max_rate, caps.max_tx), 33600)  # what the hardware does
    return v34.V34Side(
        info0=v34.info0_for(top), max_tx=min(caps.max_tx, 33600), max_rx=min(caps.max_rate, 33600)
    )


def _train_v34(run: _Run, snr: float) -> Agreement | None:
    """INFO0 both ways, probing, INFO1, then MP: each way at min(request, far maximum)."""
    caller, answerer = _v34_side(run.caller), _v34_side(run.answerer)
    training = v34.train(caller, answerer, snr)
    latency = run.line.latency
    run.step(
        CALLER, "INFO0c", "caller's symbol rates", octets=_bits(v34.encode_info0(caller.info0))
    )
    run.step(
        ANSWERER,
        "INFO0a",
        "answerer's symbol rates",
        octets=_bits(v34.encode_info0(answerer.info0)),
    )
    run.t += V34_PHASE2 + 2 * latency
    if not training.call_to_answer or not training.answer_to_call:
        run.step(ANSWERER, "probing", f"line too poor at {snr:g} dB")
        return None
    run.step(
        ANSWERER, "INFO1", f"symbol rate {training.symbol_rate}", rates=(training.symbol_rate,)
    )
    run.t += V34_PHASE3 + 2 * latency
    assert training.caller_mp is not None and training.answerer_mp is not None
    assert training.caller_mp_bits is not None and training.answerer_mp_bits is not None
    run.step(
        CALLER,
        "MP",
        "caller's rates",
        octets=_bits(training.caller_mp_bits),
        rates=(training.caller_mp.max_call_to_answer, training.caller_mp.max_answer_to_call),
    )
    run.step(
        ANSWERER,
        "MP",
        "answerer's rates",
        octets=_bits(training.answerer_mp_bits),
        rates=(training.answerer_mp.max_call_to_answer, training.answerer_mp.max_answer_to_call),
    )
    run.t += V34_PHASE4 + latency
    up, down = training.call_to_answer, training.answer_to_call
    run.step(
        ANSWERER, "trained", f"V.34 {up}/{down} at {training.symbol_rate} Bd", rates=(up, down)
    )
    return Agreement("V34", up, down, symbol_rate=training.symbol_rate)


def _bits(bits: str) -> bytes:
    """A bit string packed into octets (first bit in the MSB) for the event log."""
    padded = bits + "0" * (-len(bits) % 8)
    return int(padded, 2).to_bytes(len(padded) // 8, "big") if padded else b""


def pcm_rate(snr_db: float, low: int, high: int) -> int:
    """A PCM rate in 8000/6 steps above `low`, as far as the line allows (heuristic)."""
    if snr_db < PCM_MIN_SNR:
        return 0
    steps = int((snr_db - PCM_MIN_SNR) * PCM_STEPS_PER_DB)
    return min(high, low + steps * 8000 // 6)


def _train_pcm(run: _Run, carrier: str) -> Agreement | None:
    """V.90/V.92: PCM towards the analogue end, only with a digital answerer (§2, §7)."""
    if not run.answerer.digital or run.caller.digital:
        run.step(ANSWERER, "no PCM", "V.90 needs a digital answerer")
        return None
    base = _train_v34(run, run.line.snr_db)
    if base is None:
        return None
    down = min(pcm_rate(run.line.snr_db, 28000, PCM_DOWN_MAX), run.caller.max_rate)
    if not down:
        run.step(ANSWERER, "no PCM", "the line has more than one A/D conversion or is too poor")
        return None
    up = base.call_to_answer
    if carrier == "V92":
        up = max(up, pcm_rate(run.line.snr_db, PCM_UP_MIN, PCM_UP_MAX))
    run.step(ANSWERER, "digital impairment learning", "PCM levels and robbed bits")
    run.t += PCM_LEARNING + 2 * run.line.latency
    run.step(ANSWERER, "trained", f"{carrier} {down} down / {up} up", rates=(up, down))
    return Agreement(carrier, up, down, symbol_rate=base.symbol_rate)


# -- error control and compression -------------------------------------------------


def _error_control(run: _Run, a: Agreement, lapm_agreed: bool) -> Agreement | None:
    caller, answerer = run.caller, run.answerer
    both = [p for p in caller.error_control if p in answerer.error_control]
    required = caller.ec_required or answerer.ec_required
    latency = run.line.latency
    protocol: str | None = None
    if lapm_agreed and "LAPM" in both:
        run.step(CALLER, "V.42 detection skipped", "V.8 agreed LAPM")
        protocol = "LAPM"
    elif caller.error_control:
        run.step(CALLER, "ODP", "originator detection pattern", octets=ODP)
        run.t += ODP_SECONDS + 2 * latency
        if "LAPM" in both:
            run.step(ANSWERER, "ADP", "LAPM supported", octets=ADP_LAPM)
            protocol = "LAPM"
        else:
            run.t += T400
            run.step(CALLER, "T400", "no ADP: trying MNP")
            if "MNP" in both:
                protocol = "MNP"
    elif answerer.error_control:
        run.t += T400
        run.step(ANSWERER, "no ODP", "the caller has no error control")
    if protocol == "LAPM":
        compression = "V42B" if _both(run, "V42B") else None
        run.t += LAPM_SETUP + 2 * latency
        run.step(CALLER, "XID", "LAPM parameters" + (", V.42bis" if compression else ""))
        run.step(ANSWERER, "UA", "LAPM up")
        return _with(a, protocol, compression)
    if protocol == "MNP":
        compression = "MNP5" if _both(run, "MNP5") else None
        run.t += MNP_SETUP + 2 * latency
        run.step(CALLER, "LR", "MNP link request" + (", class 5" if compression else ""))
        run.step(ANSWERER, "LA", "MNP up")
        return _with(a, protocol, compression)
    if required:
        return None
    run.step(ANSWERER, "no error control", "buffered (normal) mode")
    return a


def _both(run: _Run, compression: str) -> bool:
    return compression in run.caller.compression and compression in run.answerer.compression


def _with(a: Agreement, protocol: str, compression: str | None) -> Agreement:
    return replace(a, error_control=protocol, compression=compression)


# -- retraining ----------------------------------------------------------------------

RETRAIN_SECONDS = {"V22B": 0.8, "V32": 1.5, "V32B": 1.5, "V34": 2.5, "V90": 3.0, "V92": 3.0}


def retrain(
    a: Agreement, caller: LineCaps, answerer: LineCaps, line: LineQuality
) -> Agreement | None:
    """The link after the line changed: the same carrier at the rates it now carries.

    None when the carrier no longer trains at all (the modems hang up). The
    result equals `a` when the rates stay.
    """
    run = _Run(caller, answerer, line)
    trained = _train(run, a.carrier)
    if trained is None:
        return None
    return replace(trained, error_control=a.error_control, compression=a.compression)


# -- noise -----------------------------------------------------------------------------

_V34_SNR = {2400: 13.75, 4800: 16.75, 7200: 19.75, 9600: 22.75, 12000: 26.0, 14400: 29.0}


def snr_needed(carrier: str, rate: int) -> float:
    """The SNR a receiver needs to train `carrier` at `rate` (the thresholds above)."""
    if carrier in ("V34", "V90", "V92"):
        if rate > 33600:  # PCM
            return PCM_MIN_SNR + (rate - 28000) * 6 / 8000 / PCM_STEPS_PER_DB
        if rate in _V34_SNR:
            return _V34_SNR[rate]
        return 29.0 + (rate - 14400) / 2400 * 1.125
    if carrier in ("V32", "V32B"):
        return v32bis.SELECT_SNR.get(rate, 16.75)
    return LOW_SPEED_SNR[rate if rate in LOW_SPEED_SNR else 1200]


def line_ber(a: Agreement, line: LineQuality, toward_caller: bool) -> float:
    """Bit errors one direction sees: the line's fixed BER, or one from the SNR margin."""
    if line.ber is not None:
        return line.ber
    rate = a.answer_to_call if toward_caller else a.call_to_answer
    return ber_from_margin(line.snr_db - snr_needed(a.carrier, rate))
