"""The simple commands of a shell script (a deploy script, a build step's `script` or `bash -c` argument): each
command's words, and the files its redirections write and read.

shlex removes the quotes and finds the operators. What it cannot know is marked before it reads a line: a
`$(...)` or `${...}` stays one word (`$(pwd)/Dockerfile`, `${DIR#./}`), and the file descriptor written against
a redirection (the 2 of `2>&1`) is not an argument. A command ends at a newline and at `&&`, `||`, `;`, `|`, `&`
and parentheses; a line ending in a backslash goes on on the next one; a quote left open reads the line word by
word. The body of a heredoc is read as lines like any other.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ShellCommand:
    """One simple command."""

    words: list[str]     # its words, quotes removed, without redirections or leading keywords (if, then, do, !)
    writes: list[str] = field(default_factory=list)   # the files its output goes to: > F, >> F, >| F, 1> F, &> F
    reads: list[str] = field(default_factory=list)    # the files its input comes from: < F, 0< F
    heredoc: bool = False   # its input is written inline: <<EOF or <<< WORD


# Words that start a compound command or negate one: the command proper follows them.
_KEYWORDS = ("if", "then", "else", "elif", "do", "while", "until", "!", "{")
# Words in front of a command that do not change what it runs.
_PREFIX_WORDS = ("exec", "time", "sudo", "command", "env")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_PUNCTUATION = ";&|<>()"
# shlex returns a run of punctuation as one token (`>&`, `);`): split it into operators, longest first.
_OPERATORS = ("<<<", ";;&", "&>>", "&&", "||", ";;", ";&", "|&", ">>", ">|", ">&", "<&", "<>", "<<", "&>",
              ";", "&", "|", "(", ")", "<", ">")
_FD = re.compile(r"[0-9]+(?=[<>])")


def logical_lines(text: str) -> list[tuple[int, str]]:
    """(number of its first line, text) of each line, a line ending in a backslash joined with the next."""
    out, buf, start = [], [], 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not buf:
            start = number
        if raw.rstrip().endswith("\\"):
            buf.append(raw.rstrip()[:-1])
            continue
        buf.append(raw)
        out.append((start, " ".join(buf)))
        buf = []
    if buf:
        out.append((start, " ".join(buf)))
    return out


def simple_commands(script: str) -> list[ShellCommand]:
    """The simple commands of a script, in order; a command with no words (a lone `> FILE`) is left out."""
    return [command for _, line in logical_lines(script) for command in _line_commands(line)]


def without_prefix(words: list[str]) -> list[str]:
    """`DOCKER_BUILDKIT=1 exec docker build ...` -> `docker build ...`."""
    k = 0
    while k < len(words) and (_ASSIGNMENT.match(words[k]) or words[k] in _PREFIX_WORDS):
        k += 1
    return words[k:]


def _line_commands(line: str) -> list[ShellCommand]:
    commands: list[ShellCommand] = []
    words: list[str] = []
    writes: list[str] = []
    reads: list[str] = []
    heredoc = False
    fd: str | None = None
    pending: str | None = None          # a redirection operator waiting for its word
    for kind, text in _tokens(line) + [("operator", ";")]:
        if pending is not None:
            if kind == "word":
                target = _target(pending, fd, text)
                heredoc = heredoc or pending in ("<<", "<<<")
                if target == "write":
                    writes.append(text)
                elif target == "read":
                    reads.append(text)
                pending = fd = None
                continue
            pending = fd = None             # `> ;`: no file to record
        if kind == "fd":
            fd = text
        elif kind == "word":
            words.append(text)
        elif "<" in text or ">" in text:
            pending = text
        else:
            while words and words[0] in _KEYWORDS:
                words = words[1:]
            if words:
                commands.append(ShellCommand(words, writes, reads, heredoc))
            words, writes, reads, heredoc = [], [], [], False
    return commands


def _target(operator: str, fd: str | None, word: str) -> str | None:
    """What the word after a redirection is: a file written ("write"), a file read ("read"), or neither (a file
    descriptor, a heredoc's delimiter, a file the errors go to)."""
    if operator in ("&>", "&>>") or (operator == ">&" and fd is None and not (word.isdigit() or word == "-")):
        return "write"                      # output and errors to the file
    if operator in (">", ">>", ">|") and fd in (None, "1"):
        return "write"
    if operator in ("<", "<>") and fd in (None, "0"):
        return "read"
    return None


def _tokens(line: str) -> list[tuple[str, str]]:
    """(kind, text) of each token of one line: word, operator or fd (the number written against a redirection)."""
    marked, hidden, marker = _mark(line)
    try:
        raw = _lex(marked, quotes=True)
    except ValueError:                      # a quote left open: read the line word by word
        raw = [t.strip("\"'") for t in _lex(marked, quotes=False)]
    tokens: list[tuple[str, str]] = []
    for token in raw:
        if token and set(token) <= set(_PUNCTUATION):     # a quoted ';' too: shlex does not say it was quoted
            tokens.extend(("operator", op) for op in _split_operators(token))
            continue
        if marker is not None:
            placeholder = re.fullmatch(f"{marker}([0-9]+){marker}", token)
            if placeholder and hidden[int(placeholder.group(1))][1]:
                tokens.append(("fd", hidden[int(placeholder.group(1))][0]))
                continue
            token = re.sub(f"{marker}([0-9]+){marker}", lambda m: hidden[int(m.group(1))][0], token)
        tokens.append(("word", token))
    return tokens


def _lex(line: str, quotes: bool) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=_PUNCTUATION)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    if not quotes:
        lexer.quotes = lexer.escape = ""
    return list(lexer)


