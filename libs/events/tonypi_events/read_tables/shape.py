"""The shape of a read-table declaration: a table is a tuple of columns and its keys.

Types are PostgreSQL's own names (`pg_type.typname`, what `information_schema.columns`
reports as `udt_name`), so the declaration compares with the database as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

BIGINT = "int8"
INTEGER = "int4"
DOUBLE = "float8"
NUMERIC = "numeric"
TEXT = "text"
VARCHAR = "varchar"
VARCHAR_ARRAY = "_varchar"
BOOLEAN = "bool"
TIMESTAMPTZ = "timestamptz"
DATE = "date"
JSON = "json"
JSONB = "jsonb"
BYTEA = "bytea"

TYPES = frozenset(
    {
        BIGINT,
        INTEGER,
        DOUBLE,
        NUMERIC,
        TEXT,
        VARCHAR,
        VARCHAR_ARRAY,
        BOOLEAN,
        TIMESTAMPTZ,
        DATE,
        JSON,
        JSONB,
        BYTEA,
    }
)


@dataclass(frozen=True)
class Column:
    """One column. `internal`: the projector's own (the API never returns it); `served_as`:
    the name the API returns it under, when not its own; `operator`: an operator may set it
    (PUT /robots/{robot_id}, folded from robot_updated)."""

    name: str
    type: str
    nullable: bool = True
    internal: bool = False
    served_as: str | None = None
    operator: bool = False

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"column {self.name}: unknown type {self.type!r}")

    @property
    def is_json(self) -> bool:
        return self.type in (JSON, JSONB)

    @property
    def served_name(self) -> str:
        return self.served_as or self.name


def not_null(name: str, type: str, **options: bool | str | None) -> Column:
    return Column(name, type, nullable=False, **options)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Table:
    """A read table, its columns in the database's order. `served`: the API returns its
    rows (the non-internal columns, under their served names) as they are."""

    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]  # () for none (history_raw)
    unique: tuple[tuple[str, ...], ...] = ()  # UNIQUE constraints besides the primary key
    served: bool = False
    partitioned: bool = False  # PARTITION BY RANGE: the projector creates its partitions

    def __post_init__(self) -> None:
        names = self.names
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: a column declared twice")
        for key in (self.primary_key, *self.unique):
            if not set(key) <= set(names) or (key is not self.primary_key and not key):
                raise ValueError(f"{self.name}: key {key} names no declared column")
        if any(self.column(c).nullable for c in self.primary_key):
            raise ValueError(f"{self.name}: a primary key column declared nullable")
        if not self.served and any(c.served_as for c in self.columns):
            raise ValueError(f"{self.name}: served_as on a table the API does not serve")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name}")

    @property
    def served_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if not c.internal) if self.served else ()

    def select(self, alias: str | None = None, omit: tuple[str, ...] = ()) -> str:
        """The served columns as a SELECT list, renamed as served (`seq AS sequence`),
        each prefixed with `alias.` if given; `omit` leaves some out."""
        if not self.served:
            raise ValueError(f"the API does not serve {self.name} as rows")
        unknown = set(omit) - set(self.names)
        if unknown:
            raise KeyError(f"{self.name} has no column {', '.join(sorted(unknown))}")
        prefix = f"{alias}." if alias else ""
        return ", ".join(
            f"{prefix}{c.name}" + (f" AS {c.served_as}" if c.served_as else "")
            for c in self.served_columns
            if c.name not in omit
        )
