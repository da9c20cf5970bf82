"""The `modememu` command: parse arguments, build what they describe, run it.

Every user error ends as one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from modememu.agents.isp import IspConfig, IspConfigError
from modememu.drivers.errors import PortError
from modememu.phonebook import Phonebook, PhonebookError
from modememu.profiles import DEFAULT_PROFILE, ProfileError, load_all, load_profile

EXIT_USAGE = 2


class CliError(Exception):
    """A problem with what the user asked for; str() is the one line to print."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message}\n")


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", text
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected [HOST:]PORT, got {text!r}")
    return host or "127.0.0.1", int(port)


def _baud(text: str) -> int:
    if not text.isdigit() or not 50 <= int(text) <= 4_000_000:
        raise argparse.ArgumentTypeError(f"not a baud rate: {text!r}")
    return int(text)


def _snr(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 60:  # also refuses nan
        raise argparse.ArgumentTypeError(f"SNR must be 0..60 dB, got {text!r}")
    return value


def _latency_ms(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 10_000:
        raise argparse.ArgumentTypeError(f"latency must be 0..10000 ms, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="modememu", description="Serial-line modem and handshake emulator.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sub.add_parser("profiles", help="list the firmware profiles")

    modem = sub.add_parser("modem", help="serve an emulated modem on a port")
    where = modem.add_mutually_exclusive_group(required=True)
    where.add_argument("--pty", metavar="PATH", type=Path, help="create a pty linked at PATH")
    where.add_argument("--port", metavar="DEVICE", help="a real serial device, e.g. /dev/ttyUSB0")
    where.add_argument(
        "--rfc2217", metavar="[HOST:]PORT", type=_host_port, help="serve RFC 2217 (loopback)"
    )
    modem.add_argument("--baud", type=_baud, default=None, help="DTE speed for --port")
    modem.add_argument("--profile", default=DEFAULT_PROFILE, help="firmware profile name or file")
    modem.add_argument("--number", default="", help="this modem's telephone number")
    modem.add_argument("--state", type=Path, help="keep NVRAM (&W, &Y, &Z) in this JSON file")
    modem.add_argument("--force-8n1", action="store_true", help="no parity detection from AT")
    modem.add_argument("--log", type=Path, help="write every event as JSON lines to this file")
    modem.add_argument(
        "--phonebook", type=Path, help="TOML phonebook merged over the built-in numbers"
    )
    modem.add_argument(
        "--listen",
        metavar="[HOST:]PORT",
        type=_host_port,
        help="take TCP connections as incoming calls (loopback unless HOST is given)",
    )
    modem.add_argument(
        "--no-pacing", action="store_true", help="move data as fast as possible, not at line rate"
    )
    modem.add_argument(
        "--gateway",
        choices=("tun",),
        help="the ISP numbers' IP goes to a TUN device: the host kernel answers (root)",
    )
    modem.add_argument(
        "--isp-users",
        type=Path,
        metavar="FILE",
        help="the ISP's users: lines 'user password' (with --isp-auth)",
    )
    modem.add_argument("--isp-auth", choices=("pap", "chap"), help="the ISP asks for PAP or CHAP")
    modem.add_argument(
        "--tui", action="store_true", help="watch it in the monitor (q stops serving)"
    )

    sub.add_parser("numbers", help="list the phonebook's numbers").add_argument(
        "--phonebook", type=Path, help="TOML phonebook merged over the built-in numbers"
    )

    call = sub.add_parser(
        "call",
        help="one handshake between two emulated modems, on the virtual clock",
        description="Dial an emulated modem (answering on the first ring) from another and "
        "show the negotiation: a timeline of the handshake, then what was agreed and "
        "each side's CONNECT text. Exit 1 when the call fails.",
    )
    call.add_argument(
        "--from",
        dest="caller",
        required=True,
        metavar="PROFILE",
        help="the calling modem's profile (name or file)",
    )
    call.add_argument(
        "--to",
        dest="answerer",
        required=True,
        metavar="PROFILE",
        help="the answering modem's profile (name or file)",
    )
    call.add_argument(
        "--snr",
        type=_snr,
        default=None,
        metavar="DB",
        help="signal-to-noise ratio of the line, 0..60 dB (default: 41)",
    )
    call.add_argument(
        "--latency-ms",
        type=_latency_ms,
        default=0.0,
        metavar="MS",
        help="one-way delay of the line (default: 0)",
    )
    call.add_argument(
        "--from-init",
        nargs="+",
        action="extend",
        default=[],
        metavar="AT",
        help="command lines for the caller first, e.g. AT&A3",
    )
    call.add_argument(
        "--to-init",
        nargs="+",
        action="extend",
        default=[],
        metavar="AT",
        help="command lines for the answerer first, e.g. ATW1",
    )
    call.add_argument("--json", action="store_true", help="print one JSON object")
    call.add_argument(
        "--wav",
        type=Path,
        metavar="FILE",
        help="the call's sound as 8 kHz WAV (the speaker's mix; FILE-caller.wav and "
        "FILE-answerer.wav beside it hold each direction)",
    )

    demo = sub.add_parser(
        "demo", help="a whole dial-up session: dial the ISP, PPP, TCP echo, close, hang up"
    )
    demo.add_argument(
        "--caller",
        "--profile",
        default=DEFAULT_PROFILE,
        help="the caller's firmware profile (name or file)",
    )
    demo.add_argument("--answerer", help="the ISP modem's profile (default: the phonebook's)")
    demo.add_argument("--snr", type=float, metavar="DB", help="the line's signal-to-noise ratio")
    demo.add_argument("--slip", action="store_true", help="dial the SLIP number instead of PPP")
    demo.add_argument("--auth", choices=("pap", "chap"), help="the ISP asks for PAP or CHAP")
    demo.add_argument(
        "--fast", action="store_true", help="run on the virtual clock (no waiting for the line)"
    )
    demo.add_argument(
        "--headless",
        action="store_true",
        help="print the transcript, not the monitor (on a terminal)",
    )
    demo.add_argument("--log", type=Path, metavar="FILE", help="every event as JSON lines")
    demo.add_argument("--pcap", type=Path, metavar="FILE", help="IP packets (PPP: 204, SLIP: 101)")
    demo.add_argument("--record", type=Path, metavar="FILE", help="raw PPP line bytes (pppdump)")
    demo.add_argument(
        "--wav",
        type=Path,
        metavar="FILE",
        help="the call's sound as 8 kHz WAV (also FILE-caller.wav, FILE-answerer.wav)",
    )
    demo.add_argument(
        "--tour", action="store_true", help="instead: the AT command tour of one modem"
    )

    _add_dial_parser(sub)

    scenario = sub.add_parser("run", help="run a scenario file: modems, dialers, ISP, numbers")
    scenario.add_argument("scenario", type=Path, metavar="SCENARIO.toml")
    scenario.add_argument("--log", type=Path, metavar="FILE", help="every event as JSON lines")
    scenario.add_argument(
        "--tui", action="store_true", help="watch the first dialer's modem in the monitor"
    )
    scenario.add_argument(
        "--wav",
        type=Path,
        metavar="FILE",
        help="each dialer's call as 8 kHz WAV, from its modem's events: FILE for one dialer,"
        " FILE-<modem>.wav for several (each with -caller and -answerer files beside it)",
    )

    replay = sub.add_parser("replay", help="print a recorded session (a --log file) again")
    replay.add_argument("log", type=Path, metavar="FILE.jsonl")
    replay.add_argument("--tui", action="store_true", help="play it in the monitor instead")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except (CliError, ProfileError, PhonebookError, PortError) as exc:
        print(f"modememu: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `modememu ... | head`: the reader left; not an error of ours
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps the interpreter's final flush quiet
        return 1


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "profiles":
        return _profiles()
    if args.command == "modem":
        return _modem(args)
    if args.command == "numbers":
        return _numbers(args)
    if args.command == "call":
        return _call(args)
    if args.command == "demo":
        return _demo(args)
    if args.command == "dial":
        return _dial(args)
    if args.command == "run":
        return _run_scenario(args)
    if args.command == "replay":
        return _replay(args)
    raise CliError(f"unknown command {args.command!r}")


def _run_scenario(args: argparse.Namespace) -> int:
    from modememu.scenario import ScenarioError, load, run

    try:
        scenario = load(args.scenario)
        if args.tui:
            from modememu.tui.run import run_scenario_tui

            return run_scenario_tui(scenario, log=args.log, wav=args.wav)
        return run(scenario, sys.stdout, log=args.log, wav=args.wav)
    except ScenarioError as exc:
        raise CliError(str(exc)) from None


def _replay(args: argparse.Namespace) -> int:
    from modememu.replay import ReplayError, replay

    try:
        if args.tui:
            from modememu.tui.run import replay_tui

            return replay_tui(args.log)
        return replay(args.log, sys.stdout)
    except ReplayError as exc:
        raise CliError(str(exc)) from None


def _demo(args: argparse.Namespace) -> int:
    if args.tour:
        from modememu.demo import run_demo

        return run_demo(sys.stdout, args.caller)
    from modememu.dialup import DemoError, DemoOptions, run_demo_session

    try:
        options = DemoOptions(
            caller=args.caller,
            answerer=args.answerer,
            snr_db=args.snr,
            slip=args.slip,
            auth=args.auth or "",
            fast=args.fast,
            log=args.log,
            pcap=args.pcap,
            record=args.record,
            wav=args.wav,
        )
        if not args.headless and sys.stdout.isatty():
            from modememu.tui.run import run_demo_tui  # the monitor

            return run_demo_tui(sys.stdout, options)
        return run_demo_session(sys.stdout, options)
    except DemoError as exc:
        raise CliError(str(exc)) from None


def _call(args: argparse.Namespace) -> int:
    import json

    from modememu.callcmd import CallSetupError, format_text, run_call

    try:
        result = run_call(
            args.caller,
            args.answerer,
            snr_db=args.snr,
            latency_ms=args.latency_ms,
            caller_init=args.from_init,
            answerer_init=args.to_init,
        )
    except (ProfileError, CallSetupError) as exc:
        print(f"modememu: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.wav is not None:
        from modememu.audio.wav import write_call
        from modememu.callcmd import call_audio

        try:
            write_call(args.wav, call_audio(result))
        except OSError as exc:
            raise CliError(f"cannot write {args.wav}: {exc.strerror or exc}") from None
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        sys.stdout.write(format_text(result))
    return 0 if result.connected else 1


def _profiles() -> int:
    rows = [("NAME", "MAKER", "MODEL", "TOP MODULATION")]
    rows += [(p.name, p.maker, p.model, p.top_modulation) for p in load_all()]
    _print_table(rows)
    return 0


def _print_table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _phonebook(path: Path | None) -> Phonebook:
    return Phonebook.default() if path is None else Phonebook.load(path)


def _numbers(args: argparse.Namespace) -> int:
    rows = [("NUMBER", "ANSWERS", "DESCRIPTION")]
    for entry in _phonebook(args.phonebook).entries():
        what = {
            "service": f"service {entry.service}",
            "tcp": f"{'telnet' if entry.telnet else 'tcp'} {entry.host[0]}:{entry.host[1]}"
            if entry.host
            else "tcp",
            "exec": "exec " + " ".join(entry.argv),
            "modem": f"modem {entry.modem}",
            "fault": f"fault {entry.fault}",
        }[entry.kind]
        rows.append((entry.number, what, entry.description))
    _print_table(rows)
    return 0


def _modem(args: argparse.Namespace) -> int:
    profile = load_profile(args.profile)
    if args.baud is not None and args.port is None:
        raise CliError("--baud goes with --port")
    from modememu.drivers.serve import ServeOptions, run_modem

    options = ServeOptions(
        profile=profile,
        pty=args.pty,
        device=args.port,
        baud=args.baud or profile.default_dte_rate,
        rfc2217=args.rfc2217,
        number=args.number,
        state_file=args.state,
        force_8n1=args.force_8n1,
        log=args.log,
        phonebook=_phonebook(args.phonebook),
        listen=args.listen,
        pacing=not args.no_pacing,
        gateway=args.gateway,
        isp=_isp(args),
    )
    if args.tui:
        from modememu.tui.run import run_modem_tui

        return run_modem_tui(options)
    return run_modem(options)


def _isp(args: argparse.Namespace) -> IspConfig | None:
    """The ISP behind 5550100/5550101 as the options describe it (None: the default one)."""
    if args.isp_users is None and args.isp_auth is None:
        return None
    if args.isp_users is None:
        raise CliError("--isp-auth needs --isp-users FILE")
    try:
        return IspConfig.from_users_file(args.isp_users, auth=args.isp_auth or "")
    except IspConfigError as exc:
        raise CliError(str(exc)) from None


# -- dial ----------------------------------------------------------------------------------

DIAL_EPILOG = """\
exit status (the dialer's result):
  0  success: echo matched, connection closed, link down, modem on hook
  1  BUSY
  2  NO CARRIER (while dialing)
  3  NO ANSWER (the modem says so only for a dial string with @)
  4  dialing failed otherwise: NO DIALTONE, ERROR, or no answer to a chat step
     within --timeout
  5  link failed: PPP did not reach the network phase, or ended while in use
  6  authentication failed (PAP/CHAP refused, or the ISP wants a user)
  7  TCP failed: refused, reset, timed out, or the echo did not match
  8  carrier lost after CONNECT (also: the port went away after CONNECT)
  9  hang-up failed: carrier still up after DTR drop (or +++ and ATH0)
 10  no session: the port or the log cannot be opened, or the options do not
     go together (one line on stderr)
  2  with a usage line on stderr and nothing on stdout: a command line that
     does not parse
130  interrupted (Ctrl-C): the port is closed, which drops DTR where it has one
"""


def _ipv4_target(text: str) -> tuple[str, int]:
    from ipaddress import AddressValueError, IPv4Address

    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "10.0.2.2", text
    try:
        IPv4Address(host)
    except AddressValueError:
        raise argparse.ArgumentTypeError(
            f"expected [IPv4-ADDRESS:]PORT (the dialer has no DNS), got {text!r}"
        ) from None
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected [IPv4-ADDRESS:]PORT, got {text!r}")
    return host, int(port)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= 3600:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be 0..3600 seconds, got {text!r}")
    return value


def _init_line(text: str) -> str:
    if text and (not text[:2].upper() == "AT" or any(c in text for c in "\r\n\0")):
        raise argparse.ArgumentTypeError(f"expected one AT command line, got {text!r}")
    return text


def _add_dial_parser(sub: argparse._SubParsersAction[_Parser]) -> None:
    dial = sub.add_parser(
        "dial",
        help="dial the ISP through a modem on a serial port: PPP or SLIP, TCP echo, hang-up",
        description="Be the 1990s PC: on the modem at --port (a device, the pty of\n"
        "`modememu modem --pty`, a modememu:// or rfc2217:// URL) send the init line\n"
        "and ATDT NUMBER, bring up PPP (or SLIP), open TCP to --tcp, send a line and\n"
        "check its echo, close, take the link down and hang up, printing every step.",
        epilog=DIAL_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    dial.add_argument("number", metavar="NUMBER", help="what to dial, e.g. 5550100")
    dial.add_argument(
        "--port",
        required=True,
        metavar="DEVICE_OR_URL",
        help="/dev/ttyUSB0, a pty link, modememu://NAME, rfc2217://HOST:PORT",
    )
    link = dial.add_mutually_exclusive_group()
    link.add_argument("--ppp", action="store_true", help="PPP after CONNECT (the default)")
    link.add_argument("--slip", action="store_true", help="SLIP after CONNECT")
    dial.add_argument("--user", help="PAP/CHAP name (PPP only; needs --password)")
    dial.add_argument("--password", help="PAP/CHAP secret (visible to ps; test accounts only)")
    dial.add_argument(
        "--tcp",
        type=_ipv4_target,
        default=("10.0.2.2", 7),
        metavar="HOST:PORT",
        help="where to connect over the link (default: 10.0.2.2:7, the ISP's echo)",
    )
    dial.add_argument("--baud", type=_baud, default=115200, help="port speed (default: 115200)")
    dial.add_argument(
        "--init",
        type=_init_line,
        default="ATZ",
        metavar="AT...",
        help="the command line before dialing, chat's escapes allowed (default: ATZ; '' none)",
    )
    dial.add_argument(
        "--hangup",
        choices=("dtr", "escape"),
        help="drop DTR, or +++ and ATH0 (default: dtr where the port has it, else escape)",
    )
    dial.add_argument("--log", type=Path, metavar="FILE", help="every event as JSON lines")
    dial.add_argument(
        "--wav",
        type=Path,
        metavar="FILE",
        help="the call's sound as 8 kHz WAV (and FILE-caller.wav, FILE-answerer.wav) as the"
        " DTE knew it, since the modem's own events stay on its side of the port: dial tone,"
        " the ATD's digits, ringback, then an answer tone and training for the CONNECT rate",
    )
    dial.add_argument(
        "--timeout",
        type=_seconds,
        metavar="S",
        help="for each step: OK, CONNECT, PPP up, each TCP step (default: 90 for the"
        " modem's answers, longer than its S7, and 60 for the rest)",
    )


def _dial(args: argparse.Namespace) -> int:
    """Errors before a session are one line and exit 10, so no dialer code is mistaken."""
    from modememu.agents.dialer import DialerConfig
    from modememu.drivers.dialport import EXIT_NOT_RUN, DialOptions, run_dial
    from modememu.drivers.errors import PortError

    def refuse(line: str) -> int:
        print(f"modememu: {line}", file=sys.stderr)
        return EXIT_NOT_RUN

    if (args.user is None) != (args.password is None):
        return refuse("--user and --password go together")
    if args.slip and args.user is not None:
        return refuse("--user needs PPP: SLIP has no authentication")
    try:
        config = DialerConfig(
            number=args.number,
            init=args.init,
            mode="slip" if args.slip else "ppp",
            user=args.user or "",
            password=args.password or "",
            host=args.tcp[0],
            port=args.tcp[1],
            hangup=args.hangup or "dtr",
        )
        if args.timeout is not None:  # else the dialer's own defaults
            seconds = args.timeout
            config = dataclasses.replace(
                config, chat_timeout=seconds, link_timeout=seconds, tcp_timeout=seconds
            )
    except ValueError as exc:
        return refuse(str(exc))
    options = DialOptions(
        port=args.port,
        config=config,
        baud=args.baud,
        hangup_auto=args.hangup is None,
        log=args.log,
        wav=args.wav,
    )
    try:
        return run_dial(sys.stdout, options)
    except PortError as exc:
        return refuse(str(exc))


if __name__ == "__main__":
    # Run the package's copy, not this __main__ one: exceptions raised by modules that
    # import modememu.cli (CliError) must be the classes main() catches.
    from modememu.cli import main as package_main

    sys.exit(package_main())
