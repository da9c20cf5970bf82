"""A program as the far computer of a call: its stdin and stdout are the modem's DTE.

The program starts when the answering modem has carrier, as a BBS door or a
getty would be started, so it never sees ringing or training. Its exit drops
DTR (the modem hangs up and the caller gets NO CARRIER); the call ending first
terminates it, then kills it if it lingers. asyncio's child watcher reaps it
either way, so no zombie is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from dataclasses import dataclass

from modememu.drivers.host import ModemHost
from modememu.drivers.streamdte import StreamDte
from modememu.events import Event
from modememu.modem.modem import ModemLines

KILL_AFTER = 2.0  # seconds between SIGTERM and SIGKILL
SOURCE = "exec"


@dataclass(frozen=True, slots=True)
class ExecEvent(Event):
    pass


@dataclass(frozen=True, slots=True)
class ExecStarted(ExecEvent):
    argv: tuple[str, ...]
    pid: int


@dataclass(frozen=True, slots=True)
class ExecFailed(ExecEvent):
    """The program could not be started; the modem drops the call."""

    argv: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class ExecExited(ExecEvent):
    """The program ended; `returncode` negative for a signal, as in subprocess."""

    argv: tuple[str, ...]
    returncode: int | None


class _Pipes(asyncio.SubprocessProtocol):
    """The program's stdout and exit, held until a `StreamDte` takes them."""

    def __init__(self, owner: ExecDte) -> None:
        self.owner = owner
        self.transport: asyncio.SubprocessTransport | None = None
        self.early = bytearray()
        self.stdout_closed = False
        self.exited = False
        self.paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.SubprocessTransport)
        self.transport = transport
        self.owner.pipes_made(self)  # before the exit can be reported

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        if fd != 1 or not isinstance(data, bytes):
            return
        dte = self.owner.dte
        if dte is None:
            self.early += data
        else:
            dte.feed(data)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd == 1:
            self.stdout_closed = True
            self.owner.check_ended()

    def process_exited(self) -> None:
        self.exited = True
        self.owner.exited()

    def pause_writing(self) -> None:
        self.paused = True
        if self.owner.dte is not None:
            self.owner.dte.writing_paused(True)

    def resume_writing(self) -> None:
        self.paused = False
        if self.owner.dte is not None:
            self.owner.dte.writing_paused(False)

    # ----- a `ByteStream` for the StreamDte -----

    def write(self, data: bytes) -> None:
        stdin = self._pipe(0)
        if stdin is not None:
            assert isinstance(stdin, asyncio.WriteTransport)
            stdin.write(data)

    def close(self) -> None:
        stdin = self._pipe(0)
        if stdin is not None:
            stdin.close()  # EOF on the program's stdin

    def pause_reading(self, paused: bool) -> None:
        stdout = self._pipe(1)
        if stdout is None:
            return
        assert isinstance(stdout, asyncio.ReadTransport)
        if paused:
            stdout.pause_reading()
        else:
            stdout.resume_reading()

    def _pipe(self, fd: int) -> asyncio.BaseTransport | None:
        if self.transport is None or self.transport.is_closing():
            return None
        pipe = self.transport.get_pipe_transport(fd)
        return None if pipe is None or pipe.is_closing() else pipe


class ExecDte:
    """Runs `argv` as the DTE of `host` (an answering modem) once its carrier is up."""

    def __init__(
        self, host: ModemHost, loop: asyncio.AbstractEventLoop, argv: tuple[str, ...]
    ) -> None:
        self.host = host
        self.loop = loop
        self.argv = argv
        self.dte: StreamDte | None = None
        self.closed = False
        self._started = False
        self._pipes: _Pipes | None = None
        self._task: asyncio.Task[None] | None = None
        self._kill_timer: asyncio.TimerHandle | None = None
        self._early = bytearray()  # what the caller sent while the program was starting
        host.line_listeners.append(self._lines)
        host.attach(self._before_start)

    def close(self) -> None:
        """The call is over: end the program (TERM, then KILL after KILL_AFTER)."""
        if self.closed:
            return
        self.closed = True
        if self._lines in self.host.line_listeners:
            self.host.line_listeners.remove(self._lines)
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if self.dte is not None:
            self.dte.close()
        else:
            self.host.detach()
        self._stop()

    # ----- called by the pipes -----

    def pipes_made(self, pipes: _Pipes) -> None:
        self._pipes = pipes

    def exited(self) -> None:
        pipes = self._pipes
        assert pipes is not None and pipes.transport is not None
        code = pipes.transport.get_returncode()
        self._publish(ExecExited(self.argv, code))
        if self._kill_timer is not None:
            self._kill_timer.cancel()
            self._kill_timer = None
        self.check_ended()
        if self.closed:
            pipes.transport.close()  # the call is over: its output no longer matters

    def check_ended(self) -> None:
        """Exit and the end of its output together end the stream."""
        pipes = self._pipes
        if pipes is None or not (pipes.exited and pipes.stdout_closed):
            return
        if self.dte is not None:
            self.dte.stream_closed()
        if self.closed and pipes.transport is not None:
            pipes.transport.close()

    # ----- inside -----

    def _before_start(self, data: bytes) -> None:
        if self.host.lines.dcd:
            self._early += data

    def _lines(self, lines: ModemLines) -> None:
        if lines.dcd and not self._started and not self.closed:
            self._started = True
            self._task = self.loop.create_task(self._start())

    async def _start(self) -> None:
        try:
            _, pipes = await self.loop.subprocess_exec(
                lambda: _Pipes(self),
                *self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self._publish(ExecFailed(self.argv, reason))
            if not self.closed:
                self.host.set_dtr(False)  # nothing to talk to: hang up
            return
        assert pipes.transport is not None
        self._publish(ExecStarted(self.argv, pipes.transport.get_pid()))
        if self.closed:
            self._stop()
            return
        if self._early:
            pipes.write(bytes(self._early))
            self._early.clear()
        self.dte = dte = StreamDte(self.host, self.loop, pipes)
        if pipes.paused:
            dte.writing_paused(True)
        if pipes.early:
            dte.feed(bytes(pipes.early))
            pipes.early.clear()
        self.check_ended()

    def _stop(self) -> None:
        pipes = self._pipes
        if pipes is None or pipes.transport is None:
            return
        transport = pipes.transport
        if transport.get_returncode() is not None:
            transport.close()
            return
        with contextlib.suppress(ProcessLookupError):
            transport.terminate()
        self._kill_timer = self.loop.call_later(KILL_AFTER, self._kill)

    def _kill(self) -> None:
        self._kill_timer = None
        pipes = self._pipes
        if pipes is None or pipes.transport is None:
            return
        if pipes.transport.get_returncode() is None:
            with contextlib.suppress(ProcessLookupError):
                pipes.transport.kill()

    def _publish(self, event: Event) -> None:
        self.host.bus.publish(self.loop.time(), SOURCE, event)
