"""Drive the explorer notebook in a real browser: JupyterLab headless + Chromium (Playwright
pointed at the system browser; nothing downloads a browser).

    with JupyterLab(root) as lab, browser() as page:
        result = run_explorer(page, lab, "notebooks/explore_fusion_matrices.ipynb")

    # ... or type a checkpoint file and a video file into the widget's path fields first:
        result = run_explorer(page, lab, notebook, checkpoint="ckpt.pt", video="clip.mp4")

Used by the end-to-end test (``tests/viz/test_explorer_browser.py``) and by
``tools/explorer_screenshot.py`` (the README's screenshots).
"""
from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> Optional[str]:
    """The system Chromium/Chrome executable (``EAN_CHROMIUM`` overrides), or None."""
    if os.environ.get("EAN_CHROMIUM"):
        return os.environ["EAN_CHROMIUM"]
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterLab:
    """A headless JupyterLab server on a free localhost port, stopped on exit."""

    def __init__(self, root: Path, startup_timeout: float = 120.0):
        self.root = Path(root)
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.timeout = startup_timeout
        self.proc: Optional[subprocess.Popen] = None
        self.log = self.root / "runs" / "jupyterlab.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base}/lab/tree/{path}?token={self.token}"

    def __enter__(self) -> "JupyterLab":
        self.log.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--ServerApp.port={self.port}",
               "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={self.token}",
               f"--ServerApp.root_dir={self.root}", "--ServerApp.allow_root=True",
               "--ServerApp.port_retries=0", "--LabApp.news_url=", "--LabApp.check_for_updates_class="
               "jupyterlab.NeverCheckForUpdate"]
        self._log_file = open(self.log, "w")
        self.proc = subprocess.Popen(cmd, cwd=self.root, stdout=self._log_file, stderr=subprocess.STDOUT)
        deadline = time.time() + self.timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}; see {self.log}")
            try:
                with urllib.request.urlopen(f"{self.base}/api/status?token={self.token}", timeout=2):
                    return self
            except OSError:
                time.sleep(0.5)
        self.__exit__(None, None, None)
        raise RuntimeError(f"JupyterLab did not answer within {self.timeout:.0f} s; see {self.log}")

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if hasattr(self, "_log_file"):
            self._log_file.close()


