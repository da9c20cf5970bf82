"""The README's runnable examples run, and print what their comments promise."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from modememu.scenario import load
from modememu.scenario import run as run_scenario

README = Path(__file__).resolve().parent.parent / "README.md"


def example_after(heading: str) -> str:
    """The first ```python block after `heading`."""
    text = README.read_text()
    start = text.index(heading)
    match = re.search(r"```python\n(.*?)```", text[start:], re.DOTALL)
    assert match is not None, f"no example after {heading!r}"
    return match.group(1)


def run(code: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(README), "exec"), {})
    return out.getvalue()


def test_the_tcp_example_echoes() -> None:
    assert run(example_after("## TCP/IP")).splitlines() == ["b'hello'"]


def test_the_scenario_example_runs(tmp_path: Path) -> None:
    text = README.read_text()
    start = text.index("### Scenarios")
    match = re.search(r"```toml\n(.*?)```", text[start:], re.DOTALL)
    assert match is not None
    bench = tmp_path / "bench.toml"
    bench.write_text(match.group(1))
    out = io.StringIO()
    assert run_scenario(load(bench), out) == 0
    assert out.getvalue().count("done: exit 0: success") == 2
