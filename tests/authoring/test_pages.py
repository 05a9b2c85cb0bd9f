"""The authoring pages as a librarian uses them: modules, outcomes, lessons, questions of every type,
forms, publishing, exports; the problems of a refused save; who may use the pages."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from ilms.accounts.models import User
from ilms.authoring import editing, services
from ilms.authoring.models import Module, ModuleVersion, Question, QuestionVersion
from ilms.authoring.package import check_package, read_package
from ilms.cohorts import services as cohorts
from ilms.cohorts.models import MemberRole
from ilms.db import utcnow
from ilms.delivery import services as delivery
from ilms.delivery.models import Phase, Quiz, Response
from ilms.errors import NotFound
from ilms.extensions import db
from ilms.permissions import Role
from tests.authoring.fixture import write_module
from tests.conftest import csrf_token_from, login, unique

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
AUTHOR = "/author/modules"


def new_slug() -> str:
    return unique("mod").replace("_", "-").lower()


class Author:
    """A logged-in librarian's browser: pages and posts with the CSRF token."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.token = csrf_token_from(client, AUTHOR)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.client.post(path, data={"csrf_token": self.token, **(data or {})}, **kwargs)

    def create(self, slug: str, languages: tuple[str, ...] = ("en",), **extra: Any) -> Any:
        data: dict[str, Any] = {
            "slug": slug,
            "languages": list(languages),
            "audience": "undergraduate",
            "estimated_minutes": "20",
            "title-en": "Searching well",
            "summary-en": "Keywords and operators.",
        }
        data.update({f"title-{code}": f"Title {code}" for code in languages if code != "en"})
        data.update({f"summary-{code}": f"Summary {code}" for code in languages if code != "en"})
        data.update(extra)
        return self.post("/author/new-module", data)

    def outcome(self, slug: str, outcome_id: str = "o1", **text: str) -> Any:
        data = {"outcome_id": outcome_id, "frame": "searching-as-strategic-exploration"}
        data.update(
            {f"text-{code}": value for code, value in (text or {"en": "Choose keywords."}).items()}
        )
        return self.post(f"{AUTHOR}/{slug}/outcomes/", data)

    def lesson(self, slug: str, **data: Any) -> Any:
        fields = {"title-en": "Keywords", "body-en": "Start from your question.", "submit": "y"}
        fields.update(data)
        return self.post(f"{AUTHOR}/{slug}/lessons/", fields, content_type="multipart/form-data")

    def question(
        self, slug: str, type_name: str, data: dict[str, Any], key: str | None = None
    ) -> Any:
        path = (
            f"{AUTHOR}/{slug}/questions/{key}"
            if key
            else f"{AUTHOR}/{slug}/questions/?type={type_name}"
        )
        return self.post(path, {"outcome": "o1", **data})

    def form(self, slug: str, **data: Any) -> Any:
        return self.post(f"{AUTHOR}/{slug}/forms/", data)


@pytest.fixture
def author(client: FlaskClient, login_as: Callable[..., User]) -> Author:
    login_as(Role.LIBRARIAN)
    return Author(client)


def text_of(response: Any) -> str:
    return response.get_data(as_text=True)


def summary_links(page: str) -> list[str]:
    """The targets of the links in the error summary."""
    block = page.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    return re.findall(r'href="#([^"]+)"', block)


def module_state(app: Flask, slug: str) -> dict[str, Any]:
    with app.app_context():
        module = editing.module_by_slug(slug)
        package = editing.current_package(module)
        return {
            "version": module.current_version.number,
            "published": module.published,
            "package": package,
        }


def bank_question(app: Flask, slug: str, key: str) -> dict[str, Any]:
    with app.app_context():
        return editing.bank_question(editing.module_by_slug(slug), key)


# --- Questions of every type: what the editor posts, and the question it must store -----------

