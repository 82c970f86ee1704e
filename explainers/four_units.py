"""The theory notes' 4-neuron example, stepped by hand: the update order decides the memory.

Part of the "hopfield" section.  The network, the start and every field come from
:func:`engine.examples.four_unit_example` and :func:`engine.local_fields`; the reader picks
an order of the four units and updates them one at a time with the T = 0 rule.
"""

from __future__ import annotations

import itertools

import numpy as np
import panel as pn

from engine import describe_state, local_fields, settle
from engine.examples import four_unit_example

from . import palette as pal
from . import prose
from .section import PROSE_CSS, tip
from .views import SR_ONLY_CLASS_CSS, control_row

KEY = "hopfield"  # the prose lives in the section's content file
N = 4
NAMES = ("ξ¹", "ξ²")
ORDERS = {" → ".join(str(u + 1) for u in o): o for o in itertools.permutations(range(N))}
DEFAULT_ORDER = "1 → 2 → 3 → 4"


def signed(x: float) -> str:
    """A number with a real minus sign: +0.50, −0.50."""
    return f"{x:+.2f}".replace("-", "−")


def spin(v) -> str:
    """+1 or −1."""
    return "+1" if v > 0 else "−1"


def outcome_name(state) -> str:
    """ξ¹, ξ², −ξ¹, −ξ² or "a spurious state", named by the engine."""
    ex = four_unit_example()
    kind, k, _ = describe_state(np.asarray(state), ex.patterns, NAMES)
    if kind == "memory":
        return NAMES[k]
    if kind == "mirror":
        return f"−{NAMES[k]}"
    return "a spurious state"


def outcome_for(order) -> str:
    """Where the T = 0 rule ends from the example's start when units go in ``order``."""
    ex = four_unit_example()
    return outcome_name(settle(ex.W, ex.b, ex.start, order=np.asarray(order)))


class FourUnits:
    """Four units, an order chosen by the reader, one update per press."""

    def __init__(self):
        self.example = four_unit_example()
        self.order_select = pn.widgets.Select(
            label="Update order", options=list(ORDERS), value=DEFAULT_ORDER, width=170
        )
        self.order_select.param.watch(lambda _e: self.reset(), "value")
        # The units and what happened, in one pane (each pane is a model per session).
        self.message = pn.pane.HTML(
            "", css_classes=["four-units-status"], stylesheets=[SR_ONLY_CLASS_CSS], margin=(4, 4)
        )
        self.reset()

    @property
    def order(self) -> tuple[int, ...]:
        return ORDERS[self.order_select.value]

    def reset(self, _event=None) -> None:
        """Back to the start, (+1, +1, −1, +1), with nothing updated yet."""
        self.state = self.example.start.copy()
        self.position = 0  # index into the order of the next unit to update
        self.quiet = 0  # updates in a row that changed nothing
        self.history: list[str] = []
        self._show()

    @property
    def settled(self) -> bool:
        return self.quiet >= N

    def fields(self) -> np.ndarray:
        return local_fields(self.example.W, self.example.b, self.state)

    def step(self, _event=None) -> None:
        """Update the next unit in the order with the T = 0 rule (a zero field keeps it)."""
        if self.settled:
            return
        i = self.order[self.position % N]
        h = float(self.fields()[i])
        old = int(self.state[i])
        # the engine's own T = 0 rule applied to unit i alone (a zero field keeps the value)
        self.state = settle(self.example.W, self.example.b, self.state, order=[i], max_sweeps=2)
        new = int(self.state[i])
        if new != old:
            self.quiet = 0
            verb = prose.text(KEY, "four_flips", old=spin(old), new=spin(new))
        else:
            self.quiet += 1
            verb = prose.text(KEY, "four_stays", old=spin(old))
        self.position += 1
        self.history.append(prose.text(KEY, "four_step", unit=i + 1, field=signed(h), verb=verb))
        self._show()

    def run_to_end(self) -> str:
        """Step until settled; returns the outcome's name (used by tests)."""
        while not self.settled:
            self.step()
        return outcome_name(self.state)

    def _show(self) -> None:
        h = self.fields()
        nxt = None if self.settled else self.order[self.position % N]
        boxes = []
        for i in range(N):
            on = self.state[i] > 0
            ring = f"3px solid {pal.ACCENT}" if i == nxt else f"1px solid {pal.CELL_LINE}"
            boxes.append(
                f'<div style="display:inline-block;text-align:center;margin:0 6px">'
                f'<div style="width:46px;height:46px;border:{ring};box-sizing:border-box;'
                f"background:{pal.SPIN_ON if on else pal.SPIN_OFF};color:"
                f'{pal.SPIN_OFF if on else pal.SPIN_ON};font-size:18px;line-height:40px">'
                f"{spin(self.state[i])}</div>"
                f'<div style="font-size:13px">unit {i + 1}<br>h = {signed(h[i])}</div></div>'
            )
        states = ", ".join(
            f"unit {i + 1} {spin(self.state[i])} (field {signed(h[i])})" for i in range(N)
        )
        alt = prose.text(KEY, "four_alt", states=states)
        units = f'<div aria-hidden="true">{"".join(boxes)}</div><span class="sr-only">{alt}</span>'
        lines = self.history[-N:]
        if self.settled:
            lines.append(prose.text(KEY, "four_settled", outcome=outcome_name(self.state)))
        else:
            lines.append(prose.text(KEY, "four_ready", unit=nxt + 1))
        self.message.object = (
            f'<div style="display:flex;flex-wrap:wrap;gap:8px"><div>{units}</div>'
            '<div role="status" aria-live="polite">' + "<br>".join(lines) + "</div></div>"
        )

    def intro_text(self) -> str:
        ex = self.example
        h = local_fields(ex.W, ex.b, ex.start)
        unhappy = [str(i + 1) for i in range(N) if ex.start[i] * h[i] < 0]
        return prose.text(
            KEY,
            "four_intro",
            unhappy=" and ".join(unhappy),
            first_4=outcome_for((3, 0, 1, 2)),
            first_1=outcome_for((0, 1, 2, 3)),
        )

    def view(self, lead: str = "") -> pn.Column:
        """The example's layout; ``lead``: Markdown to show above its title."""
        step = pn.widgets.Button(
            label="Update next unit", description=tip("Apply the T = 0 rule to the ringed unit")
        )
        step.on_click(self.step)
        again = pn.widgets.Button(label="Start again")
        again.on_click(self.reset)
        return pn.Column(
            pn.pane.Markdown(
                "\n\n".join(
                    t for t in (lead, prose.text(KEY, "four_title"), self.intro_text()) if t
                ),
                stylesheets=[PROSE_CSS],
                margin=(8, 4, 0, 4),
            ),
            control_row(self.order_select, step, again),
            self.message,
            css_classes=["four-units"],
            sizing_mode="stretch_width",
        )
