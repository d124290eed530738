"""Find the training process (the writer of the followed log) and measure its process tree.

The writer is found from `/proc/*/fd`: the process holding the log open for writing. When
that is `tee` (`python train.py | tee run.log`), the real writer is whoever holds the write
end of tee's stdin pipe. Forked DataLoader workers inherit those descriptors too, so among
the holders the root of the tree wins. A scan reads a few thousand symlinks (milliseconds),
so it runs at start and then at most every `rescan_s` while nothing is found or after the
trainer exits; the per-tick work is one `children()` walk and a `oneshot()` per process.
While the logs do not change either (a finished run, read after the fact) the wait between
scans doubles up to `MAX_RESCAN_S`: on a box with thousands of processes a scan costs tens of
milliseconds. A log that changes has a writer somewhere, so it brings the wait back to
`rescan_s`.

Once found, the trainer's end is watched by a cheap check (one read of /proc/PID/stat,
`check_exit`) between the samples, and said with its exit status or signal when that can
still be known (trainmon as its parent, or its zombie's entry). Through a pipe (`-`), the
trainer is the process holding the pipe's write end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import signal
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from trainmon.i18n import N_, _, ngettext
from trainmon.sources.samples import ExitStatus, FoundBy, ProcessExit, TrainingProcess
from trainmon.text import terminal_safe

MAX_RESCAN_S: Final = 480.0
"""The longest wait between writer searches while the followed logs stay unchanged."""

PIPE_RELAYS: Final = frozenset({"tee", "stdbuf", "unbuffer", "script", "ts", "cat"})
"""Processes that only copy a pipe into the log: the trainer is on the other end."""


@dataclass(frozen=True, slots=True)
class Discovery:
    """The outcome of one search: a pid and how it was found, or why there is none."""

    pid: int | None
    found_by: FoundBy | None = None
    reason: str = ""
    log_path: str | None = None
    """The followed log the writer holds (None: every log, e.g. the pipe's writer)."""


def _fd_targets(proc: Path) -> Iterable[tuple[str, str]]:
    """(fd number, link target) for each open descriptor; empty when not readable."""
    fd_dir = proc / "fd"
    try:
        names = os.listdir(fd_dir)
    except OSError:
        return ()
    out: list[tuple[str, str]] = []
    for name in names:
        try:
            out.append((name, os.readlink(fd_dir / name)))
        except OSError:
            continue
    return out


def _opened_for_writing(proc: Path, fd: str) -> bool:
    """True when the descriptor's open flags include O_WRONLY or O_RDWR."""
    try:
        text = (proc / "fdinfo" / fd).read_text()
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags:"):
            try:
                return int(line.split()[1], 8) & 0o3 in (1, 2)
            except (IndexError, ValueError):
                return False
    return False


def _comm(proc: Path) -> str:
    try:
        return (proc / "comm").read_text().strip()
    except OSError:
        return ""


def _ppid_and_start(proc: Path) -> tuple[int, int]:
    """Parent pid and start time (clock ticks) from /proc/PID/stat."""
    try:
        text = (proc / "stat").read_text()
    except OSError:
        return (0, 0)
    fields = text[text.rfind(")") + 2 :].split()
    try:
        return (int(fields[1]), int(fields[19]))
    except (IndexError, ValueError):
        return (0, 0)


def _holders(proc_root: Path, targets: set[str], exclude: set[int]) -> tuple[list[int], int]:
    """Pids holding one of `targets` open for writing, and the count of unreadable pids."""
    found: list[int] = []
    unreadable = 0
    try:
        entries = os.listdir(proc_root)
    except OSError:
        return ([], 0)
    for entry in entries:
        if not entry.isdigit():
            continue
        pid = int(entry)
        if pid in exclude:
            continue
        proc = proc_root / entry
        fds = _fd_targets(proc)
        if not fds:
            if not os.access(proc / "fd", os.R_OK):
                unreadable += 1
            continue
        for fd, target in fds:
            if target in targets and _opened_for_writing(proc, fd):
                found.append(pid)
                break
    return (found, unreadable)


def _tree_root(proc_root: Path, pids: Sequence[int]) -> int:
    """The holder that is not a descendant of another holder (forked workers inherit fds)."""
    info = {pid: _ppid_and_start(proc_root / str(pid)) for pid in pids}
    roots = [pid for pid in pids if info[pid][0] not in info]
    return min(roots or list(pids), key=lambda p: (info[p][1], p))


OWN_PLAYBACK = N_("the log is written by trainmon's own playback (--demo / replay)")
"""Why no training process is watched while trainmon plays a log itself."""


def find_log_writer(
    log_paths: Sequence[str],
    proc_root: str | Path = "/proc",
    exclude: Iterable[int] = (),
) -> Discovery:
    """Search /proc for the process writing one of the logs, walking past `tee`."""
    root = Path(proc_root)
    paths = [p for p in log_paths if p != "-"]
    if not paths:
        return Discovery(None, reason=_("the log is read from standard input: use --pid"))
    own = os.getpid()
    skip = set(exclude) - {own}
    targets: set[str] = set()
    for p in paths:
        real = os.path.realpath(p)
        targets.update({real, real + " (deleted)"})
    holders, unreadable = _holders(root, targets, skip)
    names = ", ".join(os.path.basename(p) for p in paths)
    if own in holders:  # --demo and replay: trainmon writes the log itself
        holders.remove(own)
        if not holders:
            return Discovery(None, reason=_(OWN_PLAYBACK))
    if not holders:
        if unreadable:
            why = ngettext(
                "no process has {names} open for writing ({count} process of other users"
                " not readable); use --pid",
                "no process has {names} open for writing ({count} processes of other users"
                " not readable); use --pid",
                unreadable,
            )
        else:
            why = _("no process has {names} open for writing; use --pid")
        return Discovery(None, reason=why.format(names=names, count=unreadable))
    writer = _tree_root(root, holders)
    written = _written_log(root / str(writer), paths)
    if _comm(root / str(writer)) not in PIPE_RELAYS:
        return Discovery(writer, "log-writer", log_path=written)
    return dataclasses.replace(_behind_relay(root, writer, skip), log_path=written)


def find_pipe_writer(
    pipe: str, proc_root: str | Path = "/proc", exclude: Iterable[int] = ()
) -> Discovery:
    """The process writing into trainmon's standard input (`pipe:[N]`), past `tee`."""
    root = Path(proc_root)
    skip = {os.getpid(), *exclude}
    holders, _unreadable = _holders(root, {pipe}, skip)
    if not holders:
        return Discovery(
            None, reason=_("nothing visible writes into the pipe (another user?); use --pid")
        )
    writer = _tree_root(root, holders)
    if _comm(root / str(writer)) not in PIPE_RELAYS:
        return Discovery(writer, "pipe")
    return _behind_relay(root, writer, skip)


def _written_log(proc: Path, paths: Sequence[str]) -> str | None:
    """Which of `paths` the process holds open (the first; None if none is seen)."""
    held = {target for _, target in _fd_targets(proc)}
    for path in paths:
        real = os.path.realpath(path)
        if real in held or real + " (deleted)" in held:
            return path
    return None


def wait_status(status: int) -> ExitStatus | None:
    """A wait status as codes (`exit status 1`, `killed by SIGKILL`); None when neither."""
    if os.WIFSIGNALED(status):
        return ExitStatus(signal=signal_name(os.WTERMSIG(status)))
    if os.WIFEXITED(status):
        return ExitStatus(code=os.WEXITSTATUS(status))
    return None


def signal_name(number: int) -> str:
    """`SIGKILL` for 9; `signal 99` for a number Python does not name."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _stat_fields(proc_root: str | Path, pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first); None if gone."""
    try:
        with open(f"{proc_root}/{pid}/stat", "rb") as fh:
            text = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


def exit_how(pid: int, proc_root: str | Path = "/proc") -> ExitStatus | None:
    """How an ended process ended, where that can still be known (None otherwise).

    As its parent, from `waitid(WNOWAIT)` (which leaves the status to be reaped by whoever
    waits for it); else from the zombie's `exit_code` in /proc/PID/stat (Linux 3.5+).
    """
    with contextlib.suppress(ChildProcessError, OSError, AttributeError):
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        if info is not None:
            if info.si_code == os.CLD_EXITED:
                return ExitStatus(code=info.si_status)
            return ExitStatus(signal=signal_name(info.si_status))
    fields = _stat_fields(proc_root, pid)
    if fields and fields[0] in ("Z", "X") and len(fields) > EXIT_CODE_FIELD:
        with contextlib.suppress(ValueError):
            return wait_status(int(fields[EXIT_CODE_FIELD]))
    return None


EXIT_CODE_FIELD: Final = 49
"""Index of `exit_code` (field 52 of /proc/PID/stat) among the fields after the name."""
START_FIELD: Final = 19
"""Index of `starttime` (field 22)."""


def is_gone(pid: int, start: int | None, proc_root: str | Path = "/proc") -> bool:
    """True when the process has ended: no /proc entry, a zombie, or its pid reused.

    One small read, cheap enough to run twice a second; the zombie case matters because a
    process that is not reaped yet still answers `kill(pid, 0)`.
    """
    fields = _stat_fields(proc_root, pid)
    if fields is None:  # no /proc entry (or no /proc): ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except OSError:
            return False  # it exists (another user's)
        return False
    if fields[0] in ("Z", "X"):
        return True
    if start is not None and len(fields) > START_FIELD:
        with contextlib.suppress(ValueError):
            return int(fields[START_FIELD]) != start
    return False


def _behind_relay(root: Path, relay: int, skip: set[int]) -> Discovery:
    """The process feeding `relay`'s stdin pipe (`python train.py | tee run.log`)."""
    name = _comm(root / str(relay)) or "tee"
    try:
        stdin = os.readlink(root / str(relay) / "fd" / "0")
    except OSError:
        why = _("{name} {pid} writes the log; its input is unknown")
        return Discovery(relay, "log-writer", why.format(name=name, pid=relay))
    if not stdin.startswith("pipe:"):
        why = _("{name} {pid} writes the log from {source}")
        return Discovery(relay, "log-writer", why.format(name=name, pid=relay, source=stdin))
    feeders, _unreadable = _holders(root, {stdin}, skip | {relay})
    if not feeders:
        return Discovery(
            None,
            reason=_(
                "the log is written by {name} {pid}, but nothing visible feeds its pipe "
                "(another user or container?); use --pid"
            ).format(name=name, pid=relay),
        )
    return Discovery(_tree_root(root, feeders), "tee")


FULL_WALK_EVERY: Final = 10
"""Every this many ticks, walk every thread's children list, not only the main thread's."""


def _walk_children(proc_root: str, root: int, *, all_threads: bool) -> list[int] | None:
    """Descendants of `root`; None when the kernel offers no children lists."""
    out: list[int] = []
    stack = [root]
    while stack:
        pid = stack.pop()
        task = f"{proc_root}/{pid}/task"
        if all_threads:
            try:
                tids = os.listdir(task)
            except OSError:
                continue  # exited meanwhile
        else:
            tids = [str(pid)]
        for tid in tids:
            try:
                with open(f"{task}/{tid}/children", "rb") as fh:
                    text = fh.read()
            except FileNotFoundError:
                if pid == root and not os.path.isdir(task):
                    return [] if out else _exists_or_none(proc_root, root)
                if pid == root and tid == str(root):
                    return None  # no children lists in this kernel
                continue
            except OSError:
                continue
            for word in text.split():
                child = int(word)
                out.append(child)
                stack.append(child)
    return out


def _exists_or_none(proc_root: str, pid: int) -> list[int] | None:
    """The root vanished: an empty tree (psutil will report the exit) or no /proc at all."""
    return [] if os.path.isdir(proc_root) else None


class TrainingTracker:
    """Keeps track of the training process and samples its whole tree on each `sample()`.

    psutil `Process` objects are cached across ticks: `cpu_percent()` measures since the
    previous call on the same object, and psutil checks create times against PID reuse.
    """

    def __init__(
        self,
        log_paths: Sequence[str],
        pid: int | None = None,
        *,
        rescan_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        proc_root: str | Path = "/proc",
        pipe: str | None = None,
    ) -> None:
        self._paths = tuple(log_paths)
        self._explicit = pid
        self._pipe = pipe
        """trainmon's standard input (`pipe:[N]`): its writer is the trainer."""
        self._wall = wall
        self._root_start: int | None = None
        self._root_log: str | None = None
        self.exit: ProcessExit | None = None
        """The training process found earlier has ended (until another one is found)."""
        self._rescan_s = rescan_s
        self._clock = clock
        self._proc_root = proc_root
        self._root: Any = None
        self._found_by: FoundBy | None = None
        self._reason = _("not searched yet")
        self._next_scan = 0.0
        self._last_scan = -math.inf
        self._unchanged_wait_s = rescan_s
        self._scanned_logs: tuple[tuple[int, int, int] | None, ...] = ()
        self._procs: dict[int, Any] = {}
        self._tree: frozenset[int] = frozenset()
        self._last_iowait: tuple[float, float] | None = None
        self._cmdline: tuple[str, ...] | None = None
        self._affinity: int | None = None
        self._cuda_env: str | None = None
        self._walks = 0
        self._known_children: tuple[int, ...] = ()
        self.scans = 0
        """How many /proc scans ran (tests assert that they are rare)."""

    def tree_pids(self) -> frozenset[int]:
        """Pids of the training process tree at the last sample (for GPU highlighting)."""
        return self._tree

    def _discover(self, now: float) -> None:
        import psutil

        self._next_scan = now + self._rescan_s
        self._last_scan = now
        self._scanned_logs = self._log_signature()
        if self._explicit is not None:
            if self.exit is not None and self.exit.pid == self._explicit:
                return  # it ended: a zombie must not count as found again
            try:
                self._root = psutil.Process(self._explicit)
                self._found_by = "pid"
                self._root_log = None
                self._root_start = self._start_of(self._explicit)
            except psutil.Error:
                self._reason = _("--pid {pid}: no such process").format(pid=self._explicit)
            return
        self.scans += 1
        found = Discovery(None)
        if self._paths or self._pipe is None:
            found = find_log_writer(self._paths, self._proc_root)
        if found.pid is None and self._pipe is not None:
            found = find_pipe_writer(self._pipe, self._proc_root)
        if found.pid is not None and self.exit is not None and found.pid == self.exit.pid:
            found = Discovery(None, reason=self._reason)  # the ended one, not yet gone
        if found.pid is None:
            self._reason = found.reason
            self._next_scan = now + self._unchanged_wait_s
            self._unchanged_wait_s = min(MAX_RESCAN_S, 2 * self._unchanged_wait_s)
            return
        self._unchanged_wait_s = self._rescan_s
        try:
            self._root = psutil.Process(found.pid)
            self._found_by = found.found_by
            self._root_log = found.log_path
            self._root_start = self._start_of(found.pid)
            self.exit = None
        except psutil.Error:
            self._reason = _("the log writer {pid} exited").format(pid=found.pid)

    def _start_of(self, pid: int) -> int | None:
        start = _ppid_and_start(Path(self._proc_root) / str(pid))[1]
        return start or None

    def watching(self) -> bool:
        """True while a training process is known (its end is then checked often)."""
        return self._root is not None

    def check_exit(self) -> ProcessExit | None:
        """A cheap liveness check of the known training process; its end, once seen.

        One read of /proc/PID/stat, so the end of the run shows within the watch period
        rather than at the next full sample.
        """
        root = self._root
        if root is None or not is_gone(root.pid, self._root_start, self._proc_root):
            return None
        return self._ended(self._clock())

    def _ended(self, now: float) -> ProcessExit:
        pid = self._root.pid
        fact = ProcessExit(pid, exit_how(pid, self._proc_root), self._wall(), self._root_log)
        self._forget(now)
        self.exit = fact
        self._reason = fact.text
        return fact

    def _log_signature(self) -> tuple[tuple[int, int, int] | None, ...]:
        """(inode, size, mtime) of each followed log, None where it is missing."""
        out: list[tuple[int, int, int] | None] = []
        for path in self._paths:
            try:
                st = os.stat(path)
            except OSError:
                out.append(None)
            else:
                out.append((st.st_ino, st.st_size, st.st_mtime_ns))
        return tuple(out)

    def _scan_due(self, now: float) -> bool:
        """Whether to search for the writer now: on schedule, or `rescan_s` after the last
        search when a log has changed since (someone is writing it)."""
        if now >= self._next_scan:
            return True
        if self._explicit is not None or not self._paths:
            return False
        if now < self._last_scan + self._rescan_s:
            return False
        return self._log_signature() != self._scanned_logs

    def sample(self) -> tuple[TrainingProcess | None, str]:
        """The tree's numbers now, or None and why it is not known. Never raises."""
        import psutil

        now = self._clock()
        if self._root is None and self._scan_due(now):
            self._discover(now)
        root = self._root
        if root is None:
            self._tree = frozenset()
            return (None, self._reason)
        try:
            if self._cmdline is None:
                # Anyone can start a process whose argv holds escape sequences.
                self._cmdline = tuple(map(terminal_safe, root.cmdline()))
                try:
                    self._affinity = len(root.cpu_affinity())
                except (psutil.Error, AttributeError, OSError):
                    self._affinity = None
                try:
                    cuda_env = root.environ().get("CUDA_VISIBLE_DEVICES")
                    self._cuda_env = None if cuda_env is None else terminal_safe(cuda_env)
                except (psutil.Error, OSError):
                    self._cuda_env = None
            status = root.status()
            if status == psutil.STATUS_ZOMBIE:
                self._ended(now)
                return (None, self._reason)
            children = self._children(root)
        except psutil.Error as err:
            self._lost(err, now)
            return (None, self._reason)
        cmdline, affinity = self._cmdline, self._affinity
        members = [root, *children]
        cpu = 0.0
        rss = 0
        threads = 0
        iowait = 0.0
        denied = 0
        alive: dict[int, Any] = {}
        for member in members:
            pid = member if isinstance(member, int) else member.pid
            proc = self._procs.get(pid)
            if proc is None:
                try:
                    proc = member if not isinstance(member, int) else psutil.Process(pid)
                except psutil.Error:
                    continue  # exited between the listing and now
            try:
                with proc.oneshot():
                    cpu += proc.cpu_percent()
                    rss += proc.memory_info().rss
                    threads += proc.num_threads()
                    iowait += float(getattr(proc.cpu_times(), "iowait", 0.0))
            except psutil.NoSuchProcess:
                continue  # a worker that just exited
            except psutil.Error:
                denied += 1
            alive[proc.pid] = proc
        self._procs = alive
        self._tree = frozenset(alive)
        io_pct: float | None = None
        if self._last_iowait is not None and now > self._last_iowait[0]:
            delta = iowait - self._last_iowait[1]
            io_pct = max(0.0, min(100.0, 100.0 * delta / (now - self._last_iowait[0])))
        self._last_iowait = (now, iowait)
        return (
            TrainingProcess(
                pid=root.pid,
                cmdline=cmdline,
                found_by=self._found_by or "pid",
                cpu_pct=cpu,
                rss_bytes=rss,
                threads=threads,
                workers=len(children),
                status=status,
                io_wait_pct=io_pct,
                allowed_cores=affinity,
                cuda_visible_devices=self._cuda_env,
                note=_not_readable(denied) if denied else "",
            ),
            "",
        )

    def _children(self, root: Any) -> list[int]:
        """Descendant pids, from the kernel's /proc/PID/task/TID/children lists.

        psutil's `children(recursive=True)` reads the parent of every process on the host
        (about 1 ms). Here each tick reads only the main thread's list of each tree member
        (workers are forked from it), and every `FULL_WALK_EVERY` ticks every thread's
        list, which also drops pids that left the tree. Falls back to psutil where the
        kernel has no such lists (CONFIG_PROC_CHILDREN).
        """
        self._walks += 1
        full = self._walks % FULL_WALK_EVERY == 1
        found = _walk_children(str(self._proc_root), root.pid, all_threads=full)
        if found is None:
            return [p.pid for p in root.children(recursive=True)]
        if not full:
            # Keep children an earlier full walk saw (started from other threads).
            found.extend(pid for pid in self._known_children if pid not in set(found))
        self._known_children = tuple(found)
        return found

    def _lost(self, err: BaseException, now: float) -> None:
        import psutil

        if self._root is not None and isinstance(err, psutil.NoSuchProcess):
            self._ended(now)
            return
        pid = self._root.pid if self._root is not None else "?"
        why = _("training process {pid} not readable ({error})")
        self._reason = why.format(pid=pid, error=type(err).__name__)
        self._forget(now)

    def _forget(self, now: float) -> None:
        self._root = None
        self._cmdline = None
        self._known_children = ()
        self._procs = {}
        self._tree = frozenset()
        self._last_iowait = None
        self._next_scan = now  # look for a restarted run at once, then every rescan_s


def _not_readable(count: int) -> str:
    """The CPU pane's note on workers it may not read (another user's, a container's)."""
    return ngettext("{count} process not readable", "{count} processes not readable", count).format(
        count=count
    )
