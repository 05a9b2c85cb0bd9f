"""Accounts: users, roles, log-in sessions, password resets and the audit log."""
