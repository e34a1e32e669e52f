"""What the Python UDFs over Arrow chunks share (functions.py registers them)."""
from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa


def per_distinct(values: pa.Array | pa.ChunkedArray, answer: Callable[[object], object], kind: pa.DataType) -> pa.Array:
    """answer(value) for each row, computed once for each distinct value of the chunk (a NULL stays NULL)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    encoded = values.dictionary_encode()
    return pa.array([answer(v) for v in encoded.dictionary.to_pylist()], kind).take(encoded.indices)
