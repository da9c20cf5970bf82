"""ITU-T V.8 at message level: CM/JM category octets, the joint menu, the pick.

No audio here. A CM or JM is the octet string a V.21 demodulator hands over
after the CM/JM sync octet; this module builds and parses those octets,
intersects a CM with what the answerer can do (that is the JM), picks the mode
both ends then start, and accepts received messages the way spandsp and
linmodem do: on the second identical copy in a row.

Facts and section numbers (§) are from shared/reference/v-series.md. Where the
reference is silent, the choice made is stated next to the code.

V.8 speaks in modulation-mode bits, the project in +MS carrier names. Some bits
stand for a family ("V.32/V.32bis", "V.22/V.22bis", "PCM (V.90/V.92)"), so a
parsed offer names the whole family; carriers V.8 has no bit for (B103, B212)
never reach the octets.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import IntEnum
from types import MappingProxyType

from modememu.events import Event
from modememu.profiles import CARRIERS, Profile

# -- timings (seconds; t = 0 at answer unless said otherwise) -------------------

ANSAM_START = 0.20  # §1.4 answerer 1 and measured table: 0.2 s silence, then ANSam/
ANSAM_MAX = 5.0  # §1.4 answerer 1: ANSam/ for up to 5 s
ANSAM_REVERSAL = 0.450  # §1.1: ANSam/ reverses phase every 450 ±25 ms
ANSAM_DETECTED = 1.54  # §1.4 measured: the caller detects ANSam/ (≈3 reversals)
TE_MIN = 0.5  # §1.4 caller 2: Te ≥ 0.5 s after ANSam before CM (V.8/8.1.1)
TE = 1.0  # §1.4 caller 2: Te recommended 1 s (spandsp; linmodem uses 0.8 s)
CM_START = 2.55  # §1.4 measured: CM starts (≈ ANSAM_DETECTED + TE)
CM_ACCEPTED = 3.30  # §1.4 measured: answerer accepts CM #2, ANSam stops, JM starts
JM_ACCEPTED = 3.92  # §1.4 measured: caller accepts JM #2 and sends CJ
CJ_DETECTED = 4.28  # §1.4 measured: answerer sees CJ
V8_DONE = 4.30  # §1.4 measured and §2.5: both ends report V.8 done ≈4.3 s after answer
CJ_SILENCE = 0.075  # §1.4 caller 4 / answerer 3: 75 ms silence after CJ, then the modulation
MESSAGE_TIMEOUT = 5.0  # §1.4: CM until two JMs, JM until CJ, each gives up after 5 s
NO_CM_TIMEOUT = 5.2  # §1.5: an answerer with no CM within 5.2 s reports FAILED (spandsp)
CI_DELAY = 1.0  # §1.4 caller 1: optional CI starts after 1 s ...
CI_BURST = 4  # ... in bursts of 4 CI (the spec requires at least 3) ...
CI_OFF = 0.5  # ... each followed by 0.5 s off ...
CI_MAX_BURSTS = 10  # ... at most 10 bursts

V21_BIT_RATE = 300  # §1.1: CI/CM/JM/CJ travel as V.21 at 300 bit/s
PREAMBLE_BITS = 10  # §1.2: ten 1s before the sync octet

# -- octet layout (§1.2, §1.3) ---------------------------------------------------


class Sync(IntEnum):
    """The sync octet after the preamble; it says what kind of message follows (§1.2)."""

    CI = 0x00
    CM_JM = 0xE0
    V92 = 0x55  # V.8 (2000): followed by one V.92 octet, whose content §1 does not give


class CallFunction(IntEnum):
    """The call function category's 3-bit value (§1.3)."""

    TBS = 0
    H324 = 1
    V18 = 2
    T101 = 3
    T30_TX = 4
    T30_RX = 5
    DATA = 6  # V-series data: 0xC1
    EXTENSION = 7


