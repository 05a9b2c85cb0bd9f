"""Imports every domain's models so that the metadata (and migrations) know all tables."""

from ilms.accounts.models import AuditEvent, LoginSession, PasswordResetToken, User, UserRole

__all__ = ["AuditEvent", "LoginSession", "PasswordResetToken", "User", "UserRole"]
