"""The phonebook: built-in numbers, files merged over them, and one-line refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from modememu.phonebook import Entry, Phonebook, PhonebookError, normalise_number

EXAMPLE = """\
[numbers."5550102"]
service = "bbs"
rings = 3
profile = "conexant-v92"
description = "my BBS"

[numbers."555-1234"]
tcp = "BBS.Example.com:23"
telnet = true

[numbers."(555) 0150"]
exec = ["prog", "arg"]
snr_db = 20
drop_after = 2.5

[numbers."5550160"]
modem = "555-0160"

[numbers."*70"]
fault = "no-carrier"
rings = 0
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "phonebook.toml"
    path.write_text(text)
    return path


def test_default_numbers() -> None:
    book = Phonebook.default()
    summary = {e.number: (e.kind, e.service or e.fault) for e in book.entries()}
    assert summary == {
        "5550100": ("service", "isp-ppp"),
        "5550101": ("service", "isp-slip"),
        "5550102": ("service", "echo"),
        "5550103": ("service", "bbs"),
        "5550195": ("service", "echo"),
        "5550196": ("service", "echo"),
        "5550197": ("fault", "no-carrier"),
        "5550198": ("fault", "no-answer"),
        "5550199": ("fault", "busy"),
    }
    assert [e.number for e in book.entries()] == sorted(summary)
    assert all(e.description for e in book.entries())
    assert book.lookup("5550196") == Entry(
        "5550196", "service", service="echo", snr_db=12.0, description="noisy line"
    )
    drops = book.lookup("5550195")
    assert drops is not None
    assert drops.drop_after == 10.0
    assert book.lookup("5550100") == Entry(
        "5550100", "service", service="isp-ppp", description="dial-up ISP, PPP"
    )
    assert book.lookup("5559999") is None
    assert book.lookup("555-0102") is book.lookup("5550102")


def test_load_merges_over_the_defaults(tmp_path: Path) -> None:
    book = Phonebook.load(write(tmp_path, EXAMPLE))
    assert len(book) == 9 + 4  # 5550102 replaced, four added
    assert book.lookup("5550102") == Entry(
        "5550102",
        "service",
        service="bbs",
        rings=3,
        profile="conexant-v92",
        description="my BBS",
    )
    assert book.lookup("5551234") == Entry(
        "5551234", "tcp", host=("bbs.example.com", 23), telnet=True
    )
    assert book.lookup("5550150") == Entry(
        "5550150", "exec", argv=("prog", "arg"), snr_db=20.0, drop_after=2.5
    )
    assert book.lookup("5550160") == Entry("5550160", "modem", modem="5550160")
    assert book.lookup("*70") == Entry("*70", "fault", fault="no-carrier", rings=0)
    untouched = book.lookup("5550199")
    assert untouched is not None
    assert untouched.fault == "busy"


def test_load_over_a_given_base(tmp_path: Path) -> None:
    base = Phonebook({"1": Entry("1", "service", service="echo")})
    book = Phonebook.load(write(tmp_path, '[numbers."2"]\nfault = "busy"\n'), base)
    assert [e.number for e in book.entries()] == ["1", "2"]
    assert len(base) == 1  # the base is not changed


def test_an_empty_file_is_the_defaults(tmp_path: Path) -> None:
    book = Phonebook.load(write(tmp_path, ""))
    assert book.entries() == Phonebook.default().entries()


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("5550102", "5550102"),
        ("555-0102", "5550102"),
        ("(555) 010.2/", "5550102"),
        ("*70#ab", "*70#AB"),
        ("", ""),
    ],
)
def test_normalise_number(text: str, normalised: str) -> None:
    assert normalise_number(text) == normalised


