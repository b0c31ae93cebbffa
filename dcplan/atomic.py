"""Write outputs so that no user file is lost and a killed run never leaves half a result.

The rules (docs/cli.md, "Output files and folders"):

* dcplan replaces only a folder it wrote itself, recognised by the manifest file
  :data:`MANIFEST` inside it, or an empty folder. Any other existing folder is refused
  with :class:`~dcplan.errors.OutputError` unless the caller passes ``overwrite=True``.
* It never touches a path that is not a plain folder (for folder outputs) or a plain file
  (for file outputs): symbolic links, devices, FIFOs and the wrong kind are refused even
  with ``overwrite``, and so are the current folder, its ancestors and any folder that
  holds a protected path (the study file and the files it names).
* The path is checked, and locked against a concurrent dcplan process, before any work.
  The lock is an advisory ``flock`` on ``.NAME.dcplan-lock`` beside the target; the kernel
  drops it when the process dies, so a killed run never leaves a stale lock.
* A folder is filled under a hidden sibling ``.NAME.XXXXXXXX.dcplan-partial`` and swapped
  in with one atomic ``renameat2(RENAME_EXCHANGE)`` (Linux); a kill at any instant leaves
  either the old or the new folder at the path. Where the exchange is not available the
  swap is two renames, and the next run puts back whichever whole folder a kill left
  aside. Stale staging folders (recognised by their name *and* a marker or manifest inside
  them) are removed by the next run on the same path.

``DCPLAN_FAULT_STEP=k`` makes the process SIGKILL itself at step ``k`` of a replacement,
so the tests can prove the claim above with real processes (steps in :data:`STEPS`).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import logging
import os
import re
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from dcplan.errors import OutputError, Problem

logger = logging.getLogger(__name__)

#: file that marks a folder dcplan wrote (JSON: written_by, kind, version, written, files)
MANIFEST = "dcplan-manifest.json"
#: file inside a staging folder while it is being filled
PARTIAL_MARK = ".dcplan-partial"
_STAGE_SUFFIX = ".dcplan-partial"
_ASIDE_SUFFIX = ".dcplan-old"
_LOCK_SUFFIX = ".dcplan-lock"
_MANIFEST_MAX_BYTES = 65536

#: fault-injection steps of a folder replacement (``DCPLAN_FAULT_STEP``)
STEPS = {
    1: "staging folder created, marker not yet written",
    2: "marker written, content not yet written",
    3: "content written, manifest not yet written",
    4: "manifest written, marker still present",
    5: "marker removed, not yet swapped",
    6: "swapped (exchange) / old moved aside (fallback)",
    7: "new folder in place (fallback) / old not yet removed",
    8: "old folder removed, lock still held",
}

_active: set[Path] = set()  # top-level staging folders of this process (for abort_active)
_locks: set[Path] = set()  # lock files this process holds
_commit = threading.RLock()


def _fault(step: int) -> None:
    if os.environ.get("DCPLAN_FAULT_STEP") == str(step):
        os.kill(os.getpid(), signal.SIGKILL)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _refuse(path: Path, message: str, fix: str) -> OutputError:
    return OutputError([Problem(str(path), message, fix)])


# --------------------------------------------------------------------------- checks
def _kind(path: Path) -> str | None:
    """'dir', 'file', 'symlink', 'other' or None (missing), without following a final link."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return "under-file"
    import stat

    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISREG(mode):
        return "file"
    return "other"


_KIND_WORDS = {"symlink": "a symbolic link", "file": "a file", "other": "a device, FIFO or socket",
               "dir": "a folder", "under-file": "under a file"}


def _contains(outer: Path, inner: Path) -> bool:
    return outer == inner or outer in inner.parents


