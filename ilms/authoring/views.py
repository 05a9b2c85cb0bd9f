"""Module pages for librarians (the authoring pages under /author), and the modules API."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import Form
from wtforms.fields.choices import SelectChoice

from ilms.authoring import editing, queries
from ilms.authoring import package as pkg
from ilms.authoring.editing import InvalidEdit, LessonImage
from ilms.authoring.forms import (
    AssessmentForm,
    ButtonForm,
    DuplicateForm,
    ModuleCreateForm,
    ModuleSettingsForm,
    TestsForm,
    base_version,
    clean,
    lesson_form,
    number,
    outcome_form,
    shown_number,
    texts,
)
from ilms.authoring.models import Module
from ilms.authoring.problems import (
    PageProblems,
    edit_problems,
    entry_at,
    first_input,
    form_problems,
)
from ilms.authoring.question_forms import (
    ListAction,
    QuestionForm,
    data_from_question,
    new_question_data,
    question_form,
    question_from_data,
)
from ilms.authoring.services import ImportResult
from ilms.errors import DomainError, NotFound
from ilms.extensions import db, login_manager
from ilms.markdown import render_inline, render_markdown
from ilms.permissions import Role
from ilms.questions.types import REGISTRY, InvalidAnswer, get_type

api_bp = Blueprint("modules_api", __name__, url_prefix="/api/v1")
author_bp = Blueprint("authoring", __name__, url_prefix="/author")

Page = str | tuple[str, int] | Response


@api_bp.get("/modules")
@login_required
def list_modules() -> Response:
    return jsonify(modules=queries.modules_listing(current_user))


@author_bp.before_request
def librarians_only() -> Response | None:
    # Every authoring page, now and later, is for librarians and administrators only.
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.has_any_role(Role.LIBRARIAN, Role.ADMIN):
        abort(403)
    return None


# --- Helpers ---------------------------------------------------------------------------------


def _shown(template: str, problems: PageProblems, **context: Any) -> tuple[str, int]:
    """A page, with status 400 when it shows the problems of a refused request."""
    return render_template(template, problems=problems, **context), 400 if problems else 200


def _refused(
    form: Form, error: DomainError, aliases: Mapping[str, str] | None = None
) -> PageProblems:
    db.session.rollback()
    if isinstance(error, NotFound):
        raise error
    return edit_problems(form, error, aliases)


def _saved(result: ImportResult) -> None:
    db.session.commit()
    if result.status == "unchanged":
        flash(_("Nothing has changed, so nothing was saved."), "info")
    else:
        flash(
            _("Saved: the module is now at version %(number)d.", number=result.version), "success"
        )


def _text_language(package: pkg.ModulePackage) -> str:
    """The language to show a module's texts in: the interface's, if the module has it."""
    locale = str(get_locale())
    return locale if locale in package.languages else "en"


def _fill(form: Form, module: Module, data: Mapping[str, Any]) -> None:
    """Fill a form from saved data, with the version the edit starts from."""
    assert module.current_version is not None
    form.process(data={"base": module.current_version.number, **data})


def _button() -> None:
    if not ButtonForm().validate_on_submit():
        abort(400)


def _module_texts(form: ModuleCreateForm | ModuleSettingsForm) -> dict[str, Any]:
    languages = list(form.languages.data or [])
    return {
        "languages": languages,
        "audience": form.audience.data or "",
        "estimated_minutes": number(form.estimated_minutes.data),
        "title": _declared(form.title.data, languages),
        "summary": _declared(form.summary.data, languages),
    }


def _declared(data: Mapping[str, str | None], languages: list[str]) -> dict[str, str]:
    # The form offers every language; texts left empty in undeclared ones are not the module's.
    every = texts(data, pkg.SUPPORTED_LANGUAGES)
    return {code: text for code, text in every.items() if code in languages or text}


# --- Modules ---------------------------------------------------------------------------------


@author_bp.get("/modules")
def modules() -> str:
    return render_template(
        "authoring/modules.html", rows=queries.authoring_listing(current_user), button=ButtonForm()
    )


@author_bp.route("/new-module", methods=["GET", "POST"])
def module_new() -> Page:
    form = ModuleCreateForm()
    problems = PageProblems()
    if request.method == "GET":
        form.languages.data = ["en"]
    if form.validate_on_submit():
        try:
            module = editing.create_module(
                current_user, slug=form.slug.data or "", **_module_texts(form)
            )
        except DomainError as error:
            problems = _refused(form, error)
        else:
            db.session.commit()
            flash(_("The module has been created as a draft."), "success")
            return redirect(url_for(".module", slug=module.slug))
    elif form.is_submitted():
        problems = form_problems(form)
    return _shown("authoring/module_new.html", problems, form=form)


def _overview(module: Module) -> dict[str, Any]:
    version = module.current_version
    assert version is not None
    package = editing.current_package(module)
    question_versions = version.question_versions
    answered = queries.answered_versions([qv.id for qv in question_versions])
    questions = [
        {
            "data": qv.data,
            "label": REGISTRY[qv.type].label,
            "points": qv.points,
            "number": qv.number,
            "answered": qv.id in answered,
        }
        for qv in question_versions
    ]
    return {
        "module": module,
        "version": version,
        "package": package,
        "lang": _text_language(package),
        "questions": questions,
        "types": REGISTRY,
        "frame_name": pkg.frame_name,
        "blockers": editing.blockers(module),
        "cohorts": queries.cohorts_using([module.id]).get(module.id, []),
        "button": ButtonForm(),
    }


@author_bp.get("/modules/<slug>")
def module(slug: str) -> str:
    return render_template(
        "authoring/module.html", problems=PageProblems(), **_overview(editing.module_by_slug(slug))
    )


@author_bp.post("/modules/<slug>/publish")
def publish(slug: str) -> Page:
    module = editing.module_by_slug(slug)
    _button()
    try:
        editing.publish(module)
    except InvalidEdit as error:
        db.session.rollback()
        problems = PageProblems()
        for issue in error.issues:
            problems.add(issue.message)
        return _shown("authoring/module.html", problems, **_overview(module))
    db.session.commit()
    flash(_("The module is published: students of the cohorts that use it can see it."), "success")
    return redirect(url_for(".module", slug=slug))


@author_bp.post("/modules/<slug>/unpublish")
def unpublish(slug: str) -> Response:
    module = editing.module_by_slug(slug)
    _button()
    editing.unpublish(module)
    db.session.commit()
    flash(_("The module is a draft again: students cannot see it."), "success")
    return redirect(url_for(".module", slug=slug))


@author_bp.route("/modules/<slug>/duplicate", methods=["GET", "POST"])
def duplicate(slug: str) -> Page:
    module = editing.module_by_slug(slug)
    form = DuplicateForm()
    problems = PageProblems()
    if request.method == "GET":
        form.slug.data = f"{slug}-copy"
    if form.validate_on_submit():
        try:
            copy = editing.duplicate_module(module, current_user, form.slug.data or "")
        except DomainError as error:
            problems = _refused(form, error)
        else:
            db.session.commit()
            flash(_("The copy has been created as a draft."), "success")
            return redirect(url_for(".module", slug=copy.slug))
    elif form.is_submitted():
        problems = form_problems(form)
    return _shown("authoring/duplicate.html", problems, form=form, module=module)


@author_bp.get("/modules/<slug>/export")
def export(slug: str) -> Response:
    module = editing.module_by_slug(slug)
    try:
        data = editing.export_zip(module)
    except InvalidEdit as error:
        flash(
            _(
                "The module cannot be exported until it is complete: %(problems)s",
                problems=" ".join(issue.message for issue in error.issues),
            ),
            "error",
        )
        return redirect(url_for(".module", slug=slug))
    return send_file(
        io.BytesIO(data),
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"{module.slug}.zip",
    )


@author_bp.route("/modules/<slug>/settings", methods=["GET", "POST"])
def settings(slug: str) -> Page:
    module = editing.module_by_slug(slug)
    form = ModuleSettingsForm()
    problems = PageProblems()
    if request.method == "GET":
        package = editing.current_package(module)
        data = {
            "version": shown_number(package.version),
            "languages": list(package.languages),
            "audience": package.audience,
            "estimated_minutes": shown_number(package.estimated_minutes),
            "title": package.title,
            "summary": package.summary,
        }
        _fill(form, module, data)
    if form.validate_on_submit():
        try:
            result = editing.update_settings(
                module,
                current_user,
                base_version(form.base),
                version=number(form.version.data),
                **_module_texts(form),
            )
        except DomainError as error:
            problems = _refused(form, error)
        else:
            _saved(result)
            return redirect(url_for(".module", slug=slug))
    elif form.is_submitted():
        problems = form_problems(form)
    return _shown("authoring/settings.html", problems, form=form, module=module)


# --- Outcomes --------------------------------------------------------------------------------


@author_bp.route("/modules/<slug>/outcomes/", methods=["GET", "POST"])
def outcome_new(slug: str) -> Page:
    return _outcome_page(editing.module_by_slug(slug), None)


@author_bp.route("/modules/<slug>/outcomes/<outcome_id>", methods=["GET", "POST"])
def outcome_edit(slug: str, outcome_id: str) -> Page:
    return _outcome_page(editing.module_by_slug(slug), outcome_id)


def _outcome_page(module: Module, outcome_id: str | None) -> Page:
    package = editing.current_package(module)
    outcome = package.outcome(outcome_id) if outcome_id else None
    if outcome_id and outcome is None:
        abort(404)
    form = outcome_form(package.languages)()
    problems = PageProblems()
    if request.method == "GET":
        _fill(form, module, {"frame": outcome.frame, "text": outcome.text} if outcome else {})
    if form.validate_on_submit():
        try:
            result = editing.save_outcome(
                module,
                current_user,
                base_version(form.base),
                outcome_id,
                new_id=form.outcome_id.data or "",
                frame=form.frame.data or "",
                text=texts(form.text.data, package.languages),
            )
        except DomainError as error:
            problems = _refused(form, error, {"id": "outcome_id"})
        else:
            _saved(result)
            return redirect(url_for(".module", slug=module.slug, _anchor="outcomes"))
    elif form.is_submitted():
        problems = form_problems(form)
    return _shown(
        "authoring/outcome.html",
        problems,
        form=form,
        module=module,
        outcome=outcome,
        package=package,
    )


@author_bp.post("/modules/<slug>/outcomes/<outcome_id>/delete")
def outcome_delete(slug: str, outcome_id: str) -> Response:
    module = editing.module_by_slug(slug)
    _button()
    return _button_change(module, lambda: editing.delete_outcome(module, current_user, outcome_id))


def _button_change(
    module: Module, change: Callable[[], ImportResult], endpoint: str = ".module"
) -> Response:
    """Make the change of a button (delete, move); a refusal is told in a message."""
    try:
        result = change()
    except DomainError as error:
        db.session.rollback()
        if isinstance(error, NotFound):
            raise
        issues = error.issues if isinstance(error, InvalidEdit) else []
        details = " ".join(issue.message for issue in issues) or error.message
        flash(_("That change was not saved: %(details)s", details=details), "error")
    else:
        _saved(result)
    return redirect(url_for(endpoint, slug=module.slug))


# --- Lessons ---------------------------------------------------------------------------------


@author_bp.route("/modules/<slug>/lessons/", methods=["GET", "POST"])
def lesson_new(slug: str) -> Page:
    return _lesson_page(editing.module_by_slug(slug), None)


@author_bp.route("/modules/<slug>/lessons/<key>", methods=["GET", "POST"])
def lesson_edit(slug: str, key: str) -> Page:
    return _lesson_page(editing.module_by_slug(slug), key)


def _lesson_page(module: Module, key: str | None) -> Page:
    package = editing.current_package(module)
    lesson = next((item for item in package.lessons if item.id == key), None)
    if key and lesson is None:
        abort(404)
    form = lesson_form(package.languages)()
    problems = PageProblems()
    if request.method == "GET":
        _fill(form, module, {"title": lesson.title, "body": lesson.body} if lesson else {})
    elif form.is_submitted():
        sent = _lesson_sent(module, key, form, package)
        if isinstance(sent, Response):
            return sent
        problems = sent
    previews = {
        code: render_markdown(form.body.form[code].data or "", shift_headings=1)
        for code in package.languages
    }
    return _shown(
        "authoring/lesson.html",
        problems,
        form=form,
        module=module,
        lesson=lesson,
        package=package,
        previews=previews,
        image_limit=editing.IMAGE_MAX_BYTES // (1024 * 1024),
    )


def _lesson_sent(
    module: Module, key: str | None, form: Any, package: pkg.ModulePackage
) -> Response | PageProblems:
    """Save the lesson, or only show its preview (the Preview button saves nothing)."""
    if not form.validate_on_submit():
        return form_problems(form)
    if form.preview.data:
        return PageProblems()
    if not form.check_alt():
        return form_problems(form)
    try:
        result, saved_key = editing.save_lesson(
            module,
            current_user,
            base_version(form.base),
            key,
            title=texts(form.title.data, package.languages),
            body={code: form.body.form[code].data or "" for code in package.languages},
            image=_uploaded_image(form),
        )
    except DomainError as error:
        return _refused(form, error)
    _saved(result)
    return redirect(url_for(".lesson_edit", slug=module.slug, key=saved_key))


def _uploaded_image(form: Any) -> LessonImage | None:
    upload = form.image.data
    if not upload:
        return None
    data = upload.stream.read(editing.IMAGE_MAX_BYTES + 1)
    alt = {field.short_name: clean(field.data) for field in form.alt.form}
    return LessonImage(upload.filename or "image", data, alt)


@author_bp.post("/modules/<slug>/lessons/<key>/move/<direction>")
def lesson_move(slug: str, key: str, direction: str) -> Response:
    module = editing.module_by_slug(slug)
    offsets = {"up": -1, "down": 1}
    if direction not in offsets:
        abort(404)
    _button()
    return _button_change(
        module, lambda: editing.move_lesson(module, current_user, key, offsets[direction])
    )


@author_bp.post("/modules/<slug>/lessons/<key>/delete")
def lesson_delete(slug: str, key: str) -> Response:
    module = editing.module_by_slug(slug)
    _button()
    return _button_change(module, lambda: editing.delete_lesson(module, current_user, key))


@author_bp.get("/modules/<slug>/lessons/images/<name>")
def lesson_image(slug: str, name: str) -> Response:
    asset = editing.lesson_image(editing.module_by_slug(slug), name)
    return send_file(io.BytesIO(asset.data), mimetype=asset.content_type, etag=asset.sha256)


@author_bp.post("/preview")
def preview() -> Response:
    """Markdown as a lesson shows it, sanitised: the live preview of the lesson editor."""
    body = request.get_json(silent=True)
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str):
        raise DomainError(_('Send a JSON object with the Markdown in "text".'))
    if len(text) > editing.PREVIEW_LIMIT:
        raise DomainError(_("The text is too long to preview."))
    return jsonify(html=str(render_markdown(text, shift_headings=1)))


# --- Questions -------------------------------------------------------------------------------


@author_bp.route("/modules/<slug>/questions/", methods=["GET", "POST"])
def question_new(slug: str) -> Page:
    type_name = request.args.get("type", "")
    if type_name not in REGISTRY:
        abort(404)
    return _question_page(editing.module_by_slug(slug), None, type_name)


@author_bp.route("/modules/<slug>/questions/<key>", methods=["GET", "POST"])
def question_edit(slug: str, key: str) -> Page:
    module = editing.module_by_slug(slug)
    return _question_page(module, key, editing.bank_question(module, key)["type"])


def _question_page(module: Module, key: str | None, type_name: str) -> Page:
    package = editing.current_package(module)
    form_class = question_form(type_name, package.languages)
    form = form_class()
    problems = PageProblems()
    if request.method == "GET":
        data = (
            data_from_question(package.question(key) or {}) if key else new_question_data(type_name)
        )
        _fill(form, module, data)
    if form.validate_on_submit():
        if "action" in request.form:
            form, problems = _list_button(form_class, form, package)
        else:
            question = question_from_data(type_name, form.data, package.languages)
            try:
                result, saved_key = editing.save_question(
                    module, current_user, base_version(form.base), key, question
                )
            except DomainError as error:
                problems = _refused(form, error, {"id": "key"})
            else:
                _saved(result)
                return redirect(url_for(".question_edit", slug=module.slug, key=saved_key))
    elif form.is_submitted():
        problems = form_problems(form)
    _outcome_choices(form, package)
    return _shown(
        "authoring/question.html",
        problems,
        form=form,
        module=module,
        package=package,
        key=key,
        type_name=type_name,
        type_label=REGISTRY[type_name].label,
        answered=key is not None and _answered(module, key),
    )


def _list_button(
    form_class: type[QuestionForm], form: QuestionForm, package: pkg.ModulePackage
) -> tuple[QuestionForm, PageProblems]:
    """Add, remove or move an entry of one of the question's lists, keeping everything typed."""
    action = ListAction.parse(request.form["action"])
    data = form.data
    focus = action.apply(data) if action else None
    if action is None or focus is None:
        abort(400)
    changed = form_class(formdata=None, data=data)
    target = entry_at(changed, focus)
    if action.verb == "remove" or target is None:
        focus_id = "add-" + "-".join(str(part) for part in focus)
    else:
        focus_id = first_input(target) or ""
    return changed, PageProblems(focus=focus_id)


