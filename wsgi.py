"""WSGI entry point: ``gunicorn wsgi:app``."""

from ilms import create_app

app = create_app()
