"""The central system under test as a child process: started, measured, stopped."""

import asyncio
import contextlib
import os
from pathlib import Path
import signal
import socket
import sqlite3
import time

import psutil

RSS_SAMPLE_S = 0.5


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def wait_for_port(port: int, timeout: float) -> float:  # noqa: ASYNC109
    """Wait until something accepts connections on 127.0.0.1:port; the time it took."""
    began = time.monotonic()
    async with asyncio.timeout(timeout):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.1)
                continue
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            return time.monotonic() - began


class ServerProcess:
    """One run of a server program, with its CPU time and resident memory."""

    def __init__(
        self, argv: list[str], log_path: Path, cwd: Path, env: dict[str, str] | None = None
    ) -> None:
        """Nothing runs before start(); `env` is added to this process's environment."""
        self.argv = argv
        self.env = env or {}
        self.log_path = log_path
        self.cwd = cwd
        self.peak_rss = 0
        self._process: asyncio.subprocess.Process | None = None
        self._psutil: psutil.Process | None = None
        self._sampler: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the program, its output going to the log file."""
        with self.log_path.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                *self.argv,
                cwd=self.cwd,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
            )
        self._psutil = psutil.Process(self._process.pid)
        self._sampler = asyncio.create_task(self._sample_rss())

    @property
    def pid(self) -> int:
        """Its process id."""
        assert self._process is not None
        return self._process.pid

    @property
    def running(self) -> bool:
        """Whether the program has not exited."""
        return self._process is not None and self._process.returncode is None

    def cpu_seconds(self) -> float:
        """User and system CPU time used so far, all threads."""
        assert self._psutil is not None
        times = self._psutil.cpu_times()
        return float(times.user + times.system)

    def rss(self) -> int:
        """Resident memory now, in bytes."""
        assert self._psutil is not None
        return int(self._psutil.memory_info().rss)

    async def wait(self) -> None:
        """Return when the program has exited."""
        assert self._process is not None
        await self._process.wait()

    async def stop(self, timeout: float = 180.0) -> float:  # noqa: ASYNC109
        """Stop it like a service manager does (SIGTERM); the seconds it took to exit."""
        assert self._process is not None
        self._record_peak()
        began = time.monotonic()
        if self.running:
            self._process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self._process.wait(), timeout)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
        if self._sampler is not None:
            self._sampler.cancel()
        return time.monotonic() - began

    def _record_peak(self) -> None:
        """The kernel's high-water mark covers moments between samples."""
        with contextlib.suppress(psutil.Error, OSError, ValueError):
            assert self._psutil is not None
            status = Path(f"/proc/{self._psutil.pid}/status").read_text(encoding="ascii")
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    self.peak_rss = max(self.peak_rss, int(line.split()[1]) * 1024)
        with contextlib.suppress(psutil.Error):
            self.peak_rss = max(self.peak_rss, self.rss())

    async def _sample_rss(self) -> None:
        while self.running:
            self._record_peak()
            await asyncio.sleep(RSS_SAMPLE_S)


def sqlite_used_bytes(path: Path) -> int:
    """Bytes of a SQLite database in use, its write-ahead log included.

    File sizes would mislead: the log is reused after checkpoints and freed
    pages stay in the file. A reader sees the committed pages of both.
    """
    if not path.exists():
        return 0
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        (page_size,) = connection.execute("PRAGMA page_size").fetchone()
        (pages,) = connection.execute("PRAGMA page_count").fetchone()
        (free,) = connection.execute("PRAGMA freelist_count").fetchone()
    finally:
        connection.close()
    return int((pages - free) * page_size)
