"""Take docs/compare.png, the README's picture of the compare page, in Debian's headless Chromium.

Serves the web app over a store (by default the quickstart's demo.db, from ./scripts/quickstart.sh) on a
free loopback port, opens /compare with Playwright and saves the screenshot:

    .venv/bin/python scripts/screenshot_compare.py [--store sqlite:///demo.db] [--out docs/compare.png]
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from collector.app import App
from collector.settings import load_settings
from collector.web.app import build_app

REPO_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
QUERY = (
    "repos=tensorflow/tensorflow,BVLC/caffe,keras-team/keras,apache/mxnet"
    "&metric=stars&since=2015-06&every=month&scale=log&align=date"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=f"sqlite:///{REPO_ROOT / 'demo.db'}", help="the store's URL")
    parser.add_argument("--out", default=str(REPO_ROOT / "docs" / "compare.png"), help="the PNG to write")
    parser.add_argument("--query", default=QUERY, help="the compare page's query string")
    args = parser.parse_args()
    app = App(load_settings({"COLLECTOR_DATABASE_URL": args.store}, cwd=REPO_ROOT))
    sock = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(build_app(app), log_config=None, access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        time.sleep(0.05)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1200, "height": 1000})
            response = page.goto(f"http://127.0.0.1:{sock.getsockname()[1]}/compare?{args.query}")
            if response is None or response.status != 200:
                error = page.locator(".error").all_inner_texts()
                print(
                    f"error: the compare page answered {response and response.status}: {error}",
                    file=sys.stderr,
                )
                return 1
            page.wait_for_selector("figure.chart svg")
            page.screenshot(path=args.out)
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
