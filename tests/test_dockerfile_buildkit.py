"""A Dockerfile's COPY sources and `.dockerignore` read as BuildKit reads them (its Dockerfile frontend, Go's
filepath.Match, moby/patternmatcher), where a reading of its own passed a build that then failed
(/work/probes/preflight findings 2-9 and 11): each case is a small source tree built here."""
from __future__ import annotations

from pathlib import Path

import pytest

from runbook_lib.preflight import copy_sources, dockerfile_copy_check, parse_dockerfile, parse_dockerignore
from runbook_lib.preflight.dockerfile import dockerignore_excludes
from runbook_lib.preflight.dockerfile_words import go_glob


def tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


def problems(root: Path, dockerfile: str = "Dockerfile") -> list[tuple[int, str, str]]:
    return [(p.line, p.source, p.reason) for p in dockerfile_copy_check(root, dockerfile)]


def test_copy_sources_are_expanded_from_arg_defaults_and_env_with_quotes_removed():
    """runbook 02 builds with no --build-arg, so the defaults are what is copied; an ARG before FROM counts only
    where a stage declares it again."""
    text = ("ARG PHASE_DIR=data_processors/precompute\nARG UNUSED=nothing\nFROM python:3.11\nARG PHASE_DIR\n"
            "ENV CONF=config/phase4.yaml\nENV LEGACY legacy/dir\n"
            "COPY ${PHASE_DIR} $CONF ${SHARED:-shared} ${CONF:+set} ${UNUSED:-unused} $LEGACY /app/\n"
            "COPY \"main.py\" 'requirements.txt' /app/\n"
            "COPY ${CONF#config/} /app/\n")   # a form this does not read: no source is guessed
    assert [c.source for c in copy_sources(parse_dockerfile(text))] == [
        "data_processors/precompute", "config/phase4.yaml", "shared", "set", "unused", "legacy/dir",
        "main.py", "requirements.txt"]


def test_a_missing_expanded_source_and_a_quoted_present_one(tmp_path):
    tree(tmp_path, {"main.py": "", "Dockerfile": "ARG APP=missing_app\nFROM python:3.11\nARG APP\n"
                                               "COPY ${APP} /app/\nCOPY \"main.py\" /app/\n"})
    assert problems(tmp_path) == [(4, "missing_app", "not-on-disk")]


def test_a_bind_mount_reads_the_context_as_a_copy_does(tmp_path):
    """`docker init`'s Python template mounts requirements.txt: a source missing or .dockerignored fails the
    build; a cache mount, or a bind from another stage, reads no context."""
    tree(tmp_path, {"requirements.txt": "", ".dockerignore": "requirements.txt\n", "Dockerfile": (
        "FROM python:3.11\n"
        "RUN --mount=type=bind,source=requirements.txt,target=/r --mount=source=constraints.txt,target=/c "
        "--mount=type=cache,target=/root/.cache --mount=type=bind,from=build,source=/x,target=/x pip install\n")})
    assert problems(tmp_path) == [(2, "requirements.txt", "dockerignored"), (2, "constraints.txt", "not-on-disk")]


@pytest.mark.parametrize("source, copied", [
    ("app/**/routes.py", True), ("app/*/routes.py", True), ("app/**/v1/routes.py", True),
    ("**/routes.py", False), ("**/*.txt", False), ("*.txt", True), ("src/**.py", True), ("src/[ab].py", True),
    ("src/[^a].py", False), ("app/handlers/v?/routes.py", True),
])
def test_copy_wildcards_are_gos_and_never_cross_a_folder(tmp_path, source, copied):
    """Go's filepath.Match: `*` (and so `**`) and `?` stay inside one path component, so `**/routes.py` finds
    no app/handlers/routes.py (as a .dockerignore pattern it would)."""
    tree(tmp_path, {"app/handlers/v1/routes.py": "", "app/handlers/routes.py": "", "requirements.txt": "",
                    "src/a.py": "", "Dockerfile": f"FROM python:3.11\nCOPY {source} /app/\n"})
    assert problems(tmp_path) == ([] if copied else [(2, source, "not-on-disk")])


