"""The sites' own problems of the sifting route, solved here or on the workers of a Dask cluster.

Pricing a site (:mod:`dcplan.optimize.screening`) solves a small LP over the site's own rows
and columns for the current reduced costs; the site bounds solve it with the site held open,
and the integer prices solve it as a MIP. The work is independent from site to site, so it
runs in one of three places:

- serially, in the calling thread;
- on ``threads`` worker threads of this process (highspy lets go of the GIL while HiGHS
  runs), each HiGHS instance single-threaded;
- on the workers of a ``dask.distributed`` Client (a LocalCluster, or any scheduler's
  workers), for a study that outgrows one machine. Each worker holds a :class:`SiteActor`
  with its share of the sites: their problems are sent once, their HiGHS instances stay
  on the worker and re-solve from their last basis, and a round of pricing sends only each
  site's reduced costs.

Every place gives the same values (the same LPs from the same bases, one site at a time);
tests/test_screening.py checks it.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import highspy
import numpy as np
import scipy.sparse as sp

from dcplan.optimize.highs_quiet import bare_highs, safe_run, set_threads

#: the shortest time a site's integer price may take before it falls back to the LP price [s]
MIN_INTEGER_SECONDS = 0.5


@dataclass(frozen=True)
class SiteProblem:
    """One site's own rows and columns: all a worker needs to price the site (picklable)."""

    matrix: sp.csc_array  # own rows x own columns
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    integrality: np.ndarray  # bool per column


def site_problem(blocks, s: int) -> SiteProblem:
    """Site ``s``'s problem cut from ``blocks`` (a :class:`~dcplan.optimize.screening.SiteBlocks`)."""
    b = blocks
    a, z = b.col_ptr[s], b.col_ptr[s + 1]
    lo, hi = b.A_site.indptr[a], b.A_site.indptr[z]
    local = b.local_row[b.A_site.indices[lo:hi]]
    keep = local >= 0
    kept = np.concatenate([[0], np.cumsum(keep)])
    indptr = kept[b.A_site.indptr[a : z + 1] - lo]
    cols, rows = b.site_cols[s], b.site_rows[s]
    matrix = sp.csc_array((b.A_site.data[lo:hi][keep], local[keep], indptr), shape=(len(rows), z - a))
    return SiteProblem(
        matrix=matrix,
        col_lower=b.col_lower[cols],
        col_upper=b.col_upper[cols],
        row_lower=b.row_lower[rows],
        row_upper=b.row_upper[rows],
        integrality=b.integrality[cols].astype(bool),
    )


def _pass(h, p: SiteProblem, cost: np.ndarray, integer: bool) -> None:
    m = p.matrix
    h.passModel(
        m.shape[1], m.shape[0], m.nnz, 1, 1, 0.0,
        cost, p.col_lower, p.col_upper, p.row_lower, p.row_upper,
        m.indptr[:-1].astype(np.int32), m.indices.astype(np.int32), m.data.astype(float),
        p.integrality.astype(np.int32) if integer else np.zeros(m.shape[1], dtype=np.int32),
    )


#: model statuses after which a site MIP's dual bound is proven (an early stop included)
_BOUND_STATUSES = (
    highspy.HighsModelStatus.kOptimal,
    highspy.HighsModelStatus.kTimeLimit,
    highspy.HighsModelStatus.kInterrupt,
    highspy.HighsModelStatus.kIterationLimit,
    highspy.HighsModelStatus.kSolutionLimit,
)


def _problem_bounds(problem_of, s: int) -> tuple[np.ndarray, np.ndarray]:
    """Column bounds of site ``s`` read from its own problem."""
    p = problem_of(s)
    return p.col_lower, p.col_upper


