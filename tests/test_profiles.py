"""The shipped firmware profiles, and the validator's one-line refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from modememu.profiles import (
    CARRIERS,
    ENV_PROFILES_DIR,
    FLOW_SETTINGS,
    REQUIRED_SETTINGS,
    REQUIRED_SREGISTERS,
    Profile,
    ProfileError,
    load_all,
    load_profile,
    parse_profile,
    profile_names,
    profiles_dir,
)

SHIPPED = [
    "conexant-v92",
    "hayes-smartmodem-1200",
    "hayes-smartmodem-2400",
    "rockwell-rc288",
    "usr-courier-v34",
    "usr-sportster-56k",
    "zyxel-u1496e",
]

# name: (top modulation, max_rate, result_family, connect_style, flow family)
LINE_FACTS = {
    "hayes-smartmodem-1200": ("B212", 1200, "hayes", "hayes", "rockwell"),
    "hayes-smartmodem-2400": ("V22B", 2400, "hayes", "hayes", "rockwell"),
    "zyxel-u1496e": ("V32B", 14400, "hayes", "zyxel", "zyxel"),
    "rockwell-rc288": ("V34", 28800, "rockwell", "rockwell", "rockwell"),
    "usr-courier-v34": ("V34", 33600, "usr", "usr", "usr"),
    "usr-sportster-56k": ("V90", 56000, "usr", "usr", "usr"),
    "conexant-v92": ("V92", 56000, "rockwell", "rockwell", "rockwell"),
}

# A small valid profile; each bad case below changes one thing in it.
VALID = """\
[identity]
maker = "Test Maker"
model = "Test Model"
gmi = "TEST"
gmm = "MODEL"
gmr = "1.0"

[identity.info]
"0" = "1234"

[line]
modulations = ["V22B", "V22", "B212", "B103"]
max_rate = 2400
error_control = []
compression = []

[dte]
rates = [1200, 2400]
default_rate = 2400

[commands]
line_limit = 40
result_family = "hayes"
connect_style = "hayes"
flow_control = "rockwell"

[settings]
E = [0, 1, 1]
Q = [0, 1, 0]
V = [0, 1, 1]
X = [0, 4, 4]
"&C" = [0, 1, 1]
"&D" = [0, 3, 2]
"&S" = [0, 1, 0]
"&K" = [0, 6, 3]