@pytest.mark.parametrize("pattern", ["[z-a].py", "[].py", "[abc.py", "[a-"])
def test_a_malformed_pattern_is_a_problem_naming_it_never_a_traceback(tmp_path, pattern):
    assert go_glob(pattern) is None
    tree(tmp_path, {"a.py": "", "Dockerfile": f"FROM python:3.11\nCOPY {pattern} /app/\n"})
    assert problems(tmp_path) == [(2, pattern, "malformed-pattern")]
    tree(tmp_path, {".dockerignore": f"{pattern}\n", "Dockerfile": "FROM python:3.11\nCOPY a.py /app/\n"})
    found = dockerfile_copy_check(tmp_path, "Dockerfile")
    assert [(p.source, p.reason) for p in found] == [(pattern, "malformed-pattern")]
    assert "Docker refuses the build context" in found[0].message


def test_a_tab_after_the_keyword_is_still_the_instruction(tmp_path):
    tree(tmp_path, {"Dockerfile": "FROM python:3.11\nCOPY\tmissing_module/ /app/\n"})
    assert problems(tmp_path) == [(2, "missing_module/", "not-on-disk")]


def test_a_byte_order_mark_hides_neither_the_escape_directive_nor_the_first_ignore_rule(tmp_path):
    tree(tmp_path, {"main.py": "", "settings.py": "", ".dockerignore": "\ufeffsettings.py\n",
                    "Dockerfile": "\ufeff# escape=`\nFROM python:3.11\nCOPY main.py `\n  missing.py /app/\n"
                                  "COPY settings.py /app/\n"})
    assert problems(tmp_path) == [(3, "missing.py", "not-on-disk"), (5, "settings.py", "dockerignored")]


def test_only_run_copy_and_add_open_heredocs_and_only_on_a_whole_word(tmp_path):
    """A quoted `<<PORT>>` placeholder, or `<<EOF` in a LABEL, opens no heredoc: the rest is still read."""
    tree(tmp_path, {"Dockerfile": "FROM python:3.11\nRUN sed -i 's/<<PORT>>/8080/' /etc/nginx.conf\n"
                                  'LABEL usage="cat <<EOF | sh"\nCOPY missing_module/ /app/\n'
                                  "RUN <<EOF\necho COPY not_an_instruction /x\nEOF\nCOPY also_missing /app/\n"})
    assert problems(tmp_path) == [(4, "missing_module/", "not-on-disk"), (8, "also_missing", "not-on-disk")]


def test_a_line_buildkit_refuses_and_a_dockerfile_too_big_to_read_whole_are_said(tmp_path, monkeypatch):
    from runbook_lib.preflight import dockerfile

    tree(tmp_path, {"Dockerfile": "FROM python:3.11\nRUN echo " + "x" * 70_000 + "\n"})
    assert problems(tmp_path) == [(2, "Dockerfile", "line-too-long")]
    monkeypatch.setattr(dockerfile, "MAX_DOCKERFILE_BYTES", 1000)
    tree(tmp_path, {"Dockerfile": "FROM python:3.11\n" + "RUN true\n" * 200 + "COPY missing.py /app/\n"})
    assert problems(tmp_path) == [(0, "Dockerfile", "dockerfile-too-big")]


@pytest.mark.parametrize("pattern, path, excluded", [
    ("**.md", "README.md", True), ("**.md", "docs/guide.md", True), ("**/foo", "foo", True),
    ("**/foo", "a/b/foo", True), ("**/foo", "afoo", False), ("**/*.md", "README.md", True),
    ("docs/**", "docs/a/b", True), ("*.md", "docs/guide.md", False),
])
def test_dockerignore_patterns_match_as_patternmatcher_does(pattern, path, excluded):
    """A pattern starting `**` with no other wildcard is patternmatcher's suffix match: `**.md` excludes README.md
    (which `pip install .` needs when pyproject.toml names it)."""
    assert (dockerignore_excludes(parse_dockerignore(pattern), path) is not None) == excluded