QUESTIONS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "single_choice": (
        {
            "text-en": "Which search finds **both** words?",
            "options-0-text-en": "climate AND migration",
            "options-0-correct": "y",
            "options-0-feedback-en": "AND needs both words.",
            "options-1-text-en": "climate OR migration",
            "options-1-feedback-en": "OR finds either word.",
        },
        {
            "options": [
                {
                    "id": "a",
                    "text": {"en": "climate AND migration"},
                    "correct": True,
                    "feedback": {"en": "AND needs both words."},
                },
                {
                    "id": "b",
                    "text": {"en": "climate OR migration"},
                    "correct": False,
                    "feedback": {"en": "OR finds either word."},
                },
            ]
        },
    ),
    "multiple_response": (
        {
            "text-en": "Which operators narrow a search?",
            "options-0-text-en": "AND",
            "options-0-correct": "y",
            "options-0-feedback-en": "AND narrows.",
            "options-1-text-en": "NOT",
            "options-1-correct": "y",
            "options-1-feedback-en": "NOT narrows.",
            "options-2-text-en": "OR",
            "options-2-feedback-en": "OR widens.",
            "feedback-correct-en": "Well done.",
        },
        {"feedback": {"correct": {"en": "Well done."}}},
    ),
    "true_false": (
        {
            "text-en": "Synonyms find more results.",
            "answer": "true",
            "feedback-correct-en": "Yes.",
            "feedback-incorrect-en": "They do: combine them with OR.",
        },
        {
            "answer": True,
            "feedback": {
                "correct": {"en": "Yes."},
                "incorrect": {"en": "They do: combine them with OR."},
            },
        },
    ),
    "short_answer": (
        {
            "text-en": "Name the operator that narrows.",
            "accepted-en": "AND\r\n  and operator \r\n",
            "pattern": "and.*",
            "points": "2",
            "tags": "boolean, typed",
        },
        {
            "accepted": {"en": ["AND", "and operator"]},
            "pattern": "and.*",
            "points": 2,
            "tags": ["boolean", "typed"],
        },
    ),
    "numeric": (
        {
            "text-en": "How many km?",
            "mode": "answer",
            "answer": "1,5",
            "tolerance": "0.5",
            "unit-en": "km",
        },
        {"answer": 1.5, "tolerance": 0.5, "unit": {"en": "km"}},
    ),
    "matching": (
        {
            "text-en": "Match the operators.",
            "pairs-0-left-en": "AND",
            "pairs-0-right-en": "both words",
            "pairs-1-left-en": "OR",
            "pairs-1-right-en": "either word",
            "distractors-0-right-en": "no words",
        },
        {
            "pairs": [
                {"id": "p1", "left": {"en": "AND"}, "right": {"en": "both words"}},
                {"id": "p2", "left": {"en": "OR"}, "right": {"en": "either word"}},
            ],
            "distractors": [{"id": "d1", "right": {"en": "no words"}}],
        },
    ),
    "ordering": (
        {
            "text-en": "Put the steps in order.",
            "items-0-text-en": "Topic",
            "items-1-text-en": "Question",
            "items-2-text-en": "Keywords",
        },
        {
            "items": [
                {"id": "i1", "text": {"en": "Topic"}},
                {"id": "i2", "text": {"en": "Question"}},
                {"id": "i3", "text": {"en": "Keywords"}},
            ]
        },
    ),
    "cloze": (
        {
            "text-en": "Use [[1]] to narrow and [[2]] to widen.",
            "blanks-0-id": "1",
            "blanks-0-kind": "typed",
            "blanks-0-accepted-en": "AND",
            "blanks-1-id": "2",
            "blanks-1-kind": "choice",
            "blanks-1-options-0-text-en": "OR",
            "blanks-1-options-0-correct": "y",
            "blanks-1-options-1-text-en": "NOT",
        },
        {
            "blanks": [
                {"id": "1", "accepted": {"en": ["AND"]}},
                {
                    "id": "2",
                    "options": [
                        {"id": "a", "text": {"en": "OR"}, "correct": True},
                        {"id": "b", "text": {"en": "NOT"}, "correct": False},
                    ],
                },
            ]
        },
    ),
    "open_response": (
        {
            "text-en": "Explain why a preprint is not peer reviewed.",
            "rubric-0-text-en": "Says what peer review is.",
            "rubric-0-points": "2",
            "rubric-1-text-en": "Gives an example.",
            "rubric-1-points": "1.5",
        },
        {
            "rubric": [
                {"id": "c1", "text": {"en": "Says what peer review is."}, "points": 2},
                {"id": "c2", "text": {"en": "Gives an example."}, "points": 1.5},
            ]
        },
    ),
}


@pytest.fixture
def drafted(author: Author) -> str:
    """A draft module made through the pages, with one outcome (o1)."""
    slug = new_slug()
    assert author.create(slug).status_code == 302
    assert author.outcome(slug).status_code == 302
    return slug


def build_complete(author: Author, slug: str) -> None:
    """Give a drafted module a lesson, a question and a form, so that it can be published."""
    assert author.lesson(slug).status_code == 302
    data, _expected = QUESTIONS["single_choice"]
    assert author.question(slug, "single_choice", {"key": "q1", **data}).status_code == 302
    assert author.form(slug, form_id="A", kind="items", items=["q1"]).status_code == 302


# --- Modules ---------------------------------------------------------------------------------


def test_creating_a_module_makes_a_draft_that_the_list_shows(app, author):
    slug = new_slug()
    response = author.create(slug, languages=("en", "ru"))
    assert response.status_code == 302 and response.location.endswith(f"{AUTHOR}/{slug}")
    state = module_state(app, slug)
    assert state["published"] is False and state["version"] == 1
    assert state["package"].title == {"en": "Searching well", "ru": "Title ru"}
    assert state["package"].languages == ("en", "ru")
    listing = text_of(author.get(AUTHOR))
    assert slug in listing and "Draft" in listing
    overview = text_of(author.get(f"{AUTHOR}/{slug}"))
    assert "Add at least one outcome." in overview and "Add at least one lesson." in overview


def test_a_refused_module_keeps_everything_typed(app, author):
    response = author.create(
        "Bad Slug", **{"title-en": "", "summary-en": "Kept summary", "estimated_minutes": "soon"}
    )
    assert response.status_code == 400
    page = text_of(response)
    assert 'value="Bad Slug"' in page and "Kept summary" in page and 'value="soon"' in page
    links = summary_links(page)
    assert {"slug", "title-en", "estimated_minutes"} <= set(links), links
    with app.app_context():
        assert db.session.scalar(select(Module).where(Module.slug == "Bad Slug")) is None


def test_a_slug_in_use_is_refused(app, author, drafted):
    response = author.create(drafted)
    assert response.status_code == 400
    assert summary_links(text_of(response)) == ["slug"]
    assert module_state(app, drafted)["version"] == 2  # unchanged: the outcome made version 2


def test_settings_change_the_metadata_and_removing_a_language_removes_its_texts(app, author):
    slug = new_slug()
    author.create(slug, languages=("en", "ru"))
    author.outcome(slug, en="Choose keywords.", ru="Подбирать ключевые слова.")
    page = text_of(author.get(f"{AUTHOR}/{slug}/settings"))
    assert 'value="20"' in page and "Title ru" in page
    response = author.post(
        f"{AUTHOR}/{slug}/settings",
        {
            "version": "2",
            "languages": ["en"],
            "audience": "graduate",
            "estimated_minutes": "45",
            "title-en": "Renamed",
            "summary-en": "New summary.",
            "title-ru": "",
        },
    )
    assert response.status_code == 302
    package = module_state(app, slug)["package"]
    assert (package.version, package.audience, package.estimated_minutes) == (2, "graduate", 45)
    assert package.title == {"en": "Renamed"} and package.outcomes[0].text == {
        "en": "Choose keywords."
    }


