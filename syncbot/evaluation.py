"""The due leads, evaluated chunk by chunk: in this process, or in worker processes when
there are many of them and the machine has cores to spare.

Evaluating a lead is Python work, and one interpreter runs one thread at a time: at the
default cadence a run evaluates four leads in five again (their decayed sums and day counts
move), about 200 µs each (docs/benchmarks.md, "A week at the default cadence"). From
``PARALLEL_FROM`` due leads on, worker processes share that work. Each is started fresh
("spawn": none of this process's threads, locks or connections come along), opens the state
to read, and evaluates whole chunks of keys, sending back each lead's cells, already
encoded and compared with its ledger entry, with its ledger note. The chunks come back in
key order, the order this process would have made them in, so a run's result is the same
however many processes scored it.

The workers read the state as it is committed: ``Workers`` commits the run's store before
they start and before each run of chunks it hands them. A scheduled run starts them before
its pull (``Ahead``): the pull mostly waits on Mailchimp, and the leads already due by then
(their values moved with time, or the team's did) are scored meanwhile from the state as
the last run left it; what the pull changed is scored again after it.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import threading
import zlib
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from syncbot.core.lead import Evaluator, Settings
from syncbot.core.rules import Ruleset
from syncbot.core.texts import Say
from syncbot.core.vocabulary import Labels
from syncbot.errors import SyncbotError
from syncbot.locales import t
from syncbot.mailchimp.records import stored_members, stored_orders
from syncbot.ports import LeadNote
from syncbot.sheets.leads import Compared, Comparison, row_cells, to_json
from syncbot.state.store import StateStore

PARALLEL_FROM = 20_000  # due leads: below this, starting the workers costs more than they save
MOST_BY_DEFAULT = 4  # workers without ``[scoring] workers``: the run's own share of the work
#                      (filing the rows, the tag plan) keeps more from helping
#                      much, and each worker holds about 55 MB
NICENESS = 10  # added to a worker's: scoring ahead must not slow the pull down
CHUNK = 2000  # leads evaluated at a time: memory stays flat whatever the audience size
AHEAD = 2  # chunks handed out per worker before the first comes back: each always has the
#            next at hand, and what waits to be taken stays a few chunks' worth


@dataclass(frozen=True)
class ScoringJob:
    """What evaluating any lead of one run needs (sent once to each worker)."""

    state: Path  # the run's state (a dry run's copy), as committed before the workers start
    rules: Callable[[], Ruleset]  # how the run's rules are made (compiled ones do not pickle)
    settings: Settings
    say: Say  # the sheet's language: ``why`` is written in it
    labels: Labels
    now: datetime
    comparison: Comparison  # the Leads cells (in the diff's order) against the ledger
    trusted: bool  # the run trusts the ledger: each lead is compared with its entry
    orders: bool  # ``[orders]`` is on: the leads' purchases count


@dataclass(frozen=True)
class Chunk:
    """Keys to evaluate, in order, with the team's values and their fingerprints for those
    that have any (``TeamInputs``)."""

    keys: list[str]
    team: dict[str, dict[str, Any]]
    fingerprints: dict[str, str]

    @classmethod
    def of(cls, keys: Sequence[str], team: Mapping[str, dict[str, Any]],
           fingerprints: Mapping[str, str]) -> Chunk:
        """The chunk of ``keys``, taking from the run's ``team`` values and ``fingerprints``
        (by key) those of its keys."""
        return cls(list(keys), {key: team[key] for key in keys if key in team},
                   {key: fingerprints[key] for key in keys if key in fingerprints})


class Evaluated(NamedTuple):
    """One lead evaluated: its Leads cells, as values and as the JSON the ledger keeps, the
    note that goes with them, and how they compare with the lead's ledger entry (if the run
    trusts the ledger and the lead has one). A worker leaves the values out (None) where the
    comparison says all the run needs of them: they are most of what it would send."""

    key: str
    cells: list[Any] | None
    text: str
    note: LeadNote
    compared: Compared | None = None

    def light(self) -> Evaluated:
        """As a worker sends it back."""
        compared = self.compared
        if compared is None or compared.tags_before is not None:
            return self  # a new lead, or one whose tags changed: the run decodes these cells
        return self._replace(cells=None)


class ChunkEvaluator:
    """Evaluates chunks of one run's leads with ``evaluate``, reading their members, events,
    history and orders from ``store``."""

    def __init__(self, job: ScoringJob, store: StateStore, evaluate: Evaluator) -> None:
        self.job, self.store, self.evaluate = job, store, evaluate

    def __call__(self, chunk: Chunk) -> list[Evaluated]:
        job, keys = self.job, chunk.keys
        history = self.store.history(keys)
        orders = stored_orders(self.store, keys) if job.orders else {}
        compare = job.comparison
        known = self.store.ledger(keys) if job.trusted else {}
        evaluated = []
        for member, events in stored_members(self.store, keys):
            key = member.key
            lead = self.evaluate(member, events, job.now, chunk.team.get(key),
                                 history.get(key, ()), orders.get(key, ()))
            cells = row_cells(compare.value_columns, lead.values)
            note = LeadNote(lead.stable_until.timestamp(), member.status, member.email,
                            json.dumps(lead.tags), lead.score, chunk.fingerprints.get(key, ""),
                            lead.values.get("topics") or "")
            text = to_json(cells)
            entry = known.get(key)
            compared = None if entry is None else compare(cells, text, entry)
            evaluated.append(Evaluated(key, cells, text, note, compared))
        return evaluated


def processes(due: int, configured: int | None) -> int:
    """How many processes evaluate ``due`` leads: one below ``PARALLEL_FROM``; else
    ``configured`` (``[scoring] workers``), or one per core this process has, at most
    ``MOST_BY_DEFAULT``."""
    if due < PARALLEL_FROM:
        return 1
    return configured or min(_cores(), MOST_BY_DEFAULT)


def _cores() -> int:
    """The cores this process may run on (its affinity, where the system says)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def evaluate_chunks(job: ScoringJob, chunks: Iterable[Chunk], store: StateStore, workers: int,
                    evaluate: Evaluator) -> Generator[list[Evaluated], None, None]:
    """Each chunk evaluated, in order: here, with ``store`` and ``evaluate`` (``workers`` 1), or
    by that many worker processes, each with a read-only store and the rules of its own."""
    pool = Workers.start(job, workers, store) if workers > 1 else None
    if pool is None:
        yield from map(ChunkEvaluator(job, store, evaluate), chunks)
        return
    try:
        yield from pool.in_order(chunks)
    finally:
        pool.close()


