"""What each role may do, checked in the services so the API and the console cannot disagree.

admin: everything. operator: all customers, imports, campaigns. staff (导购): only the customers
they own, and on those only notes and tags. viewer: read only.
"""

from __future__ import annotations

from typing import Any

from siyu.contacts.models import Contact
from siyu.errors import Forbidden
from siyu.kit.actor import Actor

ACTIONS = {
    "admin": frozenset(
        {
            "read",
            "note",
            "tag",
            "edit",
            "create",
            "import",
            "segment",
            "reach",
            "export",
            "manage",
            "audit",
        }
    ),
    "operator": frozenset(
        {"read", "note", "tag", "edit", "create", "import", "segment", "reach", "export"}
    ),
    # Staff export their own customers only (siyu.exports); a viewer may look, not take away.
    "staff": frozenset({"read", "note", "tag", "export"}),
    "viewer": frozenset({"read"}),
}
VERBS = {
    "read": "read customers",
    "note": "add notes",
    "tag": "tag customers",
    "edit": "change customers",
    "create": "create customers",
    "import": "import files",
    "segment": "create or change segments",
    "reach": "send campaigns or change channels and journeys",
    "export": "export data",
    "manage": "manage staff and API keys",
    "audit": "read the audit log",
}


def allow(actor: Actor, action: str) -> None:
    if action not in ACTIONS.get(actor.role, frozenset()):
        raise Forbidden(f"the {actor.role} role may not {VERBS[action]}")


def owns_only(actor: Actor) -> bool:
    """Staff see only their own customers."""
    return actor.role == "staff"


def check_contact(actor: Actor, contact: Contact, action: str) -> None:
    allow(actor, action)
    if owns_only(actor) and contact.owner_id != actor.staff_id:
        raise Forbidden(f"contact {contact.id} is another staff member's customer")


def scope_contacts(query: Any, actor: Actor | None) -> Any:
    if actor is not None and owns_only(actor):
        return query.where(Contact.owner_id == actor.staff_id)
    return query
