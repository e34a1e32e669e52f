"""phase-runbooks: the library behind the runbook notebooks.

    from runbook_lib import connect
    tg = connect("local")                                  # the embedded sandbox
    tg = connect("gcp", project="my-project", region="us-west2")
"""
from .lazy_imports import defer_slow_imports

defer_slow_imports()

from .target import connect  # noqa: E402

__all__ = ["connect"]
