"""Sample questions of every type, in English, Russian and Kazakh, as parsed from bank.toml."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

LANGUAGES = ["en", "ru", "kk"]
TEMPLATES = Path(__file__).resolve().parents[2] / "ilms" / "templates"

Question = dict[str, Any]


def tr(en: str, ru: str, kk: str) -> dict[str, str]:
    return {"en": en, "ru": ru, "kk": kk}


def single_choice() -> Question:
    return {
        "id": "bool-1",
        "type": "single_choice",
        "outcome": "boolean",
        "text": tr(
            "Which search finds articles that mention **both** climate and migration?",
            "Какой запрос найдёт статьи, где есть **оба** слова: климат и миграция?",
            "Қай сұрау климат пен көші-қон сөздерінің **екеуі де** бар мақалаларды табады?",
        ),
        "feedback": {
            "correct": tr("Well done.", "Верно.", "Дұрыс."),
            "incorrect": tr("Not quite.", "Не совсем.", "Толық емес."),
        },
        "options": [
            {
                "id": "a",
                "correct": True,
                "text": tr("climate AND migration", "климат AND миграция", "климат AND көші-қон"),
                "feedback": tr(
                    "AND requires both.", "AND требует оба.", "AND екеуін де талап етеді."
                ),
            },
            {
                "id": "b",
                "correct": False,
                "text": tr("climate OR migration", "климат OR миграция", "климат OR көші-қон"),
                "feedback": tr("OR finds either.", "OR находит любое.", "OR кез келгенін табады."),
            },
            {
                "id": "c",
                "correct": False,
                "text": tr("climate NOT migration", "климат NOT миграция", "климат NOT көші-қон"),
                "feedback": tr("NOT excludes.", "NOT исключает.", "NOT алып тастайды."),
            },
        ],
    }


def multiple_response() -> Question:
    def option(option_id: str, correct: bool) -> dict[str, Any]:
        return {
            "id": option_id,
            "correct": correct,
            "text": tr(f"Source {option_id}", f"Источник {option_id}", f"Дереккөз {option_id}"),
            "feedback": tr(f"About {option_id}.", f"О {option_id}.", f"{option_id} туралы."),
        }

    return {
        "id": "mr-1",
        "type": "multiple_response",
        "outcome": "authority",
        "text": tr("Which are peer reviewed?", "Какие рецензируются?", "Қайсысы рецензияланады?"),
        "feedback": {
            "correct": tr("All found.", "Все найдены.", "Барлығы табылды."),
            "incorrect": tr("Look again.", "Посмотрите ещё раз.", "Қайта қараңыз."),
        },
        "options": [
            option("a", True),
            option("b", True),
            option("c", False),
            option("d", False),
            option("e", False),
        ],
    }


def true_false() -> Question:
    return {
        "id": "tf-1",
        "type": "true_false",
        "outcome": "value",
        "text": tr(
            "Citing a source gives credit to its author.",
            "Ссылка на источник отдаёт должное автору.",
            "Дереккөзге сілтеме жасау авторды құрметтейді.",
        ),
        "answer": True,
        "feedback": {
            "correct": tr("Yes.", "Да.", "Иә."),
            "incorrect": tr("Citation is credit.", "Ссылка и есть признание.", "Сілтеме — құрмет."),
        },
    }


def short_answer() -> Question:
    return {
        "id": "sa-1",
        "type": "short_answer",
        "outcome": "boolean",
        "points": 2,
        "text": tr(
            "What are AND, OR and NOT called?",
            "Как называются AND, OR и NOT?",
            "AND, OR және NOT қалай аталады?",
        ),
        "accepted": {
            "en": ["Boolean operators", "Boolean"],
            "ru": ["Булевы операторы", "Логические операторы", "Ключевой оператор"],
            "kk": ["Буль операторлары", "Логикалық операторлар"],
        },
        "pattern": r"boolean\s+(logic|search)",
    }


def numeric() -> Question:
    return {
        "id": "num-1",
        "type": "numeric",
        "outcome": "searching",
        "text": tr("How many?", "Сколько?", "Қанша?"),
        "answer": 0.3,
        "tolerance": 0.1,
        "unit": tr("km", "км", "км"),
    }


def numeric_range() -> Question:
    return {
        "id": "num-2",
        "type": "numeric",
        "outcome": "searching",
        "text": tr("Pick a year.", "Выберите год.", "Жылды таңдаңыз."),
        "min": 10,
        "max": 20,
    }


def matching() -> Question:
    return {
        "id": "match-1",
        "type": "matching",
        "outcome": "creation",
        "text": tr(
            "Match each source with its type.",
            "Сопоставьте источник и его тип.",
            "Әр дереккөзді түрімен сәйкестендіріңіз.",
        ),
        "pairs": [
            {
                "id": "p1",
                "left": tr("Nature", "Nature", "Nature"),
                "right": tr("Journal", "Журнал", "Журнал"),
            },
            {
                "id": "p2",
                "left": tr("The Guardian", "The Guardian", "The Guardian"),
                "right": tr("Newspaper", "Газета", "Газет"),
            },
            {
                "id": "p3",
                "left": tr("Britannica", "Британника", "Британника"),
                "right": tr("Encyclopedia", "Энциклопедия", "Энциклопедия"),
            },
        ],
        "distractors": [{"id": "d1", "right": tr("Blog", "Блог", "Блог")}],
    }


def ordering() -> Question:
    return {
        "id": "ord-1",
        "type": "ordering",
        "outcome": "inquiry",
        "text": tr("Order the steps.", "Упорядочите шаги.", "Қадамдарды ретке келтіріңіз."),
        "items": [
            {"id": "step-1", "text": tr("Ask", "Спросить", "Сұрау")},
            {"id": "step-2", "text": tr("Search", "Искать", "Іздеу")},
            {"id": "step-3", "text": tr("Evaluate", "Оценить", "Бағалау")},
            {"id": "step-4", "text": tr("Cite", "Цитировать", "Сілтеме жасау")},
        ],
    }


def cloze() -> Question:
    return {
        "id": "cloze-1",
        "type": "cloze",
        "outcome": "boolean",
        "text": tr(
            "Use [[1]] to narrow a search and [[2]] to broaden it.",
            "Чтобы расширить поиск, используйте [[2]], а чтобы сузить — [[1]].",
            "Іздеуді тарылту үшін [[1]], кеңейту үшін [[2]] қолданыңыз.",
        ),
        "blanks": [
            {"id": "1", "accepted": {"en": ["AND"], "ru": ["И", "AND"], "kk": ["ЖӘНЕ", "AND"]}},
            {
                "id": "2",
                "options": [
                    {"id": "or", "correct": True, "text": tr("OR", "OR", "OR")},
                    {"id": "not", "correct": False, "text": tr("NOT", "NOT", "NOT")},
                    {"id": "and", "correct": False, "text": tr("AND", "AND", "AND")},
                ],
            },
        ],
    }


def open_response() -> Question:
    return {
        "id": "essay-1",
        "type": "open_response",
        "outcome": "conversation",
        "text": tr(
            "Explain how a scholarly conversation develops.",
            "Объясните, как развивается научная дискуссия.",
            "Ғылыми пікірталас қалай дамитынын түсіндіріңіз.",
        ),
        "rubric": [
            {"id": "claim", "points": 2, "text": tr("A clear claim", "Ясный тезис", "Нақты тезис")},
            {
                "id": "evidence",
                "points": 3,
                "text": tr("Evidence", "Доказательства", "Дәлелдер"),
            },
        ],
    }


SAMPLES: dict[str, Callable[[], Question]] = {
    "single_choice": single_choice,
    "multiple_response": multiple_response,
    "true_false": true_false,
    "short_answer": short_answer,
    "numeric": numeric,
    "numeric_range": numeric_range,
    "matching": matching,
    "ordering": ordering,
    "cloze": cloze,
    "open_response": open_response,
}


def markdown_inline(text: str) -> Markup:
    """Stands in for the application's filter: escapes, and marks where Markdown was rendered."""
    return Markup('<span class="md">{}</span>').format(text)


@pytest.fixture(scope="session")
def jinja_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        extensions=["jinja2.ext.i18n"],
        autoescape=select_autoescape(["html"]),
    )
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    env.filters["markdown_inline"] = markdown_inline
    return env
