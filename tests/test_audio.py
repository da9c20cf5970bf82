"""The sound of a call: decoded by real programs (multimon-ng, minimodem) and measured.

The peers check what no self-test can: that the DTMF digits are the dialed
number and that the V.21 FSK carries the very CM and JM octets the negotiation
chose, framed as V.8 frames them. Goertzel measurements check the tones.
"""

from __future__ import annotations

import ast
import itertools
import math
import subprocess
import sys
import wave
from array import array
from collections.abc import Sequence
from pathlib import Path

import pytest
from callrig import Rig
from serving import require, start_modem

from modememu.audio import pcm, signals
from modememu.audio.dteview import connect_rate, dte_call, training_for
from modememu.audio.framing import V21_CH1, async_bits, cj_bits, v8_message
from modememu.audio.measure import goertzel, onsets, rms
from modememu.audio.pcm import RATE, add, samples, tile
from modememu.audio.render import Rendered, render_call
from modememu.audio.schedule import (
    ANSWERER,
    CALLER,
    DIRECTIONS,
    Options,
    data_signal,
    plan,
)
from modememu.audio.wav import side_paths, write_call, write_wav
from modememu.callcmd import ANSWERER_NUMBER, CallResult, call_audio, run_call
from modememu.events import Event, Stamped
from modememu.modem.dialstring import parse_dialstring
from modememu.modem.events import CallEnded, CallProgress, Connected, HandshakeStep
from modememu.replay import records

CALL = [sys.executable, "-m", "modememu.cli", "call"]
CALL += ["--from", "usr-courier-v34", "--to", "usr-courier-v34"]
AUDIO = Path(__import__("modememu.audio").audio.__file__).parent


@pytest.fixture(scope="module")
def v34_call() -> CallResult:
    result = run_call("usr-courier-v34", "usr-courier-v34")
    assert result.connected
    return result


@pytest.fixture(scope="module")
def v34_audio(v34_call: CallResult) -> Rendered:
    return call_audio(v34_call)


