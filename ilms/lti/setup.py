"""What an LMS administrator copies into Canvas or Moodle to register ILMS as an LTI 1.3 tool."""

from __future__ import annotations

import json
from typing import Any

from flask import url_for

from ilms.lti import claims as c


def tool_urls() -> dict[str, str]:
    launch = url_for("lti.launch", _external=True)
    return {
        "login": url_for("lti.login", _external=True),
        "launch": launch,
        "redirect": launch,
        "deep_linking": launch,
        "jwks": url_for("lti.jwks", _external=True),
    }


def canvas_configuration(title: str, description: str) -> dict[str, Any]:
    """A developer key's JSON configuration (Canvas: LTI Key, Method "Paste JSON")."""
    urls = tool_urls()
    selection = [
        {
            "placement": placement,
            "message_type": c.DEEP_LINKING_REQUEST,
            "target_link_uri": urls["deep_linking"],
            "text": title,
        }
        for placement in ("link_selection", "assignment_selection")
    ]
    return {
        "title": title,
        "description": description,
        "oidc_initiation_url": urls["login"],
        "target_link_uri": urls["launch"],
        "public_jwk_url": urls["jwks"],
        "scopes": list(c.ALL_SCOPES),
        "custom_fields": {"ilms_term": "$Canvas.term.name"},
        "extensions": [
            {
                "platform": "canvas.instructure.com",
                "privacy_level": "public",
                "settings": {"placements": selection},
            }
        ],
    }


def canvas_json(title: str, description: str) -> str:
    return json.dumps(canvas_configuration(title, description), indent=2, ensure_ascii=False)
