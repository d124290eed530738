"""What the dashboard's keys change in the view: smoothing, log-y, x axis, panes, mutes.

A mixin of `TrainmonApp`: these actions only change view settings and ask for a refresh; the
data flow stays in the app. The command palette lists every key's action from the bindings,
so the palette, the help screen and the footer cannot drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any, ClassVar, Final

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from trainmon.i18n import N_, _
from trainmon.plotdata import X_AXES, XAxis, has_wall_times
from trainmon.run import Run
from trainmon.text import terminal_safe
from trainmon.ui.bindings_text import TranslatedBindings
from trainmon.ui.finding_details import FindingDetails
from trainmon.ui.help import HelpScreen, help_rows, key_label
from trainmon.ui.runs import RunView
from trainmon.ui.widgets.advice_panel import AdvicePanel
from trainmon.ui.widgets.raw_log import RawLogView
from trainmon.ui.widgets.system_pane import SystemPane

SMOOTHING_LEVELS: Final[tuple[float, ...]] = (0.0, 0.3, 0.6, 0.8, 0.9, 0.95, 0.99)
"""The weights `s` / `S` step through (TensorBoard's slider, in the steps people use)."""

NO_TIMES_TEXT: Final = N_(
    "x axis: wall time skipped: the log prints no timestamps, and its history was read at "
    "once (records that arrive from now on get their arrival time)"
)

X_AXIS_NAMES: Final[dict[XAxis, str]] = {
    "step": N_("step"),
    "epoch": N_("epoch"),
    "time": N_("wall time"),
}
"""How the x axes are named when the key `x` moves to one."""

SIDE_PANES: Final = frozenset({"show_system", "show_advice"})
VIEW_SWITCHES: Final = SIDE_PANES | {"log_y", "show_eval"}
"""The view's on/off settings a key flips (`toggle_view`)."""

NOT_IN_PALETTE: Final = frozenset({"quit", "help"})
"""Actions the palette already offers in its own words."""


class ViewActions(TranslatedBindings, App[None]):
    """The keys' actions on the view; `refresh_now` and `_show_advice` come from the app."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "q",
            "quit",
            N_("quit"),
            tooltip=N_("quit trainmon (reading a pipe: asks whether to detach)"),
        ),
        Binding("ctrl+c", "quit", N_("quit"), show=False, tooltip=N_("quit, as q")),
        Binding("question_mark", "help", N_("help"), tooltip=N_("this list of keys")),
        Binding("space,p", "pause", N_("pause"), tooltip=N_("pause / resume following the logs")),
        Binding(
            "s", "smoothing(-1)", N_("less smoothing"), show=False, tooltip=N_("less smoothing")
        ),
        Binding(
            "S", "smoothing(1)", N_("more smoothing"), show=False, tooltip=N_("more smoothing")
        ),
        Binding(
            "l", "toggle_view('log_y')", N_("log-y"), tooltip=N_("log-y: plot log10 of the loss")
        ),
        Binding("x", "cycle_x_axis", N_("x axis"), tooltip=N_("x axis: step / epoch / time")),
        Binding(
            "e", "toggle_view('show_eval')", N_("eval"), tooltip=N_("show / hide the eval loss")
        ),
        Binding(
            "g",
            "toggle_view('show_system')",
            N_("GPU pane"),
            show=False,
            tooltip=N_("show / hide the GPU pane"),
        ),
        Binding(
            "a",
            "toggle_view('show_advice')",
            N_("advice pane"),
            show=False,
            tooltip=N_("show / hide the advice pane"),
        ),
        Binding(
            "m",
            "mute",
            N_("mute rule"),
            show=False,
            tooltip=N_("mute / unmute the selected finding's rule"),
        ),
        # Selecting a finding and opening its details (the list takes these keys when focused).
        Binding("down", "select_finding(1)", N_("next finding"), show=False),
        Binding("up", "select_finding(-1)", N_("previous finding"), show=False),
        Binding(
            "enter",
            "finding_details",
            N_("finding details"),
            show=False,
            tooltip=N_("the selected finding in full; m in it mutes / unmutes"),
        ),
        Binding(
            "M", "metric_browser", N_("metrics"), show=False, tooltip=N_("chart any logged metric")
        ),
        Binding(
            "v",
            "toggle_raw_log",
            N_("log text"),
            show=False,
            tooltip=N_("the log's text (↑↓ PgUp PgDn Home End, / search, n N)"),
        ),
        Binding(
            "ctrl+s",
            "save_screenshot",
            N_("save SVG screenshot"),
            show=False,
            tooltip=N_("save SVG screenshot to the current directory"),
        ),
    ]
    """Every key of the dashboard (the quit and pause actions are the app's own)."""

    runs: list[RunView]
    host: Run
    muted: list[str]
    smoothing: float
    log_y: bool
    x_axis: XAxis
    show_eval: bool
    show_system: bool
    show_advice: bool
    layout_mode: str
    _said_no_times = False

    def refresh_now(self) -> None:
        raise NotImplementedError

    def _show_advice(self) -> None:
        raise NotImplementedError

    def action_help(self) -> None:
        """Show every key."""
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(help_rows(self._key_bindings())))

    def action_smoothing(self, direction: int) -> None:
        """Step the EMA weight down (-1) or up (+1) through the usual values."""
        levels = SMOOTHING_LEVELS
        current = min(range(len(levels)), key=lambda i: abs(levels[i] - self.smoothing))
        index = max(0, min(len(levels) - 1, current + (1 if direction > 0 else -1)))
        self.smoothing = levels[index]
        self.notify(_("smoothing {weight}").format(weight=f"{self.smoothing:g}"), timeout=1.5)
        self.refresh_now()

    def action_cycle_x_axis(self) -> None:
        """Step, epoch, wall time, and back; wall time is skipped while no run has times."""
        self.x_axis = X_AXES[(X_AXES.index(self.x_axis) + 1) % len(X_AXES)]
        if self.x_axis == "time" and not any(has_wall_times(v.store) for v in self.runs):
            self.x_axis = X_AXES[(X_AXES.index(self.x_axis) + 1) % len(X_AXES)]
            if not self._said_no_times:  # said once: the key keeps cycling without it
                self._said_no_times = True
                self.notify(_(NO_TIMES_TEXT), timeout=6)
        axis = _(X_AXIS_NAMES[self.x_axis])
        self.notify(_("x axis: {axis}").format(axis=axis), timeout=1.5)
        self.refresh_now()

    def action_toggle_view(self, setting: str) -> None:
        """Flip one of the view's switches: log-y, the eval loss, or a side pane (the system
        (GPU / CPU) pane or the advice pane, laid out before the plots redraw)."""
        if setting not in VIEW_SWITCHES:
            return
        setattr(self, setting, not getattr(self, setting))
        if setting in SIDE_PANES:
            self._sync_side()
            self.call_after_refresh(self.refresh_now)
        else:
            self.refresh_now()

    def _sync_side(self) -> None:
        """Show the panes the user wants, and no empty box where nothing was sampled."""
        system = self.query_one("#system", SystemPane)
        advice = self.query_one("#advice", AdvicePanel)
        system.display = self.show_system and system.sampled
        advice.display = self.show_advice
        self.query_one("#side").display = system.display or advice.display

    def action_toggle_raw_log(self) -> None:
        """Show or hide the log's text (`trainmon.ui.widgets.raw_log`)."""
        self.query_one("#rawlog", RawLogView).toggle(self.layout_mode, self.size.height)

    def action_mute(self) -> None:
        """Mute the rule of the selected finding (for every run); on a muted row, unmute it."""
        panel = self.query_one("#advice", AdvicePanel)
        muted = panel.selected_muted
        if muted is not None:
            self.set_rule_muted(muted, False)
            return
        selected = panel.selected
        if selected is None:
            self.notify(_("no finding selected"), timeout=2)
            return
        self.set_rule_muted(selected[1].rule, True)

    def set_rule_muted(self, rule: str, muted: bool) -> None:
        """Mute or unmute a rule for every run and the host; the pane lists the muted ones."""
        if muted and rule not in self.muted:
            self.muted.append(rule)
        elif not muted and rule in self.muted:
            self.muted.remove(rule)
        for run in (*(view.run for view in self.runs), self.host):
            if muted:
                run.mute(rule)
            else:
                run.unmute(rule)
        said = _("muted {rule}") if muted else _("unmuted {rule}")
        self.notify(terminal_safe(said.format(rule=rule)), timeout=2, markup=False)
        self._show_advice()
        self.refresh_now()

    def action_select_finding(self, direction: int) -> None:
        """Select the next (+1) or previous (-1) finding in the advice pane."""
        panel = self.query_one("#advice", AdvicePanel)
        if panel.display:
            panel.select_next(direction)

    def action_finding_details(self) -> None:
        """Open the selected finding (or muted rule) in full, in a modal."""
        panel = self.query_one("#advice", AdvicePanel)
        rule = panel.selected_muted
        item = panel.muted_item(rule) if rule is not None else panel.selected
        if rule is None:
            if item is None:
                self.notify(_("no finding to show"), timeout=2)
                return
            rule = item[1].rule
        run, finding = item if item is not None else ("", None)
        self.push_screen(
            FindingDetails(
                run, rule, finding, muted=rule in self.muted, set_muted=self.set_rule_muted
            )
        )

    def action_save_screenshot(self) -> None:
        """Save an SVG screenshot in the current directory and say where it went."""
        try:
            path = self.save_screenshot(path=os.getcwd())
        except OSError as exc:
            failed = _("screenshot failed: {error}").format(error=exc)
            self.notify(terminal_safe(failed), severity="error", markup=False)
            return
        saved = _("screenshot saved to {path}").format(path=path)
        self.notify(terminal_safe(saved), timeout=4, markup=False)

    def _key_bindings(self) -> list[Binding]:
        return [b for b in self.BINDINGS if isinstance(b, Binding)]

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's commands plus every dashboard action, from the bindings."""
        yield from super().get_system_commands(screen)
        seen: set[str] = set()
        for binding in self._key_bindings():
            if binding.action in NOT_IN_PALETTE or binding.action in seen:
                continue
            seen.add(binding.action)
            title = _(binding.tooltip or binding.description)
            yield SystemCommand(
                title[:1].upper() + title[1:],
                key_label(binding),
                lambda action=binding.action: self.call_later(self.run_action, action),
            )
