"""Small input checks the library shares: dates, paths and YAML files, each failing in one sentence."""
from __future__ import annotations

import os
import re
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterator, Mapping

import yaml

from .errors import ConfigError, ParameterError
from .formats import size


def as_date(parameter: str, value: Any) -> date:
    """A date from a date, a datetime (or pandas Timestamp) or ISO text such as 2025-12-15."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if hasattr(value, "date") and callable(value.date):   # pandas.Timestamp, numpy datetime wrappers
        return value.date()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ParameterError(parameter, value, "give a date or an ISO date text such as 2025-12-15")


def path_problem(path: str | Path) -> str | None:
    """Why the filesystem refuses to even look at `path` (a name too long, a loop of links, ...), or None."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError) as exc:   # ENAMETOOLONG, ELOOP, EACCES; ValueError: an embedded NUL
        return (getattr(exc, "strerror", None) or str(exc)).lower()
    return None


def check_path(parameter: str, value: str | Path, shown: Any = None) -> Path:
    """`value` as a Path the filesystem can look up, else ParameterError naming `parameter`."""
    problem = path_problem(value)
    if problem:
        raise ParameterError(parameter, value if shown is None else shown,
                             f"give a path the filesystem accepts ({problem})")
    return Path(value)


# Parameter files, plans and the kit's own configuration are small: a bigger file is a mistake.
MAX_YAML_BYTES = 2 ** 20   # 1 MiB


class YamlRefused(ConfigError):
    """A YAML file the kit will not read; `allowed` says what it needs, as a ParameterError would."""

    def __init__(self, path: Path, allowed: str, problem: str):
        self.path, self.allowed = path, allowed
        super().__init__(f"{path}: {problem}.")


class _NoAliases:
    """A composer that refuses anchors and aliases: expanding `*a` nested a few times makes a file of
    a few hundred bytes into billions of values before any name could be checked."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[attr-defined]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _AliasFound(event.start_mark.line + 1)
        return super().compose_node(parent, index)  # type: ignore[misc]


class _AliasFound(Exception):
    def __init__(self, line: int):
        self.line = line


class _UniqueKeys:
    """A constructor that refuses a key written twice in one mapping: YAML forbids it, and PyYAML would
    keep the last one silently, so the value the operator edited may not be the one that counts."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            lines: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)  # type: ignore[attr-defined]
                try:
                    first = lines.setdefault(key, key_node.start_mark.line + 1)
                except TypeError:
                    continue   # an unhashable key: the constructor itself says so
                if first != key_node.start_mark.line + 1:
                    raise yaml.constructor.ConstructorError(
                        problem=f"key {key!r} appears twice, on lines {first} and {key_node.start_mark.line + 1}")
        return super().construct_mapping(node, deep=deep)  # type: ignore[misc]


class StrictLoader(_NoAliases, _UniqueKeys, yaml.SafeLoader):
    """yaml.SafeLoader without anchors and aliases, without a key written twice in a mapping, and with numbers as
    YAML 1.2 (and JSON) write them: PyYAML reads YAML 1.1, where `030` is 24 (octal), `1:30` is 90 (base 60),
    `0x10` 16 and `1_000` 1000, so a value written one way would silently become another. Here `030` is 30, and
    the rest stay text (which a number parameter refuses, naming itself)."""


_INT, _FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
StrictLoader.yaml_implicit_resolvers = {first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_INT, _FLOAT)]
                                        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
StrictLoader.add_implicit_resolver(_INT, re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))
StrictLoader.add_implicit_resolver(
    _FLOAT, re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|"
                       r"\.(?:nan|NaN|NAN))$"), list("-+0123456789."))
StrictLoader.add_constructor(_INT, lambda loader, node: int(loader.construct_scalar(node), 10))


def parse_yaml(path: str | Path) -> Any:
    """Parse a YAML file the kit reads (parameters, plans, configuration): a regular UTF-8 file of at
    most MAX_YAML_BYTES without anchors or aliases. A file that is not there or not a regular file
    (a named pipe would block the read forever) is FileNotFoundError; a path the filesystem refuses
    is ParameterError (parameter "file"); anything else wrong with it is YamlRefused, whose
    `allowed` fits a ParameterError."""
    p = Path(path)
    text = _yaml_text(p)
    with _refused_as_yaml_refused(p):
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - StrictLoader is a safe loader


