"""The shell reader runbook 01 (a build step's script) and the preflight (deploy scripts) share: simple commands,
their words and redirections; by example, then by property (any text is read without an error, and simple commands
joined with `&&` or `;` come back as they were)."""
from __future__ import annotations

import shlex
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runbook_lib.shell_words import (GCP_ONLY_ASIDE, GCP_ONLY_HEADER, PrintedProject, ShellCommand, logical_lines,
                                     simple_commands, without_prefix)


def words(script: str) -> list[list[str]]:
    return [command.words for command in simple_commands(script)]


@pytest.mark.parametrize("script, expected", [
    ("docker build -t img . && docker push img", [["docker", "build", "-t", "img", "."], ["docker", "push", "img"]]),
    ("a || b; c | d & e |& f", [["a"], ["b"], ["c"], ["d"], ["e"], ["f"]]),
    ("(cd app && docker build .)", [["cd", "app"], ["docker", "build", "."]]),
    ("docker build \\\n  -f d/x.Dockerfile .\ndocker push i", [["docker", "build", "-f", "d/x.Dockerfile", "."],
                                                            ["docker", "push", "i"]]),
    ("echo 'a && b' \"c; d\" # a comment", [["echo", "a && b", "c; d"]]),
    ("if true; then sudo cp a Dockerfile; fi", [["true"], ["sudo", "cp", "a", "Dockerfile"], ["fi"]]),
    ("for d in a b; do docker build $d; done", [["for", "d", "in", "a", "b"], ["docker", "build", "$d"], ["done"]]),
    # a substitution is one word, whatever it holds
    ("cp x $(git rev-parse --show-toplevel)/Dockerfile", [["cp", "x", "$(git rev-parse --show-toplevel)/Dockerfile"]]),
    ('cp x "$(pwd)/Dockerfile" ${DIR#./}/y', [["cp", "x", "$(pwd)/Dockerfile", "${DIR#./}/y"]]),
    # a quote left open: word by word, still split at the operators
    ("echo 'unclosed && docker build .", [["echo", "unclosed"], ["docker", "build", "."]]),
])
def test_commands(script, expected):
    assert words(script) == expected


def test_redirections_are_not_words():
    docker, tee = simple_commands("DOCKER_BUILDKIT=1 docker build . 2>&1 | tee b.log >/dev/null")
    assert docker == ShellCommand(["DOCKER_BUILDKIT=1", "docker", "build", "."])
    assert tee == ShellCommand(["tee", "b.log"], writes=["/dev/null"])
    [cat] = simple_commands("cat x >./Dockerfile 2> Dockerfile.log")      # errors are not the output
    assert (cat.words, cat.writes) == (["cat", "x"], ["./Dockerfile"])
    [envsubst] = simple_commands("envsubst < a.tmpl 1>> Dockerfile")
    assert (envsubst.reads, envsubst.writes) == (["a.tmpl"], ["Dockerfile"])
    [heredoc] = simple_commands("cat <<'EOF' > Dockerfile")
    assert (heredoc.words, heredoc.writes, heredoc.heredoc) == (["cat"], ["Dockerfile"], True)
    [both] = simple_commands("make &> build.log")
    assert both.writes == ["build.log"]
    # a number that is an argument, not a file descriptor
    [echo] = simple_commands('echo 2 > f "x 2>y"')
    assert (echo.words, echo.writes) == (["echo", "2", "x 2>y"], ["f"])


def test_logical_lines_number_each_line_by_its_first():
    assert logical_lines("a \\\n  b\nc\\\nd \\   \ne\n") == [(1, "a    b"), (3, "c d  e")]


def test_without_prefix():
    assert without_prefix(["DOCKER_BUILDKIT=1", "exec", "sudo", "docker", "build"]) == ["docker", "build"]


# ---- properties ---------------------------------------------------------------------------------

SEPARATORS = st.sampled_from([" && ", "&&", "; ", ";", " ;\t"])
KEYWORDS = {"if", "then", "else", "elif", "do", "while", "until", "!", "{"}    # first, they are read as keywords
PLAIN_WORD = st.text(st.sampled_from("abcXYZ019_./=:,@%+-"), min_size=1, max_size=8)
# Any printable text; newlines and other line breaks end a command, so they are not in a word.
ANY_WORD = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=12)


def commands_of(word: st.SearchStrategy[str]) -> st.SearchStrategy[list[list[str]]]:
    command = st.lists(word, min_size=1, max_size=5).filter(lambda c: c[0] not in KEYWORDS)
    return st.lists(command, min_size=1, max_size=5)


SHELLISH_TEXT = st.text(st.sampled_from("ab 12$(){}'\"\\#;&|<>-\n"), max_size=80)


@settings(max_examples=1000, deadline=None, database=None)
@given(st.one_of(st.text(max_size=200), SHELLISH_TEXT))
def test_any_text_is_read_without_an_error(text):
    for command in simple_commands(text):
        assert command.words
        # every character read comes from the text (or is the blank a line continuation leaves)
        assert set("".join(command.words + command.writes + command.reads)) <= set(text) | {" "}


@settings(max_examples=300, deadline=None, database=None)
@given(commands_of(PLAIN_WORD), st.data())
def test_plain_commands_joined_come_back(commands, data):
    script = " ".join(commands[0])
    for command in commands[1:]:
        script += data.draw(SEPARATORS) + " ".join(command)
    assert words(script) == commands


# A word of operator characters alone (`';'`) reads as that operator, quoted or not: shlex does not say it was quoted.
NOT_AN_OPERATOR = ANY_WORD.filter(lambda w: w == "" or w.strip(";&|<>()") != "")


@settings(max_examples=300, deadline=None, database=None)
@given(commands_of(NOT_AN_OPERATOR), st.data())
def test_quoted_commands_joined_come_back(commands, data):
    script = " ".join(shlex.quote(w) for w in commands[0])
    for command in commands[1:]:
        script += data.draw(SEPARATORS) + " ".join(shlex.quote(w) for w in command)
    assert words(script) == commands


def test_printed_project_names_the_placeholder_and_says_so_only_on_the_sandbox():
    sandbox = PrintedProject.of(SimpleNamespace(name="local", project="acme-prod"))
    gcp = PrintedProject.of(SimpleNamespace(name="gcp", project="acme-prod"))
    command = "gcloud builds log X --project=acme-prod # not acme-prod-2 or my-acme-prod"
    assert sandbox(command) == "gcloud builds log X --project=PROJECT # not acme-prod-2 or my-acme-prod"
    assert (sandbox.sandbox, sandbox.aside, sandbox.header) == (True, GCP_ONLY_ASIDE, GCP_ONLY_HEADER)
    assert gcp(command) == command and (gcp.sandbox, gcp.aside, gcp.header) == (False, "", "")
