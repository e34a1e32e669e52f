"""The BigQuery functions DuckDB lacks, as Python functions registered on each DuckDB connection."""
from __future__ import annotations

import farmhash
import pyarrow as pa

from . import decimal_math
from .characters import lower_in_full, upper_in_full
from .datetimes import zone_names
from .json_nulls import strip_nulls
from .json_text import to_json, to_json_string
from .printf_format import format_text
from .regexps import regexp_udfs
from .typenames import bigquery_type

_TWO_64 = 1 << 64
_TWO_63 = 1 << 63


def farm_fingerprint(value: str | bytes | None) -> int | None:
    """BigQuery FARM_FINGERPRINT: FarmHash Fingerprint64 of a STRING's UTF-8 bytes (or of BYTES as
    they are), read as a signed INT64, as BigQuery returns it. NULL in, NULL out."""
    if value is None:
        return None
    u = farmhash.fingerprint64(value if isinstance(value, (str, bytes)) else bytes(value))
    return u - _TWO_64 if u >= _TWO_63 else u


def farm_fingerprints(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """farm_fingerprint over a chunk of values, as DuckDB calls FARM_FINGERPRINT: one Python loop a
    chunk instead of one call from DuckDB a row (0.7 s of CPU for a million strings against 1.7 s)."""
    fingerprint = farmhash.fingerprint64
    unsigned = pa.array([None if v is None else fingerprint(v) for v in values.to_pylist()], pa.uint64())
    return unsigned.cast(pa.int64(), safe=False)   # two's complement: BigQuery's signed INT64


def register_functions(con) -> None:
    """Give a DuckDB connection the BigQuery functions DuckDB lacks (cheap; once per connection)."""
    import duckdb

    # STRING or BYTES, as BigQuery takes (DuckDB registers one signature per name: any type in, and pyfarmhash
    # refuses what is neither text nor bytes)
    con.create_function("farm_fingerprint", farm_fingerprints, None, duckdb.sqltypes.BIGINT,
                        type="arrow", null_handling="default", side_effects=False)
    # Any type in (no parameter types given): Arrow keeps each value's type; NULL too gives "null".
    con.create_function("_bq_to_json_string", to_json_string, None, duckdb.sqltypes.VARCHAR,
                        type="arrow", null_handling="special", side_effects=False)
    con.create_function("_bq_to_json", to_json, None, duckdb.sqltypes.VARCHAR,
                        type="arrow", null_handling="special", side_effects=False)
    con.create_function("_bq_json_strip_nulls", strip_nulls,
                        [duckdb.sqltypes.VARCHAR, duckdb.sqltypes.VARCHAR, duckdb.sqltypes.BOOLEAN,
                         duckdb.sqltypes.BOOLEAN], duckdb.sqltypes.VARCHAR,
                        type="arrow", null_handling="special", side_effects=False)
    # FORMAT's %t and %T (printf_format.py): any type in; a NULL is the text NULL
    con.create_function("_bq_format_text", format_text, None, duckdb.sqltypes.VARCHAR,
                        type="arrow", null_handling="special", side_effects=False)
    # a time zone read from a value, an offset as DuckDB's ICU reads it (datetimes.zones_of_values)
    con.create_function("_bq_zone", zone_names, [duckdb.sqltypes.VARCHAR], duckdb.sqltypes.VARCHAR,
                        type="arrow", null_handling="special", side_effects=False)
    # UPPER and LOWER of a value that maps a character to several (characters.py)
    for name, function in (("_bq_upper", upper_in_full), ("_bq_lower", lower_in_full)):
        con.create_function(name, function, [duckdb.sqltypes.VARCHAR], duckdb.sqltypes.VARCHAR,
                            type="arrow", null_handling="special", side_effects=False)
    con.create_function("_bq_type", bigquery_type, [duckdb.sqltypes.VARCHAR], duckdb.sqltypes.VARCHAR,
                        type="native", null_handling="default", side_effects=False)
    # SQRT, EXP, LN, LOG, POW, CBRT of a NUMERIC or BIGNUMERIC (decimal_math.py): a null argument is read there
    name, function, parameters, result = decimal_math.udf(duckdb)
    con.create_function(name, function, parameters, result, type="arrow", null_handling="special",
                        side_effects=False)
    # REGEXP_EXTRACT, _EXTRACT_ALL, _INSTR where DuckDB's own functions answer otherwise (regexps.py): ZetaSQL's loop
    for name, function, parameters, result in regexp_udfs(duckdb):
        con.create_function(name, function, parameters, result, type="arrow", null_handling="special",
                            side_effects=False)
