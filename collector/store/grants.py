"""Privileges on a view carried across its drop and recreate: what the reader role (`collector.store.roles`)
may read must survive a migration that rebuilds a view, and a new public view gets what repo_latest has.

Migrations 0008, 0011 and 0013 use this: a change here changes what they do on every store not yet
upgraded past them, so keep it to the same two statements.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.engine import Connection

# Every grantee other than the owner, by name as PostgreSQL quotes it (PUBLIC for the grant to everyone).
_GRANTS_ON = (
    "SELECT COALESCE(quote_ident(r.rolname), 'PUBLIC'), a.privilege_type "
    "FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a "
    "LEFT JOIN pg_roles r ON r.oid = a.grantee "
    "WHERE c.oid = to_regclass(:v) AND a.grantee <> c.relowner"
)


def load_grants(conn: Connection, view: str) -> list[tuple[str, str]]:
    """(grantee, privilege) granted on `view` to others than its owner; none off PostgreSQL."""
    if conn.dialect.name != "postgresql":
        return []
    rows = conn.execute(text(_GRANTS_ON), {"v": view}).all()
    return [(str(grantee), str(privilege)) for grantee, privilege in rows]


def save_grants(conn: Connection, view: str, grants: Sequence[tuple[str, str]]) -> None:
    """Grant each (grantee, privilege) of `load_grants` on `view`."""
    for grantee, privilege in grants:
        conn.execute(text(f"GRANT {privilege} ON {view} TO {grantee}"))