def _outcome_choices(form: QuestionForm, package: pkg.ModulePackage) -> None:
    lang = _text_language(package)
    form.outcome.choices = [
        SelectChoice(
            outcome.id, f"{outcome.id}: {outcome.text.get(lang) or outcome.text.get('en', '')}"
        )
        for outcome in package.outcomes
    ]


def _answered(module: Module, key: str) -> bool:
    version = module.current_version
    assert version is not None
    ids = [qv.id for qv in version.question_versions if qv.data.get("id") == key]
    return bool(queries.answered_versions(ids))


@author_bp.post("/modules/<slug>/questions/<key>/delete")
def question_delete(slug: str, key: str) -> Response:
    module = editing.module_by_slug(slug)
    _button()
    return _button_change(module, lambda: editing.delete_question(module, current_user, key))


@author_bp.route("/modules/<slug>/questions/<key>/preview", methods=["GET", "POST"])
def question_preview(slug: str, key: str) -> Page:
    """The question as a student sees it; an answer sent is graded and its feedback shown."""
    module = editing.module_by_slug(slug)
    question = editing.bank_question(module, key)
    package = editing.current_package(module)
    lang = request.args.get("lang", "")
    lang = lang if lang in package.languages else _text_language(package)
    qtype = get_type(question["type"])
    problems = PageProblems()
    answer, result = None, None
    if ButtonForm().validate_on_submit():
        try:
            raw = qtype.answer_from_form(question, request.form)
            answer = qtype.normalise_answer(question, raw)
            score = qtype.grade(question, raw)
        except InvalidAnswer as error:
            problems.add(error.message)
        else:
            result = {
                "score": score,
                "feedback": [
                    render_inline(text) for text in qtype.feedback(question, answer, score, lang)
                ],
                "key": qtype.correct_answer_text(question, lang),
            }
    return render_template(
        "authoring/question_preview.html",
        problems=problems,
        module=module,
        package=package,
        key=key,
        lang=lang,
        question=qtype.render_context(question, lang, answer=answer),
        result=result,
        button=ButtonForm(),
    )


