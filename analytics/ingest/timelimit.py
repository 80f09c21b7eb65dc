"""A time limit on reading one file (issue "Keep serving"): a file whose reading
runs past ``[limits] file_read_seconds`` rejects its batch, naming the file.

The limit interrupts the work rather than waiting for it: a timer thread
interrupts the connection's running DuckDB statement (``con.interrupt()``, again
and again, since an interrupt that arrives between two statements is lost) and,
if the reading thread is still busy a moment later, raises :class:`TimeUp` in
it, which stops any Python loop (the CSV parser, copying rows into Arrow, the
worksheet guard) at its next step. A single call into native code that never
returns to Python (the Excel reader's) is stopped when it returns; the
worksheet guard bounds how long that can be.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable
from typing import TypeVar

import duckdb

from analytics.ingest.records import ImportRejected

T = TypeVar("T")

# How often the timer repeats the interrupt, and how long it lets a DuckDB
# statement unwind before it raises TimeUp in Python code.
_REPEAT_SECONDS = 0.05


class TimeUp(BaseException):
    """Raised inside the reading thread when its file's time is up. A BaseException,
    so that no ``except Exception`` of a reader turns it into another error."""


class _Timer:
    def __init__(self, con: duckdb.DuckDBPyConnection, seconds: float) -> None:
        self.con = con
        self.seconds = seconds
        self.thread_id = threading.get_ident()
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.fired = False
        self.raised = False
        self.thread = threading.Thread(target=self._watch, name="kuomian-read-limit", daemon=True)

    def _watch(self) -> None:
        if self.done.wait(self.seconds):
            return
        with self.lock:
            if self.done.is_set():
                return
            self.fired = True
            self.con.interrupt()
        while not self.done.wait(_REPEAT_SECONDS):
            with self.lock:
                if self.done.is_set():
                    return
                self.con.interrupt()
                if not self.raised:
                    self.raised = True
                    ctypes.pythonapi.PyThreadState_SetAsyncExc(
                        ctypes.c_ulong(self.thread_id), ctypes.py_object(TimeUp)
                    )

    def finish(self) -> None:
        """Stop the timer; a TimeUp not raised yet is withdrawn. Idempotent."""
        with self.lock:
            self.done.set()
            if self.raised:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.thread_id), None)


def read_within(
    con: duckdb.DuckDBPyConnection, seconds: float, batch: str, file: str, read: Callable[[], T]
) -> T:
    """``read()``, stopped and turned into :class:`ImportRejected` naming ``batch``
    and ``file`` when it runs past ``seconds``."""
    timer = _Timer(con, seconds)
    try:
        try:
            timer.thread.start()
            result = read()
        finally:
            timer.finish()
    except BaseException:
        # A TimeUp may still land here, once, before the timer is finished.
        while True:
            try:
                timer.finish()
                break
            except TimeUp:
                continue
        if not timer.fired:
            raise
        result = None
    if timer.fired:
        raise ImportRejected(
            f"{batch}: {file}: 读取超时，未导入 (reading took longer than the {seconds:g} s "
            "allowed by [limits] file_read_seconds)",
            file=file,
        )
    return result
