"""modememu: a serial-line modem and handshake emulator."""

from __future__ import annotations

__version__ = "0.1.0"

URL_HANDLER_PACKAGE = "modememu.drivers.urlhandler"


def _register_url_handler() -> None:
    """Make `serial.serial_for_url("modememu://...")` work once modememu is imported."""
    try:
        import serial  # noqa: PLC0415 - only when modememu itself is imported
    except ImportError:  # pragma: no cover - pyserial is a dependency
        return
    if URL_HANDLER_PACKAGE not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.append(URL_HANDLER_PACKAGE)


_register_url_handler()