def _check_common(path: Path, protect: Iterable[str | Path], what: str) -> Path:
    if str(path).strip() == "" or path.name in ("", ".", ".."):
        raise _refuse(path, f"{what} must name a new or dcplan-written {_word(what)}, not "
                      f"{str(path)!r}", "give a path such as runs/my_study")
    absolute = Path(os.path.abspath(path))
    real = Path(os.path.realpath(path))
    cwd = Path.cwd()
    for candidate in {absolute, real}:
        if _contains(candidate, cwd) or candidate == Path(candidate.anchor):
            raise _refuse(path, f"{what} {str(path)!r} is the current folder or one of its parents",
                          "give a new folder below the current one, e.g. runs/my_study")
    for guarded in protect:
        if guarded is None:
            continue
        g_abs = Path(os.path.abspath(guarded))
        g_real = Path(os.path.realpath(guarded))
        if any(_contains(c, g) for c in (absolute, real) for g in (g_abs, g_real)):
            raise _refuse(path, f"{what} {str(path)!r} holds {str(guarded)!r}, an input of this "
                          "study; dcplan never replaces its own inputs",
                          "write the output to another path, e.g. runs/my_study")
    parent = absolute.parent
    parent_kind = _kind(parent)
    if parent_kind not in (None, "dir") and not (parent_kind == "symlink" and parent.is_dir()):
        raise _refuse(path, f"the parent {str(parent)!r} is {_KIND_WORDS[parent_kind]}, "
                      "not a folder", "give a path inside a folder")
    return absolute


def _word(what: str) -> str:
    return "file" if "file" in what else "folder"


def read_manifest(folder: str | Path) -> dict | None:
    """The manifest of a folder dcplan wrote, or None if there is none (or it is not dcplan's)."""
    file = Path(folder) / MANIFEST
    try:
        if _kind(file) != "file" or file.stat().st_size > _MANIFEST_MAX_BYTES:
            return None
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("written_by") == "dcplan" else None


def check_output_dir(path: str | Path, *, overwrite: bool = False,
                     protect: Iterable[str | Path] = ()) -> Path:
    """Raise OutputError unless dcplan may write the folder ``path``; return it absolute.

    Allowed: a missing path (its parents are created), an empty folder, a folder with a
    dcplan manifest, or (only with ``overwrite``) any other folder. Never allowed: a file,
    symbolic link, device, the current folder or a parent of it, or a folder holding one
    of ``protect``.
    """
    path = Path(path)
    absolute = _check_common(path, protect, "output folder")
    kind = _kind(path)
    if kind is None:
        return absolute
    if kind != "dir":
        raise _refuse(path, f"the output path is {_KIND_WORDS[kind]}, not a folder; dcplan "
                      "never replaces anything but a folder it wrote",
                      "choose another --out (a new folder path)")
    if read_manifest(path) is not None or overwrite:
        return absolute
    try:
        empty = not any(os.scandir(path))
    except OSError as exc:
        raise _refuse(path, f"cannot read the folder ({exc.strerror})",
                      "check its permissions") from None
    if empty:
        return absolute
    raise _refuse(path, f"the folder exists and was not written by dcplan (no {MANIFEST} in it); "
                  "dcplan will not delete its contents",
                  "choose another --out, empty or remove the folder yourself, or pass --overwrite "
                  "to replace it and everything in it")


def check_output_file(path: str | Path, *, overwrite: bool = False,
                      recognise: Callable[[Path], bool] | None = None,
                      protect: Iterable[str | Path] = ()) -> Path:
    """Raise OutputError unless dcplan may write the file ``path``; return it absolute.

    Allowed: a missing path, an existing regular file that ``recognise`` says dcplan
    wrote, or (only with ``overwrite``) any regular file. Never a folder, link or device.
    """
    path = Path(path)
    absolute = _check_common(path, protect, "output file")
    kind = _kind(path)
    if kind is None:
        return absolute
    if kind != "file":
        fix = (f"give a file path such as {path / 'out'}" if kind == "dir"
               else "choose another --out (a new file path)")
        raise _refuse(path, f"the output path is {_KIND_WORDS[kind]}, not a regular file", fix)
    if overwrite:
        return absolute
    try:
        ours = bool(recognise and recognise(path))
    except Exception:  # a recogniser that cannot read the file means: not ours
        ours = False
    if ours:
        return absolute
    raise _refuse(path, "the file exists and was not written by dcplan; dcplan will not replace it",
                  "choose another --out, remove the file yourself, or pass --overwrite")


