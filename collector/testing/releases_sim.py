"""GitHub's release listing (GET /repos/{owner}/{repo}/releases) and GraphQL's Repository.releases, from
GitHub's docs: https://docs.github.com/en/rest/releases/releases#list-releases and
https://docs.github.com/en/graphql/reference/objects#releaseconnection

Releases come newest first; drafts are listed only to those with push access; each asset's
`download_count` is a running total (GitHub keeps no history of it), which here grows by the asset's
`per_day` for each whole day between its upload and the simulator's today. Releases created after today
do not exist yet. The frameworks get a few releases each below: tags and dates approximate the real ones,
the download rates are made up.
"""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from typing import Any

from collector.testing.model import SimAsset, SimRelease, SimRepo
from collector.testing.views import iso


def _rel(tag: str, day: str, assets: tuple[SimAsset, ...], *, prerelease: bool = False) -> SimRelease:
    moment = datetime.fromisoformat(day).replace(hour=17, tzinfo=UTC)
    return SimRelease(tag, tag.lstrip("v"), moment, moment, prerelease, assets)


FRAMEWORK_RELEASES: dict[str, list[SimRelease]] = {
    "keras-team/keras": [
        _rel("v3.10.0", "2025-05-19", (SimAsset("keras-3.10.0-py3-none-any.whl", 40),)),
        _rel("v3.11.0", "2025-07-31", (SimAsset("keras-3.11.0-py3-none-any.whl", 55),)),
        _rel(
            "v3.12.0",
            "2025-10-27",
            (SimAsset("keras-3.12.0-py3-none-any.whl", 70), SimAsset("keras-3.12.0.tar.gz", 9)),
        ),
    ],
    "tensorflow/tensorflow": [
        _rel("v2.19.0", "2025-03-11", (SimAsset("tensorflow-2.19.0-src.tar.gz", 30),)),
        _rel("v2.20.0-rc0", "2025-07-16", (), prerelease=True),
        _rel("v2.20.0", "2025-08-13", (SimAsset("tensorflow-2.20.0-src.tar.gz", 45),)),
    ],
    "apache/mxnet": [
        _rel("1.9.0", "2021-12-17", (SimAsset("apache-mxnet-src-1.9.0-incubating.tar.gz", 3),)),
        _rel("1.9.1", "2022-05-10", (SimAsset("apache-mxnet-src-1.9.1-incubating.tar.gz", 4),)),
    ],
    "chainer/chainer": [
        _rel("v7.8.0", "2021-01-04", (SimAsset("chainer-7.8.0.tar.gz", 2),)),
        _rel("v7.8.1", "2021-06-29", (SimAsset("chainer-7.8.1.tar.gz", 2),)),
    ],
    "BVLC/caffe": [
        _rel("rc5", "2017-02-21", (), prerelease=True),
        _rel("1.0", "2017-04-18", (SimAsset("caffe-1.0.tar.gz", 5),)),
    ],
}


def releases_of(repo: SimRepo) -> list[SimRelease]:
    """The repository's releases, oldest first: its own, else the framework releases above."""
    return repo.releases or FRAMEWORK_RELEASES.get(repo.full_name, [])


def download_count(release: SimRelease, asset: SimAsset, today: date) -> int:
    """The asset's running total on `today`: `per_day` for each whole day since it was uploaded."""
    uploaded = release.published_at or release.created_at
    return asset.per_day * max(0, (today - uploaded.date()).days)


def release_objects(api: str, repo: SimRepo, today: date, *, drafts: bool) -> list[dict[str, Any]]:
    """The listing's items as of `today`, newest first (drafts first, when shown at all)."""
    shown = [
        r
        for r in releases_of(repo)
        if r.created_at.date() <= today and (r.published_at is not None or drafts)
    ]
    shown.sort(key=lambda r: (r.published_at is None, r.published_at or r.created_at), reverse=True)
    return [_release_object(api, repo, r, today) for r in shown]


