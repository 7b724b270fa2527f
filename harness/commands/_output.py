"""Output files of the commands: checked before the work, written without losing anything.

Three rules, shared by every command that writes a file a person names:

* an output that is one of the command's inputs (the same path, a symbolic link to it, or
  a hard link: the same file on disk) is refused before the work starts, so that the
  JSON never overwrites the points it was computed from;
* an existing file that is not a regular file (a named pipe, a terminal, ``/dev/full``),
  and anything named through ``/dev`` or ``/proc`` (``/dev/stdout``), is written *into*: renaming a temporary file over it would replace the
  device node or the pipe with a plain file and leave its reader with nothing;
* a regular file (or a new one) is written to a temporary file beside it and renamed
  over it, so that a reader never sees half of it. A symbolic link keeps pointing to
  the file it named; that file gets the new content.

A write that fails (a full disk, ``/dev/full``) is one error line naming the output.
"""

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ..exceptions import HarnessError


@dataclass(frozen=True)
class Output:
    """An output file checked by :func:`writable_output`.

    Attributes
    ----------
    path : pathlib.Path
        Where the bytes go: the resolved path of a regular (or new) file, the path as
        given (made absolute) for a special file.
    flag : str
        The option that named it, for messages.
    given : str
        The path as the user wrote it.
    special : bool
        An existing non-regular file (pipe, character device, socket): written into.
    """

    path: Path
    flag: str
    given: str
    special: bool


def _same_file(a, b):
    """Whether paths ``a`` and ``b`` are one file (symbolic or hard links included)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist: compare where they would resolve to
        return os.path.realpath(a) == os.path.realpath(b)


def _names_a_descriptor(path):
    """Whether ``path`` reaches an open file through ``/dev`` or ``/proc`` (``/dev/stdout``,
    ``/dev/fd/3``): even when that file is a regular one (``> out.json``), it is the
    caller's open file, to be written into, never replaced by a rename."""
    parts = Path(os.path.abspath(path)).parts
    return len(parts) > 1 and parts[1] in ("dev", "proc")


def writable_output(path, flag="--json", inputs=()):
    """The :class:`Output` for ``path``; raise :class:`HarnessError` when it cannot be used.

    ``None`` and ``"-"`` (stdout) are returned unchanged. Checked here, before any work:
    ``path`` is none of ``inputs`` (through links), is not a directory, its folder exists,
    and it can be written. Nothing is created.
    """
    if path in (None, "-"):
        return path
    given = str(path)
    for source in inputs:
        if source is not None and _same_file(Path(given).expanduser(), Path(source).expanduser()):
            raise HarnessError(f"{flag} {given}: is the input {source}; writing there would "
                               "destroy it. Give another file name.")
    expanded = Path(given).expanduser()
    try:
        mode = os.stat(expanded).st_mode  # follows links: what the bytes would reach
    except FileNotFoundError:
        mode = None
    except OSError as err:
        raise HarnessError(f"{flag} {given}: cannot use it ({err.strerror}).") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise HarnessError(f"{flag} {given}: is a directory; give a file name.")
    if mode is not None and (not stat.S_ISREG(mode) or _names_a_descriptor(expanded)):
        if not os.access(expanded, os.W_OK):
            raise HarnessError(f"{flag} {given}: cannot write there (permission denied).")
        return Output(expanded.absolute(), flag, given, special=True)
    target = Path(os.path.realpath(expanded))
    parent = target.parent
    if not parent.is_dir():
        raise HarnessError(f"{flag} {given}: folder {parent} does not exist; create it first.")
    if not os.access(parent, os.W_OK) or (mode is not None and not os.access(target, os.W_OK)):
        raise HarnessError(f"{flag} {given}: cannot write there (permission denied).")
    return Output(target, flag, given, special=False)


def write_output(out, data):
    """Write bytes ``data`` to the checked output ``out`` (see the module docstring).

    Raises
    ------
    HarnessError
        The write failed (no space left, an I/O error); the message names the output.
    """
    try:
        if out.special:
            _write_into(out.path, data)
        else:
            from ..store import atomic_write_bytes

            atomic_write_bytes(out.path, data)
    except OSError as err:
        why = "no space left on the device" if err.errno == errno.ENOSPC else err.strerror
        raise HarnessError(f"{out.flag} {out.given}: the output could not be written "
                           f"({why}; {len(data)} bytes).") from None


def is_stdout(out):
    """Whether the checked output ``out`` is this process's standard output (``/dev/stdout``,
    ``/dev/fd/1``, or the file stdout is redirected to): then it is ``--json -``."""
    if not isinstance(out, Output) or not out.special:
        return False
    try:
        here, there = os.fstat(1), os.stat(out.path)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _write_into(path, data):
    """Write into an existing special file: appended, never truncated or renamed over;
    every byte or an error (``os.write`` may write less than asked, so loop)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)  # after what the file already holds
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        try:
            os.fsync(fd)
        except OSError as err:  # pipes and terminals cannot be synced; a device can fail
            if err.errno not in (errno.EINVAL, errno.EROFS, errno.ENOTSUP):
                raise
    finally:
        os.close(fd)
