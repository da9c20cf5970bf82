"""Rendering speed of the call audio: a 30-second V.34 call, caller's and answerer's
tracks and the speaker's mix, 8 kHz 16-bit mono.

Runs one `modememu call` negotiation (usr-courier-v34 on both ends) on the
virtual clock, then renders its sound with the speaker always on (ATM2), so the
audio runs past CONNECT with data noise to AUDIO seconds. Only the rendering is
timed (best of REPEAT). Prints one key=value line per figure:

- audio_s: seconds of audio in each of the three tracks.
- render_s: wall seconds to render them (target: below audio_s / 30).
- realtime_x: audio_s / render_s.
- first_render_s: the first, cold render (sine tables and tiles not yet cached).

    .venv/bin/python tools/bench_audio.py [--seconds 30] [--repeat 5]
"""

from __future__ import annotations

import argparse
import time

from modememu.callcmd import call_audio, run_call


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="audio length")
    parser.add_argument("--repeat", type=int, default=5, help="timed renders (best counts)")
    args = parser.parse_args()
    result = run_call("usr-courier-v34", "usr-courier-v34")
    if not result.connected:
        print(f"error: the call did not connect ({result.result})")
        return 1
    times = []
    audio_s = 0.0
    for _ in range(max(1, args.repeat)):
        start = time.perf_counter()
        rendered = call_audio(result, speaker=2, until=args.seconds)
        times.append(time.perf_counter() - start)
        audio_s = rendered.seconds
    render_s = min(times)
    print(f"audio_s={audio_s:.3f}")
    print(f"render_s={render_s:.4f}")
    print(f"realtime_x={audio_s / render_s:.0f}")
    print(f"first_render_s={times[0]:.4f}")
    return 0 if render_s < audio_s / 30 else 1


if __name__ == "__main__":
    raise SystemExit(main())
