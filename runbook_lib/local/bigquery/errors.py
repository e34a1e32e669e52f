"""The one error the BigQuery-dialect layer raises on purpose."""
from ...errors import RunbookError


class UnsupportedSQL(RunbookError, ValueError):
    """A BigQuery construct the local (DuckDB) warehouse cannot run; the message names it."""
