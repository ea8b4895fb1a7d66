"""A lean multi-row INSERT for the hot paths of machine intake (one accepted submission, the
rows of a drained batch, their audit records).

``insert_rows(objs)`` writes new model instances like ``QuerySet.bulk_create`` does for plain
values (``pre_save`` with ``add=True``, so ``auto_now`` fields are set; ``get_db_prep_save`` for
dates and JSON; foreign keys taken from their saved related objects; primary keys read back
with ``RETURNING``, in order, as Django reads them), but without the ORM's SQL compiler, which
costs more than the database does for these statements. It does not handle expressions,
conflicts or multi-table inheritance: callers pass plain new instances of one concrete model.

On PostgreSQL these statements are bound on the server: the parameters travel apart from the
query and psycopg's C dumpers encode them. Django's default cursor binds on the client, which
quotes every value (and escapes every element of an UNNEST array) in Python: that was about a
third of a drained batch's CPU. Only these INSERTs use it; the rest of the product keeps
Django's default (decision "Bulk inserts are bound on the server on PostgreSQL")."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, models
from django.db.backends.utils import CursorWrapper

# Fields whose plain Python values (str, int, float, bool, None) the drivers take as they are.
_PLAIN_TYPES = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "BigIntegerField",
        "BooleanField",
        "CharField",
        "FloatField",
        "ForeignKey",
        "IntegerField",
        "OneToOneField",
        "PositiveBigIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SlugField",
        "SmallIntegerField",
        "TextField",
        "URLField",
    }
)
_PLAIN_VALUES = (str, int, float, bool)


def _preparer(field: models.Field[Any, Any]) -> Any:
    """How to turn one field's value into a query parameter (decided once per field)."""
    kind = field.get_internal_type()
    if kind in _PLAIN_TYPES:

        def plain(obj: models.Model) -> Any:
            value = field.pre_save(obj, True)
            if value is None or type(value) in _PLAIN_VALUES:
                return value
            # An enum member (TextChoices / IntegerChoices) is sent as its plain value.
            if isinstance(value, str):
                return str(value)
            if isinstance(value, int) and not isinstance(value, bool):
                return int(value)
            return field.get_db_prep_save(value, connection)

        return plain
    if kind == "DateTimeField":

        def moment(obj: models.Model) -> Any:
            value = field.pre_save(obj, True)
            if isinstance(value, datetime) and value.tzinfo is not None:
                return connection.ops.adapt_datetimefield_value(value)
            return field.get_db_prep_save(value, connection)

        return moment
    return lambda obj: field.get_db_prep_save(field.pre_save(obj, True), connection)


@dataclass(frozen=True)
class _Plan:
    """What insert_rows needs of a model, worked out once per model (not per call: on the
    accepted-intake path that was a fifth of the request)."""

    fields: list[models.Field[Any, Any]]
    preparers: list[Any]
    columns: str
    row_sql: str
    table: str
    pk_column: str
    unnest: str


@functools.cache
def _plan(model: type[models.Model], with_pk: bool, vendor: str) -> _Plan:
    opts = model._meta
    pk = opts.pk
    assert pk is not None
    fields = [f for f in opts.concrete_fields if with_pk or f is not pk]
    quote = connection.ops.quote_name
    types = [str(f.db_type(connection)).split("(")[0] for f in fields]
    return _Plan(
        fields=fields,
        preparers=[_preparer(f) for f in fields],
        columns=", ".join(quote(str(f.column)) for f in fields),
        row_sql="(" + ", ".join(["%s"] * len(fields)) + ")",
        table=quote(opts.db_table),
        pk_column=quote(str(pk.column)),
        unnest=", ".join(f"(%b)::{db_type}[]" for db_type in types) if vendor == "postgresql" else "",
    )


def _insert_cursor() -> CursorWrapper:
    """Django's cursor, bound on the server on PostgreSQL (wrapped as Django wraps its own:
    errors translated, execute wrappers and query logging applied)."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    with connection.wrap_database_errors:
        return connection._prepare_cursor(ServerBindingCursor(connection.connection))  # type: ignore[attr-defined,call-arg,no-any-return]


def insert_rows(objs: Sequence[models.Model], *, returning: bool = True, ignore_conflicts: bool = False) -> None:
    """INSERT ``objs`` (new instances of one model) in as few statements as the database's
    parameter limit allows; with ``returning``, set their primary keys from the database.
    ``ignore_conflicts`` skips rows a unique constraint refuses (their keys are not read back)."""
    if not objs:
        return
    model = type(objs[0])
    pk = model._meta.pk
    assert pk is not None
    with_pk = getattr(objs[0], pk.attname) is not None
    plan = _plan(model, with_pk, connection.vendor)
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="bulk_create")  # type: ignore[attr-defined]
    fields, preparers, columns, table = plan.fields, plan.preparers, plan.columns, plan.table
    row_sql = plan.row_sql
    limit = connection.features.max_query_params or 65535
    per_statement = max(1, limit // len(fields))
    read_back = returning and not with_pk and not ignore_conflicts
    suffix = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    suffix += f" RETURNING {plan.pk_column}" if read_back else ""
    if connection.vendor == "postgresql" and len(objs) > 1:
        # One placeholder per column (an array each, sent in binary), as Django's own
        # bulk_create does on PostgreSQL: a short query the server plans once.
        columns_of_values = [[prepare(obj) for obj in objs] for prepare in preparers]
        unnest = plan.unnest
        with _insert_cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT * FROM UNNEST({unnest}){suffix}",  # noqa: S608
                columns_of_values,
            )
            if read_back:
                for obj, row in zip(objs, cursor.fetchall(), strict=True):
                    setattr(obj, pk.attname, row[0])
        _saved(objs)
        return
    with _insert_cursor() as cursor:
        for start in range(0, len(objs), per_statement):
            chunk = objs[start : start + per_statement]
            params = [prepare(obj) for obj in chunk for prepare in preparers]
            values = ", ".join([row_sql] * len(chunk))
            cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {values}{suffix}", params)  # noqa: S608
            if read_back:
                for obj, row in zip(chunk, cursor.fetchall(), strict=True):
                    setattr(obj, pk.attname, row[0])
    _saved(objs)


def _saved(objs: Sequence[models.Model]) -> None:
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
