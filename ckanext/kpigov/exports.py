"""CSV and XLSX writers that are safe to open in a spreadsheet.

Cells that a spreadsheet would read as a formula (starting with =, +, -, @,
tab or carriage return) are prefixed with an apostrophe (OWASP advice), so
text typed by publishers can never run in an evaluator's Excel.
"""
from __future__ import annotations

import csv
import io
from typing import Any, Iterable, Sequence

__all__ = ["safe_cell", "to_csv", "to_xlsx"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow(["" if v is None else safe_cell(v) for v in row])
    # BOM: Excel opens UTF-8 Thai text correctly only with it
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Any]]]],
            meta: Sequence[tuple[str, Any]] = ()) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    wb = Workbook()
    first = True
    for title, header, rows in sheets:
        ws = wb.active if first else wb.create_sheet()
        first = False
        ws.title = title[:31]
        for key, value in meta:
            ws.append([safe_cell(key), safe_cell(value)])
        if meta:
            ws.append([])
        ws.append([safe_cell(h) for h in header])
        for cell in ws[ws.max_row]:
            cell.font = Font(bold=True)
        for row in rows:
            ws.append(["" if v is None else safe_cell(v) for v in row])
        for column in ws.columns:
            width = max((len(str(c.value)) for c in column if c.value is not None),
                        default=8)
            ws.column_dimensions[column[0].column_letter].width = min(60, width + 2)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
