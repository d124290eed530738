"""Play lines into a log file at a pace, on a thread: the engine of `--demo` and `replay`.

The demo and the replay write a real file that the dashboard follows through the same code
path as a real training log, so what a newcomer sees in the demo is what they will see on
their own runs. Pacing uses each line's timestamp (seconds from the start of the run) divided
by a speed factor; the thread sleeps on an event, so `stop()` ends it at once.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final

TimedLine = tuple[float, str]
"""(seconds since the start of the run, the text to write)."""

DEMO_STEPS: Final = 3000
"""Steps of the simulated demo run."""
DEMO_SECONDS: Final = 150.0
"""Wall-clock length of the demo: long enough to watch, short enough to finish."""
DEMO_LOG_NAME: Final = "demo-run.log"

MAX_WAIT_S: Final = 5.0
"""The longest pause between two writes, whatever the log's own gaps (a replay of a run that
stalled for hours should not look frozen)."""
MAX_BATCH: Final = 512
"""Lines written at most in one go when the player runs behind its schedule."""
UNIFORM_LINE_S: Final = 1.0
"""Original-time cost of one line when the log prints no timestamps (before the speed)."""
UNIFORM_REDRAW_S: Final = 0.1
"""Original-time cost of one `\\r` progress redraw when the log prints no timestamps."""

_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,6}))?",
)
"""An ISO-like date and time, as logging and most trainers print them."""


def _terminated(text: str) -> str:
    """The text with a line ending, unless it already ends with one or is a `\\r` redraw."""
    if text.endswith(("\n", "\r")) or text.startswith("\r"):
        return text
    return text + "\n"


class LogPlayer:
    """Writes timed lines into a file on its own thread, at `speed` times the original pace.

    Lines due at the same moment are written together and flushed once, so a fast replay
    costs few system calls. Errors while writing end the player and are kept in `error`.
    """

    def __init__(
        self,
        lines: Iterable[TimedLine],
        path: str | Path,
        *,
        speed: float = 1.0,
        max_wait_s: float = MAX_WAIT_S,
        wait: Callable[[float], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Prepare a player; nothing is written before `start()`.

        Args:
            lines: (seconds from the start, text) pairs, in order.
            path: the file to append to (created, and truncated, by `start()`).
            speed: how many times faster than the original pace (<= 0 means 1).
            max_wait_s: the longest pause between two writes, in wall-clock seconds.
            wait: sleeps for the given seconds (default: an interruptible wait on the stop
                event); injectable so tests need no real time.
            clock: monotonic seconds; injectable for tests.
        """
        self.path = Path(path)
        self.speed = speed if math.isfinite(speed) and speed > 0 else 1.0
        self.max_wait_s = max_wait_s
        self._lines = lines
        self._stop = threading.Event()
        self._wait = wait if wait is not None else self._stop.wait
        self._clock = clock
        self._thread: threading.Thread | None = None
        self.lines_written = 0
        self.error: str | None = None
        """Why the player stopped early (an OSError while writing), if it did."""

    def start(self) -> LogPlayer:
        """Create (or empty) the file and start writing on a daemon thread."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_bytes(b"")
        self._thread = threading.Thread(target=self._run, name="trainmon-playback", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop writing and wait (briefly) for the thread to end."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    def join(self, timeout_s: float | None = None) -> bool:
        """Wait for the player to finish; returns True when it has."""
        if self._thread is None:
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        """True while the thread is writing."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def stopped(self) -> bool:
        """True once `stop()` was called."""
        return self._stop.is_set()

    def _run(self) -> None:
        try:
            with self.path.open("ab", buffering=0) as out:
                self._play(out.write)
        except OSError as exc:
            self.error = f"{self.path}: {exc.strerror or exc}"

    def _play(self, write: Callable[[bytes], object]) -> None:
        """Write every line at its time; the loop body is plain so tests can drive it."""
        start = self._clock()
        behind = 0.0  # wall time skipped by capping long gaps
        pending: list[str] = []
        last_t = 0.0
        for t, text in self._lines:
            if self._stop.is_set():
                return
            t = t if math.isfinite(t) else last_t
            gap = (t - last_t) / self.speed
            if gap > self.max_wait_s:
                behind += gap - self.max_wait_s
            last_t = max(last_t, t)
            due = start + last_t / self.speed - behind
            delay = due - self._clock()
            if delay > 0 and pending:
                self._flush(write, pending)
            if delay > 0:
                self._wait(delay)
                if self._stop.is_set():
                    return
            pending.append(_terminated(text))
            if len(pending) >= MAX_BATCH:
                self._flush(write, pending)
        if pending and not self._stop.is_set():
            self._flush(write, pending)

    def _flush(self, write: Callable[[bytes], object], pending: list[str]) -> None:
        write("".join(pending).encode("utf-8", errors="replace"))
        self.lines_written += len(pending)
        pending.clear()