[sregisters]
"0" = [0, 255, 0]
"1" = [0, 255, 0]
"2" = [0, 255, 43]
"3" = [0, 127, 13]
"4" = [0, 127, 10]
"5" = [0, 127, 8]
"6" = [2, 255, 2]
"7" = [1, 255, 50]
"8" = [0, 255, 2]
"10" = [1, 255, 14]
"12" = [0, 255, 50]
"25" = [0, 255, 5]
"""


def edit(old: str, new: str) -> str:
    assert VALID.count(old) == 1, old
    return VALID.replace(old, new)


@pytest.fixture
def shipped(monkeypatch: pytest.MonkeyPatch) -> dict[str, Profile]:
    monkeypatch.delenv(ENV_PROFILES_DIR, raising=False)
    return {p.name: p for p in load_all()}


def test_the_seven_profiles_load_with_exact_names(
    monkeypatch: pytest.MonkeyPatch, shipped: dict[str, Profile]
) -> None:
    monkeypatch.delenv(ENV_PROFILES_DIR, raising=False)
    assert profile_names() == SHIPPED
    assert sorted(shipped) == SHIPPED
    for name, profile in shipped.items():
        assert profile.path.name == f"{name}.toml"


@pytest.mark.parametrize("name", SHIPPED)
def test_line_and_command_facts(shipped: dict[str, Profile], name: str) -> None:
    profile = shipped[name]
    top, max_rate, results, connect, flow = LINE_FACTS[name]
    assert profile.top_modulation == top
    assert profile.max_rate == max_rate
    assert profile.result_family == results
    assert profile.connect_style == connect
    assert profile.flow_family == flow
    assert not profile.digital
    assert profile.default_dte_rate in profile.dte_rates
    assert profile.readonly_sregisters >= {1}
    for setting in REQUIRED_SETTINGS + FLOW_SETTINGS[flow]:
        assert setting in profile.settings
    for register in REQUIRED_SREGISTERS:
        assert register in profile.sregisters
    # The engine implements these itself; a profile must not claim them as settings.
    for action in ("A", "D", "H", "O", "Z", "I", "S", "T", "P", "&F", "&W", "&Y", "&V", "&Z"):
        assert action not in profile.settings, action
    assert "+IPR" not in profile.extended
    assert "+MS" not in profile.extended


@pytest.mark.parametrize("name", SHIPPED)
def test_modulations_are_listed_fastest_first(shipped: dict[str, Profile], name: str) -> None:
    modulations = shipped[name].modulations
    assert len(set(modulations)) == len(modulations)
    assert modulations[0] == shipped[name].top_modulation


def test_hayes_smartmodem_1200(shipped: dict[str, Profile]) -> None:
    p = shipped["hayes-smartmodem-1200"]
    assert p.maker == "Hayes Microcomputer Products"
    assert p.model == "Smartmodem 1200"
    assert p.info[0] == "120"
    assert set(p.modulations) == {"B103", "B212"}
    assert p.dte_rates == (300, 1200)
    assert p.line_limit == 40
    assert p.error_control == () and p.compression == ()
    assert p.settings["X"].high == 1
    assert p.settings["&K"].high == 0  # no flow control at all
    assert p.gcap == ()
    assert p.extended == {}


def test_hayes_smartmodem_2400(shipped: dict[str, Profile]) -> None:
    p = shipped["hayes-smartmodem-2400"]
    assert p.model == "Smartmodem 2400"
    assert p.info[0] == "240"
    assert set(p.modulations) == {"V22B", "V22", "B212", "B103", "V21"}
    assert p.dte_rates == (300, 1200, 2400)
    assert p.settings["X"].high == 4
    assert p.settings["X"].default == 4
    assert p.settings["&K"].high == 0
    assert p.error_control == () and p.gcap == ()


def test_zyxel_u1496e(shipped: dict[str, Profile]) -> None:
    p = shipped["zyxel-u1496e"]
    assert p.maker.startswith("ZyXEL")
    assert p.info[0] == "1496"
    assert "U1496E" in p.info[1]
    assert "V23C" in p.modulations
    assert p.error_control == ("LAPM", "MNP")
    assert p.compression == ("V42B", "MNP5")
    assert p.settings["X"].high == 7


def test_rockwell_rc288(shipped: dict[str, Profile]) -> None:
    p = shipped["rockwell-rc288"]
    assert p.info[0] == "28800"
    assert p.info[3].endswith("V34_DS")
    assert p.settings["&K"].default == 3
    assert "+MS" in p.gcap
    assert p.extended["+IFC"][0].default == 2


def test_usr_courier(shipped: dict[str, Profile]) -> None:
    p = shipped["usr-courier-v34"]
    assert p.maker == "U.S. Robotics"
    assert p.model == "Courier V.Everything"
    assert p.info[0].isdigit() and len(p.info[0]) == 4
    assert "U.S. Robotics" in p.info[3]
    assert "Configuration Profile" in p.info[7]
    assert p.settings["X"].high == 7
    assert {"&H", "&R", "&I"} <= set(p.settings)


def test_usr_sportster_56k(shipped: dict[str, Profile]) -> None:
    p = shipped["usr-sportster-56k"]
    assert "V92" not in p.modulations
    assert "V90" in p.modulations and "V34" in p.modulations
    assert p.info[3].startswith("U.S. Robotics")
    assert "+ES" in p.extended and "+DS" in p.extended


def test_conexant_v92(shipped: dict[str, Profile]) -> None:
    p = shipped["conexant-v92"]
    assert p.info[0] == "56000"
    assert p.modulations[:3] == ("V92", "V90", "V34")
    assert p.gmi == "CONEXANT"
    assert {"+MR", "+ER", "+DR", "+ES", "+DS"} <= set(p.extended)
    assert p.extended["+ICF"][0].default == 3


def test_the_valid_base_loads(tmp_path: Path) -> None:
    path = tmp_path / "base.toml"
    path.write_text(VALID, encoding="utf-8")
    profile = load_profile(str(path))
    assert profile.name == "base"
    assert profile.top_modulation == "V22B"
    assert profile.info[0] == "1234"


BAD_CASES = [
    pytest.param(edit("[dte]", "[dte"), None, "not valid TOML", id="syntax-error"),
    pytest.param(edit('gmm = "MODEL"\n', ""), "identity.gmm", "missing", id="missing-key"),
    pytest.param(
        edit("line_limit = 40", 'line_limit = "40"'),
        "commands.line_limit",
        "expected int, got str",
        id="wrong-type",
    ),
    pytest.param(
        edit("max_rate = 2400", "max_rate = true"),
        "line.max_rate",
        "expected int, got bool",
        id="bool-for-int",
    ),
    pytest.param(
        edit("X = [0, 4, 4]", "X = [0, 4, 5]"),
        "settings.X",
        "default 5 outside 0..4",
        id="default-out-of-range",
    ),
    pytest.param(
        edit('"7" = [1, 255, 50]', '"7" = [1, 255, 0]'),
        "sregisters.7",
        "default 0 outside 1..255",
        id="sregister-default-out-of-range",
    ),
    pytest.param(
        edit('"V22B", "V22"', '"V22B", "V29"'),
        "line.modulations",
        "unknown value 'V29'",
        id="unknown-modulation",
    ),
    pytest.param(edit('"&D" = [0, 3, 2]\n', ""), "settings.&D", "missing", id="missing-setting"),
    pytest.param(
        edit('"&K" = [0, 6, 3]', '"&H" = [0, 3, 0]'),
        "settings.&K",
        "missing",
        id="missing-flow-setting",
    ),
    pytest.param(
        edit('"25" = [0, 255, 5]\n', ""), "sregisters.25", "missing", id="missing-sregister"
    ),
    pytest.param(
        edit("default_rate = 2400", "default_rate = 9600"),
        "dte.default_rate",
        "9600 is not one of dte.rates",
        id="default-rate-not-in-rates",
    ),
    pytest.param(
        edit('flow_control = "rockwell"', 'flow_control = "hst"'),
        "commands.flow_control",
        "unknown value 'hst'",
        id="unknown-flow-family",
    ),
    pytest.param(
        edit('"0" = "1234"', '"\u00b2" = "1234"'),
        "identity.info.\u00b2",
        "key must be a number",
        id="non-ascii-digit-info-key",
    ),
    pytest.param(
        edit('"25" = [0, 255, 5]', '"25" = [0, 255, 5]\n"\u0662" = [0, 1, 0]'),
        "sregisters.\u0662",
        "register number",
        id="non-ascii-digit-sregister",
    ),
    pytest.param(
        edit('gmr = "1.0"', 'gmr = "1.0"\ngcap = ["+MS", 3]'),
        "identity.gcap",
        "non-empty strings",
        id="gcap-not-strings",
    ),
    pytest.param(
        edit('"&S" = [0, 1, 0]', '"&S" = [0, 1, 0]\n"a\\nb" = [0, 1, 2]'),
        "settings.a\\nb",
        "default 2 outside 0..1",
        id="newline-in-key",
    ),
]


@pytest.mark.parametrize(("text", "key", "problem"), BAD_CASES)
def test_bad_profiles_fail_on_one_line(
    tmp_path: Path, text: str, key: str | None, problem: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        load_profile(str(path))
    message = str(caught.value)
    assert "\n" not in message and "\r" not in message
    assert message.startswith(f"{path}: ")
    if key is not None:
        assert f": {key}: " in message
    assert problem in message


def test_non_utf8_file_fails_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(edit("Test Maker", "Caf\u00e9 Maker").encode("latin-1"))
    with pytest.raises(ProfileError) as caught:
        load_profile(str(path))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: not UTF-8 text")


def test_parse_profile_names_the_given_path() -> None:
    path = Path("somewhere") / "made-up.toml"
    with pytest.raises(ProfileError) as caught:
        parse_profile(edit("max_rate = 2400", "max_rate = 100").encode(), path)
    assert str(caught.value) == f"{path}: line.max_rate: 100 outside 300..56000"


def test_missing_file_and_unknown_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ProfileError, match="no such profile file"):
        load_profile(str(missing))
    monkeypatch.delenv(ENV_PROFILES_DIR, raising=False)
    with pytest.raises(ProfileError) as caught:
        load_profile("no-such-modem")
    assert "usr-courier-v34" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_profiles_dir_honours_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_PROFILES_DIR, raising=False)
    default = profiles_dir()
    assert (default / "usr-courier-v34.toml").is_file()

    (tmp_path / "only-one.toml").write_text(VALID, encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a profile", encoding="utf-8")
    monkeypatch.setenv(ENV_PROFILES_DIR, str(tmp_path))
    assert profiles_dir() == tmp_path
    assert profile_names() == ["only-one"]
    assert [p.name for p in load_all()] == ["only-one"]
    assert load_profile("only-one").model == "Test Model"
    with pytest.raises(ProfileError, match="only-one"):
        load_profile("usr-courier-v34")

    monkeypatch.setenv(ENV_PROFILES_DIR, "")  # empty: no override
    assert profiles_dir() == default


def test_carrier_order_defines_top_modulation() -> None:
    assert CARRIERS.index("V92") > CARRIERS.index("V90") > CARRIERS.index("V34")
    assert CARRIERS.index("B212") > CARRIERS.index("B103")
