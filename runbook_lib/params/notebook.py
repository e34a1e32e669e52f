"""The notebook side of parameters: what a `parameters` cell declares, read without running it."""
from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass
from typing import Any, Mapping



PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"
# papermill starts the cell it injects with this comment; the kernel's input history shows it.
INJECTED_COMMENT = "# Parameters"



@dataclass(frozen=True)
class DeclaredParameter:
    name: str
    annotation: str | None  # source text of the type, e.g. "str | None"
    default: Any            # the literal default, or the source text if it is not a literal
    help: str | None        # the comment on the assignment's line


def assigned_names(source: str) -> dict[str, ast.stmt]:
    """Top-level `name = ...` / `name: T = ...` statements of a cell, by name."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    names: dict[str, ast.stmt] = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = node
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names[target.id] = node
    return names


def cell_source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def tagged_cells(nb: Any, tag: str) -> list[int]:
    return [i for i, cell in enumerate(nb["cells"]) if tag in cell.get("metadata", {}).get("tags", [])]


def declared_parameters(nb: Any) -> dict[str, DeclaredParameter]:
    """The parameters a notebook's `parameters` cell declares (empty if it has no such cell)."""
    indexes = tagged_cells(nb, PARAMETERS_TAG)
    if not indexes:
        return {}
    source = cell_source(nb["cells"][indexes[0]])
    comments = line_comments(source)
    declared = {}
    for name, node in assigned_names(source).items():
        annotation = ast.get_source_segment(source, node.annotation) if isinstance(node, ast.AnnAssign) else None
        value_node = node.value
        try:
            default = ast.literal_eval(value_node) if value_node is not None else None
        except ValueError:
            default = ast.get_source_segment(source, value_node)
        declared[name] = DeclaredParameter(name, annotation, default, comments.get(node.end_lineno))
    return declared


def line_comments(source: str) -> dict[int, str]:
    comments: dict[int, str] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                comments[token.start[0]] = token.string.lstrip("#").strip()
    except (tokenize.TokenError, IndentationError):
        pass
    return comments