@pytest.fixture(scope="module")
def v34_wavs(v34_audio: Rendered, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audio") / "call.wav"
    write_call(path, v34_audio)
    return path


def step(result: CallResult, name: str) -> HandshakeStep:
    return next(e for e in result.events if e.name == name)


def at(result: CallResult, name: str) -> float:
    """Seconds into the audio when handshake step `name` happened."""
    t0 = min(s.time for s in result.stamped)
    return next(
        s.time - t0
        for s in result.stamped
        if isinstance(s.event, HandshakeStep) and s.event.name == name
    )


def window(track: array[int], start: float, seconds: float) -> array[int]:
    return track[samples(start) : samples(start + seconds)]


# ----- the real decoders -----


def minimodem_octets(path: Path, mark: int, space: int) -> list[int]:
    """Octets minimodem hears at 300 bit/s (its binary output is LSB first)."""
    out = subprocess.run(
        [
            *(require("minimodem"), "--rx", "300", "-M", str(mark), "-S", str(space)),
            *("--binary-output", "-q", "-f", str(path)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return [int(line[::-1], 2) for line in out.split() if len(line) == 8]


def contains(haystack: Sequence[int], needle: Sequence[int]) -> int:
    """How many times `needle` occurs in `haystack`."""
    n = len(needle)
    return sum(list(haystack[i : i + n]) == list(needle) for i in range(len(haystack) - n + 1))


def multimon_digits(path: Path) -> str:
    """The DTMF digits multimon-ng hears in a WAV file."""
    require("sox")  # multimon-ng reads WAV through sox
    out = subprocess.run(
        [require("multimon-ng"), "-q", "-c", "-a", "DTMF", "-t", "wav", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return "".join(line.split(":")[1].strip() for line in out.splitlines() if "DTMF:" in line)


def test_multimon_ng_hears_the_dialed_number(v34_wavs: Path) -> None:
    assert multimon_digits(v34_wavs) == ANSWERER_NUMBER


def test_multimon_ng_hears_the_digits_on_the_callers_track_too(v34_wavs: Path) -> None:
    caller, _ = side_paths(v34_wavs)
    raw = caller.with_suffix(".raw")
    require("sox")
    subprocess.run(
        [
            *(require("sox"), str(caller), "-t", "raw", "-r", "22050"),
            *("-e", "signed", "-b", "16", "-c", "1", str(raw)),
        ],
        check=True,
        timeout=60,
    )
    out = subprocess.run(
        [require("multimon-ng"), "-q", "-c", "-a", "DTMF", "-t", "raw", str(raw)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert out.split().count("DTMF:") == len(ANSWERER_NUMBER)


def test_minimodem_decodes_the_cm_the_caller_sent(v34_call: CallResult, v34_wavs: Path) -> None:
    cm = step(v34_call, "CM").octets
    assert cm[0] == 0xC1  # V-series data
    caller, _ = side_paths(v34_wavs)
    heard = minimodem_octets(caller, *V21_CH1)
    assert contains(heard, [0xE0, *cm]) >= 2  # the answerer needs two identical copies
    cj = next(i for i in range(len(heard)) if heard[i : i + 3] == [0, 0, 0])
    assert 0xE0 not in heard[cj:]  # CJ ends the menus: no CM after it
    assert contains(heard[:cj], [0xE0, *cm]) == contains(heard, [0xE0, *cm])


def test_minimodem_decodes_the_jm_the_answerer_chose(v34_call: CallResult, v34_wavs: Path) -> None:
    jm = step(v34_call, "JM").octets
    _, answerer = side_paths(v34_wavs)
    heard = minimodem_octets(answerer, 1650, 1850)
    assert contains(heard, [0xE0, *jm]) >= 2
    assert 0xE0 in heard and heard.index(0xE0) <= 1


def test_minimodem_hears_the_cm_in_the_speakers_mix(v34_call: CallResult, v34_wavs: Path) -> None:
    cm = step(v34_call, "CM").octets
    assert contains(minimodem_octets(v34_wavs, *V21_CH1), [0xE0, *cm]) >= 2


def test_a_v90_client_cm_is_what_minimodem_hears() -> None:
    result = run_call("usr-sportster-56k", "conexant-v92")
    cm = step(result, "CM").octets
    rendered = call_audio(result)
    assert cm and len(rendered.caller) == len(rendered.answerer) == len(rendered.mix)


# ----- tones measured -----


def test_dial_tone_is_350_plus_440(v34_audio: Rendered) -> None:
    block = window(v34_audio.answerer, 0.5, 1.0)
    assert goertzel(block, 350) > 2000 and goertzel(block, 440) > 2000
    for other in (480, 620, 697, 1209, 2100):
        assert goertzel(block, other) < 50


def test_the_digits_come_after_the_dial_tone_on_the_callers_line(
    v34_call: CallResult, v34_audio: Rendered
) -> None:
    t0 = min(s.time for s in v34_call.stamped)
    placed = next(
        s.time - t0
        for s in v34_call.stamped
        if isinstance(s.event, CallProgress) and s.event.step == "placed"
    )
    first = placed - len(ANSWERER_NUMBER) * 0.140
    tone = window(v34_audio.caller, first + 0.010, 0.050)  # "5": 770 + 1336 Hz
    assert goertzel(tone, 770) > 3000 and goertzel(tone, 1336) > 3000
    assert rms(window(v34_audio.caller, first + 0.075, 0.060)) == 0  # the gap
    assert rms(window(v34_audio.answerer, first + 0.01, 0.5)) == 0  # dial tone stopped


def test_ansam_is_2100_hz_with_a_15_hz_envelope(v34_call: CallResult, v34_audio: Rendered) -> None:
    start = at(v34_call, "ANSam")
    block = window(v34_audio.answerer, start + 0.02, 0.42)  # inside one reversal slot
    assert goertzel(block, 2100) > 3000
    assert goertzel(block, 1650) < 100 and goertzel(block, 2225) < 100
    envelope = [abs(x) for x in window(v34_audio.answerer, start + 0.1, 1.0)]
    at15 = goertzel(envelope, 15)
    assert at15 > 5 * max(goertzel(envelope, f) for f in (7, 10, 20, 30))
    # 0.8..1.2 of the mean: the 15 Hz part of |x| is 0.2 of its mean.
    assert at15 / (sum(envelope) / len(envelope)) == pytest.approx(0.2, rel=0.1)


def carrier_phase(block: Sequence[int], freq: float, first: int) -> float:
    """The phase of `freq` in `block`, on a reference running from sample 0 of the track."""
    w = 2 * math.pi * freq / RATE
    re = sum(x * math.cos(w * (first + i)) for i, x in enumerate(block))
    im = sum(x * math.sin(w * (first + i)) for i, x in enumerate(block))
    return math.atan2(im, re)


def test_ansam_reverses_its_phase_every_450_ms(v34_call: CallResult, v34_audio: Rendered) -> None:
    start = samples(at(v34_call, "ANSam"))
    slot = samples(0.450)
    phases = [
        carrier_phase(v34_audio.answerer[a : a + 1600], 2100, a)
        for a in range(start + 1000, start + 1000 + 5 * slot, slot)
    ]
    for p, q in itertools.pairwise(phases):
        turn = abs((q - p + math.pi) % (2 * math.pi) - math.pi)
        assert turn == pytest.approx(math.pi, abs=0.1)


def test_ansam_stops_when_jm_starts(v34_call: CallResult, v34_audio: Rendered) -> None:
    jm = at(v34_call, "JM")
    reversal = at(v34_call, "ANSam") + 0.450 * int((jm - at(v34_call, "ANSam")) / 0.450)
    before = window(v34_audio.answerer, max(reversal, jm - 0.3) + 0.01, 0.1)
    after = window(v34_audio.answerer, jm + 0.05, 0.25)
    assert goertzel(before, 2100) > 3000 > 10 * goertzel(after, 2100)
    assert goertzel(after, 1650) > 500 and rms(after) > 2000  # JM on V.21 channel 2


def stamped(*items: tuple[float, Event]) -> list[Stamped]:
    return [Stamped(t, CALLER, e) for t, e in items]


def on_off_runs(track: array[int], freqs: tuple[int, int], block: float = 0.05) -> list[float]:
    """Lengths in seconds of alternating runs of tone present / absent, first run on."""
    n = samples(block)
    present = [
        min(goertzel(track[i : i + n], f) for f in freqs) > 200 for i in range(0, len(track), n)
    ]
    runs: list[float] = []
    current, length = True, 0
    for p in present[present.index(True) :]:
        if p == current:
            length += 1
        else:
            runs.append(length * block)
            current, length = p, 1
    return runs


def test_ringback_is_440_plus_480_two_seconds_on_four_off() -> None:
    events = stamped(
        (0.0, CallProgress("dialing", "5551002")),
        (3.0, CallProgress("placed", "5551002")),
        (3.0, CallProgress("ringback")),
        (21.0, CallProgress("answered")),
    )
    rendered = render_call(events)
    track = rendered.answerer[samples(3.0) : samples(21.0)]
    assert goertzel(track[:8000], 440) > 500 and goertzel(track[:8000], 480) > 500
    assert goertzel(track[:8000], 350) < 50
    runs = on_off_runs(track, (440, 480))
    assert runs[:5] == pytest.approx([2.0, 4.0, 2.0, 4.0, 2.0], abs=0.051)
    assert rms(rendered.answerer[samples(21.0) :]) == 0


def test_busy_is_480_plus_620_half_a_second_each() -> None:
    events = stamped(
        (0.0, CallProgress("dialing", "5551002")),
        (3.0, CallProgress("placed", "5551002")),
        (3.0, CallProgress("busy")),
        (7.0, CallEnded("far end busy")),
    )
    track = render_call(events).answerer[samples(3.0) : samples(7.0)]
    assert on_off_runs(track, (480, 620))[:6] == pytest.approx([0.5] * 6, abs=0.051)


# ----- the renderer's layout -----


def test_tracks_line_up_and_the_mix_is_their_sum(v34_audio: Rendered) -> None:
    caller, answerer, mix = v34_audio.caller, v34_audio.answerer, v34_audio.mix
    assert len(caller) == len(answerer) == len(mix)
    cut = samples(9.0)
    assert list(mix[:cut]) == [a + b for a, b in zip(caller[:cut], answerer[:cut], strict=True)]


def test_speaker_settings_shape_the_mix(v34_call: CallResult) -> None:
    t0 = min(s.time for s in v34_call.stamped)
    connect = next(s.time - t0 for s in v34_call.stamped if isinstance(s.event, Connected))
    on = call_audio(v34_call, speaker=1)
    assert rms(window(on.mix, connect - 0.2, 0.2)) > 1000
    assert rms(on.mix[samples(connect) :]) == 0
    always = call_audio(v34_call, speaker=2, until=connect + 3.0)
    assert always.seconds == pytest.approx(connect + 3.0)
    assert rms(always.mix[samples(connect + 0.5) :]) > 1000  # data noise
    assert rms(call_audio(v34_call, speaker=0).mix) == 0
    m3 = call_audio(v34_call, speaker=3)
    assert rms(m3.mix[: samples(2.9)]) == 0 and rms(window(m3.mix, 4.0, 1.0)) > 1000


def test_segments_of_a_direction_never_overlap(v34_call: CallResult) -> None:
    p = plan(v34_call.stamped)
    for segments in (p.caller, p.answerer):
        for a, b in itertools.pairwise(segments):
            assert a.start <= a.end <= b.start


@pytest.mark.parametrize(
    ("caller", "answerer"),
    [
        ("hayes-smartmodem-1200", "usr-courier-v34"),
        ("hayes-smartmodem-2400", "zyxel-u1496e"),
        ("zyxel-u1496e", "zyxel-u1496e"),
        ("usr-sportster-56k", "conexant-v92"),
    ],
)
def test_every_handshake_has_a_sound_until_connect(caller: str, answerer: str) -> None:
    result = run_call(caller, answerer)
    assert result.connected
    rendered = call_audio(result)
    t0 = min(s.time for s in result.stamped)
    first = min(s.time - t0 for s in result.stamped if isinstance(s.event, HandshakeStep))
    connect = next(s.time - t0 for s in result.stamped if isinstance(s.event, Connected))
    answered = next(
        s.time - t0
        for s in result.stamped
        if isinstance(s.event, CallProgress) and s.event.step == "answered"
    )
    assert first - answered >= 0.2
    assert rms(window(rendered.mix, answered, first - answered)) == 0  # silence, then a tone
    seconds = [rms(window(rendered.mix, t, 0.5)) > 100 for t in _steps(first, connect - 0.5)]
    assert all(seconds), seconds
    assert max(map(abs, rendered.mix)) < 32767


def _steps(start: float, stop: float) -> list[float]:
    return [start + 0.5 * k for k in range(int((stop - start) / 0.5))]


@pytest.mark.parametrize("carrier", ["V34", "V90", "V32B", "V22B", "B212", "V21", "B103", "V23C"])
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_data_signals_sound_within_16_bits(carrier: str, direction: str) -> None:
    block = data_signal(carrier, direction, 3429).render(8000)
    assert len(block) == 8000
    assert rms(block) > 1000 and max(map(abs, block)) < 20000


# ----- generators -----


def test_v8_framing_matches_the_reference_line_order() -> None:
    assert async_bits([0xE0]) == (0, 0, 0, 0, 0, 0, 1, 1, 1, 1)  # 0 00000111 1
    assert v8_message(b"\xc1")[:10] == (1,) * 10
    assert len(v8_message(bytes(5))) == 70  # one 5-octet CM: 70 bits, 233 ms
    assert cj_bits() == async_bits([0, 0, 0])


def test_fsk_is_phase_continuous() -> None:
    fsk = signals.Fsk(async_bits(b"\x55\xaa"), *V21_CH1)
    out = fsk.render(samples(20 / 300))
    jumps = [abs(b - a) for a, b in itertools.pairwise(out)]
    amp = pcm.amplitude(-14.0)
    assert max(jumps) <= 2 * math.sin(math.pi * 1180 / RATE) * amp + 2


def test_dtmf_pairs_follow_the_keypad() -> None:
    assert signals.dtmf_pair("1") == (697, 1209)
    assert signals.dtmf_pair("0") == (941, 1336)
    assert signals.dtmf_pair("#") == (941, 1477)
    assert signals.dtmf_pair("d") == (941, 1633)
    with pytest.raises(ValueError):
        signals.dtmf_pair("E")


def test_tiling_and_mixing() -> None:
    period = array("h", [1, 2, 3])
    assert list(tile(period, 7, offset=1)) == [2, 3, 1, 2, 3, 1, 2]
    assert list(add(array("h", [30000, -30000, 5]), array("h", [30000, -30000]))) == [
        32767,
        -32768,
        5,
    ]
    assert pcm.periodic_length((350, 440)) == 800


def test_the_l1_l2_comb_keeps_its_peaks_low() -> None:
    block = signals.comb().render(1600)
    assert max(map(abs, block)) < 3.5 * rms(block)


def test_the_wav_writer_writes_8_khz_16_bit_mono(tmp_path: Path) -> None:
    pcm_in = array("h", [0, 1, -1, 32767, -32768])
    write_wav(tmp_path / "x.wav", pcm_in)
    with wave.open(str(tmp_path / "x.wav")) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)
        back = array("h", w.readframes(w.getnframes()))
    if sys.byteorder == "big":
        back.byteswap()
    assert back == pcm_in
    assert side_paths(tmp_path / "call.wav") == (
        tmp_path / "call-caller.wav",
        tmp_path / "call-answerer.wav",
    )


def test_call_wav_option_writes_the_mix_and_both_directions(tmp_path: Path) -> None:
    path = tmp_path / "v34.wav"
    done = subprocess.run(
        [*CALL, "--json", "--wav", str(path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    for p in (path, *side_paths(path)):
        with wave.open(str(p)) as w:
            assert w.getframerate() == 8000 and w.getnframes() > 8000 * 10


def test_call_wav_to_an_unwritable_place_is_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [*CALL, "--wav", str(tmp_path / "no" / "such.wav")],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1 and "cannot write" in done.stderr


def test_the_audio_renderer_does_no_io() -> None:
    io = {"asyncio", "socket", "serial", "textual", "selectors", "wave", "subprocess", "os"}
    for path in AUDIO.glob("*.py"):
        if path.name == "wav.py":
            continue
        tree = ast.parse(path.read_text())
        roots = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {
            node.module.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
        }
        assert not roots & io, (path.name, roots & io)
        modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not any(m.startswith(("modememu.drivers", "modememu.cli")) for m in modules)
        assert "open(" not in path.read_text()


def test_directions_are_named_for_the_files() -> None:
    assert DIRECTIONS == (CALLER, ANSWERER) == ("caller", "answerer")
    assert Options().speaker == 1


def test_demo_wav_holds_the_isp_number_and_the_callers_cm(tmp_path: Path) -> None:
    import io

    from modememu.dialup import PPP_NUMBER, DemoOptions, run_demo_session

    path = tmp_path / "demo.wav"
    assert run_demo_session(io.StringIO(), DemoOptions(fast=True, wav=path)) == 0
    caller, answerer = side_paths(path)
    for p in (path, caller, answerer):
        with wave.open(str(p)) as w:
            assert w.getframerate() == 8000 and w.getnframes() > 8000 * 5
    heard = minimodem_octets(caller, *V21_CH1)
    assert contains(heard, [0xE0, 0xC1]) >= 2
    require("sox")
    out = subprocess.run(
        [require("multimon-ng"), "-q", "-c", "-a", "DTMF", "-t", "wav", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "".join(out.replace("DTMF:", "").split()) == PPP_NUMBER


def test_demo_wav_to_an_unwritable_place_is_a_demo_error(tmp_path: Path) -> None:
    import io

    from modememu.dialup import DemoError, DemoOptions, run_demo_session

    with pytest.raises(DemoError, match="cannot write"):
        run_demo_session(io.StringIO(), DemoOptions(fast=True, wav=tmp_path / "no" / "x.wav"))


def test_cj_follows_the_last_whole_cm_character(v34_call: CallResult) -> None:
    fsk = [s for s in plan(v34_call.stamped).caller if isinstance(s.signal, signals.Fsk)]
    cm, cj = fsk[0], fsk[1]
    bits = (cj.start - cm.start) * 300
    assert bits == pytest.approx(round(bits)) and round(bits) % 10 == 0
    assert 0 <= cj.start - at(v34_call, "CJ") < 10 / 300


def test_v32bis_answerer_sends_ac_then_the_caller_aa() -> None:
    result = run_call("zyxel-u1496e", "zyxel-u1496e")
    rendered = call_audio(result)
    ac = window(rendered.answerer, at(result, "AC") + 0.02, 0.15)
    assert goertzel(ac, 600) > 3000 and goertzel(ac, 3000) > 3000
    aa = window(rendered.caller, at(result, "AA") + 0.02, 0.2)
    assert goertzel(aa, 1800) > 3000
    ans = window(rendered.answerer, at(result, "ANS") + 0.1, 1.0)  # V.25: plain 2100 Hz
    assert goertzel(ans, 2100) > 5000


def test_v22bis_data_has_its_carriers_and_the_guard_tone() -> None:
    answerer = data_signal("V22B", ANSWERER, None).render(8000)
    caller = data_signal("V22B", CALLER, None).render(8000)
    assert goertzel(answerer, 1800) > 500  # the guard tone
    band = [goertzel(answerer, f) for f in range(1900, 2901, 100)]
    assert sum(band) > 3 * sum(goertzel(answerer, f) for f in (600, 900, 1200))
    low = [goertzel(caller, f) for f in range(700, 1701, 100)]
    assert sum(low) > 3 * sum(goertzel(caller, f) for f in (2400, 2700, 3000))


# ----- pulse dialing -----

PULSED = "5551002"  # 0 is ten pulses


@pytest.fixture(scope="module")
def pulse_call() -> list[Stamped]:
    """Two modems on the virtual clock, the caller dialing ATDP."""
    rig = Rig()
    caller = rig.station(CALLER, "5551001")
    answerer = rig.station(ANSWERER, PULSED)
    answerer.at("ATS0=1")
    caller.at(f"ATDP{PULSED}")
    caller.wait_for(b"CONNECT")
    return rig.stamped


def progress_at(events: Sequence[Stamped], step: str) -> float:
    return next(
        s.time
        for s in events
        if s.source == CALLER and isinstance(s.event, CallProgress) and s.event.step == step
    )


def test_atdp_is_reported_as_pulse_dialing(pulse_call: list[Stamped]) -> None:
    dialing = next(s.event for s in pulse_call if isinstance(s.event, CallProgress))
    assert dialing == CallProgress("dialing", PULSED, pulse=True)
    assert parse_dialstring(PULSED, tone=False, s8=2, s11=70).pulse
    assert not parse_dialstring(PULSED, tone=True, s8=2, s11=70).pulse
    assert parse_dialstring("T9P55", tone=True, s8=2, s11=70).pulse  # the last digit's mode


def test_pulse_clicks_count_the_dialed_digits(pulse_call: list[Stamped]) -> None:
    rendered = render_call(pulse_call)
    placed = progress_at(pulse_call, "placed")
    clicks = [i / RATE for i in onsets(rendered.caller[: samples(placed)], 2000, samples(0.02))]
    digits: list[list[float]] = [[]]
    for t in clicks:
        if digits[-1] and t - digits[-1][-1] > 0.3:
            digits.append([])
        digits[-1].append(t)
    assert [len(d) // 2 for d in digits] == [int(c) or 10 for c in PULSED]
    for d in digits:
        assert len(d) % 2 == 0  # a click at the break and one at the make of each pulse
        breaks, makes = d[::2], d[1::2]
        assert [m - b for b, m in zip(breaks, makes, strict=True)] == pytest.approx(
            [0.060] * len(breaks), abs=0.002
        )
        assert [b - a for a, b in itertools.pairwise(breaks)] == pytest.approx(
            [0.100] * (len(breaks) - 1), abs=0.002
        )
    for a, b in itertools.pairwise(digits):
        assert b[0] - a[0] == pytest.approx((len(a) // 2) * 0.100 + 0.700, abs=0.002)
    # The dial ends as the call is placed: the rotary time the modem waited for.
    dial_seconds = parse_dialstring(PULSED, tone=False, s8=2, s11=70).dial_seconds
    assert clicks[0] == pytest.approx(placed - dial_seconds, abs=0.002)
    assert rms(window(rendered.answerer, clicks[0] - 0.5, 0.4)) > 1000  # dial tone ...
    assert rms(window(rendered.answerer, clicks[0] + 0.01, 1.0)) == 0  # ... until the dial


def test_multimon_ng_hears_no_dtmf_in_a_pulse_dialed_call(
    pulse_call: list[Stamped], tmp_path: Path
) -> None:
    path = tmp_path / "pulse.wav"
    paths = write_call(path, render_call(pulse_call))
    for p in paths:
        assert multimon_digits(p) == ""
    # The same call with the dialing event saying DTMF: the digits are heard.
    toned = [
        Stamped(s.time, s.source, CallProgress("dialing", PULSED))
        if isinstance(s.event, CallProgress) and s.event.step == "dialing"
        else s
        for s in pulse_call
    ]
    write_wav(tmp_path / "tone.wav", render_call(toned).mix)
    assert multimon_digits(tmp_path / "tone.wav") == PULSED


def test_pulse_dialing_survives_a_jsonl_log(pulse_call: list[Stamped], tmp_path: Path) -> None:
    from modememu.drivers.serve import JsonlLog

    path = tmp_path / "call.jsonl"
    log = JsonlLog(path, 0.0)
    for s in pulse_call:
        log(s)
    log.close()
    skipped: list[int] = []
    back = [s for s in records(path, skipped) if isinstance(s.event, CallProgress)]
    assert back[0].event == CallProgress("dialing", PULSED, pulse=True)
    old = tmp_path / "old.jsonl"  # written before CallProgress had `pulse`
    old.write_text(
        '{"time": 0, "source": "caller", "type": "CallProgress",'
        ' "fields": {"step": "dialing", "detail": "5551002"}}\n'
    )
    assert [s.event for s in records(old, skipped)] == [CallProgress("dialing", PULSED)]
    assert not skipped


# ----- ringback before the answer -----


def test_a_real_call_rings_back_for_two_seconds_before_ansam(
    v34_call: CallResult, v34_audio: Rendered
) -> None:
    t0 = min(s.time for s in v34_call.stamped)
    ringback = next(
        s.time - t0
        for s in v34_call.stamped
        if isinstance(s.event, CallProgress) and s.event.step == "ringback"
    )
    answered = next(
        s.time - t0
        for s in v34_call.stamped
        if isinstance(s.event, CallProgress) and s.event.step == "answered"
    )
    assert answered - ringback == pytest.approx(2.0)
    ansam = at(v34_call, "ANSam")
    heard = v34_audio.answerer[samples(ringback) : samples(ansam)]
    assert on_off_runs(heard, (440, 480))[0] == pytest.approx(2.0, abs=0.051)
    ring = window(v34_audio.answerer, ringback + 0.1, 1.8)
    assert goertzel(ring, 440) > 500 and goertzel(ring, 480) > 500
    assert goertzel(ring, 350) < 50 and goertzel(ring, 2100) < 50
    assert rms(window(v34_audio.answerer, answered + 0.01, ansam - answered - 0.02)) == 0
    assert rms(window(v34_audio.mix, ringback + 0.1, 1.8)) > 500  # the speaker plays it
    assert goertzel(window(v34_audio.answerer, ansam + 0.02, 0.42), 2100) > 3000


# ----- --wav on run and dial -----

BENCH = """
fast = true

[[modem]]
name = "pc"
profile = "usr-courier-v34"

[[modem]]
name = "amiga"
profile = "zyxel-u1496e"

[[dialer]]
modem = "pc"
number = "5550100"

[[dialer]]
modem = "amiga"
number = "5550101"
mode = "slip"
"""


def modememu(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modememu", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def wav_track(path: Path) -> array[int]:
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)
        track = array("h", w.readframes(w.getnframes()))
    if sys.byteorder == "big":
        track.byteswap()
    return track


def has_ringback(track: array[int]) -> bool:
    """Two seconds of 440+480 Hz somewhere in `track`."""
    return any(run >= 1.9 for run in on_off_runs(track, (440, 480))[::2])


def test_run_wav_writes_each_dialers_call(tmp_path: Path) -> None:
    bench = tmp_path / "bench.toml"
    bench.write_text(BENCH)
    ran = modememu("run", str(bench), "--wav", str(tmp_path / "bench.wav"))
    assert ran.returncode == 0, ran.stderr
    assert not (tmp_path / "bench.wav").exists()  # two dialers: a file for each modem
    for modem, number in (("pc", "5550100"), ("amiga", "5550101")):
        path = tmp_path / f"bench-{modem}.wav"
        assert multimon_digits(path) == number
        assert all(p.exists() for p in side_paths(path))
        assert has_ringback(wav_track(side_paths(path)[1]))
    one = tmp_path / "one.toml"
    one.write_text(BENCH[: BENCH.index('[[dialer]]\nmodem = "amiga"')])
    ran = modememu("run", str(one), "--wav", str(tmp_path / "one.wav"))
    assert ran.returncode == 0, ran.stderr
    assert multimon_digits(tmp_path / "one.wav") == "5550100"


def test_run_wav_to_an_unwritable_place_is_one_line(tmp_path: Path) -> None:
    bench = tmp_path / "bench.toml"
    bench.write_text(BENCH)
    ran = modememu("run", str(bench), "--wav", str(tmp_path / "no" / "x.wav"))
    assert ran.returncode != 0 and ran.stdout == ""
    assert len(ran.stderr.strip().splitlines()) == 1 and "cannot write" in ran.stderr


def test_dial_wav_renders_what_the_dte_knew(tmp_path: Path) -> None:
    link = tmp_path / "modem"
    modem = start_modem(
        ["--pty", str(link), "--profile", "hayes-smartmodem-2400", "--no-pacing"], tmp_path
    )
    try:
        path = tmp_path / "dial.wav"
        done = modememu("dial", "--port", str(link), "--wav", str(path), "5550100", timeout=50)
    finally:
        modem.stop()
    assert done.returncode == 0, done.stdout + done.stderr
    assert multimon_digits(path) == "5550100"
    caller, answerer = (wav_track(p) for p in side_paths(path))
    # Ringback until the stand-in answer: its length follows the real call's timing.
    assert on_off_runs(answerer[samples(0.6) :], (440, 480))[0] > 1.0
    # CONNECT 2400: V.22bis, answered with the 2100 Hz ANS, then its carriers before CONNECT
    # (the answerer's with the 1800 Hz guard tone); the file ends half a second after it.
    ans = [goertzel(answerer[i : i + 4000], 2100) for i in range(0, len(answerer) - 4000, 4000)]
    assert max(ans) > 3000
    last = slice(-samples(1.5), -samples(0.5))
    assert goertzel(answerer[last], 1800) > 500 and rms(caller[last]) > 1000


def test_dial_wav_to_an_unwritable_place_is_one_line(tmp_path: Path) -> None:
    done = modememu(
        *("dial", "--port", str(tmp_path / "none"), "--wav", str(tmp_path / "no" / "x.wav")),
        "5550100",
    )
    assert done.returncode != 0 and "cannot write" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_the_dte_view_of_a_call() -> None:
    assert connect_rate("CONNECT 33600/ARQ") == 33600
    assert connect_rate("CONNECT") == 300 and connect_rate("CARRIER") is None
    assert training_for(2400).carrier == "V22B" and training_for(14400).carrier == "V32B"
    assert training_for(31200).carrier == "V34" and training_for(115200).carrier == "V34"
    events = dte_call((1.0, "ATDT5550100^M"), (20.0, "CONNECT 33600/ARQ"))
    steps = [(s.time, type(s.event).__name__, getattr(s.event, "step", "")) for s in events]
    assert steps[:3] == [
        (1.0, "CallProgress", "dialing"),
        (pytest.approx(1.0 + 0.5 + 7 * 0.140), "CallProgress", "placed"),
        (pytest.approx(2.48), "CallProgress", "ringback"),
    ]
    assert events[-1] == Stamped(20.0, CALLER, Connected("V34", 33600, 33600, None))
    busy = dte_call((0.0, "ATDP55"), ended=(9.0, "BUSY"))
    assert busy[0].event == CallProgress("dialing", "55", pulse=True)
    assert [s.event for s in busy[2:]] == [CallProgress("busy"), CallEnded("BUSY")]
