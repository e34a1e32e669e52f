"""Runbook notebook conventions, for every notebooks/*.ipynb (and the runner's fixture notebooks as
positive controls):

- committed without outputs or execution counts, and without a papermill-injected cell;
- exactly one cell tagged `parameters`, the first code cell: typed assignments of literal defaults,
  each with a comment saying what it is, after at most one `from typing import ...` (its annotations are
  evaluated, and papermill reads `Optional[str]` but not `str | None`);
- the next code cell validates them with `params.from_notebook(<Model>, globals())`, and the
  model's fields are exactly the declared parameters;
- the notebook records its result with `report.record(...)`;
- thin: no def, class, lambda, loops, comprehensions, if, try or with; imports only from the kit
  (and IPython.display; typing in the parameters cell).
"""
from __future__ import annotations

import ast
import copy
import sys
import types
import typing
from pathlib import Path

import nbformat
import pytest

from runbook_lib import params

ROOT = Path(__file__).resolve().parent.parent
RUNBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
FIXTURES = Path(__file__).parent / "notebooks"
CONTROLS = [FIXTURES / "example.ipynb", FIXTURES / "raising.ipynb"]
ALLOWED_IMPORTS = {"runbook_lib", "IPython"}
FIXTURE_IMPORTS = ALLOWED_IMPORTS | {"fixture_params"}
NOT_THIN = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.For, ast.AsyncFor, ast.While,
            ast.If, ast.IfExp, ast.Try, ast.With, ast.AsyncWith, ast.ListComp, ast.SetComp, ast.DictComp,
            ast.GeneratorExp, ast.Global, ast.Nonlocal)


def _code_cells(nb) -> list[tuple[int, str]]:
    return [(i, params.cell_source(c)) for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def _from_notebook_call(source: str) -> ast.Call | None:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "from_notebook":
            if isinstance(node.func.value, ast.Name) and node.func.value.id == "params":
                return node
    return None


def _model_of(source: str, folder: Path):
    """The model class the validation cell passes to from_notebook (its imports run here)."""
    call = _from_notebook_call(source)
    tree = ast.parse(source)
    namespace: dict = {}
    sys.path.insert(0, str(folder))
    try:
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                exec(compile(ast.Module([node], []), "<validation cell>", "exec"), namespace)
        return eval(compile(ast.Expression(call.args[0]), "<model>", "eval"), namespace)
    finally:
        sys.path.remove(str(folder))


def _typing_import(node: ast.AST) -> bool:
    return isinstance(node, ast.ImportFrom) and node.module == "typing" and not node.level


def convention_problems(nb, folder: Path, allowed_imports=frozenset(ALLOWED_IMPORTS)) -> list[str]:
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None):
            problems.append(f"cell {i} has outputs or an execution count (commit notebooks cleared)")
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            problems.append(f"cell {i} is a papermill-injected cell (commit the source notebook, not a run)")
    code = _code_cells(nb)
    tagged = params.tagged_cells(nb, params.PARAMETERS_TAG)
    if len(tagged) != 1:
        return problems + [f"{len(tagged)} cells are tagged 'parameters' (exactly one is needed)"]
    if not code or code[0][0] != tagged[0]:
        problems.append("the 'parameters' cell is not the first code cell")
    source = params.cell_source(nb.cells[tagged[0]])
    comments = params.line_comments(source)
    try:
        statements = ast.parse(source).body
    except SyntaxError as exc:
        return problems + [f"the parameters cell does not parse: {exc}"]
    for k, node in enumerate(statements):
        line = ast.get_source_segment(source, node)
        if _typing_import(node):
            if k:   # papermill reads a line without "=" as the end of the parameter before it
                problems.append(f"parameters cell: {line!r} is not its first line")
            continue
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None):
            problems.append(f"parameters cell: {line!r} is not a typed assignment (name: type = value)")
            continue
        try:
            ast.literal_eval(node.value)
        except ValueError:
            problems.append(f"parameters cell: the default of {node.target.id} is not a literal")
        if not comments.get(node.end_lineno):
            problems.append(f"parameters cell: {node.target.id} has no comment saying what it is")
    after = [(i, s) for i, s in code if i > tagged[0]]
    call = _from_notebook_call(after[0][1]) if after else None
    if call is None or len(call.args) != 2 or ast.unparse(call.args[1]) != "globals()":
        problems.append("the code cell after the parameters does not call params.from_notebook(<Model>, globals())")
    else:
        try:
            model = _model_of(after[0][1], folder)
        except Exception as exc:  # an unimportable model is a convention failure, reported as such
            problems.append(f"the validation cell's model cannot be loaded: {type(exc).__name__}: {exc}")
        else:
            declared, fields = set(params.declared_parameters(nb)), set(model.model_fields)
            if declared != fields:
                problems.append(f"declared parameters and {model.__name__} fields differ: "
                                f"only declared {sorted(declared - fields)}, only in the model {sorted(fields - declared)}")
    records = False
    for i, cell_source in code:
        try:
            tree = ast.parse(cell_source)
        except SyntaxError as exc:
            problems.append(f"cell {i} does not parse: {exc}")
            continue
        for node in ast.walk(tree):
            if isinstance(node, NOT_THIN):
                problems.append(f"cell {i} has a {type(node).__name__} (notebooks stay thin: put logic in runbook_lib)")
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                roots = {(node.module or "").split(".")[0]}
            else:
                roots = set()
            if i == tagged[0] and _typing_import(node):
                roots = set()
            for root in roots - set(allowed_imports):
                problems.append(f"cell {i} imports {root} (notebooks import only {', '.join(sorted(allowed_imports))})")
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "record"
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "report"):
                records = True
    if not records:
        problems.append("no cell calls report.record(...)")
    if nb.metadata.get("kernelspec", {}).get("language", "python") != "python":
        problems.append("the kernel is not Python")
    return problems


