"""tshark (and pppd's pppdump) as independent decoders of the captures modememu writes.

A capture is clean when tshark reports nothing for the filter in ppp-tcp.md
§6.1 and says nothing on stderr (a record cut short, a bad file). The FCS is
only checked where the capture keeps it: a pppd record file (pppdump). Asking
for `ppp.fcs_type:16-Bit` on a link type 204 pcap, which has no FCS, would
make tshark take the last two octets for one and call every frame bad, so the
option is chosen from the file's first octet.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from serving import require

PROBLEM_FILTER = (
    '_ws.malformed || _ws.expert.severity >= "Error" || ppp.fcs.status == "Bad"'
    ' || ip.checksum.status == "Bad" || tcp.checksum.status == "Bad"'
)
# Each flagged packet as: number, protocol column, info column, tshark's expert messages.
PROBLEM_COLUMNS = (
    "-T",
    "fields",
    "-E",
    "aggregator=; ",
    "-E",
    "occurrence=a",
    "-e",
    "frame.number",
    "-e",
    "_ws.col.Protocol",
    "-e",
    "_ws.col.Info",
    "-e",
    "_ws.expert.message",
)
CHECK_CHECKSUMS = (
    "-o",
    "ip.check_checksum:TRUE",
    "-o",
    "tcp.check_checksum:TRUE",
    "-o",
    "udp.check_checksum:TRUE",
)
CHECK_FCS = ("-o", "ppp.fcs_type:16-Bit")
PPPDUMP_START = 0x07  # a pppd record file starts with its start-time record
TIMEOUT = 60
_NOISE = ("Running as user",)  # tshark's warning when run as root


def require_tshark() -> str:
    return require("tshark")


def is_pppdump(path: Path) -> bool:
    with path.open("rb") as stream:
        return stream.read(1) == bytes([PPPDUMP_START])


def _options(path: Path) -> list[str]:
    return [*CHECK_CHECKSUMS, *(CHECK_FCS if is_pppdump(path) else ())]


def _stderr_lines(text: str) -> list[str]:
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith(_NOISE)]


def run_tshark(path: Path, *args: str) -> tuple[list[str], list[str]]:
    """tshark on `path` with the checks on: (stdout lines, stderr lines worth reading)."""
    result = subprocess.run(
        [require_tshark(), "-n", "-r", str(path), *_options(path), *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    errors = _stderr_lines(result.stderr)
    if result.returncode != 0 and not errors:
        errors = [f"tshark exited with {result.returncode}"]
    return result.stdout.splitlines(), errors


def problems(path: Path) -> list[str]:
    """The packets tshark flags (malformed, expert errors, bad FCS or checksums) and its complaints.

    One line per flagged packet, tab-separated: number, protocol, info, expert
    messages. Empty means the capture is clean.
    """
    flagged, errors = run_tshark(path, "-Y", PROBLEM_FILTER, *PROBLEM_COLUMNS)
    return [line for line in flagged if line.strip()] + errors


def decode(path: Path, *fields: str, display_filter: str | None = None) -> list[list[str]]:
    """One row per packet, one string per field; repeated fields are joined with commas.

    Fails the test if tshark complained about the file itself.
    """
    args = ["-T", "fields", "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,"]
    for field in fields:
        args += ["-e", field]
    if display_filter is not None:
        args += ["-Y", display_filter]
    lines, errors = run_tshark(path, *args)
    assert errors == [], errors
    return [line.split("\t") for line in lines]


def pppdump(path: Path) -> str:
    """pppd's own reader of record files, de-framed (`pppdump -p`): its text output."""
    result = subprocess.run(
        [require("pppdump"), "-p", str(path)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    )
    return result.stdout
