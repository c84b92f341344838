"""Package names declared in a repository's manifests at its root. Pure: text in, names out.

`pyproject.toml` ([project] name, PEP 621), `setup.cfg` ([metadata] name), `setup.py` (a literal
`name="..."` in the setup call) and `package.json` ("name"). Anything that does not parse is no name.
"""

from __future__ import annotations

import configparser
import json
import re
import tomllib

from collector.downloads.refs import PackageRef, parse_package_ref

MANIFESTS = ("pyproject.toml", "setup.cfg", "setup.py", "package.json")
_SETUP_PY_NAME = re.compile(r"""\bsetup\s*\((?:[^()]|\([^()]*\))*?\bname\s*=\s*(['"])([^'"]+)\1""", re.DOTALL)


def compute_manifest_names(path: str, text: str) -> list[PackageRef]:
    """The packages a manifest declares (none when it declares none or cannot be read)."""
    name = _declared(path, text)
    if not name:
        return []
    source = "npm" if path == "package.json" else "pypi"
    try:
        return [parse_package_ref(f"{source}:{name.strip()}")]
    except ValueError:
        return []


def _declared(path: str, text: str) -> str | None:
    try:
        if path == "pyproject.toml":
            project = tomllib.loads(text).get("project")
            return _text(project.get("name")) if isinstance(project, dict) else None
        if path == "setup.cfg":
            parser = configparser.ConfigParser(interpolation=None)
            parser.read_string(text)
            return parser.get("metadata", "name", fallback=None)
        if path == "setup.py":
            match = _SETUP_PY_NAME.search(text)
            return match.group(2) if match else None
        if path == "package.json":
            data = json.loads(text)
            # A private package is never published: nothing to count on npm.
            return (
                None if not isinstance(data, dict) or data.get("private") is True else _text(data.get("name"))
            )
    except (tomllib.TOMLDecodeError, configparser.Error, json.JSONDecodeError, UnicodeError):
        return None
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