# A category octet: tag in the low 5 bits, value in the top 3 (§1.3).
TAG_MASK = 0x1F
VALUE_SHIFT = 5
TAG_CALL_FUNCTION = 0x01
TAG_MODULATION = 0x05
TAG_PCM_AVAILABILITY = 0x07
TAG_PROTOCOLS = 0x0A
TAG_PSTN_ACCESS = 0x0D
TAG_T66 = 0x0E  # reserved: skipped on receive, never sent
TAG_NSF = 0x0F  # non-standard facilities: skipped on receive, never sent
# An octet with (o & 0x38) == 0x10 extends the previous category (§1.3).
EXTENSION_MASK = 0x38
EXTENSION = 0x10
EXTENSION_VALUE_BITS = 0xC7  # the bits an extension octet may carry (all but 0x38)
PROTOCOL_NONE = 0
PROTOCOL_LAPM = 1  # 0x2A on the line
CJ = bytes(3)  # §1.2: CJ is three successive 0x00 octets (spandsp sends no preamble)


@dataclass(frozen=True, slots=True)
class Mode:
    """One modulation-mode bit: where V.8 puts it and which +MS carriers it stands for."""

    label: str  # V.8's name, as the reference's table spells it
    octet: int  # 0 = modn0 (the tagged octet), 1 = modn1, 2 = modn2 (extensions)
    bit: int
    carriers: tuple[str, ...]  # empty: no +MS carrier name (fax or half-duplex modes)


# §1.3 modn0/modn1/modn2.
MODES: tuple[Mode, ...] = (
    Mode("PCM (V.90/V.92)", 0, 0x20, ("V90", "V92")),
    Mode("V.34 duplex", 0, 0x40, ("V34",)),
    Mode("V.34 half-duplex", 0, 0x80, ()),
    Mode("V.32/V.32bis", 1, 0x01, ("V32", "V32B")),
    Mode("V.22/V.22bis", 1, 0x02, ("V22", "V22B")),
    Mode("V.17", 1, 0x04, ()),
    Mode("V.29", 1, 0x40, ()),
    Mode("V.27ter", 1, 0x80, ()),
    Mode("V.26ter", 2, 0x01, ()),
    Mode("V.26bis", 2, 0x02, ()),
    Mode("V.23", 2, 0x04, ("V23C",)),
    Mode("V.23 half-duplex", 2, 0x40, ()),
    Mode("V.21", 2, 0x80, ("V21",)),
)
MODN_OCTETS_MAX = 3
MODE_BY_LABEL: Mapping[str, Mode] = MappingProxyType({m.label: m for m in MODES})
# Carriers V.8 can name; B103 and B212 (Bell) cannot be.
EXPRESSIBLE: frozenset[str] = frozenset(c for m in MODES for c in m.carriers)
OTHER_MODES: frozenset[str] = frozenset(m.label for m in MODES if not m.carriers)

# §1.3 last paragraph: V.90 > V.34 > V.32bis > V.23 > V.21 (spandsp), with V.22bis put
# after V.32bis. A family bit is started as its top member; V.92 is never picked,
# because telling it from V.90 takes the V.92 message (§1.2), not the category octets.
PREFERENCE: tuple[tuple[str, str], ...] = (
    ("PCM (V.90/V.92)", "V90"),
    ("V.34 duplex", "V34"),
    ("V.32/V.32bis", "V32B"),
    ("V.22/V.22bis", "V22B"),
    ("V.23", "V23C"),
    ("V.21", "V21"),
)

# §1.3 PCM availability (tag 0x07) and PSTN access (tag 0x0D) value bits.
PCM_AVAILABILITY: tuple[tuple[str, int], ...] = (
    ("analog", 0x20),  # V.90/V.92 analogue (client) modem
    ("digital", 0x40),  # V.90/V.92 digital (server) modem
    ("v91", 0x80),
)
PSTN_ACCESS: tuple[tuple[str, int], ...] = (
    ("caller-cellular", 0x20),
    ("answerer-cellular", 0x40),
    ("digital-network", 0x80),  # DCE on a digital network
)
_PCM_NAMES = frozenset(name for name, _ in PCM_AVAILABILITY)
_PSTN_NAMES = frozenset(name for name, _ in PSTN_ACCESS)
_NONE: frozenset[str] = frozenset()

# Why parse_message refused a message (V8Malformed.reason).
EMPTY = "empty message"
NO_CALL_FUNCTION = "does not start with the call function category"
NO_MODULATIONS = "no modulation modes category"
REPEATED_CATEGORY = "a category appears twice"
HOLDS_CJ = "holds CJ (three 0x00 octets), not a CM/JM"


