"""One way to write a file: whole or not at all. Used by ``save`` and by ``render``."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path


def write_atomically(path: Path, data: bytes) -> None:
    """Write data to path so that path holds either its old contents or all of data, always.

    The bytes go to a new file in the same directory (a rename is only atomic within one file
    system), are flushed to the disk, and the file is renamed over path; then the directory
    entry is flushed too, so the rename survives a power cut. Nothing is left behind on error.
    A symbolic link stays a link: the file it points to is the one replaced. A file replaced
    keeps its permissions (a private 0600 file stays private); a new one gets 0666 less the
    umask, as open() gives.
    """
    path = Path(os.path.realpath(path)) if os.path.islink(path) else path
    directory = path.parent
    if not directory.is_dir():
        raise FileNotFoundError(
            f"no directory {str(directory)!r} to write {path.name} in: it does not exist"
        )
    if path.is_dir():
        raise IsADirectoryError(f"cannot write to {path}: it is a directory")
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = None
    temporary = directory / f".{path.name}.{secrets.token_hex(4)}.tmp"
    # O_EXCL: never follow or reuse someone else's file; mode 0o666 less the umask, as open() does
    try:
        fd = os.open(
            temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666
        )
    except OSError as error:  # named by the file asked for, not the hidden temporary one
        raise type(error)(f"cannot write {path}: {error.strerror or error}") from None
    try:
        with os.fdopen(fd, "wb") as file:
            if mode is not None:
                os.chmod(temporary, mode)
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    if os.name == "nt":  # Windows cannot open a directory; NTFS journals the rename itself
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
