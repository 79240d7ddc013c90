"""Running a batch's tasks: on Ray actors (a local Ray instance or an existing cluster), or in this
process for ``workers=0``; either way through the same worker objects, so both give the same outputs.

- **One worker object per actor**, built once (models, source identities), serving one task at a time:
  the driver hands the next task to whichever actor is free, so a slow input never holds up the rest.
- **Resources** are declared per actor (``cpus``, ``gpus``): Ray places actors only where they fit.
- **Failures.** A task whose input is bad returns its sentence and is recorded as failed. A worker process
  that dies (killed, out of memory) fails the task it was running with a sentence saying so; a fresh
  actor takes its place and the job goes on. An unexpected exception in a task is reported as an
  internal error of that task only.
- **The record** is written here, in the driver, after each result: the one writer of the job record.
"""

from __future__ import annotations

import logging
import math
import signal
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypedDict

from faceforge.errors import FaceforgeError, InputError
from faceforge.progress import Progress
from faceforge.scale.jobs import JobRecord
from faceforge.scale.plan import Task
from faceforge.scale.workers import TaskResult

WORKER_LOST = (
    "the worker process running it stopped (killed or out of memory); run the same command again to redo it."
)


class _QuietInit(TypedDict):
    """The ``ray.init`` settings of every job: no log forwarding, no dashboard."""

    log_to_driver: bool
    logging_level: int
    include_dashboard: bool


@dataclass(frozen=True, slots=True)
class Cluster:
    """Where tasks run. ``workers`` 0 runs them in this process; otherwise that many Ray actors, on a
    local Ray instance started for the job or, with ``address``, on an existing cluster."""

    workers: int = 1
    address: str | None = None
    cpus: float = 1.0  # per worker
    gpus: float = 0.0  # per worker

    def __post_init__(self) -> None:
        if self.workers < 0:
            raise InputError(f"--workers must be 0 or more, not {self.workers}.")
        if self.cpus <= 0 or self.gpus < 0:
            raise InputError("--cpus-per-worker must be above 0 and --gpus-per-worker at least 0.")

    def check_reachable(self) -> None:
        """Refuse an address nothing listens on, before a job writes anything."""
        if self.address and self.workers:
            _check_reachable(self.address)


@dataclass(slots=True)
class JobReport:
    done: list[str] = field(default_factory=list)  # task keys finished by this run
    skipped: list[str] = field(default_factory=list)  # task keys a previous run had finished
    failed: list[tuple[str, str]] = field(default_factory=list)  # (task key, one sentence)


