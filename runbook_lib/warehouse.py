"""What every warehouse target shares: BigQuery's naming rules, the kit's dataset label, the checks
each adapter runs before it changes anything, and query results as DataFrames with one set of dtypes.

Written once here so the sandbox (runbook_lib/local/warehouse.py) and BigQuery (runbook_lib/gcp/
warehouse.py) refuse the same bad input with the same sentence and hand back the same DataFrame.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Mapping, NamedTuple, Sequence

from .errors import ParameterError
from .protocols import PartitionInfo

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

# Every dataset the kit creates carries this label, and the kit drops only datasets that carry it:
# a production dataset (made by the pipeline, never by the kit) cannot be dropped by a runbook.
KIT_LABEL_KEY, KIT_LABEL_VALUE = "created-by", "phase-runbooks"
KIT_LABELS = {KIT_LABEL_KEY: KIT_LABEL_VALUE}



DATASET_NAME = re.compile(r"[A-Za-z0-9_]{1,1024}")
# A table name: up to 1,024 UTF-8 bytes of Unicode letters (L), marks (M), numbers (N), connectors such as _
# (Pc), dashes (Pd) and spaces (Zs), as BigQuery allows; never a dot, a quote or a backtick.
TABLE_NAME_CATEGORIES = ("L", "M", "N", "Pc", "Pd", "Zs")


def is_table_name(name: str) -> bool:
    return 0 < len(name.encode("utf-8")) <= 1024 and all(
        unicodedata.category(c).startswith(TABLE_NAME_CATEGORIES) for c in name)


COLUMN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,299}")
# BigQuery labels: keys start with a lowercase letter; keys and values hold lowercase letters, digits,
# underscores and dashes, at most 63 characters; at most 64 labels.
LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
LABEL_VALUE = re.compile(r"[a-z0-9_-]{0,63}")
MAX_LABELS = 64
# Time partitioning needs a column of one of these types (BigQuery partitions by day).
PARTITION_TYPES = ("DATE", "TIMESTAMP", "DATETIME")
# BigQuery's partition_id of a time-unit partition, per unit (strftime patterns, as FORMAT_TIMESTAMP takes them)
PARTITION_ID_FORMATS = {"HOUR": "%Y%m%d%H", "DAY": "%Y%m%d", "MONTH": "%Y%m", "YEAR": "%Y"}

DEFAULT_LOCATION = "US"   # where a new dataset goes when neither the call nor the target names a location

# Partition metadata without a table scan: BigQuery serves it from the table's storage metadata.
PARTITIONS_SQL = """
SELECT partition_id, total_rows, total_logical_bytes, last_modified_time
FROM `{project}.{dataset}.INFORMATION_SCHEMA.PARTITIONS`
WHERE table_name = @table_name
ORDER BY partition_id"""


@dataclass(frozen=True)
class TableRef:
    """A parsed table reference; `project` is None when the ref gave none (the target's own)."""

    project: str | None
    dataset: str
    table: str

    @property
    def ref(self) -> str:
        return f"{self.dataset}.{self.table}"


def split_ref(ref: Any, parameter: str = "table_ref") -> TableRef:
    """"dataset.table" or "project.dataset.table" (backquotes allowed), checked against BigQuery's rules."""
    parts = ref.strip("`").split(".") if isinstance(ref, str) else []
    project = parts.pop(0) if len(parts) == 3 else None
    if len(parts) != 2 or not DATASET_NAME.fullmatch(parts[0]) or not is_table_name(parts[1]) \
            or (project is not None and not re.fullmatch(r"[a-z][a-z0-9-]{0,29}", project)):
        raise ParameterError(parameter, ref, 'give "dataset.table": a dataset of letters, digits and underscores, '
                             "a table of letters, digits, underscores, dashes or spaces")
    return TableRef(project, parts[0], parts[1])


def check_dataset_name(name: Any) -> str:
    if not isinstance(name, str) or not DATASET_NAME.fullmatch(name):
        raise ParameterError("dataset", name, "dataset names are letters, digits and underscores (up to 1024)")
    return name


def check_expiration_days(days: Any) -> float | None:
    if days is None:
        return None
    if isinstance(days, bool) or not isinstance(days, (int, float)) or not days > 0:
        raise ParameterError("default_table_expiration_days", days,
                             "give a number of days greater than 0, or None for no expiration")
    return float(days)


def carries_kit_label(labels: Mapping[str, str] | None) -> bool:
    return all((labels or {}).get(k) == v for k, v in KIT_LABELS.items())


def not_the_kits(name: str) -> str:
    """Why drop_dataset refuses a dataset without the kit's label (the `allowed` of its ParameterError)."""
    labels = ", ".join(f"{k}={v}" for k, v in KIT_LABELS.items())
    return (f"dataset {name} does not carry the kit's label {labels}, so the kit did not create it and "
            "will not drop it (drop it yourself if you mean to)")


def check_labels(labels: Any) -> dict[str, str]:
    """Labels the caller asked for, checked against BigQuery's rules, with the kit's own label added."""
    if labels is None:
        return dict(KIT_LABELS)
    if not isinstance(labels, Mapping):
        raise ParameterError("labels", labels, "give a dict of label key -> value, or None")
    for key, value in labels.items():
        if not isinstance(key, str) or not LABEL_KEY.fullmatch(key):
            raise ParameterError("labels", key, "label keys start with a lowercase letter and hold at most 63 "
                                                "lowercase letters, digits, underscores or dashes")
        if not isinstance(value, str) or not LABEL_VALUE.fullmatch(value):
            raise ParameterError(f"labels[{key!r}]", value, "label values hold at most 63 lowercase letters, "
                                                             "digits, underscores or dashes")
    if labels.get(KIT_LABEL_KEY, KIT_LABEL_VALUE) != KIT_LABEL_VALUE:
        raise ParameterError(f"labels[{KIT_LABEL_KEY!r}]", labels[KIT_LABEL_KEY],
                             f"that label is the kit's own and is always {KIT_LABEL_VALUE}")
    merged = {**labels, **KIT_LABELS}
    if len(merged) > MAX_LABELS:
        raise ParameterError("labels", len(labels), f"give at most {MAX_LABELS - 1} labels besides the kit's own")
    return merged


def check_label_value(parameter: str, value: Any) -> str:
    """A value for one label (a job's runbook=<name>): lowercased, other characters become dashes."""
    if not isinstance(value, str) or not value.strip():
        raise ParameterError(parameter, value, "give a name such as 04_compare_outputs")
    return re.sub(r"[^a-z0-9_-]", "-", value.strip().lower())[:63]


def check_location(location: Any) -> str | None:
    """A BigQuery location: a multi-region (US, EU) or a region such as us-west2."""
    if location is None:
        return None
    if not isinstance(location, str) or not re.fullmatch(r"US|EU|[a-z]+(-[a-z]+)+\d+", location.strip(), re.I):
        raise ParameterError("location", location, "give a BigQuery location: US, EU or a region such as us-west2")
    text = location.strip()
    return text.upper() if text.upper() in ("US", "EU") else text.lower()


def bigquery_type_name(text: Any) -> str:
    """A BigQuery column type as BigQuery spells it in INFORMATION_SCHEMA (INT64, ARRAY<STRING>, ...)."""
    spelled = _bigquery_spelling(text) if isinstance(text, str) and text.strip() else None
    if spelled is None:
        raise ParameterError("columns", text, "give a BigQuery type such as INT64, FLOAT64, STRING, BOOL, DATE, "
                                              "TIMESTAMP, NUMERIC")
    return spelled


@lru_cache(maxsize=1024)   # (a table's ~30 columns name a handful of types, each parse ~40 us)
def _bigquery_spelling(text: str) -> str | None:
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        built = exp.DataType.build(text, dialect="bigquery")
    except (SqlglotError, ValueError, TypeError):
        return None
    return None if built.this == exp.DataType.Type.USERDEFINED else built.sql("bigquery")


def check_columns(columns: Any, partition_column: str | None = None,
                  clustering: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """(name, BigQuery type) pairs for a new table, its partition column and clustering columns checked."""
    if not columns or not all(isinstance(c, (tuple, list)) and len(c) == 2 for c in columns):
        raise ParameterError("columns", columns, "give a non-empty list of (name, BigQuery type) pairs")
    checked = []
    for name, bq in columns:
        if not isinstance(name, str) or not COLUMN_NAME.fullmatch(name):
            raise ParameterError("columns", name, "column names are letters, digits and underscores, "
                                                  "not starting with a digit")
        try:
            checked.append((name, bigquery_type_name(bq)))
        except ParameterError:
            raise ParameterError("columns", bq, f"column {name} needs a BigQuery type such as INT64, FLOAT64, "
                                                "STRING, BOOL, DATE, TIMESTAMP, NUMERIC") from None
    names = [c[0] for c in checked]
    if len(set(n.lower() for n in names)) != len(names):
        raise ParameterError("columns", names, "column names must be unique")
    types = dict(checked)
    if partition_column is not None:
        if partition_column not in types:
            raise ParameterError("partition_column", partition_column, f"choose one of the columns {', '.join(names)}")
        if types[partition_column] not in PARTITION_TYPES:
            raise ParameterError("partition_column", partition_column,
                                 f"BigQuery partitions by a {', '.join(PARTITION_TYPES)} column, and it is "
                                 f"{types[partition_column]}")
    check_clustering(clustering, names)
    return checked


def check_clustering(clustering: Any, names: Sequence[str]) -> list[str]:
    if clustering is None:
        return []
    if isinstance(clustering, str) or not isinstance(clustering, (list, tuple)) or not 1 <= len(clustering) <= 4 \
            or any(c not in names for c in clustering) or len(set(clustering)) != len(clustering):
        raise ParameterError("clustering", clustering, f"give 1 to 4 distinct columns among {', '.join(names)}")
    return list(clustering)


def hashed_columns(columns: Any, types: Any) -> list[tuple[str, str]]:
    """row_hash_sql's columns, quoted, each with its BigQuery base type ("" when `types` is None)."""
    from .formats import quote_columns

    quoted = quote_columns(columns)
    if types is None:
        return [(q, "") for q in quoted]
    if isinstance(types, str) or len(types) != len(quoted) or not all(isinstance(t, str) for t in types):
        raise ParameterError("types", types, f"give one BigQuery type for each of the {len(quoted)} columns, or None")
    return [(q, t.split("<")[0].split("(")[0].strip().upper()) for q, t in zip(quoted, types)]


def check_sql(sql: Any) -> str:
    if not isinstance(sql, str) or not sql.strip():
        raise ParameterError("sql", sql, "give a BigQuery SQL string")
    return sql


def check_params(params: Any) -> dict:
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise ParameterError("params", params, "give a dict of parameter name -> value, or None")
    return params


def missing_params(used: Any, params: dict | None) -> None:
    """Refuse a query whose @names `params` does not give, naming them, before anything runs."""
    missing = sorted(set(used) - set(params or {}))
    if missing:
        raise ParameterError("params", sorted(params or {}),
                             "the SQL uses " + ", ".join("@" + m for m in missing) + ", which params does not give")


def metadata_time(moment: datetime | None) -> datetime | None:
    """A catalogue time as BigQuery reports one: UTC, to the millisecond."""
    if moment is None:
        return None
    moment = moment.astimezone(timezone.utc)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


# ---------------------------------------------------------------- partitions


def partition_infos(frame: "pd.DataFrame") -> list[PartitionInfo]:
    """INFORMATION_SCHEMA.PARTITIONS rows (PARTITIONS_SQL) as PartitionInfo values."""
    out = []
    for row in frame.itertuples(index=False):
        modified = row.last_modified_time
        out.append(PartitionInfo(
            partition_id=None if _missing(row.partition_id) else str(row.partition_id),
            total_rows=0 if _missing(row.total_rows) else int(row.total_rows),
            total_logical_bytes=None if _missing(row.total_logical_bytes) else int(row.total_logical_bytes),
            last_modified=None if _missing(modified) else modified.to_pydatetime()
            if hasattr(modified, "to_pydatetime") else modified))
    return out


def existing_partitions(warehouse: Any, ref: str) -> list[PartitionInfo] | None:
    """A table's partitions, or None when the table (or its dataset) does not exist: one metadata read,
    where table_exists first would make two (a tables.get, or a warehouse attach, each)."""
    from .errors import NotFoundError

    try:
        return warehouse.partitions(ref)
    except NotFoundError:
        return None


def _missing(value: Any) -> bool:
    import pandas as pd

    return value is None or (not isinstance(value, (str, bytes, list, dict)) and bool(pd.isna(value)))


# ---------------------------------------------------------------- result frames

def _bigquery_arrow_type(t: "pa.DataType") -> "pa.DataType":
    """The Arrow type google-cloud-bigquery gives the same BigQuery type (DuckDB's INT32 is INT64 there, its
    Etc/UTC time zone UTC, ...), through lists and structs."""
    import pyarrow as pa

    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return pa.list_(_bigquery_arrow_type(t.value_type))
    if pa.types.is_struct(t):
        return pa.struct([pa.field(t.field(i).name, _bigquery_arrow_type(t.field(i).type)) for i in range(t.num_fields)])
    if pa.types.is_integer(t):
        return pa.int64()
    if pa.types.is_floating(t):
        return pa.float64()
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_timestamp(t):
        return pa.timestamp("us", tz="UTC" if t.tz else None)
    return t


def frame_from_arrow(table: "pa.Table") -> "pd.DataFrame":
    """Query rows as a DataFrame with the dtypes google-cloud-bigquery's to_dataframe gives (with db-dtypes).

    INT64 -> Int64, BOOL -> boolean, FLOAT64 -> float64, DATE -> dbdate (items are datetime.date),
    TIME -> dbtime, TIMESTAMP -> datetime64[us, UTC], DATETIME -> datetime64[us], NUMERIC -> Decimal
    objects, STRING -> strings, ARRAY/STRUCT -> lists/dicts. Both targets build their frames here from
    Arrow (DuckDB's result, or the BigQuery client's REST pages / Storage Read API), so a runbook sees
    the same frame on either. Dates pandas cannot hold (before 1678, after 2261) stay datetime.date.
    """
    import db_dtypes
    import pandas as pd
    import pyarrow as pa

    wanted = pa.schema([pa.field(f.name, _bigquery_arrow_type(f.type)) for f in table.schema])
    if wanted != table.schema:
        table = table.cast(wanted)

    def mapper(t: "pa.DataType"):
        if pa.types.is_integer(t):
            return pd.Int64Dtype()
        if pa.types.is_boolean(t):
            return pd.BooleanDtype()
        if pa.types.is_date32(t):
            return db_dtypes.DateDtype()
        if pa.types.is_time64(t):
            return db_dtypes.TimeDtype()
        return None

    try:
        return table.to_pandas(types_mapper=mapper)
    except (pa.ArrowInvalid, OverflowError, ValueError):
        # Out of pandas' datetime range: keep such dates as datetime.date, as the BigQuery client does.
        return table.to_pandas(types_mapper=lambda t: None if pa.types.is_date32(t) else mapper(t),
                               date_as_object=True)


# ---------------------------------------------------------------- query parameters
# One rule for both targets: the gcp adapter sends what typed_parameter() says (gcp/bigquery_schema.py), the
# sandbox binds the same (local/duckdb_catalog.py bound), so a value one refuses the other refuses alike.

INT64_RANGE = (-(1 << 63), (1 << 63) - 1)


def null_element_refusal(column: str, doing: str, by: str = "BigQuery", written: bool = False) -> str:
    """The one sentence for an ARRAY holding a NULL element in a result column (`written`: in a column a statement
    writes, which BigQuery refuses as well: "Array cannot have a null element; error in writing field"), on both
    targets."""
    verb, place = ("write", "a table") if written else ("return", "a result")
    return (f"{by} cannot {verb} column {column} of {doing}: an ARRAY in {place} cannot hold a NULL element; drop the NULLs "
            f"(ARRAY(SELECT x FROM UNNEST({column}) AS x WHERE x IS NOT NULL)) or replace them (IFNULL) in the SQL.")


def plain_parameter(value: Any) -> Any:
    """numpy and pandas scalars (what a value read back from a frame is) as the Python values they hold."""
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, (datetime, date, bytes, str, list, tuple)):
        return value.item()
    return value


def parameter_type(name: str, value: Any) -> str:
    """The BigQuery type of a Python scalar query parameter value, as BigQuery (and the sandbox) binds it."""
    import pandas as pd

    value = plain_parameter(value)
    if value is None:
        # BigQuery types every parameter and coerces a parameter's type to few others (a STRING only to the
        # date and time types, an INT64 only to the numeric ones): no NULL of one type stands for every NULL.
        raise ParameterError(f"params[{name!r}]", value, "give a typed value: BigQuery needs a type for a NULL "
                                                         "parameter and none compares with every column, so write "
                                                         "NULL in the SQL instead, or leave that condition out")
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        if not INT64_RANGE[0] <= value <= INT64_RANGE[1]:
            raise ParameterError(f"params[{name!r}]", value, "an int is sent as INT64 and this one is outside INT64 "
                                                             "(-2**63 to 2**63 - 1); give a Decimal instead")
        return "INT64"
    if isinstance(value, float):
        return "FLOAT64"
    if isinstance(value, Decimal):
        return "NUMERIC"
    if isinstance(value, str):
        return "STRING"
    if isinstance(value, bytes):
        return "BYTES"
    if isinstance(value, (datetime, pd.Timestamp)):
        return "TIMESTAMP" if value.tzinfo is not None else "DATETIME"
    if isinstance(value, date):
        return "DATE"
    raise ParameterError(f"params[{name!r}]", value,
                         "give None, an int, float, bool, str, bytes, Decimal, date, datetime or a list of one of them")


def array_element_type(name: str, values: Sequence[Any]) -> str:
    """The element type of a list parameter (ints and floats together are FLOAT64). An empty or all-NULL list
    is refused: BigQuery needs an element type, which the SQL around it would decide and nothing here knows;
    ARRAY<STRING> would run UNNEST(@v) alone but fail `int_column IN UNNEST(@v)` on BigQuery while the sandbox
    ran it, and the client's own DB-API refuses to guess too ("cannot determine array elements type")."""
    present = [v for v in values if plain_parameter(v) is not None]
    if not present:
        raise ParameterError(f"params[{name!r}]", list(values), "an empty or all-NULL list has no element type, "
                                                                "which BigQuery needs; give at least one value, "
                                                                "or skip the query when there is none")
    kinds = {parameter_type(name, v) for v in present}
    if kinds == {"INT64", "FLOAT64"}:
        return "FLOAT64"
    if len(kinds) != 1:
        raise ParameterError(f"params[{name!r}]", list(values), "give a list whose elements share one type")
    return kinds.pop()


class TypedParameter(NamedTuple):
    """A query parameter as both targets bind it: its BigQuery type (of the elements, for an ARRAY) and its
    plain Python value."""

    type: str
    value: Any
    is_array: bool = False


def typed_parameter(name: str, value: Any) -> TypedParameter:
    """A query parameter typed: a list is an ARRAY of its element type."""
    if isinstance(value, (list, tuple)):
        kind = array_element_type(name, value)
        plain = [plain_parameter(v) for v in value]
        return TypedParameter(kind, [float(v) if kind == "FLOAT64" and v is not None else v for v in plain], True)
    return TypedParameter(parameter_type(name, value), plain_parameter(value))
