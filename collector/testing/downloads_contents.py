"""GitHub's contents API for one file (GET /repos/{owner}/{repo}/contents/{path}), from GitHub's docs:
https://docs.github.com/en/rest/repos/contents#get-repository-content

A file answers an object with `type` "file", `encoding` "base64" and `content` (base64 in lines of 60
characters, as GitHub sends it); a path that is not there answers 404. The frameworks' manifests at
their repositories' roots are here (a repository whose packages are built from a subdirectory, like
tensorflow's, has none there).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from collector.testing.model import SimRepo

DOCS = "https://docs.github.com/rest/repos/contents#get-repository-content"

FRAMEWORK_FILES: dict[str, dict[str, str]] = {
    "keras-team/keras": {
        "pyproject.toml": '[build-system]\nrequires = ["setuptools>=61.0"]\n\n[project]\nname = "keras"\n'
        'description = "Multi-backend Keras"\nrequires-python = ">=3.10"\n',
    },
    "Theano/Theano": {
        "setup.py": "from setuptools import setup\n\nsetup(\n    name=\"Theano\",\n    version='1.0.5',\n)\n",
    },
    "chainer/chainer": {"setup.py": "import setuptools\n\nsetuptools.setup(\n    name='chainer',\n)\n"},
    "Lasagne/Lasagne": {
        "setup.cfg": "[metadata]\nname = Lasagne\n",
        "setup.py": "from setuptools import setup\nsetup(name='Lasagne', version='0.2.dev1')\n",
    },
}


def files_of(repo: SimRepo) -> dict[str, str]:
    """The repository's files: its own, else the framework manifests above."""
    return repo.files or FRAMEWORK_FILES.get(repo.full_name, {})


def contents_answer(api: str, repo: SimRepo, rest: str, prefix: str) -> tuple[int, Any, str]:
    """(status, body, path template) for `rest` ("/contents/PATH") of the default branch; `prefix` is the
    template of the repository's own URL."""
    template = f"{prefix}/contents/{{path}}"
    path = rest.removeprefix("/contents/").strip("/")
    text = files_of(repo).get(path)
    if not repo.commits and not repo.files:
        empty = {"message": "This repository is empty.", "documentation_url": DOCS, "status": "404"}
        return 404, empty, template
    if text is None:
        return 404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"}, template
    raw = text.encode()
    encoded = base64.b64encode(raw).decode()
    content = "".join(encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60))
    sha = hashlib.sha1(b"blob %d\0" % len(raw) + raw, usedforsecurity=False).hexdigest()
    url = f"{api}/repos/{repo.full_name}/contents/{path}?ref={repo.default_branch}"
    html = f"https://github.com/{repo.full_name}/blob/{repo.default_branch}/{path}"
    git = f"{api}/repos/{repo.full_name}/git/blobs/{sha}"
    body = {
        "type": "file",
        "encoding": "base64",
        "size": len(raw),
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "content": content,
        "sha": sha,
        "url": url,
        "git_url": git,
        "html_url": html,
        "download_url": f"https://raw.githubusercontent.com/{repo.full_name}/{repo.default_branch}/{path}",
        "_links": {"self": url, "git": git, "html": html},
    }
    return 200, body, template