class WorkerHost:
    """Builds a worker and keeps a faceforge error from its construction (a source photo without a face)
    to report it once, as the job's error, instead of as a dead actor per task."""

    def __init__(self, factory: Callable[[Any], Any], spec: Any) -> None:
        self.worker = None
        self.error: FaceforgeError | None = None
        try:
            self.worker = factory(spec)
        except FaceforgeError as exc:
            self.error = exc

    def ready(self) -> FaceforgeError | None:
        return self.error

    def built(self) -> Any:
        """The worker; its construction's error when it has none (callers check :meth:`ready` first)."""
        if self.worker is None:
            raise self.error or RuntimeError("The worker host has neither a worker nor an error.")
        return self.worker

    def run(self, task: Task, board: Any = None) -> TaskResult:
        """Run ``task``; with ``board`` (a :class:`ProgressBoard` actor), post its units done as they
        advance, about every 2 % of the task."""
        worker = self.built()
        if board is None:
            return worker.run(task)
        step = max(1, task.units // 50)
        posted = [0]

        def post(done: int, total: int) -> None:
            if done - posted[0] >= step or done >= task.units:
                posted[0] = done
                board.post.remote(task.key, min(done, task.units))

        return worker.run(task, post)

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()


class ProgressBoard:
    """A Ray actor the workers post their running tasks' units to, which the driver reads for its bar."""

    def __init__(self) -> None:
        self.units: dict[str, int] = {}

    def post(self, key: str, done: int) -> None:
        self.units[key] = done

    def running(self, keys: list[str]) -> int:
        """Units done so far by the tasks ``keys`` (those still running)."""
        return sum(self.units.get(key, 0) for key in keys)


class _Counter:
    """The job's progress in units (frames, images), across all workers: one bar."""

    def __init__(self, total: int, done: int, progress: Progress | None) -> None:
        self.total, self.done, self.progress = total, done, progress
        self.shown = 0
        self.tick(0)

    def tick(self, units: int, running: int = 0) -> None:
        """``units`` more finished; ``running``: units done so far by the tasks still running. The bar
        never goes back (a finished task's units can arrive before the others' latest posts)."""
        self.done += units
        self.shown = max(self.shown, min(self.total, self.done + running))
        if self.progress is not None:
            self.progress(self.shown, self.total)


def _record(record: JobRecord, report: JobReport, task: Task, result: TaskResult) -> None:
    if result.ok:
        record.mark_done(task.key, result.worker, result.seconds, result.detail)
        report.done.append(task.key)
    else:
        error = result.error or "it failed."
        record.mark_failed(task.key, error, result.worker)
        report.failed.append((task.key, error))


def run_tasks(
    tasks: Iterable[Task],
    factory: Callable[[Any], Any],
    spec: Any,
    cluster: Cluster,
    record: JobRecord,
    progress: Progress | None = None,
    done_units: int = 0,
    total_units: int | None = None,
) -> JobReport:
    """Run ``tasks`` on workers built by ``factory(spec)``, recording each result as it arrives."""
    todo = list(tasks)
    counter = _Counter(total_units or sum(t.units for t in todo) + done_units, done_units, progress)
    report = JobReport()
    if not todo:
        return report
    if cluster.workers == 0:
        host = WorkerHost(factory, spec)
        if host.error is not None:
            raise host.error
        try:
            for task in todo:
                result = host.built().run(task, lambda done, _total: counter.tick(0, done))
                _record(record, report, task, result)
                counter.tick(task.units)
        finally:
            host.close()
        return report
    _run_on_ray(todo, factory, spec, cluster, record, report, counter)
    return report


def _connect(cluster: Cluster) -> bool:
    """Connect to the cluster (or start a local Ray instance); True when this call started Ray."""
    import ray

    if ray.is_initialized():
        return False
    quiet: _QuietInit = {"log_to_driver": False, "logging_level": logging.ERROR, "include_dashboard": False}
    # ray.init installs its own SIGTERM handler (which ends the process on the spot); keep the caller's,
    # so a terminated job unwinds: its actors are stopped and the command says what was kept.
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if in_main else None
    try:
        if cluster.address:
            _check_reachable(cluster.address)  # again: the cluster may have gone since the job started
            try:
                ray.init(address=cluster.address, **quiet)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise InputError(f"Cannot connect to the Ray cluster at {cluster.address}: {exc}") from exc
        else:
            cpus = max(1, round(cluster.workers * cluster.cpus))
            gpus = math.ceil(cluster.workers * cluster.gpus) if cluster.gpus else None
            ray.init(address="local", num_cpus=cpus, num_gpus=gpus, **quiet)  # never join one by chance
    finally:
        if in_main and previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return True


def _check_reachable(address: str) -> None:
    """Refuse at once a ``host:port`` (or ``ray://host:port``) nothing listens on: Ray itself retries
    such an address for minutes before it gives up."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return  # "auto" and other forms Ray resolves itself
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=5).close()
    except OSError as exc:
        raise InputError(
            f"Cannot connect to the Ray cluster at {address}: {exc.strerror or exc} (is `ray start` running "
            "there, and is the port open?)."
        ) from None


def _check_fits(cluster: Cluster) -> None:
    """Refuse a job whose worker cannot fit in the whole cluster (it would wait for ever)."""
    import ray

    have = ray.cluster_resources()
    cpus, gpus = have.get("CPU", 0.0), have.get("GPU", 0.0)
    if cluster.cpus > cpus or cluster.gpus > gpus:
        raise InputError(
            f"A worker needs {cluster.cpus:g} CPUs and {cluster.gpus:g} GPUs, but the Ray cluster has "
            f"{cpus:g} CPUs and {gpus:g} GPUs in all; lower --cpus-per-worker / --gpus-per-worker."
        )


def _wait(ray: Any, waiting: list[Any]) -> list[Any]:
    """The first of ``waiting`` to finish, or none within half a second. Never without a timeout: Python
    runs a signal's handler (Ctrl-C, SIGTERM) only once ``ray.wait`` returns, so the driver would stop only
    when the running task ended. A handler that raises while Ray's Cython wait checks for signals comes
    out as a SystemError caused by the handler's exception (KeyboardInterrupt, the CLI's Terminated):
    that exception is raised as it is, so the job unwinds as from any other signal."""
    try:
        ready, _ = ray.wait(waiting, num_returns=1, timeout=0.5)
    except SystemError as exc:
        cause = exc.__cause__
        if isinstance(cause, BaseException) and not isinstance(cause, Exception):
            raise cause from None
        raise
    return list(ready)


def _run_on_ray(
    todo: list[Task],
    factory: Callable[[Any], Any],
    spec: Any,
    cluster: Cluster,
    record: JobRecord,
    report: JobReport,
    counter: _Counter,
) -> None:
    """The driver's loop. Actors take tasks as soon as each has loaded its models, so a cluster with room
    for fewer workers than asked runs with those that fit (the others wait in Ray's queue)."""
    import ray
    from ray.exceptions import RayActorError, RayTaskError

    started = _connect(cluster)
    actor_class = ray.remote(num_cpus=cluster.cpus, num_gpus=cluster.gpus, max_restarts=0)(WorkerHost)
    spares = cluster.workers  # fresh actors allowed in place of dead ones, over the whole job
    # Actor handles are Any: Ray types their methods' ``.remote`` only for methods decorated with
    # ``ray.method``, which would import Ray with this module.
    actors: list[Any] = []
    board: Any = None
    try:
        _check_fits(cluster)
        if counter.progress is not None:
            board = ray.remote(num_cpus=0)(ProgressBoard).remote()
        queue = deque(todo)
        starting: dict[Any, Any] = {}  # ready() of an actor loading its models -> the actor
        pending: dict[Any, tuple[Any, Task]] = {}  # a running task's result -> (actor, task)

        def start_actor() -> None:
            actor: Any = actor_class.remote(factory, spec)
            actors.append(actor)
            starting[actor.ready.remote()] = actor

        def submit(actor: Any) -> None:
            task = queue.popleft()
            pending[actor.run.remote(task, board)] = (actor, task)

        for _ in range(min(cluster.workers, len(todo))):
            start_actor()
        while pending or (starting and queue):
            waiting = [*pending, *starting]
            ready = _wait(ray, waiting)
            if not ready:  # nothing finished yet: show what the running tasks have done
                if board is not None:
                    counter.tick(0, ray.get(board.running.remote([task.key for _, task in pending.values()])))
                continue
            if ready[0] in starting:
                actor = starting.pop(ready[0])
                try:
                    error = ray.get(ready[0])
                except RayActorError:  # died while loading (killed, out of memory)
                    if spares > 0:
                        spares -= 1
                        start_actor()
                    continue
                if error is not None:
                    raise error
                if queue:
                    submit(actor)
                continue
            actor, task = pending.pop(ready[0])
            try:
                result = ray.get(ready[0])
            except RayActorError:
                record.mark_failed(task.key, WORKER_LOST)
                report.failed.append((task.key, WORKER_LOST))
                actor = None
                if spares > 0:
                    spares -= 1
                    start_actor()
            except RayTaskError as exc:
                cause = exc.cause if isinstance(exc.cause, BaseException) else exc
                error = f"internal error: {type(cause).__name__}: {cause}."
                record.mark_failed(task.key, error)
                report.failed.append((task.key, error))
            else:
                _record(record, report, task, result)
            counter.tick(task.units)
            if actor is not None and queue:
                submit(actor)
        for task in queue:  # every worker died and no spare was left
            record.mark_failed(task.key, WORKER_LOST)
            report.failed.append((task.key, WORKER_LOST))
    finally:
        for actor in [*actors, *([board] if board is not None else [])]:
            ray.kill(actor)  # on a shared cluster the actors would otherwise keep their memory
        if started:
            ray.shutdown()
