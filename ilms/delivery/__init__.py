"""Delivery: quizzes, attempts and responses, lesson progress, grading."""