def test_adding_a_language_without_translations_is_refused_with_what_is_missing(
    app, author, drafted
):
    before = module_state(app, drafted)["version"]
    response = author.post(
        f"{AUTHOR}/{drafted}/settings",
        {
            "version": "1",
            "languages": ["en", "kk"],
            "audience": "all",
            "estimated_minutes": "20",
            "title-en": "T",
            "summary-en": "S",
            "title-kk": "Тақырып",
            "summary-kk": "Қысқаша",
        },
    )
    assert response.status_code == 400
    page = text_of(response)
    assert "Kazakh" in page and 'value="Тақырып"' in page
    assert module_state(app, drafted)["version"] == before


def test_duplicate_copies_the_content_into_a_new_draft(app, author, drafted):
    build_complete(author, drafted)
    author.post(f"{AUTHOR}/{drafted}/publish")
    copy = new_slug()
    assert f'value="{drafted}-copy"' in text_of(author.get(f"{AUTHOR}/{drafted}/duplicate"))
    response = author.post(f"{AUTHOR}/{drafted}/duplicate", {"slug": copy})
    assert response.status_code == 302
    original, duplicate = module_state(app, drafted), module_state(app, copy)
    assert duplicate["published"] is False and duplicate["version"] == 1
    assert duplicate["package"].questions == original["package"].questions
    assert duplicate["package"].lessons == original["package"].lessons
    with app.app_context():
        banks = db.session.scalars(select(Module).where(Module.slug.in_([drafted, copy]))).all()
        assert len({module.bank.id for module in banks}) == 2
    refused = author.post(f"{AUTHOR}/{drafted}/duplicate", {"slug": copy})
    assert refused.status_code == 400 and summary_links(text_of(refused)) == ["slug"]


def test_publishing_needs_a_complete_module(app, author, drafted):
    response = author.post(f"{AUTHOR}/{drafted}/publish")
    assert response.status_code == 400
    page = text_of(response)
    assert "Add at least one lesson." in page and "Add at least one question." in page
    assert module_state(app, drafted)["published"] is False
    build_complete(author, drafted)
    assert author.post(f"{AUTHOR}/{drafted}/publish").status_code == 302
    assert module_state(app, drafted)["published"] is True
    assert "Published" in text_of(author.get(AUTHOR))
    assert author.post(f"{AUTHOR}/{drafted}/unpublish").status_code == 302
    assert module_state(app, drafted)["published"] is False


def test_a_published_module_must_stay_complete(app, author, drafted):
    build_complete(author, drafted)
    author.post(f"{AUTHOR}/{drafted}/publish")
    before = module_state(app, drafted)["version"]
    lesson = module_state(app, drafted)["package"].lessons[0].id
    response = author.post(f"{AUTHOR}/{drafted}/lessons/{lesson}/delete")
    assert response.status_code == 302
    assert "not saved" in text_of(author.get(f"{AUTHOR}/{drafted}"))
    assert module_state(app, drafted)["version"] == before


def test_students_never_see_unpublished_modules(app, author, drafted, make_user, client):
    build_complete(author, drafted)
    student = make_user(Role.STUDENT)
    student_client = app.test_client()
    login(student_client, student)
    slugs = [m["slug"] for m in student_client.get("/api/v1/modules").get_json()["modules"]]
    assert drafted not in slugs
    staff_slugs = [m["slug"] for m in author.get("/api/v1/modules").get_json()["modules"]]
    assert drafted in staff_slugs
    author.post(f"{AUTHOR}/{drafted}/publish")
    slugs = [m["slug"] for m in student_client.get("/api/v1/modules").get_json()["modules"]]
    assert drafted in slugs
    with app.app_context():
        quiz = assign(drafted, make_user(Role.FACULTY), student)
        quiz_id = quiz.id
    author.post(f"{AUTHOR}/{drafted}/unpublish")
    slugs = [m["slug"] for m in student_client.get("/api/v1/modules").get_json()["modules"]]
    assert drafted not in slugs
    with app.app_context(), pytest.raises(NotFound):
        delivery.start_attempt(
            db.session.get(Quiz, quiz_id), db.session.get(User, student.id), "en"
        )


def assign(slug: str, owner: User, student: User) -> Quiz:
    """Embed the module in a new cohort with ``student`` in it; the pre-test quiz."""
    cohort = cohorts.create_cohort(
        db.session.get(User, owner.id),
        course_code="IL101",
        course_title="Research",
        term="Fall",
        section=unique("s"),
    )
    module = db.session.scalar(select(Module).where(Module.slug == slug))
    now = utcnow()
    assignment = cohorts.assign_module(
        cohort, module, opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=7)
    )
    cohorts.add_member(cohort, db.session.get(User, student.id), MemberRole.STUDENT)
    db.session.commit()
    return db.session.scalar(
        select(Quiz).where(Quiz.assignment_id == assignment.id, Quiz.phase == Phase.PRE)
    )


def test_export_downloads_the_module_as_plain_text(app, author, tmp_path):
    root = tmp_path / "in"
    slug = new_slug()
    write_module(root, slug)
    with app.app_context():
        services.import_folder(root, publish=False)
        db.session.commit()
    response = author.get(f"{AUTHOR}/{slug}/export")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert f"filename={slug}.zip" in response.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        names = archive.namelist()
        assert all(name.startswith(f"{slug}/") and ".." not in name for name in names)
        archive.extractall(tmp_path / "out")
    exported = read_package(tmp_path / "out" / slug)
    assert exported.content_hash == read_package(root / slug).content_hash
    assert author.get(f"{AUTHOR}/{slug}/export").data == response.data


