"""How often a widget did work: the numbers tests and benches bound, never shown on screen.

Every widget keeps them in one `WorkCounts` (`widget.counts`), so a test reads
`plot.counts.renders` rather than a counter attribute per widget.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class WorkCounts:
    """Work done since the widget was created."""

    updates: int = 0
    """New input accepted (an unchanged input is not counted)."""
    builds: int = 0
    """Figures rebuilt from new input (the loss plot)."""
    renders: int = 0
    """Figures drawn for the screen (the loss plot: plotext builds)."""
