"""Notifications off the terminal (`--notify URL`), sent through apprise on a thread of their own.

A webhook that hangs or a mail server that is down must never hold up the dashboard, so the
UI thread only puts an `Alert` in a bounded queue (`post` never blocks) and this thread sends
it. Sends are rate-limited: at most one message per `min_gap_s`; alerts that arrive meanwhile
go out together in the next message, none is dropped unless the queue overflows (counted).
The outcome of each send is an immutable `Delivery` the status line shows; a failure is a
value, never an exception. apprise (one URL scheme for Slack, Discord, Telegram, ntfy, email,
JSON webhooks, ...) is an optional extra: `pip install 'trainmon[notify]'`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from trainmon.extras import require
from trainmon.i18n import _, ngettext

AlertKind = Literal["finding", "finished", "crashed", "stalled"]

MIN_GAP_S: Final = 10.0
"""At most one message per this many seconds (a burst of alerts becomes one message)."""
QUEUE_MAX: Final = 256
"""Alerts waiting beyond this many are dropped and counted (the receiver is far behind)."""
STOP_WAIT_S: Final = 2.0
"""How long closing waits for alerts still queued (a run that just finished) to go out."""


@dataclass(frozen=True, slots=True)
class Alert:
    """One thing worth telling someone who is not watching the terminal."""

    kind: AlertKind
    run: str
    title: str
    body: str
    level: Literal["info", "success", "warning", "failure"] = "warning"


@dataclass(frozen=True, slots=True)
class Delivery:
    """The outcome of one send: what the status line says about notifications."""

    ok: bool
    alerts: int
    """How many alerts the message carried."""
    detail: str = ""
    """Why it failed (one line), empty when it went out."""
    time_s: float = 0.0


Send = Callable[[str, str, str], "tuple[bool, str]"]
"""(title, body, level) -> (sent, why not): the transport, apprise unless a test says."""


class _LastError(logging.Handler):
    """Keeps apprise's last warning or error (its only account of why a send failed), and
    keeps it off the terminal, where a stray log line would tear the dashboard."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.message = ""

    def emit(self, record: logging.LogRecord) -> None:
        self.message = record.getMessage().splitlines()[0] if record.getMessage() else ""


def apprise_sender(urls: Sequence[str]) -> Send:
    """A transport to every URL through apprise (imported here: an optional extra)."""
    apprise: Any = require("apprise", "notify", "--notify")
    logger = logging.getLogger("apprise")
    logger.propagate = False
    last_error = next((h for h in logger.handlers if isinstance(h, _LastError)), None)
    if last_error is None:  # one per process: sends happen on one thread at a time
        last_error = _LastError()
        logger.addHandler(last_error)
    targets = apprise.Apprise()
    for url in urls:
        targets.add(url)
    types = {
        "info": apprise.NotifyType.INFO,
        "success": apprise.NotifyType.SUCCESS,
        "warning": apprise.NotifyType.WARNING,
        "failure": apprise.NotifyType.FAILURE,
    }

    def send(title: str, body: str, level: str) -> tuple[bool, str]:
        last_error.message = ""
        ok = bool(targets.notify(body=body, title=title, notify_type=types.get(level)))
        return ok, "" if ok else (last_error.message or _("the receiver refused it"))

    return send


def check_urls(urls: Sequence[str]) -> str | None:
    """One line naming the first URL apprise cannot use, or None when all are usable."""
    apprise: Any = require("apprise", "notify", "--notify")
    logger = logging.getLogger("apprise")
    logger.propagate = False
    for url in urls:
        if not apprise.Apprise().add(url):
            return _("--notify: not a notification URL apprise knows: {url}").format(url=repr(url))
    return None


def combined(alerts: Sequence[Alert]) -> tuple[str, str, str]:
    """(title, body, level) of one message carrying every alert, the most serious level."""
    order = ("info", "success", "warning", "failure")
    level = max((a.level for a in alerts), key=order.index)
    if len(alerts) == 1:
        return alerts[0].title, alerts[0].body, level
    title = ngettext("trainmon: {count} alert", "trainmon: {count} alerts", len(alerts))
    title = title.format(count=len(alerts))
    body = "\n\n".join(f"{a.title}\n{a.body}" for a in alerts)
    return title, body, level


class Notifier:
    """Sends alerts on its own daemon thread, rate-limited; `post` never blocks."""

    def __init__(
        self,
        send: Send,
        *,
        min_gap_s: float = MIN_GAP_S,
        queue_max: int = QUEUE_MAX,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._send = send
        self._min_gap_s = min_gap_s
        self._clock = clock
        self._wall_clock = wall_clock
        self._queue: queue.Queue[Alert] = queue.Queue(maxsize=queue_max)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="trainmon-notify", daemon=True)
        self.last: Delivery | None = None
        """The newest send's outcome (replaced whole: the UI thread reads it without a lock)."""
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        """Alerts lost because the queue was full (posted by the UI thread only)."""

    def start(self) -> None:
        self._thread.start()

    def post(self, alert: Alert) -> None:
        """Queue an alert (UI thread); when the queue is full it is dropped and counted."""
        try:
            self._queue.put_nowait(alert)
        except queue.Full:
            self.dropped += 1

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def stop(self, timeout_s: float = STOP_WAIT_S) -> None:
        """Send what is queued within `timeout_s`, then end (a daemon: a hung send is left)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        next_send = 0.0
        while True:
            try:
                first = self._queue.get(timeout=0.2)
            except queue.Empty:
                if self._stop.is_set():
                    return
                continue
            wait = next_send - self._clock()
            if wait > 0 and not self._stop.is_set():
                self._stop.wait(wait)  # alerts arriving meanwhile join this message
            batch = [first]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            title, body, level = combined(batch)
            try:
                ok, why = self._send(title, body, level)
            except Exception as exc:  # a transport bug is a failed send, never a crash
                ok, why = False, f"{type(exc).__name__}: {exc}"
            if ok:
                self.sent += len(batch)
            else:
                self.failed += len(batch)
            self.last = Delivery(ok, len(batch), why, self._wall_clock())
            next_send = self._clock() + self._min_gap_s


def notify_status(notifier: Notifier | None) -> str:
    """The status line's note about notifications: only a failure (or drops) is news."""
    if notifier is None:
        return ""
    last = notifier.last
    note = ""
    if last is not None and not last.ok:
        note = _("notify failed: {reason}").format(reason=last.detail)
    if notifier.dropped:
        dropped = ngettext("{count} alert dropped", "{count} alerts dropped", notifier.dropped)
        note += ("; " if note else "") + dropped.format(count=notifier.dropped)
    return note
