"""The live progress display (rich): the services' clock, what the city is doing now, what each service has
accepted so far, what the supervisors have received, and the chaos; then the reconciliation as a table."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from pingan_stack.simulate.reconcile import Reconciliation

ZONE = ZoneInfo("Asia/Shanghai")


class Progress:
    """``figures()`` is asked for the current counters at each refresh; ``say`` adds a line to the log pane."""

    def __init__(self, console: Console, figures: Callable[[], dict[str, object]], *, live: bool) -> None:
        self.console = console
        self.figures = figures
        self.lines: deque[str] = deque(maxlen=8)
        self._live = Live(console=console, refresh_per_second=4, get_renderable=self.render) if live else None

    def say(self, line: str) -> None:
        if self._live is None:
            self.console.print(line, highlight=False)
        else:
            self.lines.append(line)

    def render(self) -> Group:
        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold cyan")
        table.add_column()
        for name, value in self.figures().items():
            if isinstance(value, datetime):
                value = value.astimezone(ZONE).strftime("%Y-%m-%d %H:%M（北京时间）")
            table.add_row(name, str(value))
        return Group(Panel(table, title="pingan simulate 模拟城市", border_style="blue"),
                     Text("\n".join(self.lines), style="dim"))

    def __enter__(self) -> Progress:
        if self._live is not None:
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)


def print_reconciliation(console: Console, result: Reconciliation) -> None:
    table = Table(title="对账 reconciliation: 模拟所做 what the city did ↔ 各服务记录 what the services recorded")
    for column in ("服务 area", "项目 what", "所做/应有 did", "记录 recorded", ""):
        table.add_column(column)
    for area, what, did, recorded in result.figures:
        table.add_row(area, what, str(did), str(recorded), "✓" if did == recorded else "✗")
    console.print(table)
    if result.balanced:
        console.print("[bold green]对账平衡 balanced: 无差异 no differences[/]")
        return
    console.print(f"[bold red]对账不平衡 {len(result.differences)} 处差异 differences:[/]")
    for difference in result.differences:
        console.print("  " + difference.line(), highlight=False, markup=False)