def parse_yaml_as_written(path: str | Path) -> tuple[Any, Any]:
    """(the values, the same values with every scalar as the text written in the file) of a YAML
    file, refused as parse_yaml refuses it. The file is read and parsed once; its node tree is
    constructed twice (a parameter declared as text keeps `0123456` as written, not the number)."""
    p = Path(path)
    text = _yaml_text(p)
    with _refused_as_yaml_refused(p):
        loader = StrictLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None, None
            # As written first: SafeConstructor rewrites a merge key's (<<) nodes in place as it reads them.
            written = yaml.constructor.BaseConstructor().construct_document(node)
            return loader.construct_document(node), written
        finally:
            loader.dispose()


def _yaml_text(p: Path) -> str:
    """The text of a YAML file the kit reads (see parse_yaml), read once."""
    check_path("file", p)
    if not p.is_file():
        raise FileNotFoundError(str(p))
    try:
        with p.open("rb") as fh:
            data = fh.read(MAX_YAML_BYTES + 1)
    except OSError as exc:
        raise YamlRefused(p, "a readable YAML file", f"cannot be read ({exc.strerror or exc})") from None
    if len(data) > MAX_YAML_BYTES:
        raise YamlRefused(p, f"a YAML file of at most {size(MAX_YAML_BYTES)}",
                          f"is larger than {size(MAX_YAML_BYTES)}; the kit reads small YAML files only")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        where = f"byte 0x{data[exc.start]:02x} at offset {exc.start}"
        raise YamlRefused(p, f"a YAML file saved as UTF-8 text ({where} is not UTF-8)",
                          f"is not UTF-8 text ({where}); save it as UTF-8") from None


@contextmanager
def _refused_as_yaml_refused(p: Path) -> Iterator[None]:
    """What goes wrong parsing the text of `p` as one YamlRefused naming the file (and the line)."""
    try:
        yield
    except _AliasFound as found:
        raise YamlRefused(p, f"YAML without anchors or aliases (&name, *name; line {found.line} uses one)",
                          f"line {found.line} uses a YAML anchor or alias (&name or *name), which the kit refuses "
                          "(a small file could expand into a huge one); write the values out in full") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlRefused(p, f"valid YAML ({problem}{at})", f"is not valid YAML{at} ({problem})") from None
    except RecursionError:
        raise YamlRefused(p, "YAML nested less deeply", "is nested too deeply to read") from None


def read_yaml(path: str | Path, parameter: str, what: str) -> Any:
    """Parse a YAML file (see parse_yaml); a missing file names `parameter`, anything wrong inside it
    names the file (and the line)."""
    try:
        return parse_yaml(path)
    except FileNotFoundError:
        raise ParameterError(parameter, str(path), f"give the path of an existing {what}") from None
    except ParameterError as exc:
        raise ParameterError(parameter, str(path), exc.allowed) from None


# A JSON escape of a character beyond U+FFFF ("\ud83d\ude00", one emoji) is two lone surrogates in YAML:
# text that no UTF-8 file can hold, so the night would break writing its first record of it.
SURROGATE_ADVICE = ("half of a character, as YAML reads a JSON escape such as \\ud83d\\ude00; write the character "
                    "itself, or YAML's own escape \\U0001F600")


def not_utf8(text: str) -> str | None:
    """The first character of `text` that cannot be written as UTF-8 (a lone surrogate), escaped for a
    message; None when all of it can be."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return text[exc.start].encode("unicode_escape").decode("ascii")
    return None


def unwritable_text(data: Any, where: tuple[Any, ...] = ()) -> tuple[tuple[Any, ...], str] | None:
    """(where, the character) of the first text in `data` (mappings and lists, keys too) that cannot be
    written as UTF-8: `where` is the path of keys and indexes to it. None when every text can be."""
    if isinstance(data, str):
        bad = not_utf8(data)
        return (where, bad) if bad else None
    if isinstance(data, Mapping):
        items = [(key, (*where, key)) for key in data] + [(value, (*where, key)) for key, value in data.items()]
    elif isinstance(data, (list, tuple)):
        items = [(value, (*where, index)) for index, value in enumerate(data)]
    else:
        return None
    return next((found for found in (unwritable_text(value, at) for value, at in items) if found), None)
