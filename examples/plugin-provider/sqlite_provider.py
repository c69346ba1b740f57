#!/usr/bin/env python3
"""An Orch plugin provider for SQLite, written with the Python SDK
(`sdk/python`, package `orch-provider`): tables, rows and a row count in
one database file.

    provider sqlite { database = "app.db" }

    resource users: sqlite.table { name = "users", columns = { email = "TEXT" } }
    resource alice: sqlite.row   { table = users.name, key = "alice", values = { email = "a@example.com" } }
    data     n:     sqlite.count { table = users.name }

Every table has a `key TEXT PRIMARY KEY` column besides its `columns`, and
a `note` column for the rows' sensitive notes.
"""

import os
import sqlite3
import sys
import threading

try:
    import orch_provider
except ImportError:  # run from a checkout: the SDK beside the examples
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sdk", "python"))
    import orch_provider

from orch_provider import Context, DataSource, Field, Provider, ProviderError, Resource, Secret

IDENT_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
TYPES = {"TEXT", "INTEGER", "REAL", "BLOB", "NUMERIC"}


def ident(name):
    if not name or not set(name) <= IDENT_CHARS or name[0].isdigit():
        raise ProviderError(f"`{name}` is not a plain SQL name (letters, digits, _)")
    return '"' + name + '"'


class Database:
    """One connection per thread: requests run on several threads."""

    def __init__(self):
        self.path = None
        self.local = threading.local()

    def connect(self):
        if self.path is None:
            raise ProviderError("the provider is not configured")
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            self.local.conn = conn
        return conn


DB = Database()


def table_columns(conn, name):
    rows = conn.execute(f"PRAGMA table_info({ident(name)})").fetchall()
    return {row[1]: row[2] for row in rows if row[1] not in ("key", "note")}


def table_exists(conn, name):
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


class Table(Resource):
    kind = "table"
    doc = "A table: a `key TEXT PRIMARY KEY` column, a `note` column, and `columns`."
    fields = {
        "name": Field("string", "The table's name.", required=True, replace=True),
        "columns": Field("map<string>", "Column name → SQL type (TEXT, INTEGER, REAL, BLOB, NUMERIC); new columns are added in place, others replace the table.", default={}),
        "sql": Field("string", "The `CREATE TABLE` statement SQLite keeps.", output=True),
    }

    def validate(self, config):
        problems = []
        columns = config.get("columns")
        if isinstance(columns, dict):
            for column, sql_type in columns.items():
                if isinstance(sql_type, str) and sql_type.upper() not in TYPES:
                    problems.append(("columns", f"`{column}` has the type `{sql_type}`; use one of {', '.join(sorted(TYPES))}"))
                if column in ("key", "note"):
                    problems.append(("columns", f"`{column}` is a column every table has already"))
        return problems

    def plan(self, prior, config, ctx):
        replace = []
        if prior is not None:
            if prior.get("name") != config.get("name"):
                replace.append("name")
            old, new = prior.get("columns") or {}, config.get("columns") or {}
            if isinstance(new, dict) and any(k not in new or new[k] != v for k, v in old.items()):
                replace.append("columns")  # a column removed or retyped
        planned = dict(config)
        unchanged = prior is not None and not replace and prior.get("columns") == config.get("columns")
        planned["sql"] = prior["sql"] if unchanged else orch_provider.UNKNOWN
        return planned, replace

    def _object(self, conn, name):
        row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone()
        if row is None:
            return None
        return {"name": name, "columns": table_columns(conn, name), "sql": row[0]}

    def create(self, planned, ctx):
        conn = DB.connect()
        name = planned["name"]
        if table_exists(conn, name):
            raise ProviderError(f"the table `{name}` exists already; import it instead")
        columns = "".join(f", {ident(c)} {t.upper()}" for c, t in sorted((planned.get("columns") or {}).items()))
        conn.execute(f"CREATE TABLE {ident(name)} (key TEXT PRIMARY KEY, note TEXT{columns})")
        return self._object(conn, name)

    def read(self, prior, ctx):
        return self._object(DB.connect(), prior["name"])

    def update(self, prior, planned, ctx):
        conn = DB.connect()
        name = planned["name"]
        have = table_columns(conn, name)
        for column, sql_type in sorted((planned.get("columns") or {}).items()):
            if column not in have:
                conn.execute(f"ALTER TABLE {ident(name)} ADD COLUMN {ident(column)} {sql_type.upper()}")
        return self._object(conn, name)

    def delete(self, prior, ctx):
        DB.connect().execute(f"DROP TABLE IF EXISTS {ident(prior['name'])}")

    def import_(self, id, ctx):
        return self._object(DB.connect(), id)


