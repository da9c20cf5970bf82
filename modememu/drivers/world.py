"""What all the modems of one process share: the clock, the event bus and the exchange.

Every way of running modems (the CLI, the `modememu://` URL, tests, benchmarks)
builds one `World` and adds its modems to it, so they can call each other, the
built-in services, and (on a real loop) TCP hosts, programs and other processes.
"""

from __future__ import annotations

import asyncio

from modememu.agents.isp import IspConfig
from modememu.clock import Clock
from modememu.drivers.exchange import Exchange
from modememu.drivers.farmodem import PacketPort, ServiceModems
from modememu.drivers.host import ModemHost
from modememu.drivers.tcpline import TcpDialer
from modememu.events import EventBus
from modememu.phonebook import Phonebook


class World:
    def __init__(
        self,
        clock: Clock,
        bus: EventBus,
        *,
        phonebook: Phonebook | None = None,
        pacing: bool = True,
        loop: asyncio.AbstractEventLoop | None = None,
        isp: IspConfig | None = None,
        gateway: PacketPort | None = None,
    ) -> None:
        self.clock = clock
        self.bus = bus
        self.pacing = pacing
        self.exchange = Exchange(clock, bus, phonebook)
        self.services = ServiceModems(self.exchange, pacing=pacing, isp=isp, gateway=gateway)
        self.dialer: TcpDialer | None = None
        if loop is not None:  # TCP hosts and programs need the real loop
            self.dialer = TcpDialer(self.exchange, loop, pacing=pacing)
            self.exchange.dialer = self.dialer

    def add(self, host: ModemHost) -> ModemHost:
        """Plug a modem's line into the exchange, reachable at its number if it has one."""
        host.plug(self.exchange)
        self.exchange.register(host.modem.number, host)
        return host

    def remove(self, host: ModemHost) -> None:
        self.exchange.unregister(host)
        host.plug(None)

    async def close(self) -> None:
        """Abandon TCP dials still connecting."""
        if self.dialer is not None:
            await self.dialer.close()