def _split_operators(run: str) -> list[str]:
    ops, k = [], 0
    while k < len(run):
        op = next(o for o in _OPERATORS if run.startswith(o, k))
        ops.append(op)
        k += len(op)
    return ops


def _mark(line: str) -> tuple[str, list[tuple[str, bool]], str | None]:
    """The line with each `$(...)`, `${...}` and redirected file descriptor outside single quotes replaced by a
    placeholder shlex reads as part of a word, the (text, is a file descriptor) each stands for, and the marker
    character that delimits them (None, and the line unchanged, if every candidate character is in it)."""
    marker = next((chr(c) for c in range(0xE000, 0xF900) if chr(c) not in line), None)
    if marker is None:
        return line, [], None
    out: list[str] = []
    hidden: list[tuple[str, bool]] = []
    quote: str | None = None
    word_start = True                       # outside quotes, after a blank or an operator
    k = 0
    while k < len(line):
        c = line[k]
        if quote == "'":
            quote = None if c == "'" else quote
        elif c == "\\":
            out.append(line[k:k + 2])
            k, word_start = k + 2, False
            continue
        elif c == "$" and line[k + 1:k + 2] in ("(", "{") and (end := _closing(line, k + 1)) is not None:
            hidden.append((line[k:end + 1], False))
            out.append(f"{marker}{len(hidden) - 1}{marker}")
            k, word_start = end + 1, False
            continue
        elif quote == '"':
            quote = None if c == '"' else quote
        elif c == "#" and word_start:
            out.append(line[k:])            # a comment: shlex drops it
            break
        elif c in "\"'":
            quote = c
        elif word_start and (fd := _FD.match(line, k)):
            hidden.append((fd.group(), True))
            out.append(f"{marker}{len(hidden) - 1}{marker}")
            k, word_start = fd.end(), False
            continue
        out.append(c)
        word_start = quote is None and c in " \t\r\n" + _PUNCTUATION
        k += 1
    return "".join(out), hidden, marker


def _closing(line: str, start: int) -> int | None:
    """Where the bracket at line[start] closes (quotes and escapes inside skipped), or None if it does not."""
    opening = line[start]
    closing = ")" if opening == "(" else "}"
    depth, quote, k = 0, None, start
    while k < len(line):
        c = line[k]
        if quote is not None:
            if c == quote:
                quote = None
            elif c == "\\" and quote == '"':
                k += 1
        elif c == "\\":
            k += 1
        elif c in "\"'":
            quote = c
        elif c == opening:
            depth += 1
        elif c == closing:
            depth -= 1
            if depth == 0:
                return k
        k += 1
    return None


# ---------------------------------------------------------------- commands printed for a person to run
# On the sandbox (target local) the project is params/phases.yaml's, a real project's id: a gcloud or bq command
# printed there names the project as this placeholder instead, in every form it takes (--project=, bq's
# PROJECT:dataset and --project_id=, SQL backticks, image and resource paths, service-account emails), and each
# block of such commands is headed by GCP_ONLY_HEADER. On gcp they name the project itself.
PROJECT_PLACEHOLDER = "PROJECT"
GCP_ONLY = ("what this would be on gcp, not the sandbox's: the sandbox runs none of these commands, and PROJECT "
            "stands for the real project's id")
GCP_ONLY_HEADER = f"# {GCP_ONLY[0].upper()}{GCP_ONLY[1:]}"
GCP_ONLY_ASIDE = f" ({GCP_ONLY})"   # after a command said inside a sentence


def printed_project(target) -> str:
    """The project as a printed command names it: PROJECT on the sandbox, the target's project on gcp."""
    return PROJECT_PLACEHOLDER if target.name == "local" else target.project


def with_printed_project(text: str, project: str, printed: str) -> str:
    """`text` (a command, an image, a resource name) with every whole occurrence of the project id `project`
    (not part of a longer name: project ids are letters, digits and hyphens) written as `printed`; the text
    unchanged when the two are the same (gcp)."""
    if printed == project or not project:
        return text
    return re.sub(rf"(?<![A-Za-z0-9-]){re.escape(project)}(?![A-Za-z0-9-])", lambda _: printed, text)


@dataclass(frozen=True)
class PrintedProject:
    """How the commands a runbook prints name a target's project, and what is said around them."""

    project: str
    printed: str

    @classmethod
    def of(cls, target) -> "PrintedProject":
        return cls(target.project, printed_project(target))

    @property
    def sandbox(self) -> bool:
        """The commands are the sandbox's: what this would be on gcp, naming PROJECT."""
        return self.printed != self.project

    def __call__(self, text: str) -> str:
        return with_printed_project(text, self.project, self.printed)

    @property
    def aside(self) -> str:
        """What follows a command said inside a sentence ("" on gcp)."""
        return GCP_ONLY_ASIDE if self.sandbox else ""

    @property
    def header(self) -> str:
        """The comment line heading a block of commands ("" on gcp)."""
        return GCP_ONLY_HEADER if self.sandbox else ""