def test_an_incomplete_module_is_not_exported(author, drafted):
    response = author.get(f"{AUTHOR}/{drafted}/export", follow_redirects=True)
    assert "cannot be exported" in text_of(response)


def test_an_edit_of_a_stale_page_is_refused_and_keeps_the_input(app, author, drafted):
    response = author.post(
        f"{AUTHOR}/{drafted}/outcomes/o1",
        {"base": "1", "frame": "research-as-inquiry", "text-en": "My careful rewording."},
    )
    assert response.status_code == 400
    page = text_of(response)
    assert "Someone else saved this module" in page and "My careful rewording." in page
    assert module_state(app, drafted)["package"].outcomes[0].text == {"en": "Choose keywords."}


# --- Outcomes --------------------------------------------------------------------------------


def test_outcomes_are_added_edited_and_deleted(app, author, drafted):
    assert author.outcome(drafted, "o2", en="Combine keywords.").status_code == 302
    response = author.post(
        f"{AUTHOR}/{drafted}/outcomes/o2",
        {"frame": "research-as-inquiry", "text-en": "Ask questions."},
    )
    assert response.status_code == 302
    outcome = module_state(app, drafted)["package"].outcome("o2")
    assert (outcome.frame, outcome.text) == ("research-as-inquiry", {"en": "Ask questions."})
    assert author.post(f"{AUTHOR}/{drafted}/outcomes/o2/delete").status_code == 302
    assert module_state(app, drafted)["package"].outcome("o2") is None
    assert author.get(f"{AUTHOR}/{drafted}/outcomes/o2").status_code == 404


def test_an_outcome_without_a_frame_is_refused_with_the_field(app, author, drafted):
    response = author.post(
        f"{AUTHOR}/{drafted}/outcomes/", {"outcome_id": "o9", "text-en": "Kept text."}
    )
    assert response.status_code == 400
    page = text_of(response)
    assert "Kept text." in page and 'value="o9"' in page
    assert summary_links(page) == ["frame-0"]


def test_an_outcome_in_use_cannot_be_deleted(app, author, drafted):
    data, _expected = QUESTIONS["true_false"]
    author.question(drafted, "true_false", data)
    before = module_state(app, drafted)["version"]
    page = text_of(author.post(f"{AUTHOR}/{drafted}/outcomes/o1/delete", follow_redirects=True))
    assert "not saved" in page and "o1" in page
    assert module_state(app, drafted)["version"] == before


# --- Lessons ---------------------------------------------------------------------------------


def test_lessons_are_added_reordered_and_deleted(app, author, drafted):
    assert author.lesson(drafted, **{"title-en": "First lesson"}).status_code == 302
    assert (
        author.lesson(
            drafted, **{"title-en": "Second lesson", "body-en": "## Part\r\n\r\nText."}
        ).status_code
        == 302
    )
    lessons = module_state(app, drafted)["package"].lessons
    assert [lesson.id for lesson in lessons] == ["first-lesson", "second-lesson"]
    assert lessons[1].body == {"en": "## Part\n\nText."}
    assert author.post(f"{AUTHOR}/{drafted}/lessons/second-lesson/move/up").status_code == 302
    lessons = module_state(app, drafted)["package"].lessons
    assert [(lesson.id, lesson.position) for lesson in lessons] == [
        ("second-lesson", 1),
        ("first-lesson", 2),
    ]
    assert author.post(f"{AUTHOR}/{drafted}/lessons/second-lesson/move/up").status_code == 302
    assert "cannot move further" in text_of(author.get(f"{AUTHOR}/{drafted}"))
    assert author.post(f"{AUTHOR}/{drafted}/lessons/first-lesson/delete").status_code == 302
    assert [lesson.id for lesson in module_state(app, drafted)["package"].lessons] == [
        "second-lesson"
    ]
    assert author.post(f"{AUTHOR}/{drafted}/lessons/second-lesson/move/sideways").status_code == 404


def test_the_preview_button_shows_the_text_without_saving(app, author, drafted):
    before = module_state(app, drafted)["version"]
    response = author.lesson(
        drafted, **{"body-en": "Some **bold** words.", "submit": "", "preview": "y"}
    )
    assert response.status_code == 200
    page = text_of(response)
    assert "Some <strong>bold</strong> words." in page
    assert module_state(app, drafted)["version"] == before


def test_a_lesson_without_text_is_refused_and_keeps_its_title(app, author, drafted):
    response = author.lesson(drafted, **{"title-en": "Kept title", "body-en": "  "})
    assert response.status_code == 400
    page = text_of(response)
    assert 'value="Kept title"' in page and summary_links(page) == ["body-en"]
    assert module_state(app, drafted)["package"].lessons == []


def test_an_image_is_uploaded_with_its_alternative_text(app, author, drafted):
    response = author.lesson(
        drafted,
        image=(io.BytesIO(PNG), "Results page.png"),
        **{"alt-en": "A results page [2,340 hits]"},
    )
    assert response.status_code == 302
    lesson = module_state(app, drafted)["package"].lessons[0]
    name = next(iter(lesson.images))
    assert re.fullmatch(r"results-page-[0-9a-f]{12}\.png", name)
    assert lesson.images[name] == PNG
    assert lesson.body["en"].endswith(f"![A results page \\[2,340 hits\\]](images/{name})")
    served = author.get(f"{AUTHOR}/{drafted}/lessons/images/{name}")
    assert served.status_code == 200 and served.data == PNG and served.mimetype == "image/png"
    assert author.get(f"{AUTHOR}/{drafted}/lessons/images/other.png").status_code == 404
    page = text_of(author.get(f"{AUTHOR}/{drafted}/lessons/{lesson.id}"))
    assert f'src="images/{name}"' in page


