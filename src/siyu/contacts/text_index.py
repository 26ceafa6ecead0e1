"""Free text inside contact names and masked phones, answered from a trigram index.

The answer is always what `name LIKE '%text%' OR phone_hint LIKE '%text%'` gives (on SQLite,
ASCII letters match in either case; on PostgreSQL, LIKE is case-sensitive); the index only
narrows which contacts the LIKE has to read (migration 0007).

- PostgreSQL: pg_trgm GIN indexes on both columns, which the planner uses for the LIKE itself.
- SQLite: an FTS5 trigram table. Text of three characters or more is a phrase of its
  trigrams. The index holds each value followed by two U+0001, so every character of a value
  starts a trigram: one or two characters are answered by the trigrams that start with them,
  listed from the index's terms. Text with more than SHORT_TERMS such trigrams, or found in
  COMMON contacts or more, is common: walking contacts newest first with the LIKE alone fills
  a page sooner than listing every contact the index holds for it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, column, false, func, or_, select, table, text
from sqlalchemy.orm import Session

from siyu.contacts.models import Contact

SHORT_TERMS = 200
COMMON = 10_000

_SEARCH = table("contact_name_search", column("rowid", Integer), column("contact_name_search"))
_TERMS = text(
    "SELECT term FROM contact_name_search_term WHERE term >= :low AND term < :high LIMIT :limit"
)


def containing(session: Session, needle: str) -> Any:
    """Contacts whose name or masked phone contains `needle` (not blank)."""
    like = or_(
        Contact.name.contains(needle, autoescape=True),
        Contact.phone_hint.contains(needle, autoescape=True),
    )
    if session.get_bind().dialect.name != "sqlite" or "\x00" in needle:
        return like
    if len(needle) >= 3:
        query = _phrase(needle)
    else:
        terms = _terms_starting(session, needle)
        if terms is None:
            return like
        if not terms:
            return false()
        query = " OR ".join(map(_phrase, terms))
    candidates = select(_SEARCH.c.rowid).where(_SEARCH.c.contact_name_search.match(query))
    some = select(func.count()).select_from(candidates.limit(COMMON).subquery())
    if session.execute(some).scalar_one() >= COMMON:
        return like
    return Contact.id.in_(candidates) & like


def _phrase(value: str) -> str:
    """An FTS5 string: every character literal, quotes doubled."""
    return '"' + value.replace('"', '""') + '"'


def _terms_starting(session: Session, needle: str) -> list[str] | None:
    """The indexed trigrams that start with `needle`, or None when there are too many or the
    needle's case folding is not known here."""
    # The index folds case as SQLite's Unicode tables do; only ASCII letters are sure to fold
    # as Python's lower() does, and LIKE folds nothing else anyway.
    if any(not c.isascii() and c.lower() + c.upper() != c + c for c in needle):
        return None
    low = needle.lower()
    following = ord(low[-1]) + 1
    if following == 0xD800:  # surrogates are no text: the next character is U+E000
        following = 0xE000
    if following > 0x10FFFF:
        return None
    terms = list(
        session.execute(
            _TERMS,
            {"low": low, "high": low[:-1] + chr(following), "limit": SHORT_TERMS + 1},
        ).scalars()
    )
    return None if len(terms) > SHORT_TERMS else terms
