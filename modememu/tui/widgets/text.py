"""Setting a Static's text at the redraw rate without costing the screen a layout.

`Static.update` lays the whole screen out again by default, in case the text's
size changed; at a few redraws a second, with most texts unchanged and the rest
in boxes of fixed size, that layout was most of the monitor's time.
"""

from __future__ import annotations

from textual.widgets import Static


def show_text(static: Static, text: str, *, fixed: bool = True) -> None:
    """Put `text` in `static` if it changed; `fixed`: its box keeps its size (no layout)."""
    if str(static.content) != text:
        static.update(text, layout=not fixed)