@pytest.mark.parametrize(
    ("data", "suffix"),
    [
        (b"\xff\xd8\xff\xe0" + bytes(16), "jpg"),
        (b"GIF89a" + bytes(16), "gif"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 " + bytes(16), "webp"),
    ],
)
def test_jpeg_gif_and_webp_images_are_taken_by_their_content(app, author, drafted, data, suffix):
    # The name says PNG; the content decides the type and the stored name.
    response = author.lesson(
        drafted, image=(io.BytesIO(data), "photo.png"), **{"alt-en": "A photo"}
    )
    assert response.status_code == 302
    lesson = module_state(app, drafted)["package"].lessons[0]
    assert [name.rsplit(".", 1)[1] for name in lesson.images] == [suffix]


def test_an_image_without_alternative_text_is_refused(app, author, drafted):
    response = author.lesson(drafted, image=(io.BytesIO(PNG), "chart.png"), **{"title-en": "Kept"})
    assert response.status_code == 400
    page = text_of(response)
    assert "Describe what the image shows." in page and summary_links(page) == ["alt-en"]
    assert module_state(app, drafted)["package"].lessons == []


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "drawing.png"),
        (b"%PDF-1.7 not an image", "scan.jpg"),
        (b"MZ\x90\x00", "tool.exe"),
    ],
)
def test_a_file_that_is_not_an_image_is_refused(app, author, drafted, data, name):
    response = author.lesson(drafted, image=(io.BytesIO(data), name), **{"alt-en": "Something"})
    assert response.status_code == 400
    page = text_of(response)
    assert "Upload a PNG, JPEG, GIF or WebP image." in page and summary_links(page) == ["image"]
    assert module_state(app, drafted)["package"].lessons == []


def test_an_oversized_image_is_refused(app, author, drafted):
    big = PNG + b"\x00" * editing.IMAGE_MAX_BYTES
    response = author.lesson(drafted, image=(io.BytesIO(big), "big.png"), **{"alt-en": "Big"})
    assert response.status_code == 400 and "larger than" in text_of(response)


def test_the_preview_endpoint_returns_sanitised_html(author):
    headers = {"X-CSRFToken": author.token}
    text = "# Title\n\n<script>alert(1)</script> [x](javascript:alert(1)) **ok** <img src=x onerror=alert(1)>"
    response = author.client.post("/author/preview", json={"text": text}, headers=headers)
    assert response.status_code == 200
    html = response.get_json()["html"]
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html  # shown as text, never run
    assert "<strong>ok</strong>" in html and "<h2>Title</h2>" in html
    assert (
        author.client.post("/author/preview", json={"nothing": 1}, headers=headers).status_code
        == 400
    )
    too_long = {"text": "x" * (editing.PREVIEW_LIMIT + 1)}
    assert author.client.post("/author/preview", json=too_long, headers=headers).status_code == 400
    assert (
        author.client.post("/author/preview", json={"text": "x"}).status_code == 400
    )  # no CSRF token


# --- Questions -------------------------------------------------------------------------------


@pytest.mark.parametrize("type_name", list(QUESTIONS))
def test_every_question_type_is_created_and_edited(app, author, drafted, type_name):
    data, expected = QUESTIONS[type_name]
    assert author.get(f"{AUTHOR}/{drafted}/questions/?type={type_name}").status_code == 200
    response = author.question(drafted, type_name, {"key": "q1", **data})
    assert response.status_code == 302, text_of(response)
    question = bank_question(app, drafted, "q1")
    assert question["type"] == type_name and question["outcome"] == "o1"
    for key, value in expected.items():
        assert question[key] == value, key
    page = text_of(author.get(f"{AUTHOR}/{drafted}/questions/q1"))
    assert data["text-en"].replace("**", "") in page.replace("**", "")
    preview = f"{AUTHOR}/{drafted}/questions/q1/preview"
    assert author.get(preview).status_code == 200
    assert "Not answered" in text_of(author.post(preview))
    before = module_state(app, drafted)["version"]
    resaved = author.question(drafted, type_name, form_fields(page), key="q1")
    assert resaved.status_code == 302
    assert module_state(app, drafted)["version"] == before  # the same content: no new version
    edited = author.question(
        drafted, type_name, {**data, "text-en": data["text-en"] + " (edited)"}, key="q1"
    )
    assert edited.status_code == 302
    assert module_state(app, drafted)["version"] == before + 1
    assert bank_question(app, drafted, "q1")["text"]["en"].endswith("(edited)")


def form_fields(page: str) -> dict[str, Any]:
    """What a browser would send back from the question editor, unchanged (no list button)."""
    fields: dict[str, Any] = {}
    form = page.split('class="edit-form"', 1)[1].split("</form>", 1)[0]
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        kind = re.search(r'type="([^"]+)"', tag)
        if not name or name[1] in ("csrf_token", "action"):
            continue
        if kind and kind[1] in ("checkbox", "radio") and " checked" not in tag:
            continue
        if kind and kind[1] == "submit":
            continue
        fields[name[1]] = html_unescape(value[1] if value else "")
    for name, text in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        fields[name] = html_unescape(text.removeprefix("\r\n").removeprefix("\n"))
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(
            r'<option[^>]*selected[^>]*value="([^"]*)"|<option value="([^"]*)" selected', options
        )
        if chosen:
            fields[name] = chosen[1] or chosen[2]
    return fields


def html_unescape(text: str) -> str:
    import html

    return html.unescape(text)