# --------------------------------------------------------------------------- lock
@contextmanager
def output_lock(path: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on output ``path`` (fail at once if another process has it)."""
    import fcntl

    path = Path(os.path.abspath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.parent / f".{path.name}{_LOCK_SUFFIX}"
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise _refuse(path, f"another dcplan process (pid {holder}) is writing this output "
                          "right now", "wait for it to finish, or choose another --out") from None
        # the holder before us may have unlinked the file after we opened it: retry
        try:
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    _locks.add(lock)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        _locks.discard(lock)
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(fd)


# --------------------------------------------------------------------------- helpers
def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_manifest(folder: Path, kind: str) -> None:
    from dcplan import __version__

    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                   if p.is_file() and p.name not in (MANIFEST, PARTIAL_MARK))
    data = {"written_by": "dcplan", "kind": kind, "version": __version__,
            "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "files": files}
    file = folder / MANIFEST
    with open(file, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(data, indent=2))
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(file, 0o666 & ~_umask())


def _stage_pattern(name: str) -> re.Pattern:
    return re.compile(rf"^\.{re.escape(name)}\.[a-z0-9_]{{8}}({re.escape(_STAGE_SUFFIX)}|"
                      rf"{re.escape(_ASIDE_SUFFIX)})$")


def _staging_root(path: Path) -> Path | None:
    """The staging folder ``path`` lies in (a nested write), if any."""
    for folder in (path, *path.parents):
        if folder.name.endswith(_STAGE_SUFFIX) and (folder / PARTIAL_MARK).is_file():
            return folder
    return None


def _ours_to_clean(folder: Path) -> bool:
    if _kind(folder) != "dir":
        return False
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return False
    if not entries:
        return True
    return (folder / PARTIAL_MARK).is_file() or read_manifest(folder) is not None


def _recover_and_clean(path: Path) -> None:
    """Under the lock: put back a whole folder a kill left aside, then remove stale staging."""
    parent = path.parent
    pattern = _stage_pattern(path.name)
    try:
        leftovers = [parent / e.name for e in os.scandir(parent) if pattern.match(e.name)]
    except OSError:
        return
    leftovers = [p for p in leftovers if _ours_to_clean(p)]
    if _kind(path) is None:
        # complete staging (manifest, no marker) is the newer result; else the old one aside
        whole = [p for p in leftovers
                 if read_manifest(p) is not None and not (p / PARTIAL_MARK).exists()]
        whole.sort(key=lambda p: (p.name.endswith(_STAGE_SUFFIX), p.stat().st_mtime), reverse=True)
        if whole:
            os.rename(whole[0], path)
            logger.warning("restored %s from %s left by an interrupted run", path, whole[0].name)
            leftovers.remove(whole[0])
    for stale in leftovers:
        shutil.rmtree(stale, ignore_errors=True)
        logger.info("removed stale %s", stale)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    if os.environ.get("DCPLAN_NO_EXCHANGE"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _commit_swap(stage: Path, path: Path) -> Path | None:
    """Put ``stage`` at ``path``; return where the old folder went (to be removed)."""
    if _kind(path) is None:
        os.rename(stage, path)
        _fault(6)
        _fault(7)
        return None
    if _exchange(stage, path):
        _fault(6)
        _fault(7)
        return stage
    aside = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=_ASIDE_SUFFIX, dir=path.parent))
    os.rmdir(aside)
    os.rename(path, aside)
    _fault(6)
    os.rename(stage, path)
    _fault(7)
    return aside


# --------------------------------------------------------------------------- writers
@contextmanager
def atomic_dir(path: str | Path, *, overwrite: bool = False, protect: Iterable[str | Path] = (),
               kind: str = "output") -> Iterator[Path]:
    """Yield a staging folder; on success it replaces ``path`` whole, on error it is removed.

    ``path`` is checked (:func:`check_output_dir`) and locked before anything is written,
    so wrap the whole computation, not only the writing, to fail before the work. Inside
    a staging folder (a nested write, e.g. the report of a run) the folder is written in
    place: the outer write already makes the whole result appear at once.
    """
    path = Path(path)
    outer = _staging_root(Path(os.path.abspath(path)))
    if outer is not None:
        created = not path.exists()
        path.mkdir(parents=True, exist_ok=True)
        try:
            yield path
        except BaseException:
            if created:
                shutil.rmtree(path, ignore_errors=True)
            raise
        if Path(os.path.abspath(path)) != outer:
            _write_manifest(path, kind)
        return
    check_output_dir(path, overwrite=overwrite, protect=protect)
    path.parent.mkdir(parents=True, exist_ok=True)
    with output_lock(path):
        _recover_and_clean(path)
        check_output_dir(path, overwrite=overwrite, protect=protect)  # again, under the lock
        stage = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=_STAGE_SUFFIX,
                                      dir=path.parent))
        _active.add(stage)
        try:
            _fault(1)
            (stage / PARTIAL_MARK).touch()
            os.chmod(stage, 0o777 & ~_umask())
            _fault(2)
            yield stage
            _fault(3)
            _write_manifest(stage, kind)
            _fault(4)
            with _commit:
                if _kind(path) == "dir" and read_manifest(path) is None:
                    # replacing a folder that is not ours (empty, or --overwrite): mark it so
                    # a kill after the swap leaves a leftover the next run may remove
                    with contextlib.suppress(OSError):
                        (path / PARTIAL_MARK).touch()
                (stage / PARTIAL_MARK).unlink()
                _fsync_dir(stage)
                _fault(5)
                old = _commit_swap(stage, path)
                _active.discard(stage)
                _fsync_dir(path.parent)
        except BaseException:
            with _commit:
                if stage in _active:
                    _active.discard(stage)
                    shutil.rmtree(stage, ignore_errors=True)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        _fault(8)


def abort_active() -> None:
    """Remove this process's unfinished staging folders (for a prompt exit on Ctrl-C).

    Waits for a swap in progress to finish, so the path holds the old or the new result.
    """
    with _commit:
        for stage in list(_active):
            shutil.rmtree(stage, ignore_errors=True)
            _active.discard(stage)
        for lock in list(_locks):  # the process exits next, which releases the flock
            with contextlib.suppress(OSError):
                os.unlink(lock)


def write_file_atomic(path: str | Path, write: Callable[[Path], None], *, overwrite: bool = False,
                      recognise: Callable[[Path], bool] | None = None,
                      protect: Iterable[str | Path] = ()) -> Path:
    """Check and lock ``path``, call ``write(tmp)`` on a hidden sibling, rename it into place."""
    path = Path(path)
    check_output_file(path, overwrite=overwrite, recognise=recognise, protect=protect)
    path.parent.mkdir(parents=True, exist_ok=True)
    with output_lock(path):
        check_output_file(path, overwrite=overwrite, recognise=recognise, protect=protect)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        try:
            write(Path(tmp))
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return path


def write_text_atomic(path: str | Path, text: str, *, overwrite: bool = False,
                      recognise: Callable[[Path], bool] | None = None,
                      protect: Iterable[str | Path] = ()) -> Path:
    """Write ``text`` to ``path`` atomically (temporary file + rename), under the file rules."""
    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)

    return write_file_atomic(path, write, overwrite=overwrite, recognise=recognise, protect=protect)


@contextmanager
def atomic_file(path: str | Path, *, overwrite: bool = False,
                recognise: Callable[[Path], bool] | None = None,
                protect: Iterable[str | Path] = ()) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, under the rules.

    The path is checked (:func:`check_output_file`) and locked first. The finished file
    gets the permissions a plain ``open`` would give (0666 less the umask), not the
    owner-only mode of a temporary file. On error the temporary file is removed.
    """
    path = Path(path)
    check_output_file(path, overwrite=overwrite, recognise=recognise, protect=protect)
    path.parent.mkdir(parents=True, exist_ok=True)
    with output_lock(path):
        check_output_file(path, overwrite=overwrite, recognise=recognise, protect=protect)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp = Path(name)
        try:
            yield tmp
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
