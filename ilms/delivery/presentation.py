"""The quiz as a page: its questions in the attempt's order with the saved answers, the answers a
posted form gives saved through the services, and the results the cohort's policy lets a student see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import count
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy import select

from ilms.authoring.models import QuestionVersion
from ilms.delivery import services
from ilms.delivery.models import Attempt, AttemptState, Response
from ilms.delivery.progress import results_note, results_visible
from ilms.errors import Conflict, DomainError
from ilms.extensions import db
from ilms.markdown import render_inline
from ilms.questions.types import (
    BLANK_RE,
    Cloze,
    FormData,
    InvalidAnswer,
    Matching,
    QuestionType,
    Score,
    get_type,
    localised,
)

CHOICE_TYPES = ("single_choice", "multiple_response")


def attempt_questions(attempt: Attempt) -> tuple[list[QuestionVersion], dict[int, Response]]:
    """The attempt's questions in the order this student sees them, and the saved responses."""
    by_id = {
        q.id: q
        for q in db.session.scalars(
            select(QuestionVersion).where(QuestionVersion.id.in_(attempt.question_order))
        )
    }
    responses = {
        r.question_version_id: r
        for r in db.session.scalars(select(Response).where(Response.attempt_id == attempt.id))
    }
    return [by_id[qid] for qid in attempt.question_order], responses


def shuffled_order(attempt: Attempt, question: QuestionVersion) -> list[str] | None:
    return attempt.option_orders.get(str(question.id))


def has_answer(response: Response | None) -> bool:
    return response is not None and response.seq > 0 and response.answer is not None


# --- The quiz form -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageQuestion:
    number: int
    version_id: int
    context: dict[str, Any]  #: for the macros of questions/_render.html
    spec: dict[str, Any]  #: for static/js/answers.js: how the inputs map to API answers
    seq: int  #: the sequence number of the saved answer (0 when none)
    answered: bool
    error: str | None


def answer_spec(question: QuestionVersion, order: list[str] | None) -> dict[str, Any]:
    """What the page's script needs to turn the form's positions into the API's answer.

    Choice options and drop-down blanks carry their authored ids in the order shown (the form's
    values are 1-based positions in that order); matching sends the pair ids it answers; ordering
    only needs the number of items (the API names them ``i1`` ... in the order shown).
    """
    qtype: QuestionType = get_type(question.type)
    data = question.data
    spec: dict[str, Any] = {"id": question.id, "type": question.type, "key": data["id"]}
    if question.type in CHOICE_TYPES:
        spec["options"] = order or qtype.option_ids(data)
    elif isinstance(qtype, Matching):
        spec["pairs"] = qtype.pair_ids(data)
    elif question.type == "ordering":
        spec["count"] = len(data["items"])
    elif isinstance(qtype, Cloze):
        spec["blanks"] = [
            [blank["id"], qtype.option_order(data, blank) if "options" in blank else None]
            for blank in data["blanks"]
        ]
    return spec


def quiz_questions(attempt: Attempt, errors: dict[int, str] | None = None) -> list[PageQuestion]:
    """Every question of the attempt as the quiz form shows it, filled with the saved answers."""
    questions, responses = attempt_questions(attempt)
    page = []
    for number, question in enumerate(questions, 1):
        response = responses.get(question.id)
        order = shuffled_order(attempt, question)
        context = get_type(question.type).render_context(
            question.data, attempt.language, order, answer=response.answer if response else None
        )
        page.append(
            PageQuestion(
                number=number,
                version_id=question.id,
                context=context,
                spec=answer_spec(question, order),
                seq=response.seq if response else 0,
                answered=has_answer(response),
                error=(errors or {}).get(question.id),
            )
        )
    return page


def answered_count(attempt: Attempt) -> tuple[int, list[int]]:
    """How many questions have an answer, and the numbers (from 1) of those that have none."""
    questions, responses = attempt_questions(attempt)
    missing = [n for n, q in enumerate(questions, 1) if not has_answer(responses.get(q.id))]
    return len(questions) - len(missing), missing


def save_posted_answers(attempt: Attempt, form: FormData) -> dict[int, str]:
    """Save each answer the posted quiz form changed, one sequence number above the saved one.

    Returns the problems by question version id; the other answers are saved. A save refused
    because the attempt ended (submitted, or time ran out) raises Conflict; one refused because
    another window saved a newer answer in the meantime leaves that newer answer in place.
    """
    questions, responses = attempt_questions(attempt)
    problems: dict[int, str] = {}
    for question in questions:
        try:
            _save_posted(attempt, question, responses.get(question.id), form)
        except InvalidAnswer as error:
            problems[question.id] = error.message
        except Conflict:
            if not attempt.is_open:
                raise
        except DomainError as error:
            problems[question.id] = error.message
    return problems


