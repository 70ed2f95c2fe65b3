"""Plain-text report: sections, lines and aligned tables, printed as they are produced."""

from __future__ import annotations

from collections.abc import Sequence


class Report:
    def __init__(self, width: int = 118) -> None:
        self.width = width

    def section(self, title: str) -> None:
        print(f"\n{title}\n{'-' * min(len(title), self.width)}", flush=True)

    def line(self, text: str = "") -> None:
        print(text, flush=True)

    def table(self, header: Sequence[str], rows: Sequence[Sequence[object]], right: Sequence[int] = ()) -> None:
        cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
        right_cols = set(right) or set(range(1, len(header)))

        def fmt(row: list[str]) -> str:
            return "  ".join(
                cell.rjust(widths[i]) if i in right_cols else cell.ljust(widths[i]) for i, cell in enumerate(row)
            ).rstrip()

        print(fmt(cells[0]), flush=True)
        print("  ".join("-" * w for w in widths), flush=True)
        for row in cells[1:]:
            print(fmt(row), flush=True)
