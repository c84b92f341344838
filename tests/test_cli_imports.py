"""What the CLI costs to start: commands that serve no HTTP do not import the web stack."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

WEB_STACK = ("uvicorn", "starlette")


def test_importing_the_cli_leaves_the_web_stack_unloaded(tmp_path: Path) -> None:
    # A fresh interpreter: this test process has imported the web app already.
    probe = (
        "import sys, collector.cli; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({WEB_STACK!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, text=True, capture_output=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"`import collector.cli` loaded {out.stdout.strip()}"