@contextlib.contextmanager
def browser(executable: Optional[str] = None, width: int = 1400, height: int = 1000) -> Iterator[object]:
    """A Playwright page in the system Chromium (headless)."""
    from playwright.sync_api import sync_playwright

    executable = executable or find_chromium()
    if executable is None:
        raise RuntimeError("no Chromium found (install Debian's `chromium`, or set EAN_CHROMIUM)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=executable, headless=True,
                               args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"])
        try:
            page = b.new_page(viewport={"width": width, "height": height})
            yield page
        finally:
            b.close()


@dataclass
class ExplorerRun:
    before: str                       # the kernel-weight plot's image (data URL) before the slider moved
    after: str                        # ... and after
    status_before: str
    status_after: str
    errors: list[str] = field(default_factory=list)   # texts of error outputs in the notebook

    @property
    def plot_changed(self) -> bool:
        return bool(self.before) and bool(self.after) and self.before != self.after


WEIGHTS_IMG = ".ean-kernel-weights img"
STATUS = ".ean-status"
CHECKPOINT_PATH = ".ean-checkpoint-path input"
VIDEO_PATH = ".ean-video-path input"
ZOOM_READOUT = ".ean-zoom .widget-readout"


def _run_all(page) -> None:
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()


def _dismiss_news(page) -> None:
    """Answer JupyterLab's "notified about news?" toast (it would cover the screenshot)."""
    button = page.locator(".jp-toast-button, .jp-Notification-Toast button", has_text="No")
    try:
        button.first.click(timeout=3000)
    except Exception:
        pass


def error_outputs(page) -> list[str]:
    texts = []
    for loc in page.locator(".jp-OutputArea-output").all():
        mime = loc.get_attribute("data-mime-type") or ""
        text = loc.inner_text()
        if "jupyter.stderr" in mime and ("Traceback" in text or "Error" in text):
            texts.append(text[:500])
        elif "Traceback (most recent call last)" in text:
            texts.append(text[:500])
    return texts


def _status(page) -> str:
    return page.locator(STATUS).first.inner_text()


def type_path(page, field: str, path: str, timeout_s: float = 300.0) -> str:
    """Type ``path`` into a path field of the widget (``CHECKPOINT_PATH`` or ``VIDEO_PATH``)
    and press Enter, as a person does; wait for the update it starts and return the status.
    Raises RuntimeError when the widget answers in red (cannot use the file, or the update
    failed)."""
    before = _status(page)
    box = page.locator(field).first
    box.scroll_into_view_if_needed()
    box.click()
    box.fill(path)
    box.press("Enter")
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        status = _status(page)
        if status != before:
            if not re.match(r"update \d+:", status.strip()):
                raise RuntimeError(f"the explorer refused {path}: {status}")
            return status
        time.sleep(0.5)
    raise RuntimeError(f"no update within {timeout_s:.0f} s after typing {path} ({before})")


def run_explorer(page, lab: JupyterLab, notebook: str, timeout_s: float = 300.0, key_presses: int = 3,
                 screenshot: Optional[Path] = None, checkpoint: Optional[str] = None,
                 video: Optional[str] = None) -> ExplorerRun:
    """Open ``notebook``, run all cells, type ``checkpoint`` and ``video`` (if given) into the
    widget's path fields, move the zoom slider right ``key_presses`` steps and report the
    kernel-weight plot before and after the slider moved (the screenshot: once the update of
    the slider's final value is shown)."""
    page.set_default_timeout(timeout_s * 1000)
    page.goto(lab.url(notebook))
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=timeout_s * 1000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator, .jp-Toolbar-kernelStatus, .jp-KernelStatus",
                           state="attached", timeout=timeout_s * 1000)
    time.sleep(2)   # let the kernel connect before the cells are queued
    _dismiss_news(page)
    _run_all(page)
    page.wait_for_selector(WEIGHTS_IMG, timeout=timeout_s * 1000)
    page.wait_for_function(f"document.querySelector('{STATUS}') && "
                           f"document.querySelector('{STATUS}').innerText.includes('update')")
    for selector, path in ((CHECKPOINT_PATH, checkpoint), (VIDEO_PATH, video)):
        if path is not None:
            type_path(page, selector, str(path), timeout_s)
    before = page.locator(WEIGHTS_IMG).first.get_attribute("src") or ""
    status_before = _status(page)
    handle = page.locator(".ean-zoom .noUi-handle").first
    handle.scroll_into_view_if_needed()
    handle.focus()
    for _ in range(key_presses):
        page.keyboard.press("ArrowRight")
    deadline = time.time() + (60 if checkpoint is None else timeout_s)   # full-size: seconds per update
    after, status_after = before, status_before
    while time.time() < deadline:
        status_after = _status(page)
        after = page.locator(WEIGHTS_IMG).first.get_attribute("src") or ""
        if after != before and status_after != status_before and "zoom 1.0" not in status_after:
            break
        time.sleep(0.5)
    if screenshot is not None:      # one key press may queue an update each: wait for the last
        final = f"zoom {page.locator(ZOOM_READOUT).first.inner_text().strip()}"
        while time.time() < deadline and final not in status_after:
            time.sleep(0.5)
            status_after = _status(page)
        after = page.locator(WEIGHTS_IMG).first.get_attribute("src") or ""
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        _dismiss_news(page)
        page.locator(".jp-OutputArea-output:has(.ean-kernel-weights)").first.screenshot(path=str(screenshot))
    return ExplorerRun(before, after, status_before, status_after, error_outputs(page))
