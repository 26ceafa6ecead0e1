"""Words of the campaign pages: states, rules, message parts, and the check's findings in the
operator's language.

The check (engage.campaigns.check) reports in English sentences naming a variant and a part;
the common ones are matched here and said again from a translatable pattern. Anything not
matched (a template's syntax error) is shown as the service wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from siyu.console.labels import N_

STATES = {
    "draft": N_("Draft"),
    "scheduled": N_("Scheduled"),
    "running": N_("Sending"),
    "paused": N_("Paused"),
    "cancelled": N_("Cancelled"),
    "done": N_("Done"),
}
STATE_BADGES = {
    "draft": "",
    "scheduled": "badge-warn",
    "running": "badge-on",
    "paused": "badge-warn",
    "cancelled": "badge-off",
    "done": "badge-on",
}
CATEGORIES = {"marketing": N_("Marketing"), "transactional": N_("Transactional")}
# Why a message was not sent (engage_message.rule).
RULES = {
    "no_consent": N_("No consent"),
    "suppressed_address": N_("On the suppression list"),
    "no_address": N_("No address"),
    "no_contact": N_("Customer gone"),
    "frequency_cap": N_("Frequency cap"),
    "other": N_("Other"),
}
PARTS = {"body": N_("body"), "subject": N_("subject")}

_WHERE = r"variant (?P<variant>[^:,]+)"
_PATTERNS: list[tuple[re.Pattern[str], str | None]] = [
    (re.compile(r"the channel ['\"](?P<name>.*)['\"] is switched off$"),
     N_("The channel %(name)s is switched off.")),
    (re.compile(r"nobody is in the audience now$"), N_("Nobody is in the audience now.")),
    (re.compile(_WHERE + r": an email needs a subject$"),
     N_("Variant %(variant)s: an e-mail needs a subject.")),
    (re.compile(_WHERE + r": (?P<kind>\S+) sends provider-approved templates; give the template"),
     N_("Variant %(variant)s: %(kind)s sends provider-approved templates; give the template "
        "code.")),
    (re.compile(_WHERE + r": the body is empty$"), N_("Variant %(variant)s: the body is empty.")),
    (re.compile(_WHERE + r": a marketing email must carry an unsubscribe link"),
     N_("Variant %(variant)s: a marketing e-mail must carry an unsubscribe link; add "
        "{{ unsubscribe_url }} to the body.")),
    (re.compile(_WHERE + r": the body is longer than (?P<length>\d+) characters$"),
     N_("Variant %(variant)s: the body is longer than %(length)s characters.")),
    (re.compile(_WHERE + r", (?P<part>[^:]+): \{\{ (?P<path>\S+) \}\} is nothing a contact has$"),
     N_("Variant %(variant)s, %(part)s: {{ %(path)s }} is nothing a customer has.")),
    # One per missing variable; the table of missing variables says it better.
    (re.compile(_WHERE + r", [^:]+: \d+ recipients have no "), None),
]  # fmt: skip


def findings(messages: list[str], gettext: Callable[..., str]) -> list[str]:
    said = []
    for message in messages:
        for pattern, msgid in _PATTERNS:
            match = pattern.match(message)
            if match:
                if msgid is not None:
                    values = match.groupdict()
                    if "part" in values:
                        values["part"] = part(values["part"], gettext)
                    said.append(gettext(msgid, **values))
                break
        else:
            said.append(message)
    return said


def rule(code: str, gettext: Callable[..., str]) -> str:
    """frequency_cap:sms is the cap of one kind of channel."""
    name, _, scope = code.partition(":")
    said = gettext(RULES[name]) if name in RULES else code
    return f"{said} ({scope})" if scope else said


def part(name: str, gettext: Callable[..., str]) -> str:
    return gettext(PARTS[name]) if name in PARTS else name