# --- Forms and tests -------------------------------------------------------------------------


@author_bp.route("/modules/<slug>/tests", methods=["GET", "POST"])
def tests(slug: str) -> Page:
    module = editing.module_by_slug(slug)
    package = editing.current_package(module)
    form = TestsForm()
    choices = [SelectChoice(form_id) for form_id in package.forms]
    form.pre.choices = form.post.choices = choices
    problems = PageProblems()
    if request.method == "GET":
        _fill(form, module, package.tests)
    if form.validate_on_submit():
        try:
            result = editing.save_tests(
                module,
                current_user,
                base_version(form.base),
                form.pre.data or "",
                form.post.data or "",
            )
        except DomainError as error:
            problems = _refused(form, error)
        else:
            _saved(result)
            return redirect(url_for(".tests", slug=slug))
    elif form.is_submitted():
        problems = form_problems(form)
    return _shown(
        "authoring/tests.html",
        problems,
        form=form,
        module=module,
        package=package,
        button=ButtonForm(),
    )


@author_bp.route("/modules/<slug>/forms/", methods=["GET", "POST"])
def form_new(slug: str) -> Page:
    return _assessment_page(editing.module_by_slug(slug), None)


@author_bp.route("/modules/<slug>/forms/<form_id>", methods=["GET", "POST"])
def form_edit(slug: str, form_id: str) -> Page:
    return _assessment_page(editing.module_by_slug(slug), form_id)


