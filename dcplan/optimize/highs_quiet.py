"""A ``highspy.Highs`` that writes nothing to stdout.

HiGHS prints its start-up banner from the C++ constructor, before any option can be set, and
straight to file descriptor 1. A CLI whose ``--json`` output is piped into another tool must
not carry that text, so the constructor runs with fd 1 pointed at a temporary file; what it
wrote goes to the ``dcplan.optimize`` log at DEBUG level instead. Every later message is
governed by the options (``output_flag``, ``log_to_console``) and the logging callback.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import highspy

if TYPE_CHECKING:  # pragma: no cover
    pass

logger = logging.getLogger("dcplan.optimize")


def _flush_c_stdio() -> None:
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):  # pragma: no cover - platforms without a C runtime handle
        pass


@contextmanager
def fd1_to_log() -> Iterator[None]:
    """Point file descriptor 1 at a temporary file; log what was written to it."""
    try:
        sys.stdout.flush()
    except (AttributeError, ValueError):  # pragma: no cover - stdout replaced or closed
        pass
    try:
        saved = os.dup(1)
    except OSError:  # pragma: no cover - no fd 1 (embedded interpreter)
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 1)
        try:
            yield
        finally:
            _flush_c_stdio()
            os.dup2(saved, 1)
            os.close(saved)
            sink.seek(0)
            text = sink.read().decode("utf-8", "replace").strip()
            if text:
                logger.debug("HiGHS: %s", text)


def new_highs() -> highspy.Highs:
    """A ``highspy.Highs`` with its banner logged rather than printed and output off."""
    with fd1_to_log():
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    return h


def bare_highs(n: int) -> list:
    """``n`` bare HiGHS instances, their banners logged under one redirect of fd 1.

    Call it on the thread that owns the process's stdout: the redirect is process-wide, so
    two threads redirecting at once could leave fd 1 on a deleted temporary file.
    """
    if n <= 0:
        return []
    with fd1_to_log():
        return [highspy._core._Highs() for _ in range(n)]  # no Python callback wrappers


#: thread count dcplan last gave HiGHS's scheduler (None: not yet)
_scheduler_threads: int | None = None


def set_threads(h, threads: int) -> None:
    """Set ``threads`` on ``h``, resetting HiGHS's scheduler when the count changes.

    HiGHS keeps one scheduler per thread, sized at its first run there. A later run asking for
    another count (dcplan's threads=1 after a notebook's own default-threads HiGHS run, for
    one) is refused with model status "Not Set". The reset happens only when dcplan asks
    for a count other than the one it set last, so the many small site LPs never pay it.
    """
    global _scheduler_threads
    threads = int(threads)
    if _scheduler_threads != threads:
        highspy.Highs.resetGlobalScheduler(True)
        _scheduler_threads = threads
    h.setOptionValue("threads", threads)


def safe_run(h) -> None:
    """``h.run()``; once more after a scheduler reset if HiGHS refused to start ("Not Set").

    That happens when HiGHS was run elsewhere in the process, with another thread count,
    after dcplan last sized the scheduler.
    """
    global _scheduler_threads
    h.run()
    if h.getModelStatus() == highspy.HighsModelStatus.kNotset:
        threads = h.getOptionValue("threads")
        threads = threads[-1] if isinstance(threads, tuple) else threads
        _scheduler_threads = None
        set_threads(h, int(threads))
        h.run()