class Workers:
    """``count`` worker processes ready for one run's job, until ``close``; ``store``: the
    run's own, committed whenever the workers are about to read it (they see only what is)."""

    def __init__(self, pool: ProcessPoolExecutor, count: int, store: StateStore) -> None:
        self.pool, self.count, self.store = pool, count, store

    @classmethod
    def start(cls, job: ScoringJob, count: int, store: StateStore) -> Workers | None:
        """The workers, or None where processes cannot share work (no working semaphores, as
        in some containers): the leads are then scored in the run's own process."""
        store.save()
        try:
            pool = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=_start_worker, initargs=(job,))
        except (ImportError, NotImplementedError, OSError):
            return None
        return cls(pool, count, store)

    def submit(self, work: Callable[[Chunk], Any], chunk: Chunk) -> Future[Any]:
        """``work`` on ``chunk`` in a worker (which is started if due)."""
        try:
            return self.pool.submit(work, chunk)
        except OSError as exc:  # the system would not start another process (a limit, memory)
            raise SyncbotError(t("run.workers_refused", workers=self.count,
                                 reason=exc.strerror or type(exc).__name__)) from None

    def in_order(self, chunks: Iterable[Chunk]) -> Iterator[list[Evaluated]]:
        """Each chunk evaluated, in order (``_in_order``), from the state as it now is."""
        self.store.save()
        with self.stopped():
            yield from _in_order(self, chunks)

    @contextlib.contextmanager
    def stopped(self) -> Iterator[None]:
        """A worker that was killed (out of memory, say) or could not start fails the run
        saying so."""
        try:
            yield
        except BrokenProcessPool:
            raise SyncbotError(t("run.worker_stopped", workers=self.count)) from None

    def close(self) -> None:
        """Stop the workers: chunks not started are dropped, those started are finished."""
        self.pool.shutdown(cancel_futures=True)


def _in_order(workers: Workers, chunks: Iterable[Chunk]) -> Iterator[list[Evaluated]]:
    """The chunks' results in the order of ``chunks``, with at most ``AHEAD`` per worker handed
    out and not yet taken (``Executor.map`` would hand them all out at once)."""
    waiting: deque[Future[list[Evaluated]]] = deque()
    for chunk in chunks:
        waiting.append(workers.submit(_evaluate_in_worker, chunk))
        if len(waiting) >= workers.count * AHEAD:
            yield waiting.popleft().result()
    while waiting:
        yield waiting.popleft().result()