# -- the offer -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class V8Offer:
    """What one CM or JM says.

    `modulations` are +MS carrier names; any of `CARRIERS` may be given (a
    profile's list as is), only the `EXPRESSIBLE` ones reach the octets, and a
    parsed offer names every member of each family bit. `other_modes` holds the
    labels of V.8 modes with no carrier name (`OTHER_MODES`: fax, half-duplex),
    so a message round-trips. `modn_octets` is how many modulation octets the
    message has (1-3); a JM must repeat the CM's count.
    """

    modulations: frozenset[str] = _NONE
    lapm: bool = False
    call_function: CallFunction = CallFunction.DATA
    other_modes: frozenset[str] = _NONE
    pcm: frozenset[str] = _NONE  # names from PCM_AVAILABILITY
    pstn_access: frozenset[str] = _NONE  # names from PSTN_ACCESS
    modn_octets: int = MODN_OCTETS_MAX

    def __post_init__(self) -> None:
        for name, allowed in (
            ("modulations", frozenset(CARRIERS)),
            ("other_modes", OTHER_MODES),
            ("pcm", _PCM_NAMES),
            ("pstn_access", _PSTN_NAMES),
        ):
            value = getattr(self, name)
            if isinstance(value, str | bytes):
                raise ValueError(f"{name} must be a set of names, not {value!r}")
            value = frozenset(value)  # a set or list given by the caller
            if unknown := value - allowed:
                raise ValueError(f"unknown {name}: {', '.join(sorted(unknown))}")
            object.__setattr__(self, name, value)
        object.__setattr__(self, "call_function", CallFunction(self.call_function))
        if not 1 <= self.modn_octets <= MODN_OCTETS_MAX:
            raise ValueError(f"modn_octets must be 1-{MODN_OCTETS_MAX}, not {self.modn_octets}")
        masks = self.masks
        needed = max((i + 1 for i, m in enumerate(masks) if m), default=1)
        if needed > self.modn_octets:
            raise ValueError(f"these modes need {needed} modulation octets, not {self.modn_octets}")

    @property
    def masks(self) -> tuple[int, int, int]:
        """The modn0, modn1, modn2 value bits (without tag or extension marker)."""
        masks = [0, 0, 0]
        for mode in MODES:
            if mode.label in self.other_modes or not self.modulations.isdisjoint(mode.carriers):
                masks[mode.octet] |= mode.bit
        return masks[0], masks[1], masks[2]

    def normalized(self) -> V8Offer:
        """This offer as the far end will parse it: families whole, Bell modes gone."""
        carriers, others = _modes(self.masks)
        return replace(self, modulations=carriers, other_modes=others)


def _modes(masks: Iterable[int]) -> tuple[frozenset[str], frozenset[str]]:
    """The carriers and other mode labels that modn0, modn1, ... masks name."""
    masks = tuple(masks)
    carriers: set[str] = set()
    others: set[str] = set()
    for mode in MODES:
        if mode.octet < len(masks) and masks[mode.octet] & mode.bit:
            carriers.update(mode.carriers)
            if not mode.carriers:
                others.add(mode.label)
    return frozenset(carriers), frozenset(others)


def offer_for(
    modulations: Iterable[str],
    *,
    lapm: bool,
    digital: bool = False,
    modn_octets: int = MODN_OCTETS_MAX,
) -> V8Offer:
    """The offer of a modem with these carriers; a PCM modem is a client unless `digital`."""
    carriers = frozenset(modulations)
    pcm = _NONE
    if carriers & {"V90", "V92"}:
        pcm = frozenset({"digital" if digital else "analog"})
    return V8Offer(modulations=carriers, lapm=lapm, pcm=pcm, modn_octets=modn_octets)


def offer_from_profile(profile: Profile) -> V8Offer:
    """What a modem with this firmware profile puts in its CM or JM."""
    return offer_for(
        profile.modulations, lapm="LAPM" in profile.error_control, digital=profile.digital
    )


# -- building --------------------------------------------------------------------


def _flags(names: frozenset[str], table: tuple[tuple[str, int], ...]) -> int:
    return sum(bit for name, bit in table if name in names)


