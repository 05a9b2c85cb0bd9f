"""Configuration defaults, overridden by ``ILMS_*`` environment variables.

Every setting has a default here; ``create_app`` reads the environment once, when the app is built,
never at import time.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any


class Defaults:
    """Settings for a development install. Production must override the marked ones."""

    ENV = (
        "development"  #: ``production`` turns on the start-up guard (see ``security.check_deploy``)
    )
    DEBUG = False
    TESTING = False
    SECRET_KEY: str | None = None  #: required and strong in production; generated in development
    DATABASE_URL: str | None = None  #: default: SQLite ``ilms.sqlite3`` in the instance folder
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLITE_BUSY_TIMEOUT_MS = 30_000

    # Sessions and cookies
    SESSION_COOKIE_NAME = "ilms_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False  #: must be true in production
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    #: The log-in's server-side record ends a lifetime after the log-in, whatever the cookie says:
    #: re-signing the cookie on every response would not extend it, only cost each request.
    SESSION_REFRESH_EACH_REQUEST = False
    REMEMBER_COOKIE_HTTPONLY = True
    WTF_CSRF_TIME_LIMIT = None  # tied to the session instead, which expires on its own
    WTF_CSRF_SSL_STRICT = True
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024

    # Importing question banks (docs/exchange.md): the largest upload, and for zip archives the
    # most they may unpack to and the most entries they may hold.
    EXCHANGE_MAX_UPLOAD_BYTES = 20 * 1024 * 1024
    EXCHANGE_MAX_UNZIPPED_BYTES = 100 * 1024 * 1024
    EXCHANGE_MAX_ENTRIES = 2000

    # Log-in throttling (``limits`` notation; storage ``memory://`` or ``redis://host:port``)
    RATELIMIT_STORAGE_URI = "memory://"
    LOGIN_LIMIT_PER_ACCOUNT = "5 per 15 minutes"
    LOGIN_LIMIT_PER_ADDRESS = "50 per 15 minutes"
    PROXY_FIX_X_FOR = 0  #: number of trusted proxies in front of the app

    # Framing: LMS origins allowed to embed ILMS (space-separated); none by default
    FRAME_ANCESTORS = ""

    # Accounts
    SIGNUP_ENABLED = False  #: students may create their own accounts
    PASSWORD_MIN_LENGTH = 10
    #: argon2id parameters: ``OWASP`` (19 MiB, t=2, p=1) or a profile name of ``argon2.profiles``
    #: such as ``RFC_9106_LOW_MEMORY`` (64 MiB, t=3, p=4; tests use ``CHEAPEST``). Hashes made
    #: with other parameters are rehashed at the next log-in.
    ARGON2_PROFILE = "OWASP"
    PASSWORD_RESET_MAX_AGE = timedelta(hours=1)

    # Reports: figures resting on fewer students than this are suppressed for faculty
    REPORT_MIN_N = 5
    REPORT_SYNC_MAX_STUDENTS = 500  #: a first report on more students is computed by a job
    REPORT_PDF_DIRECT_MAX_STUDENTS = 300  #: larger cohorts' PDFs are rendered by a job
    REPORT_REFRESH_MINUTES = 60  #: a report viewed this long after computing is recomputed

    # Languages and time
    LANGUAGES = ("en", "ru", "kk")
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "Asia/Almaty"
    LIBRARY_TIMEZONE = "Asia/Almaty"
    LIBRARY_NAME = "University Library"

    # Mail: ``console`` (logs the message), ``smtp``, or ``memory`` (kept in ``app.extensions``)
    MAIL_BACKEND = "console"
    MAIL_SERVER = "localhost"
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_DEFAULT_SENDER = "ILMS <no-reply@localhost>"
    MAIL_TIMEOUT = 10

    # Background jobs: ``sqlite`` (a file in the instance folder) or a ``redis://`` URL.
    QUEUE_URL = "sqlite"
    QUEUE_EMBEDDED = True  #: run the job worker inside the app process
    QUEUE_WORKERS = 2
    QUEUE_IMMEDIATE = False  #: run jobs at once in the caller (tests)

    # Information sessions
    INFO_SESSION_CHECK_IN_GRACE_MINUTES = 15  #: self check-in opens this early, closes this late
    INFO_SESSION_CANCEL_CUTOFF_HOURS = 2  #: a new session's cut-off for giving up a place
    INFO_SESSION_REMINDER_HOURS = 24  #: reminders go out this long before a session
    INFO_SESSION_ROSTER_CLOSE_HOURS = 24  #: after the end, the unmarked are recorded as no-shows
    INFO_SESSION_GUEST_LINK_HOURS = 48  #: a guest's email confirmation link expires after this
    INFO_SESSION_POST_TEST_DAYS = 14  #: a session's post-test stays open this long after it ends
    #: Terms of the academic year: (name, first month); the first term starts the year.
    ACADEMIC_TERMS = (("autumn", 9), ("spring", 1), ("summer", 6))
    PDF_FONT_DIR = "/usr/share/fonts/truetype/dejavu"  #: DejaVu Sans, which has every Kazakh letter

    # LTI 1.3 (embedding in an LMS; see docs/lti.md)
    LTI_HTTP_TIMEOUT_SECONDS = 10  #: for every call to a platform (keys, tokens, grades, roster)
    LTI_JWKS_CACHE_SECONDS = 600  #: platforms' public keys are refetched after this
    LTI_CLOCK_LEEWAY_SECONDS = 60  #: allowed clock difference for ``exp`` and ``iat``
    LTI_ID_TOKEN_MAX_AGE_SECONDS = 600  #: an id_token issued longer ago is refused
    LTI_STATE_SECONDS = 600  #: time from the LMS log-in request to the launch
    LTI_RESUME_SECONDS = 120  #: the "open in a new window" link works this long, once
    LTI_KEY_OVERLAP_DAYS = 7  #: a rotated-out key stays in the JWKS this long
    LTI_ASSIGNMENT_DAYS = 180  #: a module placed from the LMS closes after this (staff can change)
    LTI_GRADE_MAX_TRIES = 6  #: then a score is shown as failed, for a retry by hand
    LTI_GRADE_RETRY_SECONDS = 60  #: first retry delay, doubled at each further try

    # Base URL used in emails when no request is active
    BASE_URL = "http://127.0.0.1:5000"
    PREFERRED_URL_SCHEME = "http"


def overrides_for(config: dict[str, Any]) -> dict[str, Any]:
    """Settings derived from others once the environment has been read."""
    derived: dict[str, Any] = {}
    if config.get("ENV") == "production":
        derived["PREFERRED_URL_SCHEME"] = "https"
    return derived
