"""A file lock next to the state, so two syncs never run at once (on this machine)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from syncbot.errors import SyncbotError
from syncbot.locales import t


class AlreadyRunning(SyncbotError):
    """Another sync holds the lock (exit code 1)."""


class RunLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: int | None = None

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "ignore").strip() or "?"
            os.close(fd)
            raise AlreadyRunning(t("run.locked", path=self.path, pid=holder)) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode("ascii"))
        self._file = fd
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            os.close(self._file)
            self._file = None


def lock_for(state_path: Path) -> RunLock:
    return RunLock(state_path.with_name(state_path.name + ".lock"))
