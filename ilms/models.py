"""Imports every domain's models so that the metadata (and migrations) know all tables."""

from ilms.accounts.models import AuditEvent, LoginSession, PasswordResetToken, User, UserRole
from ilms.authoring.models import (
    Asset,
    Lesson,
    Module,
    ModuleVersion,
    ModuleVersionQuestion,
    Question,
    QuestionBank,
    QuestionVersion,
)
from ilms.cohorts.models import Assignment, Cohort, CohortMember
from ilms.delivery.models import Attempt, FormAllocation, LessonProgress, Quiz, Response

__all__ = [
    "Asset",
    "Assignment",
    "Attempt",
    "AuditEvent",
    "Cohort",
    "CohortMember",
    "FormAllocation",
    "Lesson",
    "LessonProgress",
    "LoginSession",
    "Module",
    "ModuleVersion",
    "ModuleVersionQuestion",
    "PasswordResetToken",
    "Question",
    "QuestionBank",
    "QuestionVersion",
    "Quiz",
    "Response",
    "User",
    "UserRole",
]