class SiteSolver:
    """HiGHS LPs of some sites, each built once and kept (a re-solve after a change of
    costs starts from the previous basis). Positions inside a site are local: column ``j`` is
    the site's ``j``-th own column.

    ``threads`` > 0 runs HiGHS through dcplan's scheduler guard with that thread count (the
    calling thread is the process's own); 0 runs it plainly, single-threaded, for a worker
    thread with a scheduler of its own. On worker threads the LPs must have been built
    beforehand (:meth:`prepare`, on the calling thread).
    """

    def __init__(self, problem_of, bounds_of=None, threads: int = 1):
        self._problem_of = problem_of  # site -> SiteProblem
        # site -> (column lower, column upper), where cutting the site's matrix again is dear
        # (a partial, not a bound method: no reference cycle keeps a dropped solver's
        # HiGHS instances alive until the cycle collector runs)
        self._bounds_of = bounds_of or partial(_problem_bounds, problem_of)
        self.threads = int(threads)
        self._highs: dict[int, highspy.Highs] = {}

    def _run(self, h) -> None:
        if self.threads > 0:
            safe_run(h)
        else:
            h.run()

    def prepare(self, sites) -> None:
        """Build the LPs of ``sites`` not built yet (one banner redirect for all of them)."""
        todo = [int(s) for s in sites if int(s) not in self._highs]
        for s, h in zip(todo, bare_highs(len(todo)), strict=True):
            p = self._problem_of(s)
            for key, value in (
                ("output_flag", False),
                ("log_to_console", False),
                # measured on 100 sites x 20 years: presolve costs more than it saves on a
                # site's ~550 columns; the first solve (all-slack basis) is fastest by primal
                # simplex, the re-solves after a change of costs by HiGHS's own choice from
                # the previous basis (CPU per site: 2-3 ms cold, about 1.8 ms warm)
                ("presolve", "off"),
                ("simplex_strategy", 4),
            ):
                h.setOptionValue(key, value)
            if self.threads > 0:
                set_threads(h, self.threads)
            else:
                h.setOptionValue("threads", 1)
            _pass(h, p, np.zeros(p.matrix.shape[1]), integer=False)
            self._highs[s] = h

    def _lp(self, s: int):
        if s not in self._highs:
            self.prepare([s])
        return self._highs[s]

    def price(self, s: int, d: np.ndarray, forced: np.ndarray | None = None) -> float:
        """``min d'x`` over site s's own rows; -inf when HiGHS finds no optimum. ``forced``
        (local columns) are held at a lower bound of 1 for this solve."""
        lower, upper = self._bounds_of(s)
        n = len(lower)
        if not n:
            return 0.0
        h = self._lp(s)
        h.changeColsCost(n, np.arange(n, dtype=np.int32), np.asarray(d, dtype=float))
        if forced is not None and len(forced):
            where = np.asarray(forced, dtype=np.int32)
            h.changeColsBounds(len(where), where, np.ones(len(where)), upper[where])
        else:
            where = None
        self._run(h)
        h.setOptionValue("simplex_strategy", 0)
        ok = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        value = float(h.getInfo().objective_function_value) if ok else -np.inf
        if where is not None:
            h.changeColsBounds(len(where), where, lower[where], upper[where])
        return value

    def closed_is_empty(self, s: int, active: np.ndarray) -> bool:
        """Does holding the local columns ``active`` at 0 force every column of site s to 0?
        Checked by the LP ``max sum x`` over the site's own rows (needs lower bounds of 0)."""
        lower, upper = self._bounds_of(s)
        n = len(lower)
        if not n or (lower < 0).any() or not len(active):
            return False
        h = self._lp(s)
        where = np.asarray(active, dtype=np.int32)
        h.changeColsCost(n, np.arange(n, dtype=np.int32), -np.ones(n))
        h.changeColsBounds(len(where), where, np.zeros(len(where)), np.zeros(len(where)))
        self._run(h)
        ok = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        value = float(h.getInfo().objective_function_value) if ok else -np.inf
        h.changeColsBounds(len(where), where, lower[where], upper[where])
        return value >= -1e-9

    def integer_price(self, s: int, d: np.ndarray, floor: float, time_limit_s: float, h=None) -> float:
        """HiGHS's proven dual bound of ``min d'x`` over site s's own rows with its integer
        columns integer, never below ``floor`` (the site's LP price, itself a bound); ``floor``
        when HiGHS proves nothing. ``h``: a bare instance from :func:`~dcplan.optimize.highs_quiet.bare_highs`."""
        p = self._problem_of(s)
        h = h if h is not None else bare_highs(1)[0]
        for key, value in (("output_flag", False), ("log_to_console", False), ("threads", 1),
                           ("mip_rel_gap", 1e-6), ("time_limit", float(time_limit_s))):
            h.setOptionValue(key, value)
        _pass(h, p, np.asarray(d, dtype=float), integer=True)
        self._run(h)
        info = h.getInfo()
        if h.getModelStatus() not in _BOUND_STATUSES or not getattr(info, "valid", True):
            return floor  # a failed run leaves a dual bound of 0, which proves nothing
        value = float(info.mip_dual_bound)
        return max(value, floor) if np.isfinite(value) else floor

    def solve_many(self, kind: str, items: list, budget_s: float | None = None,
                   instances: list | None = None) -> list[float]:
        """Every item of ``items`` in turn: ``(site, *arguments)`` of :meth:`price`
        (``kind`` "price"), :meth:`closed_is_empty` ("closed", 1.0 for True) or
        :meth:`integer_price` ("integer": ``(site, d, floor)``; the items share ``budget_s``
        seconds, a site reached after it keeps its floor; ``instances``, one bare HiGHS per
        item, made on the calling thread)."""
        out: list[float] = []
        if kind == "integer":
            deadline = time.perf_counter() + max(float(budget_s or 0.0), 0.0)
            each = max(float(budget_s or 0.0), 0.0) / max(len(items), 1)
            made = instances if instances is not None else bare_highs(len(items))
            for (s, d, floor), h in zip(items, made, strict=True):
                left = deadline - time.perf_counter()
                out.append(float(floor) if left <= 0 else self.integer_price(
                    s, d, float(floor), min(left, max(each, MIN_INTEGER_SECONDS)), h))
        elif kind == "price":
            out = [self.price(s, d, forced) for s, d, forced in items]
        elif kind == "closed":
            out = [float(self.closed_is_empty(s, active)) for s, active in items]
        else:
            raise ValueError(f"unknown kind {kind!r}: 'price', 'closed' or 'integer'")
        return out


