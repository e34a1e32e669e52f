"""phase-runbooks: the library behind the runbook notebooks.

    from runbook_lib import connect
    tg = connect("local")                                  # the embedded sandbox
    tg = connect("gcp", project="my-project", region="us-west2")
"""
from .target import connect

__all__ = ["connect"]