def build_cm(offer: V8Offer) -> bytes:
    """The category octets of one CM, in spandsp's order, without preamble and sync.

    Protocols, PSTN access and PCM availability are left out when empty, as
    spandsp does (none of §1.3's examples carries a "protocol none" octet).
    """
    masks = offer.masks
    out = bytearray(
        (
            offer.call_function << VALUE_SHIFT | TAG_CALL_FUNCTION,
            masks[0] | TAG_MODULATION,
        )
    )
    out += bytes(EXTENSION | m for m in masks[1 : offer.modn_octets])
    if offer.lapm:
        out.append(PROTOCOL_LAPM << VALUE_SHIFT | TAG_PROTOCOLS)
    if pstn := _flags(offer.pstn_access, PSTN_ACCESS):
        out.append(pstn | TAG_PSTN_ACCESS)
    if pcm := _flags(offer.pcm, PCM_AVAILABILITY):
        out.append(pcm | TAG_PCM_AVAILABILITY)
    return bytes(out)


def build_jm(offer: V8Offer) -> bytes:
    """The category octets of one JM: the same layout as CM (§1.1)."""
    return build_cm(offer)


def build_ci(call_function: CallFunction = CallFunction.DATA) -> bytes:
    """The one octet of a CI: the call function (§1.1)."""
    return bytes((CallFunction(call_function) << VALUE_SHIFT | TAG_CALL_FUNCTION,))


def frame(message: bytes, kind: Sync) -> bytes:
    """The octets the async V.21 transmitter sends: the sync octet, then the message.

    The preamble is ten 1 bits (§1.2), not an octet: on an async line it is one
    character time of idle mark before the sync's start bit. `line_bits` draws it.
    """
    return bytes((Sync(kind),)) + bytes(message)


def line_bits(octets: bytes, *, preamble: bool = True) -> str:
    """Octets as '0'/'1' in line order: start 0, data LSB first, stop 1 (§ conventions)."""
    head = "1" * PREAMBLE_BITS if preamble else ""
    return head + "".join("0" + f"{octet:08b}"[::-1] + "1" for octet in octets)


def line_seconds(octets: bytes, *, preamble: bool = True) -> float:
    """How long these octets take at V.21's 300 bit/s (a 5-octet CM framed: 233 ms, §1.4)."""
    return len(line_bits(octets, preamble=preamble)) / V21_BIT_RATE


# -- parsing ---------------------------------------------------------------------


def is_cj(message: bytes) -> bool:
    """Whether the octets hold CJ: three successive 0x00 (§1.2)."""
    return CJ in message


def decode(message: bytes) -> V8Offer | str:
    """The offer a CM/JM carries, or why it is malformed (one of the reason constants)."""
    data = bytes(message)
    if not data:
        return EMPTY
    if is_cj(data):
        return HOLDS_CJ
    if data[0] & TAG_MASK != TAG_CALL_FUNCTION:
        return NO_CALL_FUNCTION
    seen: set[int] = set()
    call_function = CallFunction.DATA
    masks: tuple[int, ...] = ()
    lapm = False
    pcm = pstn = 0
    at = 0
    while at < len(data):
        octet = data[at]
        at += 1
        start = at
        while at < len(data) and data[at] & EXTENSION_MASK == EXTENSION:
            at += 1
        extensions = data[start:at]  # unknown ones are skipped (§1.3, spandsp)
        tag, value = octet & TAG_MASK, octet >> VALUE_SHIFT
        if tag in seen:
            return REPEATED_CATEGORY
        if tag == TAG_CALL_FUNCTION:
            call_function = CallFunction(value)
        elif tag == TAG_MODULATION:
            extra = extensions[: MODN_OCTETS_MAX - 1]
            masks = (octet & ~TAG_MASK, *(e & EXTENSION_VALUE_BITS for e in extra))
        elif tag == TAG_PROTOCOLS:
            lapm = value == PROTOCOL_LAPM  # 0 none; reserved values are not LAPM either
        elif tag == TAG_PSTN_ACCESS:
            pstn = octet
        elif tag == TAG_PCM_AVAILABILITY:
            pcm = octet
        else:
            continue  # T.66, NSF and unknown categories: skipped, may repeat
        seen.add(tag)
    if not masks:
        return NO_MODULATIONS
    carriers, others = _modes(masks)
    return V8Offer(
        modulations=carriers,
        lapm=lapm,
        call_function=call_function,
        other_modes=others,
        pcm=frozenset(name for name, bit in PCM_AVAILABILITY if pcm & bit),
        pstn_access=frozenset(name for name, bit in PSTN_ACCESS if pstn & bit),
        modn_octets=len(masks),
    )


