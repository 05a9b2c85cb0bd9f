"""The ``flask ilms`` commands of info sessions: ``import-sessions`` and ``send-reminders``."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from ilms.errors import DomainError
from ilms.extensions import db
from ilms.infosessions import importer, services


@click.command("import-sessions")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_sessions_command(path: Path) -> None:
    """Create the sessions of a schedule CSV file (all or none); prints the new sessions' ids."""
    schedule = importer.read_schedule(path.read_bytes())
    for error in schedule.errors:
        click.echo(f"{path.name}: {error}", err=True)
    if not schedule.ok:
        raise click.ClickException("nothing was imported")
    try:
        created = importer.import_schedule(schedule, None)
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    for session in created:
        click.echo(session.id)


@click.command("send-reminders")
@with_appcontext
def send_reminders_command() -> None:
    """Send due reminders, close rosters left open, thank attendees (the periodic job, now)."""
    result = services.run_periodic_pass()
    db.session.commit()
    click.echo(
        f"reminders sent: {result.reminders}; rosters closed: {result.rosters_closed}; "
        f"thank-you mails: {result.thank_yous}"
    )
