"""Text from GitHub in terminal cells: what a terminal would act on shown as a visible stand-in, widths in
display cells (an emoji or a CJK character takes two) so that box-drawn tables stay aligned.

A description, an author name or an error message may hold ESC sequences (which clear the screen or
recolour what follows), DEL, or bidirectional overrides (which reverse the rest of the line). Terminal
output shows them as Unicode control pictures (␛, ␉, ␡) or U+FFFD; machine formats keep them unchanged.
"""

from __future__ import annotations

import re

from rich.cells import cell_len, set_cell_size

_ACTED_ON = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _stand_in(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the control pictures block: ␀ .. ␟
    return "\u2421" if code == 0x7F else "\ufffd"


def shown(text: str) -> str:
    """`text` with every character a terminal would act on replaced by a visible stand-in."""
    return text if text.isascii() and text.isprintable() else _ACTED_ON.sub(_stand_in, text)


def cell_width(text: str) -> int:
    """How many terminal cells `text` takes."""
    return len(text) if text.isascii() else cell_len(text)


def ljust_cells(text: str, width: int) -> str:
    """`text` padded on the right to `width` cells."""
    return text + " " * (width - cell_width(text))


def rjust_cells(text: str, width: int) -> str:
    """`text` padded on the left to `width` cells."""
    return " " * (width - cell_width(text)) + text


def truncate_cells(text: str, limit: int) -> str:
    """`text` cut to at most `limit` cells, with an ellipsis when anything was cut."""
    if cell_width(text) <= limit:
        return text
    return set_cell_size(text, max(0, limit - 1)).rstrip(" ") + "…"
