"""Writing PCM tracks as WAV files: the only I/O of the audio package."""

from __future__ import annotations

import sys
import wave
from array import array
from pathlib import Path
from typing import BinaryIO

from modememu.audio.pcm import RATE
from modememu.audio.render import Rendered


def write_wav(target: Path | BinaryIO, pcm: array[int], rate: int = RATE) -> None:
    """16-bit mono little-endian WAV, to a path or into an open binary file (left open)."""
    if isinstance(target, Path):
        with target.open("wb") as file:
            write_wav(file, pcm, rate)
        return
    data = pcm
    if sys.byteorder == "big":
        data = array("h", pcm)
        data.byteswap()
    with wave.open(target, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(data.tobytes())


def side_paths(path: Path) -> tuple[Path, Path]:
    """FILE.wav -> (FILE-caller.wav, FILE-answerer.wav)."""
    suffix = path.suffix or ".wav"
    return (
        path.with_name(f"{path.stem}-caller{suffix}"),
        path.with_name(f"{path.stem}-answerer{suffix}"),
    )


def write_call(path: Path, rendered: Rendered) -> tuple[Path, Path, Path]:
    """The mix at `path`, each direction beside it; returns the three paths."""
    caller, answerer = side_paths(path)
    write_wav(path, rendered.mix)
    write_wav(caller, rendered.caller)
    write_wav(answerer, rendered.answerer)
    return path, caller, answerer


class WavError(Exception):
    """A WAV file that cannot be written; `str()` is the one line to show."""


class CallWav:
    """The three files of a call's sound (mix, caller, answerer), opened at once so that
    a bad path fails before the call, and written when the call is over."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._files: list[BinaryIO] = []
        try:
            for p in (path, *side_paths(path)):
                self._files.append(p.open("wb"))
        except OSError as exc:
            self.close()
            raise WavError(f"cannot write {exc.filename or path}: {exc.strerror or exc}") from None

    def write(self, rendered: Rendered) -> None:
        for stream, pcm in zip(
            self._files, (rendered.mix, rendered.caller, rendered.answerer), strict=True
        ):
            write_wav(stream, pcm)
        self.close()

    def close(self) -> None:
        for stream in self._files:
            stream.close()
        self._files = []
