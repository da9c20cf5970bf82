"""`modememu dial` through a modem whose far end is the real slirp, run by a phonebook entry.

The far computer is slirp 1.0.17 in PPP mode, started by the answering modem
(a phonebook `exec` entry) on a pty of its own (socat gives it one), with the
select() shim, inside a private network namespace that holds only `lo` and an
echo listener on 127.0.0.1. The dialer negotiates PPP with slirp (slirp's
quirks: it proposes 0.0.0.0 for itself, asks for VJ, sends CCP) and its TCP to
10.0.2.2:PORT comes out of slirp as a connect() to 127.0.0.1:PORT.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from serving import require, start_modem, unavailable
from slirprig import LISTENER, build_shim

GUARD = 180.0
_serial = itertools.count()


@pytest.fixture
def namespace() -> Iterator[tuple[str, int]]:
    """A private namespace with `lo` up and an echo listener on 127.0.0.1; (name, port)."""
    ip = require("ip")
    name = f"mmemu-dial-{os.getpid()}-{next(_serial)}"
    made = subprocess.run([ip, "netns", "add", name], capture_output=True, text=True, check=False)
    if made.returncode != 0:
        unavailable(f"cannot create network namespace: {made.stderr.strip()}")
    listener = None
    try:
        subprocess.run([ip, "-n", name, "link", "set", "lo", "up"], check=True, timeout=30)
        listener = subprocess.Popen(
            [ip, "netns", "exec", name, sys.executable, "-I", "-c", LISTENER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert listener.stdout is not None
        first = listener.stdout.readline().split()
        assert first[:1] == ["port"], first
        yield name, int(first[1])
    finally:
        if listener is not None:
            listener.kill()
            listener.wait(timeout=10)
        subprocess.run([ip, "netns", "delete", name], capture_output=True, check=False)


@pytest.mark.peer
def test_dial_negotiates_ppp_with_slirp_and_reaches_its_localhost(
    namespace: tuple[str, int], tmp_path: Path
) -> None:
    slirp, socat, ip = require("slirp"), require("socat"), require("ip")
    name, port = namespace
    shim = build_shim()
    wrapper = tmp_path / "slirp.sh"
    wrapper.write_text(
        "#!/bin/sh\n"
        f"cd {tmp_path} && exec env -u SLIRP_TTY LD_PRELOAD={shim} HOME={tmp_path} "
        f'{slirp} ppp initiate-options "mtu 1500" "mru 1500" 2>{tmp_path}/slirp.stderr\n'
    )
    wrapper.chmod(0o755)
    phonebook = tmp_path / "numbers.toml"
    argv = [ip, "netns", "exec", name, socat, "-", f"EXEC:{wrapper},pty,raw,echo=0"]
    phonebook.write_text(
        '[numbers."5551996"]\n'
        f"exec = [{', '.join(repr(a) for a in argv)}]\n"
        'description = "slirp, the 1990s user-space ISP"\n'
    )
    link = tmp_path / "modem"
    modem = start_modem(
        ["--pty", str(link), "--profile", "hayes-smartmodem-2400", "--no-pacing",
         "--phonebook", str(phonebook)],
        tmp_path,
    )  # fmt: skip
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "modememu", "dial", "--port", str(link),
             "--tcp", f"10.0.2.2:{port}", "5551996"],
            capture_output=True, text=True, timeout=GUARD, check=False,
        )  # fmt: skip
    finally:
        modem.stop()
    out = proc.stdout
    stderr = (tmp_path / "slirp.stderr").read_text() if (tmp_path / "slirp.stderr").exists() else ""
    assert proc.returncode == 0, out + proc.stderr + stderr
    # slirp's own IPCP: no address for itself (Nak'd with 10.0.2.2), and VJ (rejected).
    assert "rcvd [IPCP ConfReq id=0x1 <addr 0.0.0.0> <compress VJ 0f 01>]" in out, out
    assert "link: PPP: local 10.0.2.15, remote 10.0.2.2" in out
    assert "echo matched" in out
    assert f"10.0.2.2:{port} > 10.0.2.15" in out  # its answer, from 127.0.0.1:PORT


ECHO_SERVER = r"""
import socket, sys
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("0.0.0.0", 7))
server.listen(4)
print("listening", flush=True)
conn, peer = server.accept()
print("accepted", peer[0], flush=True)
with conn:
    while data := conn.recv(4096):
        conn.sendall(data)
"""


@pytest.mark.peer
def test_dial_through_modem_gateway_tun_reaches_the_kernels_tcp(
    namespace: tuple[str, int], tmp_path: Path
) -> None:
    # `modememu modem --gateway tun` inside the namespace: the ISP's callers' packets go
    # into a TUN device there, and the namespace's kernel answers on port 7.
    ip = require("ip")
    name, _ = namespace
    kernel = subprocess.Popen(
        [ip, "netns", "exec", name, sys.executable, "-I", "-c", ECHO_SERVER],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert kernel.stdout is not None and kernel.stdout.readline().strip() == "listening"
    link = tmp_path / "modem"
    modem = start_modem(
        ["--pty", str(link), "--profile", "hayes-smartmodem-2400", "--no-pacing",
         "--gateway", "tun"],
        tmp_path,
        prefix=[ip, "netns", "exec", name],
    )  # fmt: skip
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "modememu", "dial", "--port", str(link), "5550100"],
            capture_output=True, text=True, timeout=GUARD, check=False,
        )  # fmt: skip
    finally:
        modem.stop()
        kernel.kill()
        kernel.wait(timeout=10)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "echo matched" in proc.stdout
    assert "accepted 10.0.2.15" in kernel.stdout.read()  # the kernel saw our dialer
