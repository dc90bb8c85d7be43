"""Start a headless Chromium under selenium, the one way both render paths use.

Selenium must never fall back to selenium-manager (it would try to download
drivers and there is no network), so the driver and browser paths are always
explicit.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import tempfile
import threading
from dataclasses import dataclass, field

from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver

logger = logging.getLogger(__name__)

DEFAULT_CHROMIUM_PATH = "/usr/bin/chromium"
DEFAULT_CHROMEDRIVER_PATH = "/usr/bin/chromedriver"
REAP_TIMEOUT_S = 2.0   # for chromedriver, our direct child, to be reaped after SIGKILL

CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless=new",
    "--no-sandbox",  # we run as root in a container
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    # Same as bokeh's own driver: without it colours depend on the host's
    # colour profile and stream colours would not round-trip exactly.
    "--force-color-profile=srgb",
    # Keep timers and rendering running at full speed although no window is visible.
    "--disable-renderer-backgrounding",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    # Headless Chromium otherwise paces frames at 60 Hz, so every CDP screenshot
    # waits for the next vsync tick (~33 ms measured vs ~10 ms without the cap).
    # With a static page nothing is damaged, so no extra frames are produced.
    "--disable-frame-rate-limit",
    "--disable-extensions",
    "--mute-audio",
)


@dataclass
class ChromiumProcess:
    """A running selenium-driven Chromium plus what is needed to clean it up."""

    driver: WebDriver
    user_data_dir: str
    chromedriver_pid: int | None
    _closed: bool = field(default=False, repr=False)

    def process_tree_pids(self) -> list[int]:
        """chromedriver and every process below it (browser, renderers, GPU, zygotes)."""
        if self.chromedriver_pid is None:
            return []
        return [self.chromedriver_pid, *descendant_pids(self.chromedriver_pid)]

    def browser_pids(self) -> list[int]:
        """Chromium processes only (excludes chromedriver)."""
        if self.chromedriver_pid is None:
            return []
        return descendant_pids(self.chromedriver_pid)

    def quit(self) -> None:
        """Polite shutdown; anything still running afterwards is killed."""
        if self._closed:
            return
        # Snapshot first: once chromedriver exits, leftover Chromium processes
        # are re-parented and can no longer be found through its tree.
        pids = self.process_tree_pids()
        try:
            self.driver.quit()
        except Exception:  # noqa: BLE001 - a dead browser can fail in many ways
            logger.debug("driver.quit() failed; killing the process tree", exc_info=True)
        self._kill(pids)

    def kill(self) -> None:
        """SIGKILL the whole tree we started (used for crashed or hung browsers)."""
        if self._closed:
            return
        self._kill(self.process_tree_pids())

    def _kill(self, pids: list[int]) -> None:
        self._closed = True
        for pid in reversed(pids):
            if is_running(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        process = getattr(self.driver.service, "process", None)
        if process is not None:
            try:
                process.wait(timeout=REAP_TIMEOUT_S)
            except Exception:  # noqa: BLE001
                logger.debug("chromedriver did not exit", exc_info=True)
        shutil.rmtree(self.user_data_dir, ignore_errors=True)


def chromium_options(user_data_dir: str, chromium_path: str = DEFAULT_CHROMIUM_PATH,
                     window_size: tuple[int, int] | None = None) -> Options:
    options = Options()
    options.binary_location = chromium_path
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={user_data_dir}")
    if window_size is not None:
        options.add_argument(f"--window-size={window_size[0]},{window_size[1]}")
    return options


class StartWatchdog:
    """Bounds a browser start in time: when ``timeout_s`` passes before
    :meth:`cancel`, it kills chromedriver's process tree, so whatever selenium
    call is waiting on it fails at once instead of after selenium's own
    (minutes-long) timeouts. :meth:`expire` does the same on demand (a pool
    that closes mid-start)."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.fired = threading.Event()
        self._service: Service | None = None
        self._timer = threading.Timer(timeout_s, self.expire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, service: Service) -> None:
        self._service = service

    def cancel(self) -> None:
        self._timer.cancel()

    def expire(self) -> None:
        self._timer.cancel()
        self.fired.set()
        process = getattr(self._service, "process", None)
        if process is not None:
            kill_tree(process.pid)


def start_chromium(chromium_path: str = DEFAULT_CHROMIUM_PATH,
                   chromedriver_path: str = DEFAULT_CHROMEDRIVER_PATH,
                   window_size: tuple[int, int] | None = None,
                   watchdog: StartWatchdog | None = None) -> ChromiumProcess:
    """Launch chromedriver + Chromium with a fresh profile directory; with a
    ``watchdog``, the start is killed when it outlasts the watchdog's bound."""
    user_data_dir = tempfile.mkdtemp(prefix="chartsnap-chromium-")
    try:
        service = Service(executable_path=chromedriver_path)
        if watchdog is not None:
            watchdog.watch(service)
        driver = WebDriver(service=service,
                           options=chromium_options(user_data_dir, chromium_path, window_size))
    except BaseException:
        shutil.rmtree(user_data_dir, ignore_errors=True)
        raise
    process = getattr(service, "process", None)
    pid = process.pid if process is not None else None
    logger.info("started chromium (chromedriver pid %s, profile %s)", pid, user_data_dir)
    return ChromiumProcess(driver=driver, user_data_dir=user_data_dir, chromedriver_pid=pid)


def descendant_pids(root_pid: int) -> list[int]:
    """All transitive children of ``root_pid``, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name may contain spaces/parentheses; fields after the last ')' are fixed.
        fields = stat[stat.rfind(b")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
    found: list[int] = []
    pending = [root_pid]
    while pending:
        pid = pending.pop()
        for child in children.get(pid, []):
            found.append(child)
            pending.append(child)
    return found


def kill_tree(root_pid: int) -> None:
    """SIGKILL ``root_pid`` and every process below it, children first read
    (once the root dies its children are re-parented and cannot be found)."""
    for pid in [*reversed(descendant_pids(root_pid)), root_pid]:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def is_running(pid: int) -> bool:
    """True for a live process; False when gone or a zombie (dead, awaiting reaping)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2:stat.rfind(b")") + 3] != b"Z"


def rss_bytes(pids: list[int]) -> int:
    """Sum of resident set sizes. Shared pages are counted per process, so this
    overestimates, which is the safe direction for a recycle bound."""
    page_size = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                total += int(f.read().split()[1]) * page_size
        except (OSError, IndexError, ValueError):
            continue
    return total
