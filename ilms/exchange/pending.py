"""Imports waiting between their preview and the librarian's confirmation.

What was read from the uploaded file is kept in the instance folder under a random name, with
whose it is and which bank it goes to; nothing of it is kept in the session cookie, and the
confirmation saves exactly what the preview showed. Uploads older than :data:`KEEP_FOR` are
removed whenever a new one is kept.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from flask_babel import gettext as _

from ilms.errors import NotFound
from ilms.exchange.items import Imported, ParseResult, Skipped

#: How long an upload waits for its confirmation.
KEEP_FOR = 2 * 3600
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{32}")


@dataclass(frozen=True)
class Upload:
    user_id: int
    bank: str
    title: str
    filename: str
    token: str = ""
    saved_at: float = 0.0


def folder(instance_path: str) -> Path:
    return Path(instance_path) / "exchange-uploads"


def save(root: Path, upload: Upload, result: ParseResult) -> Upload:
    """Keep ``result`` under a new random token; returns the upload with its token."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    purge(root)
    kept = Upload(**{**asdict(upload), "token": secrets.token_urlsafe(24), "saved_at": time.time()})
    document = {"upload": asdict(kept), "result": _dump(result)}
    (root / f"{kept.token}.json").write_text(json.dumps(document), encoding="utf-8")
    return kept


def load(root: Path, token: str, user_id: int) -> tuple[Upload, ParseResult]:
    """The upload ``token`` of ``user_id``; NotFound when it is someone else's, gone or expired."""
    gone = NotFound(
        _("This upload has expired or was already imported. Please upload the file again.")
    )
    if not TOKEN_RE.fullmatch(token):
        raise gone
    try:
        document = json.loads((root / f"{token}.json").read_text(encoding="utf-8"))
        upload, result = Upload(**document["upload"]), _load(document["result"])
    except (OSError, ValueError, TypeError, KeyError) as error:
        raise gone from error
    if upload.user_id != user_id or time.time() - upload.saved_at > KEEP_FOR:
        raise gone
    return upload, result


def discard(root: Path, token: str) -> None:
    if TOKEN_RE.fullmatch(token):
        (root / f"{token}.json").unlink(missing_ok=True)


def purge(root: Path, now: float | None = None) -> None:
    """Remove the uploads that waited longer than :data:`KEEP_FOR`."""
    limit = (now or time.time()) - KEEP_FOR
    for path in root.glob("*.json"):
        try:
            expired = path.stat().st_mtime < limit
        except OSError:
            continue
        if expired:
            discard(root, path.stem)


def _dump(result: ParseResult) -> dict[str, Any]:
    return {
        "imported": [asdict(item) for item in result.imported],
        "skipped": [asdict(item) for item in result.skipped],
    }


def _load(data: dict[str, Any]) -> ParseResult:
    imported = [Imported(**{**item, "notes": tuple(item["notes"])}) for item in data["imported"]]
    return ParseResult(imported, [Skipped(**item) for item in data["skipped"]])