@pytest.mark.parametrize("path", RUNBOOKS, ids=lambda p: p.name)
def test_runbook_follows_the_conventions(path):
    assert convention_problems(nbformat.read(path, as_version=4), path.parent) == []


@pytest.mark.parametrize("path", CONTROLS, ids=lambda p: p.name)
def test_fixture_notebooks_follow_the_conventions(path):
    assert convention_problems(nbformat.read(path, as_version=4), path.parent, FIXTURE_IMPORTS) == []


def _broken(change) -> list[str]:
    nb = copy.deepcopy(nbformat.read(CONTROLS[0], as_version=4))
    change(nb)
    return convention_problems(nb, FIXTURES, FIXTURE_IMPORTS)


def _append_to_cell(index, text):
    def change(nb):
        nb.cells[index].source = params.cell_source(nb.cells[index]) + text
    return change


def _set_outputs(nb):
    nb.cells[-1].outputs = [nbformat.v4.new_output("stream", text="hi")]
    nb.cells[-1].execution_count = 3


def _untag(nb):
    nb.cells[1].metadata["tags"] = []


def _drop_record(nb):
    nb.cells = [c for c in nb.cells if "report.record" not in params.cell_source(c)]


def _move_validation(nb):
    nb.cells.insert(2, nbformat.v4.new_code_cell("from runbook_lib import report"))


@pytest.mark.parametrize("change, expected", [
    (_set_outputs, "has outputs"),
    (_untag, "0 cells are tagged 'parameters'"),
    (_append_to_cell(1, "\nextra: int = 1"), "extra has no comment"),
    (_append_to_cell(1, "\nextra = 1  # untyped"), "is not a typed assignment"),
    (_append_to_cell(1, "\nfrom typing import Optional"), "'from typing import Optional' is not its first line"),
    (_append_to_cell(1, "\nimport typing"), "is not a typed assignment"),
    (_append_to_cell(1, "\nfrom os import path"), "is not a typed assignment"),
    (_append_to_cell(1, "\nextra: int = 1  # not in the model"), "only declared ['extra']"),
    (_append_to_cell(-1, "\nfor x in range(3):\n    print(x)"), "has a For"),
    (_append_to_cell(-1, "\ndef helper():\n    pass"), "has a FunctionDef"),
    (_append_to_cell(-1, "\nimport pandas as pd"), "imports pandas"),
    (_drop_record, "no cell calls report.record"),
    (_move_validation, "does not call params.from_notebook"),
])
def test_each_convention_is_enforced(change, expected):
    problems = _broken(change)
    assert any(expected in problem for problem in problems), problems