def _save_posted(
    attempt: Attempt, question: QuestionVersion, saved: Response | None, form: FormData
) -> None:
    qtype = get_type(question.type)
    raw = qtype.answer_from_form(question.data, form, shuffled_order(attempt, question))
    current = saved.answer if saved else None
    if qtype.normalise_answer(question.data, raw) == current:
        return
    services.save_answer(attempt, question.id, raw, (saved.seq if saved else 0) + 1)


# --- Results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultItem:
    number: int
    lang: str
    text: str  #: the question (inline Markdown)
    answer: Markup  #: the student's answer; empty when there is none
    verdict: str  #: correct | partial | incorrect | unanswered | pending
    points: float | None
    max_points: float
    feedback: list[str]  #: inline Markdown
    key: str  #: the correct answer (inline Markdown); empty when the type has none
    comment: str = ""  #: what the person who graded the answer wrote (plain text)


@dataclass(frozen=True)
class AttemptResult:
    attempt: Attempt
    visible: bool
    note: str | None
    items: list[ResultItem]

    @property
    def closed_by_time(self) -> bool:
        return self.attempt.state == AttemptState.CLOSED


def attempt_result(attempt: Attempt, now: datetime) -> AttemptResult:
    """A submitted attempt's results; items only when the cohort's feedback policy allows."""
    assignment = attempt.quiz.assignment
    visible = results_visible(assignment, now)
    items: list[ResultItem] = []
    if visible:
        questions, responses = attempt_questions(attempt)
        items = [
            result_item(number, question, responses.get(question.id), attempt.language)
            for number, question in enumerate(questions, 1)
        ]
    return AttemptResult(
        attempt=attempt, visible=visible, note=results_note(assignment, now), items=items
    )


def stored_score(response: Response) -> Score:
    """The score grading stored with the response (a person's grade for open responses)."""
    details = response.details or {}
    return Score(
        points=response.points,
        max_points=response.max_points,
        correct=details.get("correct"),
        feedback_key=details.get("feedback_key") or "unanswered",
        option_feedback=tuple(details.get("option_feedback") or ()),
    )


def result_item(
    number: int, question: QuestionVersion, response: Response | None, lang: str
) -> ResultItem:
    qtype = get_type(question.type)
    answer = response.answer if response else None
    score = stored_score(response) if response else Score(0.0, question.points, False, "unanswered")
    shown = qtype.base_context(question.data, lang)["lang"]
    return ResultItem(
        number=number,
        lang=shown,
        text=numbered_blanks(localised(question.data["text"], shown)),
        answer=answer_html(question, answer, shown),
        verdict=score.feedback_key,
        points=score.points,
        max_points=score.max_points,
        feedback=qtype.feedback(question.data, answer, score, shown),
        key=qtype.correct_answer_text(question.data, shown),
        comment=str((response.details or {}).get("comment", "")) if response else "",
    )


def numbered_blanks(text: str) -> str:
    """A cloze text with its blanks shown as ``___ (1)``, numbered as the quiz numbered them."""
    numbers = count(1)
    return BLANK_RE.sub(lambda _match: f"___ ({next(numbers)})", text)


def answer_html(question: QuestionVersion, answer: Any, lang: str) -> Markup:
    """The student's answer as safe HTML: authored texts as inline Markdown, typed text escaped.

    It reads the answer back through the type's own ``render_context``, so it names the options
    exactly as the quiz showed them.
    """
    if answer is None:
        return Markup("")
    context = get_type(question.type).render_context(question.data, lang, answer=answer)
    kind = question.type
    if kind in CHOICE_TYPES:
        parts = [render_inline(o["text"]) for o in context["options"] if o["checked"]]
    elif kind == "true_false":
        with force_locale(lang):
            parts = [escape(_("True") if answer is True else _("False"))]
    elif kind == "matching":
        parts = _matching_parts(context)
    elif kind == "ordering":
        parts = _ordering_parts(context)
    elif kind == "cloze":
        parts = _cloze_parts(context)
    else:
        parts = [escape(context["value"])]
    return Markup("; ").join(parts)


def _matching_parts(context: dict[str, Any]) -> list[Markup]:
    choices = {choice["value"]: choice["text"] for choice in context["choices"]}
    return [
        render_inline(pair["left"]) + Markup(" → ") + render_inline(choices[pair["selected"]])
        for pair in context["pairs"]
        if pair["selected"]
    ]


def _ordering_parts(context: dict[str, Any]) -> list[Markup]:
    placed = sorted(
        (int(item["selected"]), item["text"]) for item in context["items"] if item["selected"]
    )
    return [escape(f"{position}. ") + render_inline(text) for position, text in placed]


def _cloze_parts(context: dict[str, Any]) -> list[Markup]:
    parts = []
    for segment in context["segments"]:
        if segment["kind"] != "blank" or not segment["value"]:
            continue
        if segment["options"] is None:
            value = escape(segment["value"])
        else:
            texts = {option["value"]: option["text"] for option in segment["options"]}
            value = render_inline(texts[segment["value"]])
        parts.append(escape(f"{segment['number']}. ") + value)
    return parts
