"""REST pagination as GitHub answers it: bounded query integers and the Link header."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode


def bounded_int(value: str | None, default: int, low: int, high: int) -> int:
    """A query parameter as an integer in [low, high] (`default` when absent or not a number)."""
    try:
        n = int(value) if value is not None else default
    except ValueError:
        n = default
    return min(max(n, low), high)


def page_links(base: str, query: Sequence[tuple[str, str]], page: int, last: int) -> dict[str, str]:
    """The Link header of a page (`prev, next, last, first` as in the 2022 octokit recording), or none
    when everything fits on one page; `page` goes last, after the request's other parameters."""
    if last <= 1 and page == 1:
        return {}
    kept = [(k, v) for k, v in query if k != "page"]

    def link(n: int) -> str:
        return f"{base}?{urlencode([*kept, ('page', str(n))])}"

    rels: list[str] = []
    if page > 1:
        rels.append(f'<{link(min(page - 1, last))}>; rel="prev"')
    if page < last:
        rels.append(f'<{link(page + 1)}>; rel="next"')
        rels.append(f'<{link(last)}>; rel="last"')
    if page > 1:
        rels.append(f'<{link(1)}>; rel="first"')
    return {"link": ", ".join(rels)}
