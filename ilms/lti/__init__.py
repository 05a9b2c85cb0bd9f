"""Embedding in an LMS: an LTI 1.3 Advantage tool (launch, deep linking, grade return, roster)."""
