"""The answering modems behind service numbers, and the services as their DTEs.

A call to 5550102 reaches a real emulated modem that auto-answers (quiet, no
echo, S0 set to the entry's rings) whose DTE is the echo service. So the caller
gets ringing, training, a link both modems agree on, paced data and NO CARRIER
exactly as with any other modem. The far modem lives as long as its call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol

from modememu.agents.isp import IspConfig, IspPool, IspSession
from modememu.agents.services import Service, make_service
from modememu.clock import Clock
from modememu.drivers.agentdte import AgentDte
from modememu.drivers.exchange import Call, Exchange
from modememu.drivers.host import ModemHost
from modememu.modem.line import LineCaps
from modememu.modem.modem import ModemLines
from modememu.phonebook import Entry
from modememu.profiles import load_profile

DEFAULT_ANSWER_PROFILE = "conexant-v92"
IPV4_HEADER = 20


def hidden_modem(
    exchange: Exchange,
    name: str,
    profile: str,
    *,
    pacing: bool,
    digital: bool,
    rings: int = 0,
) -> ModemHost:
    """A modem whose DTE is a service, a program or a socket, plugged into the exchange.

    Quiet, no echo, hangs up when its DTE drops DTR, and no +++ escape: such a DTE's
    data may well hold "+++" between pauses. `rings` > 0 makes it auto-answer.
    """
    host = ModemHost(load_profile(profile), exchange.clock, exchange.bus, name=name, pacing=pacing)
    host.modem.digital = digital
    answer = f"S0={rings}" if rings else ""
    host.from_dte(f"ATE0Q1&C1&D2S2=128{answer}\r".encode())
    host.plug(exchange)
    return host


def far_modem(
    exchange: Exchange, call: Call, entry: Entry, *, pacing: bool, digital: bool
) -> ModemHost:
    """An auto-answering modem for `entry`, plugged into the exchange and rung for `call`."""
    host = hidden_modem(
        exchange,
        f"far-{entry.number}",
        entry.profile or DEFAULT_ANSWER_PROFILE,
        pacing=pacing,
        digital=digital,
        rings=max(1, entry.rings),
    )
    call.on_clear.append(host.close)
    return host


class DteAgent:
    """Runs a `Service` as the DTE of a far modem: it speaks while carrier is up."""

    def __init__(
        self,
        host: ModemHost,
        clock: Clock,
        service: Service,
        *,
        on_carrier: Callable[[], None] | None = None,
    ) -> None:
        self.host = host
        self.clock = clock
        self.service = service
        self.on_carrier = on_carrier
        self.up = False
        host.attach(self._from_modem)
        host.line_listeners.append(self._lines)

    def _lines(self, lines: ModemLines) -> None:
        if lines.dcd and not self.up:
            self.up = True
            self._later(self.service.connected())
            if self.on_carrier is not None:
                self.on_carrier()
        elif not lines.dcd:
            self.up = False

    def _from_modem(self, data: bytes) -> None:
        if self.up:
            self._later(self.service.receive(data))

    def _later(self, reply: bytes) -> None:
        """Answer after the modem's pump is done, never from inside it."""
        if reply:
            self.clock.call_at(self.clock.now(), lambda: self.host.from_dte(reply))


ISP_SERVICES = {"isp-ppp": "ppp", "isp-slip": "slip"}


class PacketPort(Protocol):
    """Where an ISP with `gateway` sends its callers' IP packets (a TUN device)."""

    def send(self, packet: bytes) -> None: ...

    def listen(self, on_packet: Callable[[bytes], None]) -> None: ...


class ServiceModems:
    """Answers service numbers for an exchange (its `far_modems`).

    The ISP numbers get an `IspSession` per call (PPP or SLIP server, TCP services),
    with client addresses from one pool; the others get a byte service.
    """

    def __init__(
        self,
        exchange: Exchange,
        *,
        pacing: bool = True,
        isp: IspConfig | None = None,
        gateway: PacketPort | None = None,
    ) -> None:
        self.exchange = exchange
        self.pacing = pacing
        isp = isp or IspConfig()
        if gateway is not None and not isp.gateway:
            isp = replace(isp, gateway=True)
        if isp.gateway and gateway is None:
            raise ValueError("an ISP with gateway needs a packet port (a TUN device)")
        self.isp = isp
        self.pool = IspPool(self.isp)
        self.gateway = gateway
        self._callers: dict[str, tuple[IspSession, AgentDte]] = {}  # client address -> call
        if gateway is not None:
            gateway.listen(self._from_gateway)
        exchange.far_modems = self

    def answer_service(self, call: Call, entry: Entry, caps: LineCaps) -> None:
        host = far_modem(self.exchange, call, entry, pacing=self.pacing, digital=True)
        clock = self.exchange.clock
        drop = entry.drop_after

        def carrier_up() -> None:
            if drop is not None:
                clock.call_at(
                    clock.now() + drop,
                    lambda: self.exchange.clear(call, None, f"carrier dropped after {drop:g} s"),
                )

        mode = ISP_SERVICES.get(entry.service)
        if mode is not None:
            self._isp(call, host, replace(self.isp, mode=mode), carrier_up)
        else:
            DteAgent(host, clock, make_service(entry.service), on_carrier=carrier_up)
        self.exchange.connect(call, host, caps)

    def _isp(
        self, call: Call, host: ModemHost, config: IspConfig, carrier_up: Callable[[], None]
    ) -> None:
        client = self.pool.take()
        session = IspSession(config, client, wallclock=_utc_now)

        def cleared() -> None:
            self.pool.release(client)  # may repeat
            self._callers.pop(client, None)

        call.on_clear.append(cleared)

        def carrier(up: bool, now: float) -> None:
            if up:
                session.connected(now)
                carrier_up()
            else:
                session.carrier_lost(now)

        gateway = self.gateway

        def to_gateway() -> None:
            if gateway is not None:
                for packet in session.gateway_output():
                    gateway.send(packet)

        agent = AgentDte(
            host,
            self.exchange.clock,
            self.exchange.bus,
            session,
            source=f"isp-{host.name}",
            on_carrier=carrier,
            dtr=lambda: not session.hang_up,
            after=to_gateway,
        )
        self._callers[client] = (session, agent)

    def _from_gateway(self, packet: bytes) -> None:
        """A packet from the host for one of the callers: routed by its destination."""
        if len(packet) < IPV4_HEADER:
            return
        call = self._callers.get(".".join(map(str, packet[16:20])))
        if call is not None:
            session, agent = call
            agent.input(lambda now: session.gateway_input(packet, now))


def _utc_now() -> datetime:
    """The wall clock, for daytime and HTTP Date: the one clock a service may read."""
    return datetime.now(UTC)