def parse_message(data: bytes) -> V8Offer | None:
    """The offer a CM/JM carries, or None for anything malformed; never raises."""
    decoded = decode(data)
    return None if isinstance(decoded, str) else decoded


# -- negotiation -----------------------------------------------------------------


def _pcm_pair(cm: V8Offer, answerer: V8Offer) -> bool:
    """V.90/V.92 runs between one analogue and one digital modem (§7: 'needs a digital far end')."""
    return ("analog" in cm.pcm and "digital" in answerer.pcm) or (
        "digital" in cm.pcm and "analog" in answerer.pcm
    )


def joint_menu(cm: V8Offer, answerer: V8Offer) -> V8Offer:
    """The JM an answerer sends for this CM (§1.3 answerer rules).

    Modes are the bitwise intersection, in as many modulation octets as the CM
    had; LAPM only if both offer it. The PCM bit survives only for an analogue/
    digital pair. PCM availability and PSTN access describe the sender, so they
    are the answerer's own (spandsp builds them from its own parameters). The
    call function is the CM's: whether to go on with, say, a fax call is the
    caller's decision (compare `cm.call_function`).
    """
    masks = [c & a for c, a in zip(cm.masks, answerer.masks, strict=True)]
    if not _pcm_pair(cm, answerer):
        masks[0] &= ~MODE_BY_LABEL["PCM (V.90/V.92)"].bit
    carriers, others = _modes(masks)
    return replace(
        cm,
        modulations=carriers,
        other_modes=others,
        lapm=cm.lapm and answerer.lapm,
        pcm=answerer.pcm,
        pstn_access=answerer.pstn_access,
    )


def highest_common_mode(jm: V8Offer) -> str | None:
    """The carrier both ends start after this JM, by `PREFERENCE`; None if none fits.

    PCM counts only when the JM's PCM availability names an analogue or digital
    modem. Only a V-series data call picks a data mode.
    """
    if jm.call_function is not CallFunction.DATA:
        return None
    masks = jm.masks
    for label, carrier in PREFERENCE:
        mode = MODE_BY_LABEL[label]
        if not masks[mode.octet] & mode.bit:
            continue
        if carrier == "V90" and not jm.pcm & {"analog", "digital"}:
            continue
        return carrier
    return None


# -- receiving -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class V8Malformed(Event):
    """A received CM/JM was refused; `count` is the total refused so far."""

    reason: str
    count: int


class V8Receiver:
    """Accepts CMs or JMs from a demodulator, one message (after its sync) per `feed`.

    A message counts on its second identical copy in a row (§1.2, as spandsp
    and linmodem compare raw octets); any other message starts the count again.
    Three 0x00 octets are CJ: noted in `cj_seen`, not counted as malformed.
    """

    def __init__(self) -> None:
        self.malformed = 0
        self.cj_seen = False
        self.accepted: V8Offer | None = None
        self.accepted_at: float | None = None
        self._last: bytes | None = None
        self._copies = 0
        self._now: float | None = None
        self._events: deque[V8Malformed] = deque()

    def next_event(self) -> V8Malformed | None:
        return self._events.popleft() if self._events else None

    def reset(self) -> None:
        """Forget the copy being counted and any CJ (a new V.8 phase)."""
        self._last = None
        self._copies = 0
        self.cj_seen = False

    def feed(self, message: bytes, now: float) -> V8Offer | None:
        """The offer when this is its second identical copy in a row, else None."""
        if self._now is not None and now < self._now:
            raise ValueError(f"time went backwards: {now} after {self._now}")
        self._now = now
        data = bytes(message)
        if is_cj(data):
            self.cj_seen = True
            self._last, self._copies = None, 0
            return None
        decoded = decode(data)
        if isinstance(decoded, str):
            self.malformed += 1
            self._events.append(V8Malformed(decoded, self.malformed))
            self._last, self._copies = None, 0
            return None
        if data != self._last:
            self._last, self._copies = data, 1
            return None
        self._copies += 1
        if self._copies != 2:
            return None  # a third copy adds nothing
        self.accepted, self.accepted_at = decoded, now
        return decoded
