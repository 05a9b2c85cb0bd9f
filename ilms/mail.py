"""Sending email: rendered in the recipient's language and sent from the job queue."""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app, render_template
from flask_babel import force_locale

from ilms.jobs import enqueue, job

log = logging.getLogger("ilms.mail")


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


def render_mail(template: str, locale: str | None, to: str, **context: object) -> Mail:
    """Render ``templates/mail/<template>.txt`` whose first line is ``Subject: ...``."""
    with force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        text = render_template(f"mail/{template}.txt", **context)
    first, _, body = text.partition("\n")
    subject = first.removeprefix("Subject:").strip()
    return Mail(to=to, subject=subject, body=body.lstrip("\n"))


def send_mail(mail: Mail) -> None:
    """Queue ``mail``; the web request never waits on a mail server."""
    enqueue(deliver, mail.to, mail.subject, mail.body)


@job(retries=5, retry_delay=60)
def deliver(to: str, subject: str, body: str) -> None:
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_DEFAULT_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="ilms")
    message.set_content(body)
    backend = config["MAIL_BACKEND"]
    if backend == "memory":
        current_app.extensions.setdefault("ilms_outbox", []).append(message)
    elif backend == "smtp":
        _send_smtp(message)
    else:
        log.info("Mail to %s\nSubject: %s\n\n%s", to, subject, body)


def _send_smtp(message: EmailMessage) -> None:
    config = current_app.config
    context = ssl.create_default_context()
    smtp_class = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
    kwargs = {"context": context} if config["MAIL_USE_SSL"] else {}
    with smtp_class(
        config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"], **kwargs
    ) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls(context=context)
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(message)
