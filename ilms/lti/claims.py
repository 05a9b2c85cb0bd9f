"""The LTI 1.3 vocabulary ILMS reads and writes, and the pure mappings from it to ours."""

from __future__ import annotations

from collections.abc import Iterable

from ilms.cohorts.models import MemberRole

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
MESSAGE_TYPE = LTI + "message_type"
VERSION = LTI + "version"
DEPLOYMENT_ID = LTI + "deployment_id"
TARGET_LINK_URI = LTI + "target_link_uri"
RESOURCE_LINK = LTI + "resource_link"
ROLES = LTI + "roles"
CONTEXT = LTI + "context"
CUSTOM = LTI + "custom"
LAUNCH_PRESENTATION = LTI + "launch_presentation"
DEEP_LINKING_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
DL_CONTENT_ITEMS = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
DL_DATA = "https://purl.imsglobal.org/spec/lti-dl/claim/data"
AGS_ENDPOINT = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"

RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
DEEP_LINKING_RESPONSE = "LtiDeepLinkingResponse"
LTI_VERSION = "1.3.0"

SCOPE_LINEITEM = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
SCOPE_SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
SCOPE_RESULT = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly"
SCOPE_MEMBERSHIP = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
GRADE_SCOPES = (SCOPE_LINEITEM, SCOPE_SCORE)
ALL_SCOPES = (SCOPE_LINEITEM, SCOPE_RESULT, SCOPE_SCORE, SCOPE_MEMBERSHIP)

#: Custom parameters ILMS puts on the links it places (Deep Linking) and reads at launch.
CUSTOM_MODULE = "ilms_module"
CUSTOM_TARGET = "ilms_target"
#: The tag of the gradebook column ILMS creates for a link.
LINE_ITEM_TAG = "ilms-post-test"

_ROLE_BASE = "http://purl.imsglobal.org/vocab/lis/v2/"


def _role_names(roles: Iterable[str]) -> set[str]:
    """Role URIs reduced to comparable names: ``membership#Instructor`` -> ``Instructor``,
    ``membership/Instructor#TeachingAssistant`` -> ``TeachingAssistant``; institution and
    system roles keep a prefix so that an institution's Instructor is not a course's."""
    names = set()
    for role in roles:
        if not isinstance(role, str):
            continue
        path = role.removeprefix(_ROLE_BASE)
        kind, _, name = path.rpartition("#")
        if not name:
            continue
        if kind in ("", "membership") or kind.startswith("membership/"):
            names.add(name)
        elif name == "Administrator" and kind in ("institution/person", "system/person"):
            names.add("Administrator")
    return names


def member_role(roles: Iterable[str]) -> MemberRole | None:
    """Our cohort role for LTI roles: Instructor -> owner, TeachingAssistant and Administrator ->
    instructor (faculty without ownership), Learner -> student; None when none applies."""
    names = _role_names(roles)
    if "TeachingAssistant" in names:
        return MemberRole.INSTRUCTOR
    if "Instructor" in names:
        return MemberRole.OWNER
    if "Administrator" in names:
        return MemberRole.INSTRUCTOR
    if "Learner" in names:
        return MemberRole.STUDENT
    return None


def interface_language(locale: object, languages: Iterable[str]) -> str | None:
    """The interface language for an LMS locale (``ru-RU`` -> ``ru``), if ILMS has it."""
    if not isinstance(locale, str):
        return None
    code = locale.strip().replace("_", "-").split("-")[0].lower()
    return code if code in set(languages) else None
