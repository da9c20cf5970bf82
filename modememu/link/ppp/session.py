"""One end of a PPP link: framer, LCP, authentication and IPCP wired as pppd wires them.

Sans-I/O like every core: line octets in through `receive_data(data, now)`,
line octets out through `data_to_send()`, IP datagrams through `send_ip()` and
`next_datagram()`, the next deadline from `get_timer()`. Phases follow pppd:
Dead, Establish (LCP), Authenticate (PAP or CHAP, each way as asked), Network
(IPCP), Running, Terminate. Every frame sent or received is reported as a
`PppFrame` event, PAP passwords blanked, so monitors can print pppd's debug log
and captures can be written without ever holding a secret. Why the link ended
is a `LinkEnded` event in pppd's words, with its exit status.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum

from modememu.link.events import LinkEvent
from modememu.link.hdlc import DEFAULT_ACCM, HdlcDeframer, encode_frame
from modememu.link.ppp import fsm
from modememu.link.ppp.auth import AuthCore, AuthFailed, AuthSucceeded
from modememu.link.ppp.chap import ChapAuthenticator, ChapPeer
from modememu.link.ppp.ipcp import Ipcp, NetworkUp
from modememu.link.ppp.lcp import EchoTimeout, Lcp, LcpAllow, LcpOptions, LoopedBack
from modememu.link.ppp.options import CHAP as REQUIRE_CHAP
from modememu.link.ppp.options import PAP as REQUIRE_PAP
from modememu.link.ppp.options import PppOptions
from modememu.link.ppp.pap import PapAuthenticator, PapPeer, hide_password
from modememu.link.ppp.wire import CHAP, IP, IPCP, LCP, LQR, PAP

# pppd's exit statuses (pppd.8, EXIT STATUS).
EXIT_OK = 0
EXIT_USER_REQUEST = 5
EXIT_NEGOTIATION_FAILED = 10
EXIT_PEER_AUTH_FAILED = 11
EXIT_PEER_DEAD = 15
EXIT_HANGUP = 16
EXIT_LOOPBACK = 17
EXIT_AUTH_TOPEER_FAILED = 19

_BEFORE_NETWORK = frozenset({LCP, PAP, CHAP, LQR})  # all that may pass while authenticating


class Phase(Enum):
    DEAD = "Dead"
    ESTABLISH = "Establish"
    AUTHENTICATE = "Authenticate"
    NETWORK = "Network"
    RUNNING = "Running"
    TERMINATE = "Terminate"


@dataclass(frozen=True, slots=True)
class PhaseChanged(LinkEvent):
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class PppFrame(LinkEvent):
    """A frame sent or received; a PAP password inside is replaced by asterisks."""

    sent: bool
    protocol: int
    info: bytes


@dataclass(frozen=True, slots=True)
class DatagramDropped(LinkEvent):
    """An IP datagram that could not go through: the network phase is not running."""

    sent: bool
    length: int


@dataclass(frozen=True, slots=True)
class LinkEnded(LinkEvent):
    """The link is down for good; `reason` and `status` as pppd logs and exits with them."""

    reason: str
    status: int


class PppSession:
    """A PPP endpoint on an async serial line (RFC 1661, 1662, 1332, 1334, 1994)."""

    def __init__(self, options: PppOptions, *, seed: int | None = None) -> None:
        self.options = options
        self._rng = random.Random(seed)
        self.phase = Phase.DEAD
        self.deframer = HdlcDeframer(mru=max(options.mru, 1500))
        self.lcp = Lcp(
            LcpOptions(
                mru=options.mru,
                accm=options.asyncmap,
                auth={REQUIRE_PAP: PAP, REQUIRE_CHAP: CHAP}.get(options.require),
                magic=0 if options.magic else None,
                pfc=options.pfc,
                acfc=options.acfc,
            ),
            LcpAllow(pap=bool(options.user), chap=bool(options.user)),
            lambda: self._rng.getrandbits(32) or 1,
            echo_interval=options.echo_interval,
            echo_failure=options.echo_failure,
            **self._automaton(),
        )
        self.ipcp = Ipcp(options.ipcp, **self._automaton())
        self._authenticator: AuthCore | None = None
        self._auth_peer: AuthCore | None = None
        self._send_accm = DEFAULT_ACCM
        self._send_pfc = False
        self._send_acfc = False
        self._out: list[bytes] = []
        self._datagrams: list[bytes] = []
        self._events: list[LinkEvent] = []
        self.ended: LinkEnded | None = None
        self._status: int | None = None  # set by whatever ends the link first
        self._now = 0.0

    def _automaton(self) -> dict[str, float | int]:
        o = self.options
        return {
            "restart": o.restart,
            "max_configure": o.max_configure,
            "max_terminate": o.max_terminate,
            "max_failure": o.max_failure,
        }

    # -- inputs --------------------------------------------------------------------------

    def open(self, now: float) -> None:
        """The line is up (CONNECT): start LCP, as pppd does once its connect script ends."""
        self._now = now
        self._set_phase(Phase.ESTABLISH)
        self.lcp.open(now)
        self.lcp.up(now)
        self._pump()

    def close(self, now: float, reason: str = "User request") -> None:
        """Terminate the link politely (pppd on SIGTERM)."""
        self._now = now
        self._status = EXIT_USER_REQUEST if self._status is None else self._status
        if self.lcp.state not in (fsm.State.INITIAL, fsm.State.STARTING):
            self.lcp.close(now, reason)
        self._pump()

    def lower_down(self, now: float) -> None:
        """Carrier lost: the modem hung up under us."""
        self._now = now
        if self.ended is not None:
            return
        self._status = EXIT_HANGUP if self._status is None else self._status
        if self.lcp.state not in (fsm.State.INITIAL, fsm.State.STARTING):
            self.lcp.down(now)
        self._pump()
        self._end("Modem hangup")

    def receive_data(self, data: bytes, now: float) -> None:
        self._now = now
        self.deframer.receive_data(data)
        while (event := self.deframer.next_event()) is not None:
            self._events.append(event)
        while (frame := self.deframer.next_frame()) is not None:
            self._frame(frame.protocol, frame.info)
            self._pump()  # a frame may open a phase the next frame in this chunk needs

    def send_ip(self, datagram: bytes, now: float) -> None:
        """Send an IPv4 datagram; dropped (and reported) unless the network phase runs."""
        self._now = now
        if self.phase is not Phase.RUNNING:
            self._events.append(DatagramDropped(sent=True, length=len(datagram)))
            return
        self._send(IP, datagram)

    def handle_timer(self, now: float) -> None:
        self._now = now
        for core in self._cores():
            deadline = core.get_timer()
            if deadline is not None and deadline <= now:
                core.handle_timer(now)
        self._pump()

    # -- outputs -------------------------------------------------------------------------

    def data_to_send(self) -> bytes:
        out, self._out = b"".join(self._out), []
        return out

    def next_datagram(self) -> bytes | None:
        return self._datagrams.pop(0) if self._datagrams else None

    def next_event(self) -> LinkEvent | None:
        return self._events.pop(0) if self._events else None

    def get_timer(self) -> float | None:
        deadlines = [d for core in self._cores() if (d := core.get_timer()) is not None]
        return min(deadlines) if deadlines else None

    @property
    def local_address(self) -> str:
        return str(self.ipcp.local)

    @property
    def remote_address(self) -> str:
        return str(self.ipcp.remote)

    # -- receiving frames ------------------------------------------------------------------

    def _frame(self, protocol: int, info: bytes) -> None:
        self._events.append(_seen(False, protocol, info))
        if protocol == LCP:
            self.lcp.receive(info, self._now)
        elif not self.lcp.opened:
            self._events.append(
                fsm.PacketDropped("LCP", "non-LCP packet when LCP not open", len(info))
            )
        elif protocol in (PAP, CHAP):
            self._auth_input(protocol, info)
        elif (
            self.phase in (Phase.ESTABLISH, Phase.AUTHENTICATE) and protocol not in _BEFORE_NETWORK
        ):
            self._events.append(
                fsm.PacketDropped("LCP", "packet before the network phase", len(info))
            )
        elif protocol == IPCP:
            self.ipcp.receive(info, self._now)
        elif protocol == IP and self.phase is Phase.RUNNING:
            self._datagrams.append(info)
        elif protocol == IP:
            self._events.append(DatagramDropped(sent=False, length=len(info)))
        else:
            self.lcp.protocol_reject(protocol, info)  # CCP, LQR and anything unknown

    def _auth_input(self, protocol: int, info: bytes) -> None:
        """Route by code: requests/responses to our authenticator, the rest to our peer side."""
        code = info[0] if info else 0
        to_authenticator = code == 1 if protocol == PAP else code == 2
        core = self._authenticator if to_authenticator else self._auth_peer
        if core is None or not isinstance(core, _CORES[protocol]):
            self._events.append(
                fsm.PacketDropped("LCP", f"unexpected {_NAMES[protocol]} packet", len(info))
            )
            return
        core.receive(info, self._now)

    # -- the engine: collect output, react to layer events ----------------------------------

    def _cores(self) -> list[fsm.ControlProtocol | AuthCore]:
        cores: list[fsm.ControlProtocol | AuthCore] = [self.lcp, self.ipcp]
        return cores + [c for c in (self._authenticator, self._auth_peer) if c is not None]

    def _pump(self) -> None:
        for _ in range(64):  # each round may start another protocol; a few rounds settle it
            moved = False
            for core in self._cores():
                protocol = _protocol_of(core)
                for info in core.packets_to_send():
                    self._send(protocol, info)
                    moved = True
                while (event := core.next_event()) is not None:
                    self._events.append(event)
                    self._react(core, event)
                    moved = True
            if not moved:
                return

    def _react(self, core: object, event: LinkEvent) -> None:
        if core is self.lcp:
            if isinstance(event, fsm.LayerUp):
                self._lcp_up()
            elif isinstance(event, fsm.LayerDown):
                self._lcp_down()
            elif isinstance(event, fsm.LayerFinished):
                self._lcp_finished(event.reason)
            elif isinstance(event, LoopedBack):
                self._status = EXIT_LOOPBACK
            elif isinstance(event, EchoTimeout):
                self._status = EXIT_PEER_DEAD
        elif core is self.ipcp:
            if isinstance(event, NetworkUp):
                self._set_phase(Phase.RUNNING)
            elif isinstance(event, fsm.LayerFinished) and self.lcp.opened:
                self.lcp.close(self._now, "No network protocols running")
        elif isinstance(event, AuthFailed):
            ours = event.role == "peer"
            self._status = EXIT_AUTH_TOPEER_FAILED if ours else EXIT_PEER_AUTH_FAILED
            reason = "Failed to authenticate ourselves to peer" if ours else "Authentication failed"
            self._terminate(reason)
        elif isinstance(event, AuthSucceeded):
            self._maybe_network()

    def _lcp_up(self) -> None:
        lcp, o = self.lcp, self.options
        his = lcp.his
        self._send_accm = DEFAULT_ACCM if his.accm is None else his.accm
        self._send_pfc, self._send_acfc = his.pfc, his.acfc
        self.deframer.recv_accm = DEFAULT_ACCM if lcp.got.accm is None else lcp.got.accm
        peer_mru = his.mru or 1500
        lcp.peer_mru = self.ipcp.peer_mru = peer_mru
        if o.require and lcp.got.auth is None:
            self._status = EXIT_PEER_AUTH_FAILED
            self._terminate("peer refused to authenticate")
            return
        self._set_phase(Phase.AUTHENTICATE)
        self._authenticator = self._new_authenticator(lcp.got.auth)
        self._auth_peer = self._new_auth_peer(his.auth)
        for core in (self._authenticator, self._auth_peer):
            if core is not None:
                core.max_packet = peer_mru
                core.start(self._now)
        self._maybe_network()

    def _new_authenticator(self, protocol: int | None) -> AuthCore | None:
        secrets = self.options.secrets
        if protocol == PAP:
            return PapAuthenticator(secrets)
        if protocol == CHAP:
            return ChapAuthenticator(
                self.options.name, secrets, self._rng.randbytes, restart=self.options.restart
            )
        return None

    def _new_auth_peer(self, protocol: int | None) -> AuthCore | None:
        o = self.options
        if protocol == PAP:
            return PapPeer(o.user, o.password, restart=o.restart)
        if protocol == CHAP:
            return ChapPeer(o.user, o.password)
        return None

    def _maybe_network(self) -> None:
        if self.phase is not Phase.AUTHENTICATE:
            return
        pending = [
            c for c in (self._authenticator, self._auth_peer) if c is not None and not c.done
        ]
        if pending:
            return
        self._set_phase(Phase.NETWORK)
        self.ipcp.open(self._now)
        self.ipcp.up(self._now)

    def _lcp_down(self) -> None:
        self._send_accm, self._send_pfc, self._send_acfc = DEFAULT_ACCM, False, False
        self.deframer.recv_accm = DEFAULT_ACCM
        self._authenticator = self._auth_peer = None
        if self.ipcp.state not in (fsm.State.INITIAL, fsm.State.STARTING):
            self.ipcp.down(self._now)
        if self.ipcp.state is fsm.State.STARTING:
            self.ipcp.close(self._now, "LCP down")
        if self.phase is not Phase.DEAD:
            self._set_phase(Phase.TERMINATE if self.lcp.state in _TERMINATING else Phase.ESTABLISH)

    def _lcp_finished(self, reason: str) -> None:
        if self._status is None:
            failed = reason.endswith("timeout sending Config-Requests")
            self._status = EXIT_NEGOTIATION_FAILED if failed else EXIT_OK
        self._end(reason)

    def _terminate(self, reason: str) -> None:
        if self.lcp.state not in (fsm.State.CLOSING, fsm.State.CLOSED):
            self.lcp.close(self._now, reason)

    def _end(self, reason: str) -> None:
        if self.ended is None:
            self.ended = LinkEnded(reason, EXIT_OK if self._status is None else self._status)
            self._events.append(self.ended)
            self._set_phase(Phase.DEAD)

    def _set_phase(self, phase: Phase) -> None:
        if phase is not self.phase:
            self._events.append(PhaseChanged(self.phase.value, phase.value))
            self.phase = phase

    # -- sending ----------------------------------------------------------------------------

    def _send(self, protocol: int, info: bytes) -> None:
        self._events.append(_seen(True, protocol, info))
        self._out.append(
            encode_frame(
                protocol, info, accm=self._send_accm, acfc=self._send_acfc, pfc=self._send_pfc
            )
        )


_TERMINATING = (fsm.State.CLOSING, fsm.State.STOPPING)
_CORES = {PAP: (PapAuthenticator, PapPeer), CHAP: (ChapAuthenticator, ChapPeer)}
_NAMES = {PAP: "PAP", CHAP: "CHAP"}


def _protocol_of(core: object) -> int:
    if isinstance(core, fsm.ControlProtocol):
        return core.protocol
    return PAP if isinstance(core, PapAuthenticator | PapPeer) else CHAP


def _seen(sent: bool, protocol: int, info: bytes) -> PppFrame:
    """The event for a frame, a PAP password blanked so no subscriber ever holds it."""
    return PppFrame(sent, protocol, hide_password(info) if protocol == PAP else info)