@dataclass(frozen=True)
class Playback:
    """A running demo or replay: the log it writes and the handle to stop it."""

    path: Path
    """The temporary log file the dashboard should follow."""
    player: LogPlayer = field(repr=False, compare=False)
    description: str = ""
    """What is being played, for the status line (e.g. `demo: simulated fine-tuning run`)."""

    def stop(self) -> None:
        """Stop writing (the file stays, the dashboard may keep showing it)."""
        self.player.stop()

    @property
    def running(self) -> bool:
        """True while lines are still being written."""
        return self.player.running


# -- replay ------------------------------------------------------------------------------------


def split_records(data: bytes) -> Iterator[str]:
    """The file's lines and `\\r` progress redraws, each keeping its terminator."""
    text = data.decode("utf-8", errors="replace")
    start = 0
    n = len(text)
    while start < n:
        nl = text.find("\n", start)
        cr = text.find("\r", start)
        if cr != -1 and (nl == -1 or cr < nl):
            end = cr + 1
            if end < n and text[end] == "\n":  # \r\n is one line ending
                end += 1
        elif nl != -1:
            end = nl + 1
        else:
            end = n
        yield text[start:end]
        start = end


def printed_time(line: str) -> float | None:
    """The Unix time printed near the start of a line (local time), or None."""
    m = _TIMESTAMP.search(line, 0, 64)
    if m is None:
        return None
    year, month, day, hour, minute, second, frac = m.groups()
    try:
        when = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError:
        return None
    return when.timestamp() + (float(f"0.{frac}") if frac else 0.0)


def replay_lines(data: bytes) -> list[TimedLine]:
    """Timed lines for replaying a finished log.

    Printed timestamps set the pace when at least half of the log's lines carry one (lines
    in between keep the previous line's time); otherwise every line costs
    `UNIFORM_LINE_S` and every `\\r` redraw `UNIFORM_REDRAW_S` of original time.
    """
    records = list(split_records(data))
    stamps = [printed_time(r) for r in records]
    lines = [r for r in records if r.strip()]
    stamped = [s for s in stamps if s is not None]
    use_stamps = (
        len(stamped) >= 2 and len(stamped) * 2 >= len(lines) and max(stamped) > min(stamped)
    )
    out: list[TimedLine] = []
    if use_stamps:
        t0 = stamped[0]
        t = 0.0
        for record, stamp in zip(records, stamps, strict=True):
            if stamp is not None:
                t = max(t, stamp - t0)  # a clock going backwards never rewinds the replay
            out.append((t, record))
        return out
    t = 0.0
    for record in records:
        out.append((t, record))
        t += UNIFORM_REDRAW_S if record.endswith("\r") else UNIFORM_LINE_S
    return out


def start_replay(source: str | Path, speed: float, directory: str | Path) -> Playback:
    """Replay a finished log into `directory` as if it were being written live.

    Args:
        source: the finished log.
        speed: how many times faster than the original pace.
        directory: where to put the growing copy (a temporary directory of the caller's).

    Raises:
        OSError: the source cannot be read (the CLI turns it into a clear message).
    """
    from trainmon.inputs import decoded_lines, input_kind

    source = Path(source)
    # An event file or a W&B run is played back as the lines its follower gives the parser.
    data = source.read_bytes() if input_kind(str(source)) == "log" else decoded_lines(str(source))
    target = Path(directory) / f"replay-{source.name}"
    player = LogPlayer(replay_lines(data), target, speed=speed).start()
    return Playback(target, player, f"replay of {source.name} at {speed:g}x")


# -- demo --------------------------------------------------------------------------------------


def start_demo(
    directory: str | Path,
    *,
    seed: int = 7,
    steps: int = DEMO_STEPS,
    seconds: float = DEMO_SECONDS,
) -> Playback:
    """Start the simulated fine-tuning run of `trainmon --demo`, written into `directory`.

    The run comes from `trainmon.simulate.demo_run`: warm-up then cosine LR, a noisy loss
    with one spike, evals that start to overfit, and tqdm redraws. Its timeline is
    compressed to last about `seconds` of wall time.
    """
    # Imported here: only the demo needs the simulator (and its numpy import).
    from trainmon.simulate import demo_run

    lines = list(demo_run(seed=seed, steps=steps).lines())
    duration = max((t for t, _ in lines), default=0.0)
    speed = duration / seconds if duration > 0 and seconds > 0 else 1.0
    target = Path(directory) / DEMO_LOG_NAME
    player = LogPlayer(lines, target, speed=max(speed, 1e-9)).start()
    return Playback(target, player, "demo: simulated fine-tuning run")
