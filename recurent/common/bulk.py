"""Bulk INSERT for the rows a billing block writes (invoices, lines, balances, outbox, e-Factura).

What ``bulk_create`` does without compiling every value through the ORM: at thousands of
invoices a second that compilation was most of a block's time (docs/benchmarks/billing.md).
Callers give driver values (``adapters`` turns Python values into them, once per column) and
every column but an auto id: Django keeps defaults in Python, not in the table (``defaults``).

- SQLite keeps the last 128 statement texts prepared, each with its bound values, so a
  statement whose text changes with the batch size makes the process grow block after block.
  Without ids: one single-row statement run for every row (``executemany``): one text ever.
  With ids: multi-row ``VALUES ... RETURNING`` in chunks whose sizes are powers of two
  (``chunks``): a dozen texts per table.
- PostgreSQL: ``INSERT ... SELECT FROM unnest(one array per column)``, bound on the server:
  one parameter per column instead of one per value (psycopg parses placeholders in Python).
Either way a batch is one statement in Django's query log (tests count them).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from enum import Enum
from typing import Any

from django.db import connection, connections

from recurent.common import clock

# Under SQLite's (32,766) and PostgreSQL's (65,535) limits on parameters per statement.
MAX_PARAMS = 30000


def adapter(field: Any) -> Callable[[Any], Any] | None:
    """How a Python value becomes a driver value for this column (None: as it is)."""
    conn = connections[connection.alias]  # the wrapper itself, not the thread-local proxy
    ops = conn.ops
    kind = field.get_internal_type()
    if kind == "DateTimeField":
        return ops.adapt_datetimefield_value
    if kind == "DateField":
        return ops.adapt_datefield_value
    if kind == "DecimalField":
        return lambda v: ops.adapt_decimalfield_value(v, field.max_digits, field.decimal_places)
    if kind == "JSONField":
        if conn.vendor == "postgresql":  # text, cast to jsonb by _insert_pg
            encoder = field.encoder
            return lambda v: None if v is None else json.dumps(v, cls=encoder)
        return lambda v: field.get_db_prep_save(v, conn)
    return None


def adapters(model: Any, columns: Sequence[str]) -> list[tuple[int, Callable[[Any], Any]]]:
    """(position, adapter) of the columns that need one."""
    fields = [model._meta.get_field(c) for c in columns]
    return [(i, a) for i, f in enumerate(fields) if (a := adapter(f)) is not None]


def adapt_rows(
    model: Any, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[tuple[Any, ...]]:
    """Python values -> driver values, column by column."""
    adapt = adapters(model, columns)
    out = []
    for r in rows:
        row = list(r)
        for i, a in adapt:
            row[i] = a(row[i])
        out.append(tuple(row))
    return out


def defaults(model: Any) -> dict[str, Any]:
    """attname -> the model's default (a Python value) for every column but an auto id;
    ``auto_now``/``auto_now_add`` columns get the present instant, as ``save()`` would."""
    now = clock.now()
    return {
        f.attname: now
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        else f.get_default()
        for f in model._meta.concrete_fields
        if not (f.primary_key and f.get_internal_type() in {"AutoField", "BigAutoField"})
    }


def insert_dicts(
    model: Any, rows: Sequence[dict[str, Any]], *, ignore_conflicts: bool = False
) -> None:
    """Rows as {attname: Python value}; every other column at the model's default."""
    base = defaults(model)
    columns = list(base)
    values = [[r.get(a, d) for a, d in base.items()] for r in rows]
    insert_rows(
        model, columns, adapt_rows(model, columns, values), ignore_conflicts=ignore_conflicts
    )


