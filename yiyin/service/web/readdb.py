"""Read-only connections for public lookups.

The registry's sessions on SQLite begin every transaction with BEGIN IMMEDIATE, taking the write
lock so that issuance is serialised. A lookup only reads: on SQLite it gets an engine of its own
whose transactions begin deferred and whose connections are query-only, so that in WAL mode any
number of lookups read a consistent snapshot side by side and never wait for an issuance, nor an
issuance for them. On PostgreSQL the registry's engine is used as it is.
"""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event

from yiyin.service.app import App


def read_engine(app: App) -> Engine:
    url = app.db.url
    if not url.startswith("sqlite"):
        return app.db.engine
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                           pool_size=8, max_overflow=32)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA query_only=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN")

    return engine
