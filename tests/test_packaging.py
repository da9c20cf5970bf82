"""The wheel carries the firmware profiles, and an editable install finds them too."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import modememu
from modememu.profiles import profiles_dir

ROOT = Path(modememu.__file__).resolve().parent.parent


def test_wheel_contains_the_profiles(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("modememu-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {Path(n).name for n in names if n.startswith("modememu/firmware_profiles/")}
    on_disk = {p.name for p in (ROOT / "firmware_profiles").glob("*.toml")}
    assert on_disk and on_disk <= shipped
    assert "modememu/py.typed" in names
    assert any(n.endswith("entry_points.txt") for n in names)


def test_profiles_found_from_this_install() -> None:
    assert sorted(p.name for p in profiles_dir().glob("*.toml")) == sorted(
        p.name for p in (ROOT / "firmware_profiles").glob("*.toml")
    )