def _assessment_page(module: Module, form_id: str | None) -> Page:
    package = editing.current_package(module)
    existing = package.forms.get(form_id) if form_id else None
    if form_id and existing is None:
        abort(404)
    form = AssessmentForm()
    _assessment_choices(form, package, form_id)
    problems = PageProblems()
    if request.method == "GET":
        _fill(form, module, _assessment_data(existing))
        _assessment_choices(form, package, form_id)
    if form.validate_on_submit():
        rule = form.kind.data == "rule"
        try:
            result = editing.save_form(
                module,
                current_user,
                base_version(form.base),
                form_id,
                new_id=form.form_id.data or "",
                items=None if rule else _ordered_items(existing, form.items.data or [], package),
                per_outcome=number(form.per_outcome.data) if rule else None,
                exclude_form=form.exclude_form.data or None,
            )
        except DomainError as error:
            problems = _refused(form, error)
        else:
            _saved(result)
            return redirect(url_for(".tests", slug=module.slug))
    elif form.is_submitted():
        problems = form_problems(form)
    return _shown(
        "authoring/form.html", problems, form=form, module=module, form_id=form_id, package=package
    )


def _assessment_data(existing: pkg.Form | None) -> dict[str, Any]:
    if existing is None:
        return {"kind": "items"}
    return {
        "kind": "rule" if existing.is_rule else "items",
        "items": list(existing.items),
        "per_outcome": shown_number(existing.per_outcome),
        "exclude_form": existing.exclude_form or "",
    }


