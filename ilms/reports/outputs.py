"""Writing a report document as a file: JSON, CSV (item statistics) or the faculty PDF."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ilms.reports.tabular import write_item_statistics


def write_report(
    report: dict[str, Any], output_format: str, path: Path, *, locale: str = "en"
) -> None:
    """Write a suppressed report document (its ``min_n`` applies again to the PDF, unchanged)."""
    if output_format == "json":
        path.write_text(
            json.dumps(report, ensure_ascii=False, indent=2, allow_nan=False), encoding="utf-8"
        )
    elif output_format == "csv":
        # A byte-order mark makes spreadsheet programs read the file as UTF-8.
        with path.open("w", encoding="utf-8-sig", newline="") as stream:
            write_item_statistics(report, stream)
    else:
        from ilms.reports.documents import document_pdf

        min_n = report["min_n"] if report.get("min_n") is not None else 0
        path.write_bytes(document_pdf(report, None, min_n=min_n, locale=locale))
