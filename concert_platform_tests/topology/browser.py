"""A page of the Dagster UI as a person sees it: rendered by headless Chromium (Debian's), as text."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile

CHROMIUM = "chromium"
# Without these, Chromium tries to reach Google's services, which this closed network refuses.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def rendered_text(url: str, wait_ms: int = 20_000) -> str:
    """The page's visible text once its scripts have run (styles and scripts dropped, whitespace collapsed)."""
    binary = shutil.which(CHROMIUM)
    assert binary, "Debian's chromium is needed (.ci/run installs it: apt-get install chromium)"
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        done = subprocess.run(
            [binary, *FLAGS, f"--user-data-dir={profile}", f"--virtual-time-budget={wait_ms}", "--dump-dom", url],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    html = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", done.stdout, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