class Row(Resource):
    kind = "row"
    doc = "A row of a table, by its key."
    fields = {
        "table": Field("string", "The table.", required=True, replace=True),
        "key": Field("string", "The row's key.", required=True, replace=True),
        "values": Field("map<string>", "Column → value.", default={}),
        "note": Field("string", "A sensitive note, kept in the `note` column.", sensitive=True),
        "id": Field("string", "`TABLE/KEY`.", output=True),
    }

    def _object(self, conn, table, key):
        if not table_exists(conn, table):
            return None
        columns = list(table_columns(conn, table))
        selected = ", ".join(["note"] + [ident(c) for c in columns])
        row = conn.execute(f"SELECT {selected} FROM {ident(table)} WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        values = {c: v for c, v in zip(columns, row[1:]) if v is not None}
        out = {"table": table, "key": key, "values": {c: str(v) for c, v in values.items()}, "id": f"{table}/{key}"}
        if row[0] is not None:
            out["note"] = Secret(row[0])
        return out

    @staticmethod
    def _note(planned):
        note = planned.get("note")
        if note is None:
            return None
        if not isinstance(note, Secret):
            # The protocol sends sensitive values inside {"$secret": ...}.
            raise ProviderError("the note arrived in the clear, not as a secret")
        return note.value

    def _write(self, conn, planned):
        table, key = planned["table"], planned["key"]
        values = planned.get("values") or {}
        columns = ["key", "note"] + list(values)
        placeholders = ", ".join("?" for _ in columns)
        names = ", ".join(ident(c) for c in columns)
        conn.execute(
            f"INSERT OR REPLACE INTO {ident(table)} ({names}) VALUES ({placeholders})",
            [key, self._note(planned)] + [values[c] for c in values],
        )

    def create(self, planned, ctx):
        conn = DB.connect()
        if not table_exists(conn, planned["table"]):
            raise ProviderError(f"there is no table `{planned['table']}`")
        if self._object(conn, planned["table"], planned["key"]) is not None:
            raise ProviderError(f"the row `{planned['key']}` exists already; import it instead")
        self._write(conn, planned)
        return self._object(conn, planned["table"], planned["key"])

    def read(self, prior, ctx):
        return self._object(DB.connect(), prior["table"], prior["key"])

    def update(self, prior, planned, ctx):
        conn = DB.connect()
        self._write(conn, planned)
        return self._object(conn, planned["table"], planned["key"])

    def delete(self, prior, ctx):
        conn = DB.connect()
        if table_exists(conn, prior["table"]):
            conn.execute(f"DELETE FROM {ident(prior['table'])} WHERE key = ?", (prior["key"],))

    def import_(self, id, ctx):
        table, sep, key = id.partition("/")
        if not sep:
            raise ProviderError("a row's id is `TABLE/KEY`")
        return self._object(DB.connect(), table, key)


class Count(DataSource):
    kind = "count"
    doc = "How many rows a table has."
    fields = {
        "table": Field("string", "The table.", required=True),
        "rows": Field("int", "The number of rows.", output=True),
    }

    def read_data(self, config, ctx):
        conn = DB.connect()
        if not table_exists(conn, config["table"]):
            raise ProviderError(f"there is no table `{config['table']}`")
        (n,) = conn.execute(f"SELECT COUNT(*) FROM {ident(config['table'])}").fetchone()
        return {"table": config["table"], "rows": n}


class Sqlite(Provider):
    def configure(self, config):
        database = config.get("database")
        if not isinstance(database, str) or not database:
            raise ProviderError("`database` must be a file name")
        DB.path = database
        print(f"sqlite: using {database}", file=sys.stderr)


PROVIDER = Sqlite(
    "sqlite",
    config={"database": Field("string", "The database file, relative to the configuration's folder.", required=True)},
    resources=[Table(), Row()],
    data=[Count()],
)

if __name__ == "__main__":
    orch_provider.main(PROVIDER)