def releases_connection(repo: SimRepo, today: date, args: dict[str, Any]) -> dict[str, Any]:
    """`releases(first:, after:, orderBy: {field: CREATED_AT|NAME, direction:})` as of `today`: published
    releases only (drafts need push access, which the simulator's GraphQL does not model), each with
    `releaseAssets` (their first 100) and `downloadCount`; cursors are opaque offsets."""
    order = args.get("orderBy") or {"field": "CREATED_AT", "direction": "DESC"}
    shown = [r for r in releases_of(repo) if r.published_at is not None and r.created_at.date() <= today]
    by_name = order.get("field") == "NAME"
    shown.sort(key=lambda r: r.tag if by_name else r.created_at, reverse=order.get("direction") == "DESC")
    after = args.get("after")
    start = int(base64.b64decode(after).decode().split(":")[1]) + 1 if after else 0
    page = shown[start : start + min(int(args.get("first") or 100), 100)]
    nodes = [
        {
            "tagName": r.tag,
            "name": r.name,
            "createdAt": iso(r.created_at),
            "publishedAt": iso(r.published_at) if r.published_at else None,
            "isPrerelease": r.prerelease,
            "isDraft": False,
            "releaseAssets": {
                "totalCount": len(r.assets),
                "nodes": [
                    {"name": a.name, "downloadCount": download_count(r, a, today), "size": a.size}
                    for a in r.assets[:100]
                ],
            },
        }
        for r in page
    ]
    end = start + len(page) - 1
    return {
        "totalCount": len(shown),
        "nodes": nodes,
        "pageInfo": {
            "hasNextPage": end + 1 < len(shown),
            "hasPreviousPage": start > 0,
            "startCursor": _cursor(start) if page else None,
            "endCursor": _cursor(end) if page else None,
        },
    }


def _cursor(offset: int) -> str:
    return base64.b64encode(f"cursor:{offset}".encode()).decode()


def _release_object(api: str, repo: SimRepo, release: SimRelease, today: date) -> dict[str, Any]:
    rid = _id(repo, release.tag)
    base = f"{api}/repos/{repo.full_name}/releases"
    html = f"https://github.com/{repo.full_name}/releases"
    uploaded = iso(release.published_at or release.created_at)
    assets = [
        {
            "url": f"{base}/assets/{rid * 100 + i}",
            "browser_download_url": f"{html}/download/{release.tag}/{a.name}",
            "id": rid * 100 + i,
            "node_id": f"RA_sim{rid * 100 + i}",
            "name": a.name,
            "label": "",
            "state": "uploaded",
            "content_type": "application/octet-stream",
            "size": a.size,
            "download_count": download_count(release, a, today),
            "created_at": uploaded,
            "updated_at": uploaded,
        }
        for i, a in enumerate(release.assets)
    ]
    return {
        "url": f"{base}/{rid}",
        "html_url": f"{html}/tag/{release.tag}",
        "assets_url": f"{base}/{rid}/assets",
        "upload_url": f"https://uploads.github.com/repos/{repo.full_name}/releases/{rid}/assets{{?name,label}}",
        "tarball_url": f"{api}/repos/{repo.full_name}/tarball/{release.tag}",
        "zipball_url": f"{api}/repos/{repo.full_name}/zipball/{release.tag}",
        "id": rid,
        "node_id": f"RE_sim{rid}",
        "tag_name": release.tag,
        "target_commitish": repo.default_branch,
        "name": release.name,
        "body": None,
        "draft": release.published_at is None,
        "prerelease": release.prerelease,
        "created_at": iso(release.created_at),
        "published_at": iso(release.published_at) if release.published_at else None,
        "assets": assets,
    }


def _id(repo: SimRepo, tag: str) -> int:
    """A stable made-up release id: the repository's id and the release's place among its releases."""
    return repo.github_id * 1000 + [r.tag for r in releases_of(repo)].index(tag) + 1
