"""``flask ilms lti ...``: registering LMS platforms and rotating the tool's signing key."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ilms.errors import DomainError
from ilms.extensions import db

lti_cli = AppGroup("lti", help="LTI 1.3: LMS platforms and the tool's signing keys.")


@lti_cli.command("add-platform")
@click.option("--issuer", required=True, help="The platform's issuer (Moodle: Platform ID).")
@click.option("--client-id", required=True, help="The client id the platform gave ILMS.")
@click.option(
    "--deployment-id",
    "deployment_ids",
    multiple=True,
    help="A deployment id of ILMS in the platform; repeat for several.",
)
@click.option("--auth-login-url", required=True, help="The OIDC authentication request URL.")
@click.option("--token-url", required=True, help="The OAuth 2 access token URL.")
@click.option("--jwks-url", required=True, help="The platform's public keyset URL.")
@click.option("--name", default="", help="The name shown in ILMS (default: the issuer's host).")
@click.option("--token-audience", default="", help="Only if the platform asks for one.")
@click.option(
    "--frame-origin",
    "frame_origins",
    multiple=True,
    help="A web origin that shows ILMS in a frame (default: the issuer's); repeat for several.",
)
def add_platform_command(
    issuer: str,
    client_id: str,
    deployment_ids: tuple[str, ...],
    auth_login_url: str,
    token_url: str,
    jwks_url: str,
    name: str,
    token_audience: str,
    frame_origins: tuple[str, ...],
) -> None:
    """Register an LMS platform (and its deployments)."""
    from ilms.lti import platforms

    details = platforms.PlatformDetails(
        name=name,
        issuer=issuer,
        client_id=client_id,
        auth_login_url=auth_login_url,
        token_url=token_url,
        jwks_url=jwks_url,
        token_audience=token_audience,
        frame_origins=" ".join(frame_origins),
    )
    try:
        platform = platforms.add_platform(details, list(deployment_ids), actor=None)
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(
        f"registered platform {platform.id} {platform.name} ({platform.issuer}, client id "
        f"{platform.client_id}, deployments: {', '.join(platform.deployment_ids) or 'none'})"
    )


@lti_cli.command("rotate-key")
def rotate_key_command() -> None:
    """Make a new signing key; the previous one stays in the JWKS for LTI_KEY_OVERLAP_DAYS."""
    from ilms.lti import platforms

    key = platforms.rotate_key(actor=None)
    db.session.commit()
    click.echo(f"new signing key {key.kid}")
