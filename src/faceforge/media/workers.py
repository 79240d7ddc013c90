"""Background threads joined to the caller by a bounded queue: one helper for every producer/consumer pair.

Video decoding, encoding and the swap stage each run in a thread of their own beside the caller's, with
a bounded queue between them so memory stays bounded. The two shapes are:

- :func:`iterate_in_thread`: a thread runs an iterator ahead of the caller (the decoder), which reads
  its items from the queue;
- :class:`ConsumerThread`: the caller puts items that a thread handles in order (the encoder, the swap
  stage).

Both hand an exception raised in the thread to the caller's thread, never lose the end-of-stream
marker, and can be stopped early without a full queue blocking either side.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_END = object()
_POLL_S = 0.05  # how often a blocked put looks at the stop flag


def _put_unless_stopped(out: queue.Queue[Any], item: object, stop: threading.Event) -> bool:
    """Put ``item`` unless ``stop`` is set first; polling keeps a full queue from blocking shutdown."""
    while not stop.is_set():
        try:
            out.put(item, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False


def iterate_in_thread(
    make_items: Callable[[], Iterator[T]], queue_size: int, name: str
) -> Generator[T, None, None]:
    """Yield the items of ``make_items()``, which a thread named ``name`` runs ahead of the caller.

    At most ``queue_size`` items wait. An exception in the thread is raised here, in the caller's thread.
    Closing this generator early (``break``, ``.close()``, garbage collection) stops the thread, closes
    the inner iterator in that thread (so its ``finally`` blocks release their files) and waits for it.
    """
    items: queue.Queue[Any] = queue.Queue(maxsize=max(1, queue_size))
    stop = threading.Event()

    def produce() -> None:
        iterator = make_items()
        try:
            for item in iterator:
                if not _put_unless_stopped(items, item, stop):
                    return
            _put_unless_stopped(items, _END, stop)
        except BaseException as exc:  # anything raised belongs to the consumer, not to this thread
            _put_unless_stopped(items, _Failure(exc), stop)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join()


class _Failure:
    """An exception travelling through a queue (distinct from an item that happens to be one)."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


class ConsumerThread(Generic[T]):
    """A thread that calls ``handle(item)`` for each :meth:`put` item, in order, then ``finish()`` once.

    At most ``queue_size`` items wait. The first exception from ``handle`` or ``finish`` is kept in
    :attr:`error` and raised in the caller's thread at its next :meth:`put` or at :meth:`join`; later
    items are drained unhandled so the caller never blocks on a full queue.
    """

    def __init__(
        self,
        handle: Callable[[T], None],
        name: str,
        queue_size: int = 1,
        finish: Callable[[], None] | None = None,
    ) -> None:
        self._handle = handle
        self._finish = finish
        self._items: queue.Queue[Any] = queue.Queue(maxsize=max(1, queue_size))
        self._cancelled = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, item: T) -> None:
        """Queue ``item`` (blocking while the queue is full); raise the thread's error if it failed."""
        if self.error is not None:
            raise self.error
        self._items.put(item)

    def join(self) -> None:
        """Wait until every item is handled and ``finish`` has run; raise the thread's error if any."""
        self._end()
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        """Drop what is still queued, skip ``finish`` and end the thread; safe to call more than once."""
        self._cancelled.set()
        self._end()

    def _end(self) -> None:
        if self._thread.is_alive():
            self._items.put(_END)
            self._thread.join()

    def _run(self) -> None:
        while True:
            item = self._items.get()
            if item is _END:
                break
            if self.error is not None or self._cancelled.is_set():
                continue  # keep draining so a producer never blocks on a full queue
            try:
                self._handle(item)
            except BaseException as exc:  # handed to the caller's thread
                self.error = exc
        if self._finish is not None and self.error is None and not self._cancelled.is_set():
            try:
                self._finish()
            except BaseException as exc:
                self.error = exc