def insert_objects(model: Any, objs: Sequence[Any], *, returning_ids: bool = False) -> None:
    """Unsaved model instances (built and validated in Python) inserted in chunks: every column
    but an auto id read from the instance, ``auto_now``/``auto_now_add`` ones set to the present
    instant as ``save()`` would. ``returning_ids``: each instance gets its new id."""
    if not objs:
        return
    base = defaults(model)
    stamped = [
        f.attname
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    columns = list(base)
    rows = []
    for o in objs:
        o._prepare_related_fields_for_save(operation_name="insert_objects")  # FK ids, as save()
        for a in stamped:
            setattr(o, a, base[a])
        # A choice enum travels as its value (psycopg would send an Enum's name).
        rows.append(
            [v.value if isinstance(v, Enum) else v for v in (getattr(o, a) for a in columns)]
        )
    ids = insert_rows(model, columns, adapt_rows(model, columns, rows), returning_ids=returning_ids)
    for o, pk in zip(objs, ids, strict=False):
        o.pk = pk
        o._state.adding, o._state.db = False, connection.alias


def chunks(n: int, most: int) -> list[tuple[int, int]]:
    """[start, end) slices of ``n`` rows whose sizes are powers of two, at most ``most``.

    Python's sqlite3 keeps the last 128 statements prepared, keyed by their text, each with
    its bound values: chunks of any size made a new 30,000-parameter statement almost every
    block, and the process grew by ~1 MB per 1,000 invoices until the cache was full
    (docs/benchmarks/billing.md). Powers of two give at most a dozen texts per table.
    """
    size = 1 << max(0, most.bit_length() - 1)  # the largest power of two <= most
    out, start = [], 0
    while start < n:
        while size > n - start:
            size //= 2
        out.append((start, start + size))
        start += size
    return out


def insert_rows(
    model: Any,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    returning_ids: bool = False,
    ignore_conflicts: bool = False,
) -> list[int]:
    """Insert ``rows`` (driver values, in ``columns`` order; see ``adapters``).

    ``returning_ids``: the new auto ids, in row order (else []). ``ignore_conflicts``: a row
    that violates a unique constraint is skipped (ON CONFLICT DO NOTHING); no ids then.
    """
    if returning_ids and ignore_conflicts:
        raise ValueError("ids are not known for rows that may be skipped")
    if not rows:
        return []
    if connection.vendor == "postgresql":
        return _insert_pg(model, columns, rows, returning_ids, ignore_conflicts)
    fields = [model._meta.get_field(c) for c in columns]
    qn = connection.ops.quote_name
    cols = ", ".join(qn(f.column) for f in fields)
    head = f"INSERT INTO {qn(model._meta.db_table)} ({cols}) VALUES "  # noqa: S608 (names from the model)
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    tail = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    if not returning_ids:
        with connection.cursor() as cur:
            cur.executemany(head + one + tail, rows)
        return []
    tail += f" RETURNING {qn(model._meta.pk.column)}"
    ids: list[int] = []
    with connection.cursor() as cur:
        for start, end in chunks(len(rows), MAX_PARAMS // len(fields)):
            chunk = rows[start:end]
            params = [v for row in chunk for v in row]
            # RETURNING gives the rows in VALUES order (bulk_create relies on it too).
            cur.execute(head + ", ".join([one] * len(chunk)) + tail, params)
            ids.extend(r[0] for r in cur.fetchall())
    return ids


def _insert_pg(
    model: Any,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    returning_ids: bool,
    ignore_conflicts: bool,
) -> list[int]:
    """PostgreSQL: ids (when wanted) taken from the table's sequence first, so their order is
    known without relying on RETURNING's, then ``INSERT ... SELECT FROM unnest(arrays)``."""
    fields = [model._meta.get_field(c) for c in columns]
    qn = connection.ops.quote_name
    table = model._meta.db_table
    casts = ["jsonb" if f.get_internal_type() == "JSONField" else pg_type(f) for f in fields]
    targets = [qn(f.column) for f in fields]
    if returning_ids:
        casts, targets = ["bigint", *casts], [qn(model._meta.pk.column), *targets]
    names = [f"c{i}" for i in range(len(casts))]
    # JSON travels as text (see adapter) and is cast per column.
    arrays = ", ".join(f"%b::{'text' if cast == 'jsonb' else cast}[]" for cast in casts)
    select = ", ".join(f"u.{n}::{cast}" for n, cast in zip(names, casts, strict=True))
    sql = (
        f"INSERT INTO {qn(table)} ({', '.join(targets)}) SELECT {select} "  # noqa: S608 (names from the model)
        f"FROM unnest({arrays}) AS u({', '.join(names)})"
    )
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    columns_data = [list(col) for col in zip(*rows, strict=True)]
    ids: list[int] = []
    started = time.monotonic()
    with pg_cursor() as cur:
        if returning_ids:
            cur.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, model._meta.pk.column, len(rows)],
            )
            ids = [r[0] for r in cur.fetchall()]
            columns_data = [ids, *columns_data]
        cur.execute(sql, columns_data)
    if connection.queries_logged:  # what Django's cursor would have logged (query counts)
        connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
    return ids


def pg_cursor() -> Any:
    """A psycopg cursor that binds on the server: parameters travel apart from the query (in
    binary), where Django's client-side binding would quote every array element in Python.
    (``%b``: binary, no escaping at all.) It bypasses Django's cursor wrapper, hence its
    query log; same connection, same transaction.
    """
    import psycopg

    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def pg_type(field: Any) -> str:
    """The column's type without its modifiers (varchar(10) -> varchar): a cast target."""
    if field.get_internal_type() in {"ForeignKey", "OneToOneField"}:
        return "bigint"
    return str(field.db_type(connection)).split("(")[0].strip()
