"""The exceptions dcplan raises.

Every error subclasses a builtin so callers who know nothing of dcplan can still catch
it (``except ValueError``), and :class:`DcplanError` so callers who do can catch them all.
Input errors carry a list of :class:`Problem` records so that one call reports *every*
problem at once, each naming where it is, what is wrong and how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input.

    Attributes
    ----------
    location : str
        Where: a file and field path, e.g. ``models/x.yaml: sites.inline[2].lat``.
    message : str
        What is wrong, quoting the bad value.
    fix : str
        How to put it right.
    """

    location: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}"
        return f"{text} (fix: {self.fix})" if self.fix else text


class DcplanError(Exception):
    """Base class of every error dcplan raises on purpose."""


class _ProblemsMixin:
    """Shared formatting for errors that list several problems."""

    def _init_problems(self, problems, headline: str | None) -> str:
        self.problems: list[Problem] = list(problems)
        n = len(self.problems)
        head = headline or f"{n} problem{'s' if n != 1 else ''} found"
        lines = [head] + [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class SpecError(_ProblemsMixin, DcplanError, ValueError):
    """A study file (or in-memory study) is invalid; lists every problem found."""

    def __init__(self, problems, headline: str | None = None):
        super().__init__(self._init_problems(problems, headline))


class DataError(_ProblemsMixin, DcplanError, ValueError):
    """A data table or site file is missing, malformed or inconsistent."""

    def __init__(self, problems, headline: str | None = None):
        if isinstance(problems, str):
            problems = [Problem("data", problems)]
        super().__init__(self._init_problems(problems, headline))


class InfeasibleError(DcplanError, RuntimeError):
    """The study has no feasible plan; ``diagnosis`` explains why in planning terms."""

    def __init__(self, message: str, diagnosis=None):
        super().__init__(message)
        self.diagnosis = diagnosis


class SolveError(DcplanError, RuntimeError):
    """The solver failed or stopped without a plan worth reporting (e.g. time limit, no incumbent)."""

    def __init__(self, message: str, status: str = "error"):
        super().__init__(message)
        self.status = status


class AuditError(SolveError):
    """The solver returned a plan that breaks its own constraints when re-checked from the
    outputs; ``plan`` (status ``audit_failed``) and ``audit`` are kept for inspection."""

    def __init__(self, message: str, plan=None, audit=None):
        super().__init__(message, status="audit_failed")
        self.plan = plan
        self.audit = audit


class OutputError(_ProblemsMixin, DcplanError, ValueError):
    """dcplan refuses to write an output path (it would replace something it did not write)."""

    def __init__(self, problems, headline: str | None = None):
        super().__init__(self._init_problems(problems, headline or "output refused"))


class ClusterError(DcplanError, ConnectionError):
    """A Dask scheduler could not be reached, or its workers cannot run dcplan's tasks."""


class ReportError(DcplanError, RuntimeError):
    """The plan was solved and written, but its report could not be made.

    ``plan`` is the solved plan and ``out`` the folder that holds it, so nothing is lost.
    """

    def __init__(self, message: str, plan=None, out=None):
        super().__init__(message)
        self.plan = plan
        self.out = out