def _assessment_choices(
    form: AssessmentForm, package: pkg.ModulePackage, form_id: str | None
) -> None:
    lang = _text_language(package)
    form.items.choices = [
        SelectChoice(str(q["id"]), f"{q['id']}: {q['text'].get(lang) or q['text'].get('en', '')}")
        for q in package.questions
    ]
    others = [SelectChoice(other) for other in package.forms if other != form_id]
    form.exclude_form.choices = [SelectChoice("", _("No form")), *others]


def _ordered_items(
    existing: pkg.Form | None, chosen: list[str], package: pkg.ModulePackage
) -> list[str]:
    """The chosen questions: those already in the form keep their order, new ones follow in
    the order of the bank; ids that are not in the bank stay, for the reader to report."""
    kept = [item for item in (existing.items if existing else ()) if item in chosen]
    bank = [str(q["id"]) for q in package.questions]
    added = sorted(
        set(chosen) - set(kept),
        key=lambda item: (item not in bank, bank.index(item) if item in bank else 0, item),
    )
    return kept + added


@author_bp.post("/modules/<slug>/forms/<form_id>/delete")
def form_delete(slug: str, form_id: str) -> Response:
    module = editing.module_by_slug(slug)
    _button()
    return _button_change(
        module, lambda: editing.delete_form(module, current_user, form_id), ".tests"
    )
