"""Typed runbook parameters, validated strictly with one clear sentence per mistake.

Each runbook has a model here (a subclass of `TargetParams`, one module per runbook). Its notebook
declares the same names in a cell tagged `parameters` and validates them in the next cell:

    from runbook_lib import params
    p = params.from_notebook(params.DiagnoseParams, globals())

A bad value raises `ParameterError` naming the parameter, the value and what is allowed; a name
the model does not know is an error too (papermill itself would only warn).

To add a runbook's model, subclass `TargetParams` (or `RunbookParams` for a runbook that connects to
nothing) in a module of its own and export it here; use `param(default, allowed=...)` when the automatic
"what is allowed" text would be unclear, and raise `ParameterError` from validators.

- base.py      the machinery: RunbookParams, validate_params, from_notebook, the one-sentence errors,
               TargetParams (the sandbox must be initialised and writable on target=local)
- notebook.py  what a notebook's `parameters` cell declares, read without running it
- overview.py diagnose.py redeploy.py replay.py compare.py audit.py   one model per runbook
"""
from .audit import AuditParams
from .base import (PARAMETER_ERROR_NAMES, PROJECT_ID, REGION, NotebookParameterError, RunbookParams, TargetParams,
                   from_notebook, injected_names, param, superseded, unknown_parameter_error, validate_params)
from .compare import CompareParams
from .diagnose import DiagnoseParams
from .notebook import (INJECTED_COMMENT, INJECTED_TAG, PARAMETERS_TAG, DeclaredParameter, assigned_names, cell_source,
                       declared_parameters, line_comments, tagged_cells)
from .overview import OverviewParams
from .redeploy import RedeployParams
from .replay import ReplayParams
from ..errors import ParameterError

__all__ = [
    "AuditParams", "CompareParams", "DeclaredParameter", "DiagnoseParams", "INJECTED_COMMENT", "INJECTED_TAG",
    "NotebookParameterError", "OverviewParams", "PARAMETERS_TAG", "PARAMETER_ERROR_NAMES", "PROJECT_ID", "REGION",
    "ParameterError", "RedeployParams", "ReplayParams", "RunbookParams", "TargetParams", "assigned_names",
    "cell_source", "declared_parameters", "line_comments", "from_notebook", "injected_names", "param", "superseded",
    "tagged_cells",
    "unknown_parameter_error", "validate_params",
]
