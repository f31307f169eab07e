"""The instance folder and the SQLite database are for the helpline's own user alone.

The folder is 0700 and each file in it 0600, whatever the umask: a SQLite file holds
encrypted contact details beside report text, and instance/local.toml holds the keys.
SQLite gives its -wal and -shm files the database file's own mode, so making the
database file 0600 before SQLite first opens it makes all three private.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def _narrow(path: Path, mode: int) -> None:
    # Only narrow, and only what is ours: never widen, never touch another user's file.
    with contextlib.suppress(OSError):
        info = path.stat()
        if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) & ~mode:
            path.chmod(stat.S_IMODE(info.st_mode) & mode)


def private_folder(folder: Path) -> None:
    """Make the folder (0700) if missing, else narrow it and every file in it. A
    shared folder (sticky, like /tmp) is never taken for an instance folder."""
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    if folder.stat().st_mode & stat.S_ISVTX:
        return
    _narrow(folder, FOLDER_MODE)
    with contextlib.suppress(OSError):
        for child in folder.iterdir():
            if child.is_file() and not child.is_symlink():
                _narrow(child, FILE_MODE)


def private_database(database: Path) -> None:
    """Before SQLite opens it: its folder made 0700 if missing (an existing folder is
    left as it is: it may be shared), the file created 0600 or narrowed to it, and its
    -wal and -shm narrowed too."""
    if not database.parent.exists():
        database.parent.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        _narrow(path, FILE_MODE)


def write_private_file(path: Path, text: str) -> None:
    """Write a new file that is 0600 from the moment it exists (never overwrites)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text)