def test_a_refused_question_keeps_everything_typed_and_names_the_fields(app, author, drafted):
    data = {
        "key": "q1",
        "text-en": "Which search finds both words?",
        "options-0-text-en": "climate AND migration",
        "options-0-correct": "y",
        "options-0-feedback-en": "Right.",
        "options-1-text-en": "climate OR migration",
        "options-1-correct": "y",
        "options-1-feedback-en": "",
    }
    before = module_state(app, drafted)["version"]
    response = author.question(drafted, "single_choice", data)
    assert response.status_code == 400
    page = text_of(response)
    assert "Exactly one option must be correct; 2 are marked correct." in page
    assert re.search(r'id="options-error">[^<]*Exactly one option', page)  # next to the list
    assert "Feedback of option &#39;b&#39;" in page
    assert "options-1-feedback-en" in summary_links(page)
    assert 'value="climate OR migration"' in page and page.count(" checked") >= 2
    assert module_state(app, drafted)["version"] == before


def test_a_numeric_question_can_take_a_range(app, author, drafted):
    data = {
        "key": "year",
        "text-en": "In which year?",
        "mode": "range",
        "min": "1990",
        "max": "1995,5",
    }
    data["answer"] = "7"  # typed before choosing the range: not part of the question
    assert author.question(drafted, "numeric", data).status_code == 302
    question = bank_question(app, drafted, "year")
    assert (question["min"], question["max"]) == (1990, 1995.5)
    assert "answer" not in question and "unit" not in question
    refused = author.question(drafted, "numeric", {**data, "min": "2000"}, key="year")
    assert refused.status_code == 400 and summary_links(text_of(refused)) == ["max"]


def test_a_missing_translation_is_linked_to_its_own_field(app, author):
    slug = new_slug()
    author.create(slug, languages=("en", "ru"))
    author.outcome(slug, en="Choose keywords.", ru="Подбирать ключевые слова.")
    data = {
        "key": "tf",
        "text-en": "Synonyms find more results.",
        "text-ru": "",
        "answer": "true",
        "feedback-correct-en": "Yes.",
        "feedback-correct-ru": "Да.",
        "feedback-incorrect-en": "They do.",
        "feedback-incorrect-ru": "",
    }
    response = author.question(slug, "true_false", data)
    assert response.status_code == 400
    page = text_of(response)
    assert summary_links(page) == ["text-ru", "feedback-incorrect-ru"]
    assert "Russian" in page and 'lang="ru"' in page and "Да." in page


def test_a_question_naming_an_unknown_outcome_is_refused(app, author, drafted):
    data, _expected = QUESTIONS["true_false"]
    response = author.question(drafted, "true_false", {**data, "outcome": "nowhere"})
    assert response.status_code == 400
    assert summary_links(text_of(response)) == ["outcome"]


def test_a_question_id_in_use_is_refused(app, author, drafted):
    data, _expected = QUESTIONS["true_false"]
    author.question(drafted, "true_false", {"key": "tf", **data})
    response = author.question(drafted, "true_false", {"key": "tf", **data})
    assert response.status_code == 400 and summary_links(text_of(response)) == ["key"]


def test_a_question_without_an_id_gets_one_from_its_outcome(app, author, drafted):
    data, _expected = QUESTIONS["true_false"]
    response = author.question(drafted, "true_false", data)
    assert response.location.endswith("/questions/o1-1")
    response = author.question(drafted, "true_false", data)
    assert response.location.endswith("/questions/o1-2")


def test_the_list_buttons_change_the_form_without_saving(app, author, drafted):
    before = module_state(app, drafted)["version"]
    data = {
        "key": "q1",
        "text-en": "Typed question",
        "options-0-text-en": "first",
        "options-1-text-en": "second",
    }
    added = text_of(author.question(drafted, "single_choice", {**data, "action": "add:options"}))
    assert (
        'name="options-2-text-en"' in added
        and 'value="first"' in added
        and "Typed question" in added
    )
    assert re.search(r'<input[^>]*autofocus[^>]*id="options-2-text-en"', added)
    moved = text_of(author.question(drafted, "single_choice", {**data, "action": "down:options-0"}))
    assert moved.index('value="second"') < moved.index('value="first"')
    removed = text_of(
        author.question(drafted, "single_choice", {**data, "action": "remove:options-0"})
    )
    assert 'value="first"' not in removed and 'value="second"' in removed
    assert 'name="options-1-text-en"' not in removed
    assert re.search(r'id="add-options"[^>]*autofocus', removed)
    nested = {"text-en": "[[1]]", "blanks-0-id": "1", "blanks-0-kind": "choice"}
    page = text_of(author.question(drafted, "cloze", {**nested, "action": "add:blanks-0-options"}))
    assert 'name="blanks-0-options-0-text-en"' in page
    assert (
        author.question(
            drafted, "single_choice", {**data, "action": "remove:options-9"}
        ).status_code
        == 400
    )
    assert (
        author.question(drafted, "single_choice", {**data, "action": "explode:options"}).status_code
        == 400
    )
    assert module_state(app, drafted)["version"] == before


def test_the_preview_grades_an_answer_and_shows_feedback(app, author, drafted):
    data, _expected = QUESTIONS["single_choice"]
    author.question(drafted, "single_choice", {"key": "q1", **data})
    path = f"{AUTHOR}/{drafted}/questions/q1/preview"
    page = text_of(author.get(path))
    assert 'name="answer-q1"' in page and "climate AND migration" in page
    right = text_of(author.post(path, {"answer-q1": "1"}))
    assert "Correct" in right and "AND needs both words." in right and " checked" in right
    wrong = text_of(author.post(path, {"answer-q1": "2"}))
    assert (
        "Incorrect" in wrong and "OR finds either word." in wrong and "The right answer:" in wrong
    )
    invalid = author.post(path, {"answer-q1": "7"})
    assert "The answer names an option this question does not have." in text_of(invalid)