class SiteActor:
    """A Dask actor: the :class:`SiteSolver` of one worker's share of the sites."""

    def __init__(self, problems: dict[int, SiteProblem]):
        # the actor's methods run on one thread of the worker process, so the scheduler
        # guard (threads=1) is the right mode: HiGHS keeps one scheduler per calling thread
        self._solver = SiteSolver(problems.__getitem__, threads=1)
        self._solver.prepare(problems)

    def solve_many(self, kind: str, items: list, budget_s: float | None = None) -> list[float]:
        return self._solver.solve_many(kind, items, budget_s)


#: seconds to wait for the workers to take their sites before giving up
ACTOR_START_TIMEOUT_S = 300.0


class Pricer:
    """The site problems of a :class:`~dcplan.optimize.screening.SiteBlocks`: priced serially,
    on ``threads`` threads, or on the workers of the Dask ``client`` (see the module docstring).

    Positions given to and returned by its methods are the whole model's.
    """

    def __init__(self, blocks, threads: int = 1, client=None):
        self.b = blocks
        self.threads = max(int(threads), 1)
        self._coupling_T = sp.csr_array(blocks.A[blocks.coupling].T)  # (col, coupling row)
        self._client = client
        self._actors: list = []
        self._actor_futures: list = []
        self._workers: list[str] = []
        self._owner: np.ndarray | None = None  # site -> actor
        self._pool = None
        self._local = None
        if client is None:
            # worker threads kept for the pricer's life (HiGHS sizes a scheduler per calling
            # thread at its first run there)
            self._pool = ThreadPoolExecutor(self.threads) if self.threads > 1 else None
            self._local = SiteSolver(self._problem, self._bounds,
                                     threads=0 if self._pool else self.threads)

    @property
    def places(self) -> str:
        """Where the sites are priced, for the plan's attributes and progress messages."""
        if self._client is not None:
            return f"dask: {len(self._workers) or 'no'} worker(s)"
        return f"{self.threads} thread(s)"

    def _problem(self, s: int) -> SiteProblem:
        return site_problem(self.b, s)

    def _bounds(self, s: int) -> tuple[np.ndarray, np.ndarray]:
        cols = self.b.site_cols[s]
        return self.b.col_lower[cols], self.b.col_upper[cols]

    def _lost(self, exc: BaseException, what: str):
        from dcplan.errors import ClusterError

        return ClusterError(
            f"a Dask worker holding sites was lost while {what} ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:200] if str(exc) else 'no message'}); rerun, or leave "
            f"out --workers/--scheduler to price the sites in this process"
        )

    def start(self) -> None:
        """Send the sites to the Dask workers now (else at the first pricing): one
        :class:`SiteActor` per worker that gets sites, the sites dealt round-robin by size.
        Does nothing for a pricer without a Dask client."""
        from dcplan.errors import ClusterError

        if self._client is None:
            return
        workers = sorted(self._client.scheduler_info().get("workers", {}))
        if not workers:
            raise ClusterError("the Dask cluster has no workers to price the sites on; start some "
                               "with `dask worker tcp://HOST:PORT`, or leave out --workers/--scheduler")
        n = self.b.n_site
        workers = workers[:max(n, 1)]  # no actor on a worker that would get no site
        sizes = np.array([len(c) for c in self.b.site_cols])
        order = np.argsort(-sizes, kind="stable")
        self._owner = np.empty(n, dtype=np.int64)
        self._owner[order] = np.arange(n) % len(workers)
        futures = []
        try:
            for k, worker in enumerate(workers):
                mine = np.nonzero(self._owner == k)[0]
                problems = {int(s): site_problem(self.b, int(s)) for s in mine}
                # sent as data to its worker (not inside the task: tens of MB at 1,000 sites)
                [data] = self._client.scatter([problems], workers=[worker], hash=False)
                futures.append(self._client.submit(SiteActor, data, workers=[worker], actor=True,
                                                   allow_other_workers=False, pure=False))
            self._actors = [f.result(timeout=ACTOR_START_TIMEOUT_S) for f in futures]
        except (OSError, RuntimeError, TimeoutError) as exc:
            raise self._lost(exc, "taking its sites") from exc
        self._actor_futures = futures  # the actors live as long as their futures
        self._workers = workers

    def close(self) -> None:
        """Stop the worker threads or release the actors (the local site LPs are kept)."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
            self._local.threads = self.threads  # from here on, the calling thread's
        self._actors, self._actor_futures = [], []

    def _solve_many(self, kind: str, items: list, budget_s: float | None = None) -> np.ndarray:
        """``SiteSolver.solve_many`` over the items, split over the threads or the actors."""
        out = np.empty(len(items))
        if not items:
            return out
        if self._client is not None:
            if not self._actors:
                self.start()
            parts: dict[int, list[int]] = {}
            for i, item in enumerate(items):
                parts.setdefault(int(self._owner[item[0]]), []).append(i)
            try:
                calls = {k: self._actors[k].solve_many(kind, [items[i] for i in idx], budget_s)
                         for k, idx in parts.items()}
                for k, call in calls.items():
                    out[parts[k]] = call.result()
            except (OSError, RuntimeError) as exc:  # CommClosedError is an OSError
                raise self._lost(exc, "pricing") from exc
            return out
        if self._pool is None:
            if kind != "integer":
                self._local.prepare([item[0] for item in items])
            out[:] = self._local.solve_many(kind, items, budget_s)
            return out
        k = self.threads
        chunks = [items[i::k] for i in range(k)]
        # every HiGHS instance is made here, on the calling thread (fd 1 is redirected while
        # HiGHS prints its banner; two threads doing that at once could lose stdout)
        if kind == "integer":
            made = bare_highs(len(items))
            jobs = [(chunk, made[i::k]) for i, chunk in enumerate(chunks)]
        else:
            self._local.prepare([item[0] for item in items])
            jobs = [(chunk, None) for chunk in chunks]
        for i, values in enumerate(self._pool.map(
                lambda job: self._local.solve_many(kind, job[0], budget_s, job[1]), jobs)):
            out[i::k] = values
        return out

    def reduced_costs(self, y: np.ndarray) -> np.ndarray:
        """``c - A_c' y`` of every column for coupling-row duals ``y``."""
        return self.b.cost - self._coupling_T @ y

    def price_all(self, sites, d: np.ndarray, *, forced: dict | None = None) -> np.ndarray:
        """``z_s`` of every site in ``sites`` for the reduced costs ``d`` (all columns);
        ``forced`` maps a site to its columns (whole-model positions) held at 1."""
        forced = forced or {}
        items = []
        for s in np.asarray(sites, dtype=np.int64):
            cols = self.b.site_cols[s]
            f = forced.get(int(s))
            local = np.searchsorted(cols, f).astype(np.int32) if f is not None and len(f) else None
            items.append((int(s), d[cols], local))
        return self._solve_many("price", items)

    def closed_empty_all(self, sites, active: np.ndarray) -> np.ndarray:
        """Per site of ``sites``: does closing it (its ``site_active`` columns, row s of
        ``active``, at 0) force every other column of the site to 0? Checked, not assumed."""
        items = []
        for s in np.asarray(sites, dtype=np.int64):
            cols = active[s][active[s] >= 0]
            items.append((int(s), np.searchsorted(self.b.site_cols[s], cols).astype(np.int32)))
        return self._solve_many("closed", items) > 0.5

    def integer_prices(self, sites, d: np.ndarray, floors: np.ndarray, time_limit_s: float) -> np.ndarray:
        """Each site's price with its integers kept (:meth:`SiteSolver.integer_price`), the
        sites sharing ``time_limit_s`` on every thread or worker at once."""
        sites = np.asarray(sites, dtype=np.int64)
        items = [(int(s), d[self.b.site_cols[s]], float(floors[s])) for s in sites]
        # each place runs its share in turn, all places at once: the budget is per place
        return self._solve_many("integer", items, budget_s=float(time_limit_s))

