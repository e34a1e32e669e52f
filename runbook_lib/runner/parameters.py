"""Parameters of a run: -f files and -p pairs resolved and typed, names checked against the
notebook's parameters cell before anything runs, and (overnight) values checked against the
model the notebook's validation cell names, before the night starts."""
from __future__ import annotations

import ast
import os
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any, Mapping, Sequence

import nbformat
import yaml

from .. import masking, params
from ..checks import SURROGATE_ADVICE, StrictLoader, YamlRefused, not_utf8, parse_yaml_as_written
from ..errors import ParameterError
from ..target import TARGETS

# Parameters named like this are paths: made absolute from where the operator stands.
PATH_SUFFIXES = ("_dir", "_file", "_home", "_path")
# `${NAME}` in a path written in a plan or a -f file: the environment's value (a checkout's place differs
# from machine to machine, or from job to job).
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NON_TEXT_TYPES = {"int", "float", "bool", "list", "dict", "tuple", "List", "Dict", "Tuple"}


def plain_value(value: Any, where: str) -> Any:
    """JSON-safe parameter values: YAML dates become ISO text; anything else unusual is refused."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain_value(v, where) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_value(v, where) for v in value]
    if isinstance(value, str) and not_utf8(value):
        raise ParameterError(where, masking.mask_value(where, value), f"text that can be written as UTF-8; it holds "
                             f"{not_utf8(value)}, which cannot be written as UTF-8: {SURROGATE_ADVICE}")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise ParameterError(where, masking.mask_value(where, value), "text, a number, true/false, a list or a mapping")


def plain_values(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: plain_value(value, name) for name, value in values.items()}


def check_target(target: str | None) -> None:
    if target is not None and target not in TARGETS:
        raise ParameterError("target", target, f"choose one of {', '.join(TARGETS)}")


def _is_text(annotation: str | None) -> bool:
    """Does a declared annotation take text only (so a value is kept as written)?"""
    return annotation is not None and not set(re.findall(r"[A-Za-z_]+", annotation)) & _NON_TEXT_TYPES


def coerce_cli_value(raw: str, annotation: str | None) -> Any:
    """A `-p NAME VALUE` string typed by the parameter's declared annotation: text stays text
    (so `-p commit 0123456` is not a number), numbers/booleans/lists are parsed as YAML, and
    none/null becomes None where the annotation allows None."""
    words = set(re.findall(r"[A-Za-z_]+", annotation or ""))
    optional = annotation is None or "None" in words or "Optional" in words
    if optional and raw.strip().lower() in ("none", "null", "~"):
        return None
    if _is_text(annotation):
        return raw
    try:
        parsed = yaml.load(raw, Loader=StrictLoader)  # noqa: S506 - a safe loader
    except Exception:  # not YAML (or an alias): the text as given
        return raw
    if isinstance(parsed, (date, datetime)):
        return raw
    return parsed


def as_written(value: Any, written: Any, annotation: str | None) -> Any:
    """A value read from a YAML file, typed as `-p` types it: for a parameter declared as text, a
    number or true/false is the text as written (`phase: 4` is "4", as `-p phase 4` is, and
    `commit: 0123456` stays "0123456", not the octal number YAML reads)."""
    if isinstance(value, (int, float)) and isinstance(written, str) and _is_text(annotation):
        return written
    return value


def load_parameter_file(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """A -f file: (its values, the same values as the text written in the file)."""
    try:
        data, written = parse_yaml_as_written(path)
    except FileNotFoundError:
        raise ParameterError("-f", str(path), "an existing YAML file of parameter names and values") from None
    except (YamlRefused, ParameterError) as exc:   # ParameterError: a path the filesystem refuses
        raise ParameterError("-f", str(path), exc.allowed) from None
    if data is None:
        return {}, {}
    if not isinstance(data, Mapping):
        raise ParameterError("-f", str(path), "a YAML mapping of parameter names to values")
    return {str(k): v for k, v in data.items()}, {str(k): v for k, v in (written or {}).items()}


def resolve_parameters(notebook: Path, pairs: Sequence[Sequence[str]] = (), files: Sequence[str | Path] = (),
                       target: str | None = None, *, nb: Any = None) -> dict[str, Any]:
    """Merge -f files (in order), then -p pairs, then --target; refuse names the notebook does not
    declare (before any value is looked at), then type file values as -p would. `nb`: the notebook
    as the caller parsed it already (else it is read here)."""
    declared = params.declared_parameters(nb if nb is not None else nbformat.read(notebook, as_version=4))
    values: dict[str, Any] = {}
    for file in files:
        values.update(written_values(notebook, declared, *load_parameter_file(file)))
    given: dict[str, str] = {}
    for pair in pairs:
        name, raw = pair
        if name in given and given[name] != raw:   # (the last would win: `-p dry_run true ... -p dry_run false`)
            raise ParameterError(name, masking.mask_value(name, raw), f"it is given twice with -p, as "
                                 f"{masking.mask_value(name, given[name])!r} and then as this; give it once")
        given[name] = raw
        values[name] = coerce_cli_value(raw, declared[name].annotation) if name in declared else raw
    if target is not None:
        check_target(target)
        if given.get("target", target) != target:
            raise ParameterError("target", target, f"--target says {target} and -p target says {given['target']}; "
                                 "give the target once")
        values["target"] = target
    check_declared(notebook, declared, values)
    return absolute_paths(plain_values(values))


def written_values(notebook: Path, declared: Mapping[str, Any], data: Mapping[str, Any],
                   written: Mapping[str, Any]) -> dict[str, Any]:
    """Values a YAML file gives a notebook (a -f file, or a plan's and its step's parameters), with
    `written` the same values as text: names checked first (before any value is looked at), then
    typed as -p types them (`as_written`), made JSON-safe, and `${NAME}` in paths expanded."""
    check_declared(notebook, declared, data)
    return expand_environment(plain_values({name: as_written(value, written.get(name), declared[name].annotation)
                                            for name, value in data.items()}))


def expand_environment(values: Mapping[str, Any]) -> dict[str, Any]:
    """Path parameters (named *_dir, *_file, *_home, *_path) with each `${NAME}` replaced by the
    environment variable's value; an unset or empty one is a ParameterError naming it."""
    def value_of(name: str, written: str, match: re.Match) -> str:
        found = os.environ.get(match.group(1), "")
        if not found:
            raise ParameterError(name, written, f"${{{match.group(1)}}} is not set in the environment; set it to "
                                                "the path, or write the path itself")
        return found

    return {name: _ENV_REFERENCE.sub(lambda m, n=name, v=value: value_of(n, v, m), value)
            if name.endswith(PATH_SUFFIXES) and isinstance(value, str) else value
            for name, value in values.items()}