def test_the_preview_shows_each_language_of_the_module(app, author, tmp_path):
    root = tmp_path / "m"
    slug = new_slug()
    write_module(root, slug)
    with app.app_context():
        services.import_folder(root, publish=False)
        db.session.commit()
    path = f"{AUTHOR}/{slug}/questions/kw-2/preview"
    assert "Синонимы находят больше результатов." in text_of(
        author.get(path, query_string={"lang": "ru"})
    )
    answered = text_of(author.post(path + "?lang=ru", {"answer-kw-2": "true"}))
    assert "Да." in answered
    essay = {"text-en": "Why?", "rubric-0-text-en": "Reason", "rubric-0-points": "1"}
    essay.update({"text-ru": "Почему?", "rubric-0-text-ru": "Причина"})
    editor = text_of(author.get(f"{AUTHOR}/{slug}/questions/kw-1"))
    assert 'lang="ru"' in editor and "Какое слово" in editor


def test_editing_an_answered_question_creates_a_version_and_attempts_keep_theirs(
    app, author, drafted, make_user
):
    build_complete(author, drafted)
    author.post(f"{AUTHOR}/{drafted}/publish")
    student = make_user(Role.STUDENT)
    with app.app_context():
        quiz = assign(drafted, make_user(Role.FACULTY), student)
        attempt = delivery.start_attempt(quiz, db.session.get(User, student.id), "en")
        answered_id = attempt.question_order[0]
        delivery.save_answer(attempt, answered_id, "a", seq=1)
        delivery.submit_attempt(attempt)
        db.session.commit()
        attempt_id, attempt_version = attempt.id, attempt.module_version_id
    page = text_of(author.get(f"{AUTHOR}/{drafted}/questions/q1"))
    assert "Students have answered this question." in page
    fields = form_fields(page)
    fields["text-en"] = "Which search finds both words, climate and migration?"
    assert author.question(drafted, "single_choice", fields, key="q1").status_code == 302
    with app.app_context():
        question = db.session.scalar(
            select(Question)
            .where(Question.key == "q1", Question.current_version_id.is_not(None))
            .join(Question.bank)
            .where(Question.bank.has(slug=drafted))
        )
        assert [v.number for v in question.versions] == [1, 2]
        old, new = question.versions
        assert old.id == answered_id and new.id == question.current_version_id
        assert old.data["text"]["en"] == "Which search finds **both** words?"
        response = db.session.scalar(select(Response).where(Response.attempt_id == attempt_id))
        assert response.question_version_id == old.id and response.points == 1.0
        module = editing.module_by_slug(drafted)
        assert module.current_version_id != attempt_version
        assert [qv.id for qv in module.current_version.question_versions] == [new.id]
        assert db.session.get(ModuleVersion, attempt_version).question_versions[0].id == old.id


# --- Forms and tests -------------------------------------------------------------------------


def test_list_and_rule_forms_and_parallel_tests(app, author, drafted):
    data, _expected = QUESTIONS["true_false"]
    for key in ("t1", "t2", "t3", "t4"):
        author.question(drafted, "true_false", {"key": key, **data})
    assert "No forms yet." in text_of(author.get(f"{AUTHOR}/{drafted}/tests"))
    assert author.form(drafted, form_id="A", kind="items", items=["t3", "t1"]).status_code == 302
    package = module_state(app, drafted)["package"]
    assert package.forms["A"].items == ("t1", "t3") and package.tests == {"pre": "A", "post": "A"}
    assert author.form(drafted, kind="rule", per_outcome="1", exclude_form="A").status_code == 302
    package = module_state(app, drafted)["package"]
    assert package.forms["B"].per_outcome == 1 and package.forms["B"].exclude_form == "A"
    response = author.post(f"{AUTHOR}/{drafted}/tests", {"pre": "A", "post": "B"})
    assert response.status_code == 302
    assert module_state(app, drafted)["package"].tests == {"pre": "A", "post": "B"}
    edit = author.post(
        f"{AUTHOR}/{drafted}/forms/A", {"kind": "items", "items": ["t1", "t2", "t3"]}
    )
    assert edit.status_code == 302
    assert module_state(app, drafted)["package"].forms["A"].items == ("t1", "t3", "t2")
    page = text_of(author.get(f"{AUTHOR}/{drafted}/forms/A"))
    assert re.search(r'<input[^>]*checked[^>]*value="t2"', page)
    assert not re.search(r'<input[^>]*checked[^>]*value="t4"', page)
    # Taking t4 as well would leave form B, which shares nothing with A, without a question.
    refused = author.post(
        f"{AUTHOR}/{drafted}/forms/A", {"kind": "items", "items": ["t1", "t2", "t3", "t4"]}
    )
    assert refused.status_code == 400 and 'form "B"' in html_unescape(text_of(refused))


def test_a_rule_the_bank_cannot_fill_is_refused_with_the_field(app, author, drafted):
    data, _expected = QUESTIONS["true_false"]
    author.question(drafted, "true_false", {"key": "t1", **data})
    response = author.form(drafted, form_id="A", kind="rule", per_outcome="3")
    assert response.status_code == 400
    page = text_of(response)
    assert "has 1 question available but the rule asks for 3" in page
    assert summary_links(page) == ["per_outcome"] and 'value="3"' in page
    assert module_state(app, drafted)["package"].forms == {}


def test_forms_in_use_and_unknown_ones(app, author, drafted):
    data, _expected = QUESTIONS["true_false"]
    author.question(drafted, "true_false", {"key": "t1", **data})
    author.form(drafted, form_id="A", kind="items", items=["t1"])
    author.form(drafted, form_id="B", kind="items", items=["t1"])
    page = text_of(author.post(f"{AUTHOR}/{drafted}/forms/A/delete", follow_redirects=True))
    assert "not saved" in page and "tests.pre" in page
    assert author.post(f"{AUTHOR}/{drafted}/forms/B/delete").status_code == 302
    assert set(module_state(app, drafted)["package"].forms) == {"A"}
    refused = author.form(drafted, form_id="A", kind="items", items=["t1"])
    assert refused.status_code == 400 and summary_links(text_of(refused)) == ["form_id"]
    assert author.get(f"{AUTHOR}/{drafted}/forms/Z").status_code == 404
    assert author.post(f"{AUTHOR}/{drafted}/forms/Z/delete").status_code == 404
    deleted_question = text_of(
        author.post(f"{AUTHOR}/{drafted}/questions/t1/delete", follow_redirects=True)
    )
    assert "not saved" in deleted_question and "t1" in deleted_question


