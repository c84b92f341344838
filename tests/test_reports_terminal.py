"""The terminal table in a narrow terminal: descriptions get the room a block of columns leaves."""

from __future__ import annotations

import re
from datetime import date

import pandas as pd

from collector.reports.model import Footnotes, Ranking
from collector.reports.render import render_table

DESCRIPTION = "An open source machine learning framework for everyone, fast and flexible"


def _ranking(names: list[str]) -> Ranking:
    rows = [
        {
            "rank": k + 1,
            "repo": name,
            "stars": 180_000 - k,
            "forks": 88_000,
            "contributors": 3_400,
            "language": "Python",
            "archived": False,
            "description": DESCRIPTION,
            "exists": True,
        }
        for k, name in enumerate(names)
    ]
    return Ranking(date(2017, 1, 3), pd.DataFrame(rows), Footnotes())


def _descriptions(text: str) -> list[str]:
    """The description cells: the last cell of each row of the block whose header names it."""
    cells, inside = [], False
    for line in text.splitlines():
        if line.startswith("┃"):
            inside = "description" in line
        elif line.startswith("│") and inside:
            cells.append(re.split(r"│", line)[-2].strip())
    return cells


def test_a_100_column_terminal_shows_descriptions_in_the_room_left() -> None:
    ranking = _ranking(["deeplearning4j/deeplearning4j", "tensorflow/tensorflow"])
    for width in (100, 80, 60):
        text = render_table(ranking, width=width)
        assert max(len(line) for line in text.splitlines() if line[:1] in "┏┃┡│└") <= width
        shown = _descriptions(text)
        assert len(shown) == 2 and all(DESCRIPTION.startswith(cell.rstrip("…")) for cell in shown)
        # Half the ranking's 48 characters at least, in a block of its own if need be; at 60 columns
        # all that the rank and name leave (60 - 40 - 3).
        assert min(map(len, shown)) >= (24 if width >= 80 else 17), (width, shown)
    # Wide enough: the description stays beside the numbers, at up to 48 characters.
    wide = render_table(ranking, width=200)
    assert "(continued)" not in wide and max(map(len, _descriptions(wide))) == 48
