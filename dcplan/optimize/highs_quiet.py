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