# --- Every page, and who may see it ------------------------------------------------------------


@pytest.fixture
def full_module(app: Flask, tmp_path: Path) -> str:
    slug = new_slug()
    write_module(tmp_path, slug)
    with app.app_context():
        _results, problems = services.import_folder(tmp_path, publish=False)
        assert problems == []
        db.session.commit()
    return slug


def page_paths(slug: str) -> list[str]:
    base = f"{AUTHOR}/{slug}"
    return [
        AUTHOR,
        "/author/new-module",
        base,
        f"{base}/settings",
        f"{base}/duplicate",
        f"{base}/outcomes/",
        f"{base}/outcomes/keywords",
        f"{base}/lessons/",
        f"{base}/lessons/keywords",
        *(f"{base}/questions/?type={name}" for name in QUESTIONS),
        f"{base}/questions/kw-1",
        f"{base}/questions/kw-3",
        f"{base}/questions/kw-1/preview",
        f"{base}/tests",
        f"{base}/forms/",
        f"{base}/forms/A",
        f"{base}/forms/B",
    ]


def post_paths(slug: str) -> list[str]:
    base = f"{AUTHOR}/{slug}"
    return [
        "/author/new-module",
        f"{base}/publish",
        f"{base}/unpublish",
        f"{base}/duplicate",
        f"{base}/settings",
        f"{base}/outcomes/",
        f"{base}/outcomes/keywords",
        f"{base}/outcomes/keywords/delete",
        f"{base}/lessons/",
        f"{base}/lessons/keywords",
        f"{base}/lessons/keywords/move/down",
        f"{base}/lessons/keywords/delete",
        "/author/preview",
        f"{base}/questions/?type=true_false",
        f"{base}/questions/kw-1",
        f"{base}/questions/kw-1/delete",
        f"{base}/questions/kw-1/preview",
        f"{base}/tests",
        f"{base}/forms/",
        f"{base}/forms/A",
        f"{base}/forms/A/delete",
    ]


def test_every_page_renders_for_librarians_and_admins(app, client, login_as, full_module):
    for role in (Role.LIBRARIAN, Role.ADMIN):
        login_as(role)
        for path in page_paths(full_module):
            response = client.get(path)
            assert response.status_code == 200, (role, path)
            assert "<script>" not in text_of(response) and "style=" not in text_of(response), path
        assert client.get(f"{AUTHOR}/{full_module}/lessons/images/results.png").data.startswith(
            b"\x89PNG"
        )
        assert client.get(f"{AUTHOR}/{full_module}/export").status_code == 200
        client.post("/logout", data={"csrf_token": csrf_token_from(client, AUTHOR)})


@pytest.mark.parametrize("role", [Role.STUDENT, Role.FACULTY])
def test_students_and_faculty_are_refused_everywhere(app, client, login_as, full_module, role):
    login_as(role)
    token = csrf_token_from(client, "/account")
    for path in [
        *page_paths(full_module),
        f"{AUTHOR}/{full_module}/export",
        f"{AUTHOR}/{full_module}/lessons/images/results.png",
    ]:
        assert client.get(path).status_code == 403, path
    for path in post_paths(full_module):
        assert client.post(path, data={"csrf_token": token}).status_code == 403, path
    assert module_state(app, full_module)["version"] == 1


def test_people_not_logged_in_are_sent_to_log_in(client, full_module):
    for path in page_paths(full_module):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.location, path


def test_posts_without_the_csrf_token_are_refused(app, author, full_module):
    for path in post_paths(full_module):
        assert author.client.post(path, data={}).status_code == 400, path
    assert module_state(app, full_module)["version"] == 1


def test_unknown_modules_questions_and_lessons_are_not_found(author, full_module):
    base = f"{AUTHOR}/{full_module}"
    for path in (
        f"{AUTHOR}/no-such-module",
        f"{base}/questions/nope",
        f"{base}/questions/nope/preview",
        f"{base}/lessons/nope",
        f"{base}/questions/?type=essay",
    ):
        assert author.get(path).status_code == 404, path
    for path in (
        f"{base}/questions/nope/delete",
        f"{base}/lessons/nope/delete",
        f"{base}/outcomes/nope/delete",
    ):
        assert author.post(path).status_code == 404, path


def test_web_edits_and_file_imports_give_the_same_version(app, author, full_module, tmp_path):
    """Saving a lesson unchanged through the page changes nothing, and the stored content is
    exactly what reading its export gives."""
    fields = {"title-en": "Keywords", "title-ru": "Ключевые слова", "submit": "y"}
    package = module_state(app, full_module)["package"]
    fields.update({f"body-{code}": text for code, text in package.lessons[0].body.items()})
    response = author.post(
        f"{AUTHOR}/{full_module}/lessons/keywords", fields, content_type="multipart/form-data"
    )
    assert response.status_code == 302
    assert module_state(app, full_module)["version"] == 1
    with app.app_context():
        module = editing.module_by_slug(full_module)
        folder = tmp_path / "again"
        services.export_module(full_module, folder)
        package, problems = check_package(folder / full_module)
        assert problems == [] and package.content_hash == module.current_version.content_hash
        count = db.session.scalar(
            select(func.count())
            .select_from(QuestionVersion)
            .join(Question, QuestionVersion.question_id == Question.id)
            .where(Question.bank_id == module.bank.id)
        )
        assert count == len(package.questions)