# toml -> the message after "<path>: "
ERRORS = {
    "other = 1": "other: unknown key (expected: numbers)",
    "numbers = 5": "numbers: expected a table, got an integer",
    '[numbers]\n"555" = 1': "numbers.555: expected a table, got an integer",
    '[numbers."5550102"]\nservice = "echo"\nring = 2': (
        "numbers.5550102.ring: unknown key (allowed: service, tcp, exec, modem, fault, "
        "telnet, rings, profile, snr_db, latency_ms, ber, drop_after, description)"
    ),
    '[numbers."5550102"]\nrings = 2': (
        "numbers.5550102: needs one of service, tcp, exec, modem, fault"
    ),
    '[numbers."5550102"]\nservice = "echo"\nfault = "busy"': (
        "numbers.5550102: service and fault both given; use only one"
    ),
    '[numbers."555x"]\nservice = "echo"': ("numbers.555x: a number must be digits, *, # or A-D"),
    '[numbers."--"]\nservice = "echo"': "numbers.--: a number must be digits, *, # or A-D",
    '[numbers."555-0102"]\nservice = "echo"\n[numbers."5550102"]\nservice = "bbs"': (
        "numbers.5550102: same number as numbers.555-0102"
    ),
    '[numbers."5550102"]\nservice = "ftp"': (
        "numbers.5550102.service: unknown value 'ftp' (allowed: echo, bbs, isp-ppp, isp-slip)"
    ),
    '[numbers."5550102"]\nservice = 1': (
        "numbers.5550102.service: expected a string, got an integer"
    ),
    '[numbers."5550102"]\nfault = "down"': (
        "numbers.5550102.fault: unknown value 'down' (allowed: busy, no-answer, no-carrier)"
    ),
    '[numbers."5550102"]\ntcp = "bbs.example.com:70000"': (
        "numbers.5550102.tcp: port must be 1..65535 (got '70000')"
    ),
    '[numbers."5550102"]\ntcp = "bbs.example.com"': (
        "numbers.5550102.tcp: expected host:port, got 'bbs.example.com'"
    ),
    '[numbers."5550102"]\ntcp = "bbs example:23"': (
        "numbers.5550102.tcp: bad character ' ' in host name 'bbs example'"
    ),
    '[numbers."5550102"]\ntcp = ["bbs", 23]': (
        "numbers.5550102.tcp: expected a string, got an array"
    ),
    '[numbers."5550102"]\ntcp = "bbs:23"\ntelnet = "yes"': (
        "numbers.5550102.telnet: expected a boolean, got a string"
    ),
    '[numbers."5550102"]\nservice = "echo"\ntelnet = true': (
        "numbers.5550102.telnet: only for tcp entries"
    ),
    '[numbers."5550102"]\nexec = []': (
        "numbers.5550102.exec: expected a list of strings, the program first"
    ),
    '[numbers."5550102"]\nexec = "prog"': (
        "numbers.5550102.exec: expected a list of strings, the program first"
    ),
    '[numbers."5550102"]\nexec = ["prog", 1]': (
        "numbers.5550102.exec: expected a list of strings, the program first"
    ),
    '[numbers."5550102"]\nmodem = "modem two"': (
        "numbers.5550102.modem: a number must be digits, *, # or A-D"
    ),
    '[numbers."5550102"]\nservice = "echo"\nrings = 256': (
        "numbers.5550102.rings: 256 outside 0..255"
    ),
    '[numbers."5550102"]\nservice = "echo"\nrings = true': (
        "numbers.5550102.rings: expected an integer, got a boolean"
    ),
    '[numbers."5550102"]\nservice = "echo"\nrings = 1.5': (
        "numbers.5550102.rings: expected an integer, got a float"
    ),
    '[numbers."5550102"]\nservice = "echo"\nsnr_db = "high"': (
        "numbers.5550102.snr_db: expected a number, got a string"
    ),
    '[numbers."5550102"]\nservice = "echo"\nsnr_db = nan': (
        "numbers.5550102.snr_db: expected a finite number, got nan"
    ),
    '[numbers."5550102"]\nservice = "echo"\ndrop_after = 0': (
        "numbers.5550102.drop_after: must be above 0 seconds, not 0.0"
    ),
    '[numbers."5550102"]\nservice = "echo"\nprofile = 3': (
        "numbers.5550102.profile: expected a string, got an integer"
    ),
    '[numbers."5550102"]\nservice = "echo"\ndescription = false': (
        "numbers.5550102.description: expected a string, got a boolean"
    ),
    '[numbers."555\\n0102"]\nservice = "echo"': (
        "numbers.555\\n0102: a number must be digits, *, # or A-D"
    ),
    '[numbers."5550102"]\nservice = "echo"\n"bad\\nkey" = 1': (
        "numbers.5550102.bad\\nkey: unknown key (allowed: service, tcp, exec, modem, fault, "
        "telnet, rings, profile, snr_db, latency_ms, ber, drop_after, description)"
    ),
}


@pytest.mark.parametrize("text", list(ERRORS))
def test_errors_name_file_and_key(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PhonebookError) as info:
        Phonebook.load(path)
    assert str(info.value) == f"{path}: {ERRORS[text]}"


def test_toml_syntax_error(tmp_path: Path) -> None:
    path = write(tmp_path, '[numbers."5550102"\nservice = "echo"\n')
    with pytest.raises(PhonebookError) as info:
        Phonebook.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: not valid TOML: ")
    assert "line 1" in message
    assert len(message.splitlines()) == 1


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "phonebook.toml"
    path.write_bytes(b'[numbers."5550102"]\ndescription = "\xff"\n')
    with pytest.raises(PhonebookError, match=r": not UTF-8 text \(invalid start byte\)$"):
        Phonebook.load(path)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(PhonebookError) as info:
        Phonebook.load(path)
    assert str(info.value) == f"{path}: no such phonebook file"


def test_unreadable_path(tmp_path: Path) -> None:
    with pytest.raises(PhonebookError) as info:
        Phonebook.load(tmp_path)
    assert str(info.value).startswith(f"{tmp_path}: cannot read: ")
    assert len(str(info.value).splitlines()) == 1