def absolute_paths(values: Mapping[str, Any]) -> dict[str, Any]:
    """Path parameters given relative to where the operator stands: the kernel runs in notebooks/,
    so `-p source_dir .` must be made absolute here, before it is injected."""
    return {name: os.path.abspath(os.path.expanduser(value))
            if name.endswith(PATH_SUFFIXES) and isinstance(value, str) and value.strip() and not _URL.match(value)
            else value
            for name, value in values.items()}


# A URL given for a path (a log's https:// or gs:// address, a git remote) is refused by the notebook as it was
# typed: made "absolute" its // became /, which hid a password in it from masking.
_URL = re.compile(r"\s*[A-Za-z][A-Za-z0-9+.-]*://")


def check_declared(notebook: Path, declared: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    """Refuse a name the notebook's parameters cell does not declare; the message never repeats the
    value (a misspelt `api_tokn` is not recognised as secret, so its value may well be one)."""
    for name in values:
        if name not in declared:
            allowed = (f"{notebook.name} declares {', '.join(declared)}" if declared
                       else f"{notebook.name} has no cell tagged 'parameters'")
            raise params.unknown_parameter_error(name, allowed)


def declared_default(nb: Any, name: str) -> Any:
    declared = params.declared_parameters(nb).get(name)
    return declared.default if declared else None


# ---------------------------------------------------------------------------------------------
# The validation cell: the first code cell after the parameters

def validation_cell_index(nb: Any) -> int | None:
    """The validation cell: the first code cell after the parameters (and injected parameters)."""
    tagged = params.tagged_cells(nb, params.PARAMETERS_TAG) + params.tagged_cells(nb, params.INJECTED_TAG)
    start = max(tagged) + 1 if tagged else 0
    return next((i for i in range(start, len(nb.cells)) if nb.cells[i].cell_type == "code"), None)


def validation_model(nb: Any) -> type[params.RunbookParams] | None:
    """The runbook_lib.params model a notebook's validation cell passes to `params.from_notebook`
    (`params.from_notebook(params.DiagnoseParams, globals())`), or None when it names another
    (e.g. a model of the notebook's own folder, which only its kernel can import)."""
    index = validation_cell_index(nb)
    if index is None:
        return None
    try:
        tree = ast.parse(params.cell_source(nb.cells[index]))
    except SyntaxError:
        return None
    modules: set[str] = set()       # local names of runbook_lib.params
    names: dict[str, str] = {}      # local name -> name in runbook_lib.params
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "runbook_lib" and not node.level:
            modules |= {a.asname or a.name for a in node.names if a.name == "params"}
        elif isinstance(node, ast.ImportFrom) and node.module == "runbook_lib.params" and not node.level:
            names.update({a.asname or a.name: a.name for a in node.names})
        elif isinstance(node, ast.Import):
            modules |= {a.asname for a in node.names if a.name == "runbook_lib.params" and a.asname}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        func = node.func
        calls_from_notebook = (
            (isinstance(func, ast.Attribute) and func.attr == "from_notebook"
             and isinstance(func.value, ast.Name) and func.value.id in modules)
            or (isinstance(func, ast.Name) and names.get(func.id) == "from_notebook"))
        if not calls_from_notebook:
            continue
        model = node.args[0]
        if isinstance(model, ast.Attribute) and isinstance(model.value, ast.Name) and model.value.id in modules:
            found = getattr(params, model.attr, None)
        elif isinstance(model, ast.Name) and model.id in names:
            found = getattr(params, names[model.id], None)
        else:
            return None
        return found if isinstance(found, type) and issubclass(found, params.RunbookParams) else None
    return None


def validate_step_values(nb: Any, notebook: Path, values: Mapping[str, Any]) -> None:
    """Validate a step's values as its validation cell will, before the night starts: raise the
    ParameterError the notebook would raise. The model sees the parameters cell's literal defaults
    overridden by `values`, with relative paths taken from the notebook's folder (the kernel's
    working folder). Does nothing when the model is not one of runbook_lib.params; a validator that
    breaks for another reason is left for the kernel to report in context."""
    model = validation_model(nb)
    if model is None:
        return
    merged = {name: default for name, default in _literal_defaults(nb).items() if name in model.model_fields}
    merged.update(values)
    moved = set()
    for name, value in merged.items():
        if name.endswith(PATH_SUFFIXES) and isinstance(value, str) and value.strip():
            merged[name] = os.path.join(notebook.parent, os.path.expanduser(value))
            moved.add(name)
    try:
        params.validate_params(model, merged)
    except ParameterError as exc:
        if exc.parameter in moved and exc.parameter in values:  # name the path as the plan wrote it
            original = masking.mask_text(str(values[exc.parameter]), masking.secret_values(values))
            raise ParameterError(exc.parameter, masking.mask_value(exc.parameter, original), exc.allowed) from None
        raise
    except Exception:
        return


def _literal_defaults(nb: Any) -> dict[str, Any]:
    indexes = params.tagged_cells(nb, params.PARAMETERS_TAG)
    if not indexes:
        return {}
    defaults = {}
    for name, node in params.assigned_names(params.cell_source(nb.cells[indexes[0]])).items():
        if node.value is None:
            continue  # `name: T` without a value: the kernel has no such variable either
        try:
            defaults[name] = ast.literal_eval(node.value)
        except (ValueError, TypeError, SyntaxError, RecursionError):
            continue  # not a literal (e.g. date.today()): the model's own default stands in
    return defaults
