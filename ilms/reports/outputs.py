"""Writing a report document as a file: JSON, CSV (item statistics) or PDF."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask_babel import gettext as _

from ilms.errors import DomainError
from ilms.reports.tabular import write_item_statistics


def write_report(report: dict[str, Any], output_format: str, path: Path) -> None:
    if output_format == "json":
        path.write_text(
            json.dumps(report, ensure_ascii=False, indent=2, allow_nan=False), encoding="utf-8"
        )
    elif output_format == "csv":
        with path.open("w", encoding="utf-8-sig", newline="") as stream:
            write_item_statistics(report, stream)
    else:
        raise DomainError(_("PDF reports are made from the cohort's report page."))
