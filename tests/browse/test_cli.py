"""``llavamix browse`` as a user runs it: a real process that prints its URL, serves, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.browse.conftest import Site


def start(site: Site, cache: Path, *extra: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "llavamix", "browse", str(site.mix), "--root", str(site.root), "--port", "0"]
    return subprocess.Popen(
        [*cmd, "--cache", str(cache), *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def url_of(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    for line in process.stdout:  # the index line, then the URL line
        if line.startswith("browsing "):
            return line.split(" at ", 1)[1].split()[0]
    raise AssertionError(f"no URL printed; stderr: {process.stderr.read() if process.stderr else ''}")


def test_serves_on_loopback_and_stops_on_ctrl_c(site: Site, tmp_path: Path) -> None:
    process = start(site, tmp_path / "cache", "--report", str(site.report), "--template", "llava_llama_3")
    try:
        url = url_of(process)
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "record/1", timeout=30) as answer:
            page = answer.read().decode()
        assert "As the model sees it (llava_llama_3)" in page
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "browse stopped" in out and "Traceback" not in err


def test_unknown_template_is_an_error_before_serving(site: Site, tmp_path: Path) -> None:
    process = start(site, tmp_path / "cache", "--template", "chatgpt")
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1 and "unknown template 'chatgpt'" in err
    assert not (tmp_path / "cache").exists()  # refused before any index was built
