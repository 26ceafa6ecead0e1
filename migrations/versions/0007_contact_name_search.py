"""contact name search

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

Searching the customer list for a name or masked phone that is not an identity was a
LIKE '%text%' over every contact (0.2-0.3 s at a million contacts, whatever the answer).
Now a trigram index answers which contacts can contain the text; the LIKE only checks those.

SQLite: an FTS5 table with the trigram tokenizer (SQLite 3.34 or later) whose content is the
view `contact_name_search_source`: name and phone hint, each followed by two U+0001 characters,
so that every character of a value starts a trigram and one- and two-character searches can
be answered from the index's terms (`contact_name_search_term`); no column sizes, as nothing
ranks. Triggers on `contact` keep it in step with every writer (bulk writers insert contacts
many rows to a statement: FTS5 writes out its buffer at each statement that fires them).
A migration that rebuilds the contact table (batch mode) drops these triggers and must
create them again.

PostgreSQL: pg_trgm GIN indexes on name and phone hint, which LIKE '%text%' uses. When the
extension cannot be created (not installed, or not allowed to this role) the migration logs
that and goes on without the indexes: search stays correct, only slower.
"""

import logging
from collections.abc import Sequence

from alembic import op
from sqlalchemy import exc, text

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

# What the index holds for a contact, as the view and every trigger write it: the 'delete' an
# external-content FTS5 table needs must repeat exactly what was indexed.
PADDED = "{row}.name || char(1, 1), {row}.phone_hint || char(1, 1)"

SQLITE_UPGRADE = (
    "CREATE VIEW contact_name_search_source (id, name, phone_hint) AS "
    f"SELECT contact.id, {PADDED.format(row='contact')} FROM contact",
    "CREATE VIRTUAL TABLE contact_name_search USING fts5("
    "name, phone_hint, content='contact_name_search_source', content_rowid='id', "
    "tokenize='trigram', columnsize=0)",
    "CREATE VIRTUAL TABLE contact_name_search_term USING fts5vocab(contact_name_search, 'row')",
    "CREATE TRIGGER contact_name_search_insert AFTER INSERT ON contact BEGIN "
    "INSERT INTO contact_name_search (rowid, name, phone_hint) "
    f"VALUES (new.id, {PADDED.format(row='new')}); END",
    "CREATE TRIGGER contact_name_search_delete AFTER DELETE ON contact BEGIN "
    "INSERT INTO contact_name_search (contact_name_search, rowid, name, phone_hint) "
    f"VALUES ('delete', old.id, {PADDED.format(row='old')}); END",
    # Rollups rewrite contacts all the time; only a changed name or hint touches the index.
    "CREATE TRIGGER contact_name_search_update AFTER UPDATE OF id, name, phone_hint "
    "ON contact WHEN old.id IS NOT new.id OR old.name IS NOT new.name "
    "OR old.phone_hint IS NOT new.phone_hint BEGIN "
    "INSERT INTO contact_name_search (contact_name_search, rowid, name, phone_hint) "
    f"VALUES ('delete', old.id, {PADDED.format(row='old')}); "
    "INSERT INTO contact_name_search (rowid, name, phone_hint) "
    f"VALUES (new.id, {PADDED.format(row='new')}); END",
    # The contacts already there.
    "INSERT INTO contact_name_search (contact_name_search) VALUES ('rebuild')",
)
SQLITE_DOWNGRADE = (
    "DROP TRIGGER contact_name_search_update",
    "DROP TRIGGER contact_name_search_delete",
    "DROP TRIGGER contact_name_search_insert",
    "DROP TABLE contact_name_search_term",
    "DROP TABLE contact_name_search",
    "DROP VIEW contact_name_search_source",
)
PG_INDEXES = {"ix_contact_name_trgm": "name", "ix_contact_phone_hint_trgm": "phone_hint"}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_UPGRADE:
            op.execute(statement)
        return
    if not _pg_trgm(bind):
        return
    for index, column in PG_INDEXES.items():
        op.create_index(
            index,
            "contact",
            [column],
            postgresql_using="gin",
            postgresql_ops={column: "gin_trgm_ops"},
        )
    op.execute("ANALYZE contact")


def _pg_trgm(bind) -> bool:  # type: ignore[no-untyped-def]
    """Whether pg_trgm is there, creating it if this role may; a savepoint keeps a refusal from
    aborting the migration's transaction."""
    savepoint = bind.begin_nested()
    try:
        bind.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except exc.DBAPIError as error:
        savepoint.rollback()
        log.warning(
            "pg_trgm could not be created (%s); contact name search works without its "
            "indexes, reading every contact (docs/console.md says how to add them later)",
            str(error.orig).strip().splitlines()[0],
        )
        return False
    savepoint.commit()
    return True


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_DOWNGRADE:
            op.execute(statement)
        return
    # The extension stays: other objects of the database may use it.
    for index in PG_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {index}")