def test_a_typing_import_may_head_the_parameters_cell():
    def change(nb):
        nb.cells[1].source = "from typing import Optional, Union\n" + params.cell_source(nb.cells[1])
    assert _broken(change) == []


def _takes_dry_run(path: Path) -> bool:
    return "dry_run" in params.declared_parameters(nbformat.read(path, as_version=4))


def test_the_runbooks_that_change_things_take_dry_run():
    assert [p.stem for p in RUNBOOKS if _takes_dry_run(p)] == ["02_redeploy_phase", "03_prefixed_replay"]


@pytest.mark.parametrize("path", [p for p in RUNBOOKS if _takes_dry_run(p)], ids=lambda p: p.name)
def test_a_runbook_that_changes_things_is_a_dry_run_by_default_wherever_that_is_decided(path):
    """The parameters cell, the notebook's model and the overnight plan's allow_changes check agree: a step that
    does not say dry_run is a dry run."""
    from runbook_lib import runner

    nb = nbformat.read(path, as_version=4)
    declared = params.declared_parameters(nb)
    assert declared["dry_run"].default is True
    assert runner.validation_model(nb).model_fields["dry_run"].default is True
    assert not runner.plan.changes_things(declared, {}) and runner.plan.changes_things(declared, {"dry_run": False})


# ---------------------------------------------------------------------------------------------
# The parameters cell as papermill, a kernel and the runner read it

def _parameters_source(nb) -> str:
    return params.cell_source(nb.cells[params.tagged_cells(nb, params.PARAMETERS_TAG)[0]])


@pytest.mark.parametrize("path", RUNBOOKS, ids=lambda p: p.name)
def test_papermill_sees_every_parameter_the_runbook_declares(path):
    """`papermill NB --help-notebook` lists, and its `-p` takes without "Passed unknown parameter", exactly the
    parameters the cell declares, with their types, defaults and help: papermill's Python translator reads
    `project: Optional[str] = None` but skips `project: str | None = None` (a `|` is not in its pattern)."""
    import papermill

    declared = params.declared_parameters(nbformat.read(path, as_version=4))
    seen = papermill.inspect_notebook(str(path))
    assert list(seen) == list(declared), f"papermill does not see {sorted(set(declared) - set(seen))}"
    for name, found in seen.items():
        assert found["inferred_type_name"] == declared[name].annotation, name
        assert ast.literal_eval(found["default"]) == declared[name].default, name
        assert found["help"] == declared[name].help, name


@pytest.mark.parametrize("path", RUNBOOKS, ids=lambda p: p.name)
def test_the_parameters_cell_runs_on_its_own(path):
    """A kernel evaluates the annotations of module-level assignments: the cell imports what they name."""
    nb = nbformat.read(path, as_version=4)
    namespace: dict = {}
    exec(compile(_parameters_source(nb), "<parameters cell>", "exec"), namespace)  # noqa: S102 - the kit's own cell, as a kernel runs it
    declared = params.declared_parameters(nb)
    assert {name: namespace[name] for name in declared} == {name: d.default for name, d in declared.items()}


def _united(annotation) -> set:
    return set(typing.get_args(annotation)) if typing.get_origin(annotation) in (typing.Union, types.UnionType) \
        else {annotation}


def _text_only(kind) -> bool:
    if typing.get_origin(kind) is typing.Annotated:
        kind = typing.get_args(kind)[0]
    if typing.get_origin(kind) is typing.Literal:
        return all(isinstance(choice, str) for choice in typing.get_args(kind))
    return kind is str


@pytest.mark.parametrize("path", RUNBOOKS, ids=lambda p: p.name)
def test_the_runner_types_each_parameter_as_the_model_takes_it(path):
    """`runbook run -p NAME VALUE` types a value by the annotation the parameters cell writes
    (runner/parameters.py): it takes `none` as None exactly where the model takes None, and keeps the value as
    text exactly where the model takes text only."""
    from runbook_lib import runner
    from runbook_lib.runner.parameters import _is_text

    nb = nbformat.read(path, as_version=4)
    fields = runner.validation_model(nb).model_fields
    for name, declared in params.declared_parameters(nb).items():
        kinds = _united(fields[name].annotation)
        assert (runner.coerce_cli_value("none", declared.annotation) is None) == (type(None) in kinds), name
        assert _is_text(declared.annotation) == all(_text_only(k) for k in kinds - {type(None)}), name
