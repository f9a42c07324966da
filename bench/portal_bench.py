"""The portal's first view: how long until the adapters list shows 200 adapters, on loopback.

    .venv/bin/python -m bench.portal_bench [--adapters 200] [--runs 10]

Starts a private `mcp-adapters serve` (SQLite, local target) on 127.0.0.1, records the adapters (an image the
local target refuses, so they settle at once as Failed and start no process: the list is what is measured),
then opens `/portal/` in Debian's Chromium, each run in a fresh browser context (nothing cached), and times
navigation start -> every row in the table (noted in the page by a MutationObserver). Prints the median and
worst run against the 300 ms goal, and `GET /adapters` alone for comparison.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bench.service_bench import start_service, until

GOAL_MS = 300.0
ROWS_OBSERVER = """
new MutationObserver((_, observer) => {
  if (document.querySelectorAll("#adapters-table tbody tr").length >= ROWS) {
    window.lastRowAt = performance.now();
    observer.disconnect();
  }
}).observe(document, { childList: true, subtree: true });
"""
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--adapters", type=int, default=200)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    state = Path(tempfile.mkdtemp(prefix="mcp-adapters-portal-bench-"))
    service, port = start_service(state)
    base = f"http://127.0.0.1:{port}"
    try:
        api = httpx.Client(base_url=base, timeout=60, trust_env=False)
        until(lambda: api.get("/readyz").status_code == 200 if service.poll() is None else 1 / 0, 60)
        for i in range(args.adapters):
            spec = {"name": f"a{i:04d}", "imageName": "listed-only", "imageVersion": "1", "replicaCount": 1}
            api.post("/adapters", json=spec).raise_for_status()
        until(lambda: len(api.get("/adapters").json()) == args.adapters, 120)
        api_ms = []
        for _ in range(50):
            began = time.perf_counter()
            api.get("/adapters").raise_for_status()
            api_ms.append((time.perf_counter() - began) * 1000)
        view_ms = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
            for _ in range(args.runs):
                context = browser.new_context()
                # Noted by the page itself, the moment the last row is in the table: waiting from outside
                # would add Playwright's polling interval to every figure.
                context.add_init_script(ROWS_OBSERVER.replace("ROWS", str(args.adapters)))
                page = context.new_page()
                page.goto(f"{base}/portal/#/adapters")
                page.locator("#adapters-table tbody tr").nth(args.adapters - 1).wait_for(timeout=30_000)
                view_ms.append(page.evaluate("window.lastRowAt"))  # ms since this navigation started
                context.close()
            browser.close()
        rows = [
            (f"GET /adapters, {args.adapters} adapters (median of 50)", statistics.median(api_ms)),
            (f"GET /adapters, {args.adapters} adapters (p95 of 50)", sorted(api_ms)[47]),
            (f"portal first view, {args.adapters} rows shown (median of {args.runs})", statistics.median(view_ms)),
            ("portal first view, worst run", max(view_ms)),
        ]
        print(f"{'measure':<55} {'ms':>8} {'vs 300 ms goal':>15}")
        for label, value in rows:
            print(f"{label:<55} {value:>8.1f} {value / GOAL_MS:>14.2f}x")
    finally:
        os.killpg(service.pid, signal.SIGTERM)
        service.wait(timeout=60)
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
