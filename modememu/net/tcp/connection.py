"""One TCP connection per RFC 9293, with RFC 5961's defences and RFC 6298's timer.

Segments come in already parsed (`receive`), segments to send go out through
`segments_to_send()`; the stack around it wraps them in IP. Time only comes in
as `now`. The arrival processing follows RFC 9293 §3.10.7 step by step (the
numbered comments), so it can be read next to the RFC.

Left out on purpose (the README says why): SACK, window scaling, timestamps,
urgent data, congestion control and an out-of-order queue (such segments are
acknowledged and dropped).
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, replace

from modememu.net import events as ev
from modememu.net.tcp.app import Application
from modememu.net.tcp.wire import (
    ACK,
    DEFAULT_MSS,
    FIN,
    MIN_MSS,
    PSH,
    RST,
    SYN,
    TcpSegment,
    seq_gt,
    seq_le,
    seq_lt,
)

MOD = 1 << 32


class TcpState(enum.Enum):
    CLOSED = "CLOSED"
    LISTEN = "LISTEN"
    SYN_SENT = "SYN-SENT"
    SYN_RECEIVED = "SYN-RECEIVED"
    ESTABLISHED = "ESTABLISHED"
    FIN_WAIT_1 = "FIN-WAIT-1"
    FIN_WAIT_2 = "FIN-WAIT-2"
    CLOSE_WAIT = "CLOSE-WAIT"
    CLOSING = "CLOSING"
    LAST_ACK = "LAST-ACK"
    TIME_WAIT = "TIME-WAIT"


SYNCHRONIZED = frozenset(
    {
        TcpState.ESTABLISHED,
        TcpState.FIN_WAIT_1,
        TcpState.FIN_WAIT_2,
        TcpState.CLOSE_WAIT,
        TcpState.CLOSING,
        TcpState.LAST_ACK,
        TcpState.TIME_WAIT,
    }
)
# States in which arriving text is delivered (RFC 9293 §3.10.7.4, seventh).
_TAKES_TEXT = frozenset({TcpState.ESTABLISHED, TcpState.FIN_WAIT_1, TcpState.FIN_WAIT_2})
# What our FIN, once sent, moves a state to; what the peer's FIN moves it to.
_ON_OUR_FIN = {
    TcpState.SYN_RECEIVED: TcpState.FIN_WAIT_1,
    TcpState.ESTABLISHED: TcpState.FIN_WAIT_1,
    TcpState.CLOSE_WAIT: TcpState.LAST_ACK,
}
_ON_THEIR_FIN = {
    TcpState.SYN_RECEIVED: TcpState.CLOSE_WAIT,
    TcpState.ESTABLISHED: TcpState.CLOSE_WAIT,
    TcpState.FIN_WAIT_1: TcpState.CLOSING,  # ours not yet acknowledged (else TIME-WAIT)
    TcpState.FIN_WAIT_2: TcpState.TIME_WAIT,
}
# Once our FIN is acknowledged.
_ON_FIN_ACKED = {
    TcpState.FIN_WAIT_1: TcpState.FIN_WAIT_2,
    TcpState.CLOSING: TcpState.TIME_WAIT,
    TcpState.LAST_ACK: TcpState.CLOSED,
}


@dataclass(frozen=True, slots=True)
class TcpConfig:
    """Timers and sizes; the defaults are the RFCs' (MSL is RFC 9293's two minutes)."""

    mss: int = 1460  # what we announce: MTU - 40
    receive_buffer: int = 65535  # our window when the application keeps up
    send_buffer: int = 65536
    initial_rto: float = 1.0  # RFC 6298 §2.1
    min_rto: float = 1.0  # §2.4
    max_rto: float = 64.0  # doubling stops here (§2.5 allows a cap of at least 60 s)
    syn_retries: int = 7  # 1+2+4+...+64 s: the last wait ends 191 s after the first SYN
    synack_retries: int = 5
    data_retries: int = 10
    msl: float = 120.0  # TIME-WAIT lasts 2 x MSL
    countdown_step: float = 1.0  # TimeWaitCountdown events this often
    challenge_acks_per_second: int = 10  # RFC 5961 §7, per connection
    clock_granularity: float = 0.001  # G in RFC 6298

    def __post_init__(self) -> None:
        if self.mss < MIN_MSS or self.mss > 65495:
            raise ValueError(f"MSS must be {MIN_MSS}..65495, not {self.mss}")
        if self.receive_buffer < 1 or self.receive_buffer > 65535:
            raise ValueError("receive buffer must be 1..65535 octets (no window scaling)")
        if self.msl < 0 or self.initial_rto <= 0 or self.min_rto <= 0:
            raise ValueError("MSL and RTOs must be positive")


class TcpConnection:
    """The transmission control block and its machine; see the module docstring."""

    def __init__(
        self,
        connection: int,
        local: tuple[str, int],
        remote: tuple[str, int],
        iss: int,
        config: TcpConfig,
        *,
        passive: bool,
    ) -> None:
        self.connection = connection
        self.local_port = local[1]
        self.remote_port = remote[1]
        self.local_name = f"{local[0]}:{local[1]}"
        self.remote_name = f"{remote[0]}:{remote[1]}"
        self.config = config
        self.passive = passive
        self.state = TcpState.LISTEN if passive else TcpState.CLOSED
        self.remote_address = b""  # as on the wire; the stack's key
        self.accepted = False  # handed out by the stack's accept()
        self.application: Application | None = None
        self.end_reason = ""
        # Send sequence variables (RFC 9293 §3.3.1).
        self.iss = iss
        self.snd_una = iss
        self.snd_nxt = iss
        self.snd_wnd = 0
        self.snd_wl1 = 0
        self.snd_wl2 = 0
        self.max_snd_wnd = 0
        self.send_mss = DEFAULT_MSS
        # Receive sequence variables.
        self.irs = 0
        self.rcv_nxt = 0
        # Octets from SND.UNA on (SYN and FIN not included), sent or not.
        self._send_buf = bytearray()
        self._fin_queued = False  # the application closed: FIN after the data
        self._fin_seq: int | None = None  # the sequence number our FIN took
        self._received = bytearray()  # in order, not yet read (no application)
        self._rcv_edge = 0  # RCV.NXT + RCV.WND as last offered: it never moves left
        # Timers, as absolute deadlines.
        self._rto = config.initial_rto
        self._srtt: float | None = None
        self._rttvar = 0.0
        self._retransmit_at: float | None = None
        self._retries = 0
        self._timing: tuple[int, float] | None = None  # (sequence acknowledging it, sent at)
        self._time_wait_until: float | None = None
        self._countdown_at: float | None = None
        self._challenge_window = 0.0
        self._challenges = 0
        self._short_of_space = False  # the application found send_space short
        self._ack_pending = False  # an ACK is owed: sent alone unless data carries it
        self._syn_retransmitted = False  # RFC 6298 §5.7: then data starts with an RTO of 3 s
        self._now = 0.0
        self._out: deque[TcpSegment] = deque()
        self._events: deque[ev.NetEvent] = deque()
        self.link = _LinkView(self)  # what the application holds

    # -- opening ---------------------------------------------------------------

    def open_active(self, now: float) -> None:
        """Send our SYN: CLOSED -> SYN-SENT."""
        self._now = now
        self._set_state(TcpState.SYN_SENT)
        self._send_syn(now, ack=False)

    def open_passive(self, syn: TcpSegment, now: float) -> None:
        """A listener's SYN: LISTEN -> SYN-RECEIVED, answered with SYN-ACK."""
        self._now = now
        self._take_syn(syn)
        self._set_state(TcpState.SYN_RECEIVED)
        self._send_syn(now, ack=True)

    # -- the application's side -------------------------------------------------

    def handle_input_time(self, now: float) -> None:
        """The time of a call from the user (send, close ...), for the timers it starts."""
        self._now = now

    @property
    def unread(self) -> int:
        return len(self._received)

    @property
    def send_space(self) -> int:
        if self._fin_queued or self.state not in _CAN_QUEUE:
            return 0
        space = self.config.send_buffer - len(self._send_buf)
        if space <= 0:
            self._short_of_space = True
        return max(space, 0)

    def send(self, data: bytes) -> int:
        """Queue data; returns how much fits in the send buffer."""
        space = self.send_space
        taken = data[:space]
        if len(taken) >= space:
            self._short_of_space = True  # full now: say when there is room again
        if taken:
            self._send_buf += taken
            self._output(self._now)
        return len(taken)

    def close(self) -> None:
        """No more data from us: FIN once the queue is out (RFC 9293 §3.10.4)."""
        if self.state is TcpState.CLOSED or self._fin_queued:
            return
        if self.state is TcpState.SYN_SENT:
            self._end("closed")  # nothing sent yet that needs a goodbye; queued data goes too
            return
        self._fin_queued = True
        if self.state is TcpState.SYN_RECEIVED and not self._send_buf:
            self._send_fin(self._now)  # FIN right away, into FIN-WAIT-1
            return
        self._output(self._now)

    def abort(self) -> None:
        """Reset the connection (RFC 9293 ABORT)."""
        if self.state in _RESET_ON_ABORT:
            self._emit(self._segment(self.snd_nxt, 0, RST, window=0))
        self._end("aborted")

    def read(self, limit: int) -> bytes:
        """In-order octets received and not yet read (when no application takes them)."""
        data = bytes(self._received[:limit])
        del self._received[:limit]
        if self.state in SYNCHRONIZED and self._window_grows():
            self._ack_pending = True  # the window opened enough to be worth saying
            self._flush(self._now)
        return data

    @property
    def receive_window(self) -> int:
        """RCV.WND: what we last offered, from RCV.NXT to the right edge."""
        if self.state in (TcpState.CLOSED, TcpState.SYN_SENT):
            return self._free_space()
        return 0 if seq_lt(self._rcv_edge, self.rcv_nxt) else (self._rcv_edge - self.rcv_nxt) % MOD

    def _free_space(self) -> int:
        return max(self.config.receive_buffer - len(self._received), 0)

    def _window_grows(self) -> bool:
        """Receiver silly-window avoidance (RFC 9293 §3.8.6.2.2): move the right edge
        only by at least min(half the buffer, one segment)."""
        step = min(self.config.receive_buffer // 2, self.send_mss)
        return self._free_space() - self.receive_window >= step

    def _offer_window(self) -> int:
        if self._window_grows():
            self._rcv_edge = (self.rcv_nxt + self._free_space()) % MOD
        return self.receive_window

    # -- output and events -------------------------------------------------------

    def segments_to_send(self) -> list[TcpSegment]:
        out = list(self._out)
        self._out.clear()
        return out

    def next_event(self) -> ev.NetEvent | None:
        return self._events.popleft() if self._events else None

    def get_timer(self) -> float | None:
        times = [
            t
            for t in (self._retransmit_at, self._time_wait_until, self._countdown_at)
            if t is not None
        ]
        return min(times) if times else None

    def handle_timer(self, now: float) -> None:
        self._now = now
        if self._countdown_at is not None and now >= self._countdown_at:
            self._tick_countdown(now)
        if self._time_wait_until is not None and now >= self._time_wait_until:
            self._end("closed")
            return
        if self._retransmit_at is not None and now >= self._retransmit_at:
            self._retransmit(now)

    # -- arrival (RFC 9293 §3.10.7) ---------------------------------------------

    def receive(self, seg: TcpSegment, now: float) -> None:
        self._now = now
        if self.state is TcpState.SYN_SENT:
            self._receive_in_syn_sent(seg, now)
        elif self.state is not TcpState.CLOSED:
            self._receive_synchronizing(seg, now)

    def _receive_in_syn_sent(self, seg: TcpSegment, now: float) -> None:
        flags = seg.flags
        # first: the ACK
        if flags & ACK and not (seq_lt(self.iss, seg.ack) and seq_le(seg.ack, self.snd_nxt)):
            if not flags & RST:
                self._emit(self._segment(seg.ack, 0, RST, window=0))
            return
        # second: RST, believed only if it acknowledges our SYN
        if flags & RST:
            if flags & ACK:
                self._end("refused")
            return
        # fourth: SYN
        if not flags & SYN:
            return
        self._take_syn(seg)
        if flags & ACK:
            self._acknowledged(seg.ack, now)
            self._update_window(seg)
            self._set_state(TcpState.ESTABLISHED)
            self._ack_pending = True
            self._opened(now)
            self._flush(now)
        else:  # simultaneous open: SYN-ACK with the same ISS (RFC 9293 Figure 7)
            self._set_state(TcpState.SYN_RECEIVED)
            self._retransmit_at = None
            self._retries = 0
            self.snd_nxt = self.iss
            self._send_syn(now, ack=True)

    def _receive_synchronizing(self, seg: TcpSegment, now: float) -> None:
        if self.state is TcpState.SYN_RECEIVED and seg.flags & SYN and seg.seq == self.irs:
            if not seg.flags & ACK:  # our SYN-ACK was lost: the peer sent its SYN again
                self._resend_syn_ack()
                return
            if not self.passive and seg.ack == self.snd_nxt:
                # Simultaneous open, step 6 of RFC 9293 Figure 7: the peer's SYN-ACK.
                # Its SYN is already counted; what is left is an ACK at RCV.NXT.
                seg = replace(seg, seq=self.rcv_nxt, flags=seg.flags & ~SYN)
        flags = seg.flags
        # first: is the sequence number acceptable? (Table 6)
        if not self._acceptable(seg):
            if flags & RST:
                return
            if flags & FIN and self.state is TcpState.TIME_WAIT:
                self._start_time_wait(now)  # a repeated FIN: ACK it and wait afresh
            if (
                flags & ACK
                and self.receive_window == 0
                and seg.seq == self.rcv_nxt
                and self.state in SYNCHRONIZED
                and not self._ack_in_range(seg, now)  # "accept valid ACKs" (§3.10.7.4)
            ):
                return
            self._ack_pending = True
            self._flush(now)
            return
        # second: RST (RFC 5961 §3): exactly RCV.NXT resets, elsewhere in window challenges
        if flags & RST:
            if seg.seq == self.rcv_nxt:
                self._reset_by_peer()
            else:
                self._challenge("RST in window", now)
            return
        # fourth: SYN (RFC 5961 §4)
        if flags & SYN:
            if self.state is TcpState.SYN_RECEIVED and self.passive:
                self._end("reset by peer")  # back to LISTEN: the listener remains
            else:
                self._challenge("SYN", now)
            return
        # fifth: ACK
        if not flags & ACK:
            return
        if self.state is TcpState.SYN_RECEIVED:
            if not (seq_lt(self.snd_una, seg.ack) and seq_le(seg.ack, self.snd_nxt)):
                self._emit(self._segment(seg.ack, 0, RST, window=0))
                return
            self._update_window(seg)
            self._set_state(TcpState.ESTABLISHED)
            self._acknowledged(seg.ack, now)
            self._opened(now)
        elif not self._ack_in_range(seg, now):
            return
        if self.state is TcpState.CLOSED:  # LAST-ACK ended
            return
        # seventh: text, in order only; eighth: FIN, where the text ends
        if seg.payload or flags & FIN:
            self._take_text(seg, now)
        self._flush(now)

    def _take_text(self, seg: TcpSegment, now: float) -> None:
        seq = seg.seq
        if seq_gt(seq, self.rcv_nxt):
            self._ack_pending = True  # out of order: acknowledge what we have, drop it
            return
        payload = self._trimmed_payload(seg)[(self.rcv_nxt - seq) % MOD :]
        self._ack_pending = True  # before delivery: an answer the application sends carries it
        if payload and self.state in _TAKES_TEXT:
            self.rcv_nxt = (self.rcv_nxt + len(payload)) % MOD
            self._deliver(payload, now)
        if seg.flags & FIN and (seq + len(seg.payload)) % MOD == self.rcv_nxt:
            self._their_fin(now)

    def _acceptable(self, seg: TcpSegment) -> bool:
        """RFC 9293 Table 6: some part of the segment falls in the receive window."""
        wnd = self.receive_window
        seq, length = seg.seq, seg.length
        if length == 0:
            if wnd == 0:
                return seq == self.rcv_nxt
            return seq_le(self.rcv_nxt, seq) and seq_lt(seq, (self.rcv_nxt + wnd) % MOD)
        if wnd == 0:
            return False
        end = (seq + length - 1) % MOD
        top = (self.rcv_nxt + wnd) % MOD
        return (seq_le(self.rcv_nxt, seq) and seq_lt(seq, top)) or (
            seq_le(self.rcv_nxt, end) and seq_lt(end, top)
        )

    def _trimmed_payload(self, seg: TcpSegment) -> bytes:
        """The payload cut to the right edge of the window (the left edge is cut by the caller)."""
        payload = seg.payload
        room = (self.rcv_nxt + self.receive_window - seg.seq) % MOD
        if room < len(payload):
            return payload[:room]
        return payload

    def _ack_in_range(self, seg: TcpSegment, now: float) -> bool:
        """Fifth step for synchronized states; False when the segment is done with."""
        ack = seg.ack
        lowest = (self.snd_una - self.max_snd_wnd) % MOD
        if seq_gt(ack, self.snd_nxt) or seq_lt(ack, lowest):  # RFC 5961 §5
            self._challenge("ACK outside window", now)
            return False
        if seq_lt(self.snd_una, ack):
            self._acknowledged(ack, now)
        if seq_le(self.snd_una, ack) and (
            seq_lt(self.snd_wl1, seg.seq) or (self.snd_wl1 == seg.seq and seq_le(self.snd_wl2, ack))
        ):
            self._update_window(seg)
            if self.snd_wnd == 0:
                self._retries = 0  # probes answered: never give up while the peer ACKs
        if self._fin_seq is not None and seq_gt(ack, self._fin_seq):
            nxt = _ON_FIN_ACKED.get(self.state)
            if nxt is TcpState.CLOSED:
                self._end("closed")
                return False
            if nxt is not None:
                self._set_state(nxt)
                if nxt is TcpState.TIME_WAIT:
                    self._start_time_wait(now)
        return True

    # -- pieces of arrival -------------------------------------------------------

    def _take_syn(self, syn: TcpSegment) -> None:
        self.irs = syn.seq
        self.rcv_nxt = (syn.seq + 1) % MOD
        self._rcv_edge = (self.rcv_nxt + self._free_space()) % MOD
        self.send_mss = min(syn.mss if syn.mss is not None else DEFAULT_MSS, self.config.mss)
        self.send_mss = max(self.send_mss, MIN_MSS)

    def _update_window(self, seg: TcpSegment) -> None:
        self.snd_wnd = seg.window
        self.snd_wl1 = seg.seq
        self.snd_wl2 = seg.ack
        self.max_snd_wnd = max(self.max_snd_wnd, seg.window)

    def _acknowledged(self, ack: int, now: float) -> None:
        """SND.UNA moves up to `ack`: drop acknowledged octets, time the round trip."""
        acked = (ack - self.snd_una) % MOD
        if self.snd_una == self.iss and acked:  # our SYN is in the acknowledged range
            acked -= 1
        if self._fin_seq is not None and seq_gt(ack, self._fin_seq):
            acked -= 1
        del self._send_buf[:acked]
        self.snd_una = ack
        if self._timing is not None and seq_le(self._timing[0], ack):
            self._sample_rtt(now - self._timing[1])
            self._timing = None
        self._retries = 0
        if self._syn_retransmitted and self._srtt is None:
            self._rto = 3.0  # RFC 6298 §5.7
        self._syn_retransmitted = False
        outstanding = self.snd_una != self.snd_nxt
        self._retransmit_at = now + self._rto if outstanding else None
        if self._short_of_space and self.send_space > 0 and self.application is not None:
            self._short_of_space = False
            self.application.writable(self.link, now)

    def _sample_rtt(self, rtt: float) -> None:
        """RFC 6298 §2.2-2.3."""
        g = self.config.clock_granularity
        if self._srtt is None:
            self._srtt = rtt
            self._rttvar = rtt / 2
        else:
            self._rttvar = 0.75 * self._rttvar + 0.25 * abs(self._srtt - rtt)
            self._srtt = 0.875 * self._srtt + 0.125 * rtt
        rto = self._srtt + max(g, 4 * self._rttvar)
        self._rto = min(max(rto, self.config.min_rto), self.config.max_rto)

    def _deliver(self, data: bytes, now: float) -> None:
        if self.application is not None:
            self.application.received(self.link, data, now)
        else:
            self._received += data

    def _their_fin(self, now: float) -> None:
        self.rcv_nxt = (self.rcv_nxt + 1) % MOD
        # The FIN is acknowledged at once, before the application hears of it: its
        # own FIN, if it closes in turn, follows as the third of the four segments.
        self._emit(self._segment(self.snd_nxt, self.rcv_nxt, ACK))
        nxt = _ON_THEIR_FIN.get(self.state)
        if nxt is not None:
            self._set_state(nxt)
        if self.state is TcpState.TIME_WAIT:
            self._start_time_wait(now)
        elif nxt is TcpState.CLOSE_WAIT and self.application is not None:
            self.application.peer_closed(self.link, now)

    def _reset_by_peer(self) -> None:
        if self.state is TcpState.SYN_RECEIVED:
            self._end("refused" if not self.passive else "reset by peer")
        else:
            self._end("reset by peer")

    def _challenge(self, cause: str, now: float) -> None:
        """RFC 5961: answer with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, a few a second at most."""
        if now - self._challenge_window >= 1.0:
            self._challenge_window, self._challenges = now, 0
        throttled = self._challenges >= self.config.challenge_acks_per_second
        self._events.append(ev.ChallengeAck(self.connection, cause, throttled))
        if not throttled:
            self._challenges += 1
            self._emit(self._segment(self.snd_nxt, self.rcv_nxt, ACK))

    def _opened(self, now: float) -> None:
        if self.application is not None:
            self.application.opened(self.link, now)

    # -- sending -------------------------------------------------------------------

    def _segment(
        self, seq: int, ack: int, flags: int, payload: bytes = b"", *, window: int | None = None
    ) -> TcpSegment:
        return TcpSegment(
            self.local_port,
            self.remote_port,
            seq,
            ack,
            flags,
            self._offer_window() if window is None else window,
            payload,
            mss=self.config.mss if flags & SYN else None,
        )

    def _send_syn(self, now: float, *, ack: bool) -> None:
        self._emit(self._segment(self.iss, self.rcv_nxt if ack else 0, SYN | ACK if ack else SYN))
        self.snd_nxt = (self.iss + 1) % MOD
        if self._retries == 0:
            self._timing = (self.snd_nxt, now)
        self._retransmit_at = now + self._rto

    def _resend_syn_ack(self) -> None:
        self._emit(self._segment(self.iss, self.rcv_nxt, SYN | ACK))

    def _flush(self, now: float) -> None:
        """Send what can go; an ACK still owed rides on it, or goes alone."""
        self._output(now)
        if self._ack_pending and self.state is not TcpState.CLOSED:
            self._emit(self._segment(self.snd_nxt, self.rcv_nxt, ACK))

    def _output(self, now: float) -> None:
        """Send what the window allows; then our FIN if the application has closed."""
        if self.state not in _CAN_SEND or self._fin_seq is not None:
            return
        buffered = len(self._send_buf)
        while True:
            sent = (self.snd_nxt - self.snd_una) % MOD
            unsent = buffered - sent
            edge = (self.snd_una + self.snd_wnd) % MOD
            window = 0 if seq_gt(self.snd_nxt, edge) else (edge - self.snd_nxt) % MOD
            size = min(unsent, window, self.send_mss)
            # Sender silly-window avoidance (RFC 9293 §3.8.6.2.1): a full segment, all
            # that is queued (our data is always pushed), or half the largest window.
            if size > 0 and (size in (self.send_mss, unsent) or 2 * size >= self.max_snd_wnd):
                self._send_data(sent, size, now)
                continue
            if unsent == 0 and self._fin_queued:
                self._send_fin(now)
            elif unsent > 0 and self.snd_una == self.snd_nxt and self._retransmit_at is None:
                # Nothing in flight to bring an ACK: the persist timer probes a shut
                # window, or sends the sliver anyway (the override timeout).
                self._retransmit_at = now + self._rto
            return

    def _send_data(self, offset: int, size: int, now: float) -> None:
        last = offset + size == len(self._send_buf)
        chunk = bytes(self._send_buf[offset : offset + size])
        self._emit(self._segment(self.snd_nxt, self.rcv_nxt, ACK | PSH if last else ACK, chunk))
        self.snd_nxt = (self.snd_nxt + size) % MOD
        if self._timing is None:
            self._timing = (self.snd_nxt, now)
        if self._retransmit_at is None:
            self._retransmit_at = now + self._rto

    def _send_fin(self, now: float) -> None:
        self._fin_seq = self.snd_nxt
        self._emit(self._segment(self.snd_nxt, self.rcv_nxt, FIN | ACK))
        self.snd_nxt = (self.snd_nxt + 1) % MOD
        self._set_state(_ON_OUR_FIN[self.state])
        if self._retransmit_at is None:
            self._retransmit_at = now + self._rto

    def _persist(self, now: float) -> None:
        """Nothing in flight and data waiting: probe a zero window with one new octet
        (RFC 9293 §3.8.6.1), or send what a small window takes (SWS override)."""
        self._retransmit_at = None
        if not self._send_buf:
            return
        edge = (self.snd_una + self.snd_wnd - self.snd_nxt) % MOD if self.snd_wnd else 0
        self._retries += 1
        if self._retries > self.config.data_retries:
            self._end("timed out")
            return
        self._timing = None
        self._send_data(0, min(max(edge, 1), self.send_mss, len(self._send_buf)), now)
        self._rto = min(self._rto * 2, self.config.max_rto)
        self._retransmit_at = now + self._rto
        what = "window probe" if self.snd_wnd == 0 else "data"
        self._events.append(ev.Retransmitted(self.connection, what, self._retries, self._rto))

    def _retransmit(self, now: float) -> None:
        """The retransmission timer expired: resend the earliest unacknowledged segment."""
        if self.state in _CAN_SEND and self.snd_una == self.snd_nxt and self._fin_seq is None:
            self._persist(now)
            return
        self._retries += 1
        self._timing = None  # Karn: no samples from retransmitted segments
        self._rto = min(self._rto * 2, self.config.max_rto)
        limit = {
            TcpState.SYN_SENT: self.config.syn_retries,
            TcpState.SYN_RECEIVED: self.config.synack_retries,
        }.get(self.state, self.config.data_retries)
        if self._retries > limit:
            self._end("timed out")
            return
        if self.state in (TcpState.SYN_SENT, TcpState.SYN_RECEIVED):
            self._syn_retransmitted = True
        what = self._resend_earliest()
        self._retransmit_at = now + self._rto
        self._events.append(ev.Retransmitted(self.connection, what, self._retries, self._rto))

    def _resend_earliest(self) -> str:
        if self.state is TcpState.SYN_SENT:
            self._emit(self._segment(self.iss, 0, SYN))
            return "SYN"
        if self.state is TcpState.SYN_RECEIVED:
            self._emit(self._segment(self.iss, self.rcv_nxt, SYN | ACK))
            return "SYN-ACK"
        outstanding = (self.snd_nxt - self.snd_una) % MOD
        if self._fin_seq is not None and self.snd_una == self._fin_seq:
            self._emit(self._segment(self._fin_seq, self.rcv_nxt, FIN | ACK))
            return "FIN"
        size = min(len(self._send_buf), self.send_mss, outstanding)
        flags = ACK | PSH if size == len(self._send_buf) else ACK
        self._emit(self._segment(self.snd_una, self.rcv_nxt, flags, bytes(self._send_buf[:size])))
        return "window probe" if self.snd_wnd == 0 else "data"

    def _emit(self, seg: TcpSegment) -> None:
        if seg.flags & ACK:
            self._ack_pending = False
        self._out.append(seg)

    # -- state --------------------------------------------------------------------

    def _set_state(self, new: TcpState, reason: str = "") -> None:
        old, self.state = self.state, new
        if old is not new:
            self._events.append(
                ev.TcpStateChanged(
                    self.connection, self.local_name, self.remote_name, old.value, new.value, reason
                )
            )

    def _start_time_wait(self, now: float) -> None:
        self._retransmit_at = None
        self._time_wait_until = now + 2 * self.config.msl
        self._countdown_at = now
        self._tick_countdown(now)

    def _tick_countdown(self, now: float) -> None:
        assert self._time_wait_until is not None
        remaining = max(self._time_wait_until - now, 0.0)
        self._events.append(ev.TimeWaitCountdown(self.connection, remaining))
        step = self.config.countdown_step
        self._countdown_at = now + step if remaining > step else None

    def _end(self, reason: str) -> None:
        """Into CLOSED, for good: timers stop, the application hears of it once."""
        self.end_reason = reason
        self._retransmit_at = self._time_wait_until = self._countdown_at = None
        if self.state is TcpState.TIME_WAIT:
            self._events.append(ev.TimeWaitCountdown(self.connection, 0.0))
        self._set_state(TcpState.CLOSED, reason)
        self._events.append(ev.ConnectionEnded(self.connection, reason))
        if self.application is not None:
            app, self.application = self.application, None
            app.ended(self.link, self._now)


_CAN_SEND = frozenset({TcpState.ESTABLISHED, TcpState.CLOSE_WAIT})
# RFC 9293 §3.10.5: ABORT sends a reset only where the peer may still send to us.
_RESET_ON_ABORT = frozenset(
    {
        TcpState.SYN_RECEIVED,
        TcpState.ESTABLISHED,
        TcpState.FIN_WAIT_1,
        TcpState.FIN_WAIT_2,
        TcpState.CLOSE_WAIT,
    }
)
_CAN_QUEUE = _CAN_SEND | {TcpState.SYN_SENT, TcpState.SYN_RECEIVED}


class _LinkView:
    """The `Link` an application holds: a narrow window onto its connection."""

    __slots__ = ("_conn",)

    def __init__(self, conn: TcpConnection) -> None:
        self._conn = conn

    @property
    def connection(self) -> int:
        return self._conn.connection

    @property
    def local_port(self) -> int:
        return self._conn.local_port

    @property
    def remote(self) -> str:
        return self._conn.remote_name

    @property
    def send_space(self) -> int:
        return self._conn.send_space

    def send(self, data: bytes) -> int:
        return self._conn.send(data)

    def close(self) -> None:
        self._conn.close()