class Ahead:
    """Leads scored ahead, while the run pulls: the leads due before the pull (``due``, in key
    order; ``chunk`` makes their chunks), handed to the workers a few chunks at a time by a
    thread of their own until ``stop``. The workers read the state as last committed, which
    the pull may or may not have committed to by then: ``after_the_pull`` keeps only the
    results that hold either way. They are kept packed (compressed pickles, a fraction of
    their size) until the pull is done."""

    def __init__(self, workers: Workers, due: list[str],
                 chunk: Callable[[Sequence[str]], Chunk]) -> None:
        self.workers, self.due, self._chunk = workers, due, chunk
        self._handed: list[Future[bytes]] = []
        self._handed_keys = 0  # how many of ``due``, from the first
        self._stop = threading.Event()
        self._feeder = threading.Thread(target=self._feed, name="scoring-ahead", daemon=True)
        self._feeder.start()

    def _feed(self) -> None:
        busy: set[Future[bytes]] = set()
        for start in range(0, len(self.due), CHUNK):
            while len(busy) >= self.workers.count * AHEAD and not self._stop.is_set():
                busy = wait(busy, timeout=0.05, return_when=FIRST_COMPLETED).not_done
            if self._stop.is_set():
                return
            keys = self.due[start:start + CHUNK]
            try:
                future = self.workers.submit(_evaluate_packed_in_worker, self._chunk(keys))
            except (SyncbotError, BrokenProcessPool, RuntimeError):
                return  # those leads are scored after the pull, which reports the trouble
            self._handed.append(future)
            self._handed_keys += len(keys)
            busy.add(future)

    def stop(self) -> list[str]:
        """Hand out no more chunks; the keys handed out, in order."""
        self._stop.set()
        self._feeder.join()
        return self.due[:self._handed_keys]

    def leads(self, discard: AbstractSet[str]) -> Iterator[Evaluated]:
        """The leads scored ahead, in key order, but those in ``discard``; each chunk's packed
        results let go of as soon as they are unpacked (the run is not done with them before
        it ends)."""
        handed = deque(self._handed)
        self._handed.clear()
        with self.workers.stopped():
            while handed:
                packed = handed.popleft().result()
                for lead in pickle.loads(zlib.decompress(packed)):
                    if lead.key not in discard:
                        yield lead


class Rescoring(NamedTuple):
    """What becomes of the leads scored ahead once the pull is done (``after_the_pull``)."""

    fresh: list[str]  # the due keys to evaluate now, in order
    discard: frozenset[str]  # the keys scored ahead whose results are not taken


def after_the_pull(handed: Sequence[str], due: Iterable[str], dirty: AbstractSet[str]
                   ) -> Rescoring:
    """``handed``: the keys scored ahead; ``due``: the keys due after the pull, in order;
    ``dirty``: those whose inputs the pull (or a run that died before it) changed. A result
    scored ahead holds for a key still due and not dirty: nothing it depends on changed,
    whichever state the worker read. Every other due key is evaluated now."""
    ahead = set(handed)
    fresh, kept = [], set()
    for key in due:
        if key in ahead and key not in dirty:
            kept.add(key)
        else:
            fresh.append(key)
    return Rescoring(fresh, frozenset(ahead - kept))


_worker: ChunkEvaluator | None = None  # in a worker process: its evaluator, made at start


def _start_worker(job: ScoringJob) -> None:
    """A worker's start: it stays with the run that started it, and has its own read-only
    store and rules."""
    global _worker
    stay_with_the_run()
    give_way()
    _worker = ChunkEvaluator(job, StateStore.reader(job.state),
                             Evaluator(job.rules(), job.settings, job.say, job.labels))


def give_way() -> None:
    """Lower this worker's priority (``NICENESS``): while the run pulls, its own process
    (reading Mailchimp's answers) goes first, and the workers take the cores it leaves."""
    if hasattr(os, "nice"):
        with contextlib.suppress(OSError):
            os.nice(NICENESS)


def stay_with_the_run() -> None:
    """Make this worker answer to the run that started it, not to signals: Ctrl-C and SIGTERM
    (which a terminal or systemd send to every process of the run) are left to the run, which
    stops its workers (``serve`` after the sync in progress; otherwise each worker would die
    with a traceback). And the worker ends when the run ends, however it ends (killed, say):
    it would otherwise wait for chunks forever."""
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        sentinel = parent.sentinel
        threading.Thread(target=_end_with, args=(sentinel,), daemon=True).start()


def _end_with(sentinel: int) -> None:
    """Wait until ``sentinel`` (the parent's) says the run ended, then end this worker."""
    multiprocessing.connection.wait([sentinel])
    os._exit(0)


def _evaluate_in_worker(chunk: Chunk) -> list[Evaluated]:
    assert _worker is not None, "the pool's initializer makes it"
    return [lead.light() for lead in _worker(chunk)]


def _evaluate_packed_in_worker(chunk: Chunk) -> bytes:
    """The chunk's leads, packed to be kept a while (``Ahead``)."""
    return zlib.compress(pickle.dumps(_evaluate_in_worker(chunk), pickle.HIGHEST_PROTOCOL), 1)

