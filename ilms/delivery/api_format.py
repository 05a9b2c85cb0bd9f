"""Questions and answers as the quiz API shows them: nothing in an id gives the key away.

Choice options keep their authored ids (they say nothing about which is right). Matching choices
and ordering items get positional ids (``c1`` ... / ``i1`` ...) in the order this attempt shows
them, because authored pair and item ids would reveal the key; the server maps them back.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from ilms.authoring.models import QuestionVersion
from ilms.delivery.models import Attempt
from ilms.errors import DomainError
from ilms.questions.types import get_type, localised


def _text(value: Any, lang: str) -> str:
    return localised(value, lang) if isinstance(value, dict) else str(value or "")


def option_order(attempt: Attempt, question: QuestionVersion) -> list[str] | None:
    return attempt.option_orders.get(str(question.id))


def public_question(attempt: Attempt, question: QuestionVersion) -> dict[str, Any]:
    lang, data = attempt.language, question.data
    body: dict[str, Any] = {
        "id": question.id,
        "type": question.type,
        "text": _text(data["text"], lang),
        "points": question.points,
    }
    kind = question.type
    if kind in ("single_choice", "multiple_response"):
        order = option_order(attempt, question) or [o["id"] for o in data["options"]]
        by_id = {o["id"]: o for o in data["options"]}
        body["options"] = [{"id": oid, "text": _text(by_id[oid]["text"], lang)} for oid in order]
    elif kind == "matching":
        qtype = get_type(kind)
        texts = {p["id"]: p["right"] for p in data["pairs"]}
        texts.update({d["id"]: d["right"] for d in data.get("distractors", [])})
        order = qtype.choice_order(data, option_order(attempt, question))
        body["items"] = [{"id": p["id"], "text": _text(p["left"], lang)} for p in data["pairs"]]
        body["options"] = [
            {"id": f"c{i}", "text": _text(texts[cid], lang)} for i, cid in enumerate(order, 1)
        ]
    elif kind == "ordering":
        qtype = get_type(kind)
        texts = {item["id"]: item["text"] for item in data["items"]}
        body["options"] = [
            {"id": f"i{i}", "text": _text(texts[iid], lang)}
            for i, iid in enumerate(qtype.item_order(data, option_order(attempt, question)), 1)
        ]
    elif kind == "cloze":
        body["blanks"] = [_public_blank(blank, lang) for blank in data["blanks"]]
    elif kind == "numeric" and "unit" in data:
        body["unit"] = _text(data["unit"], lang)
    return body


def _public_blank(blank: dict[str, Any], lang: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": blank["id"]}
    if "options" in blank:
        entry["options"] = [
            {"id": o["id"], "text": _text(o["text"], lang)} for o in blank["options"]
        ]
    return entry


def decode_answer(attempt: Attempt, question: QuestionVersion, raw: Any) -> Any:
    """The API's answer as the question type expects it (positional ids mapped back)."""
    kind, data, shown = question.type, question.data, option_order(attempt, question)
    if kind == "matching" and isinstance(raw, dict):
        order = get_type(kind).choice_order(data, shown)
        return {pair: _from_position(value, "c", order) for pair, value in raw.items()}
    if kind == "ordering" and isinstance(raw, list):
        order = get_type(kind).item_order(data, shown)
        return [_from_position(value, "i", order) for value in raw]
    return raw


def encode_answer(attempt: Attempt, question: QuestionVersion, stored: Any) -> Any:
    """A saved answer in the API's terms (the inverse of ``decode_answer``)."""
    kind, data, shown = question.type, question.data, option_order(attempt, question)
    if stored is None:
        return None
    if kind == "matching":
        order = get_type(kind).choice_order(data, shown)
        return {
            pair: f"c{order.index(value) + 1}" for pair, value in stored.items() if value in order
        }
    if kind == "ordering":
        order = get_type(kind).item_order(data, shown)
        return [f"i{order.index(value) + 1}" for value in stored if value in order]
    return stored


def _from_position(value: Any, prefix: str, order: list[str]) -> Any:
    if value in (None, ""):
        return None
    if isinstance(value, str) and value.startswith(prefix) and value[1:].isdigit():
        index = int(value[1:])
        if 1 <= index <= len(order):
            return order[index - 1]
    raise DomainError(_("The answer names an option this question does not have."))
