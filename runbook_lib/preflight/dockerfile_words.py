"""What BuildKit does to an instruction's words before it reads the build context, taken from its Dockerfile
frontend (moby/buildkit frontend/dockerfile: parser/, instructions/, shell/lex.go) and Go's filepath.Match:

* the keyword ends at the first whitespace of any kind (`COPY<TAB>src dst` is a COPY);
* a heredoc opens only in RUN, COPY and ADD, on a word that is `<<NAME` as a whole (`'s/<<PORT>>/x/'` is none);
* COPY and ADD sources, and a RUN bind mount's source, go through the shell lexer: quotes removed, `$VAR`,
  `${VAR}`, `${VAR:-word}`, `${VAR-word}`, `${VAR:+word}` and `${VAR+word}` expanded from the stage's ARG
  defaults (an ARG before the first FROM only where a stage declares it again) and ENV values;
* a COPY source's wildcards are Go's filepath.Match: `*` and `?` never cross a `/` (so `**` is `*`), `[...]` is a
  class (`^` negates), and a malformed class fails the build.
"""
from __future__ import annotations

import re

import re2

WHITESPACE = re.compile(r"[\t\v\f\r ]+")              # parser.go's tokenWhitespace
HEREDOC_INSTRUCTIONS = frozenset({"ADD", "COPY", "RUN"})
_HEREDOC_WORD = re.compile(r"^(\d*)<<(-?)([^<]*)$")     # parser.go's reHeredoc
MAX_LINE_BYTES = 65_535                                  # bufio.MaxScanTokenSize - 1: a longer line fails the parse


def split_keyword(joined: str) -> tuple[str, str]:
    """(KEYWORD, its arguments) of an instruction's joined text."""
    parts = WHITESPACE.split(joined.strip(), maxsplit=1)
    return parts[0].upper(), (parts[1].strip() if len(parts) > 1 else "")


def raw_words(text: str, escape: str = "\\") -> list[str]:
    """Whitespace-separated words, quotes and escapes kept (shlex with RawQuotes, as heredocs are looked for)."""
    words, word, quote, i = [], [], "", 0
    while i < len(text):
        ch = text[i]
        if ch == escape and quote != "'" and i + 1 < len(text):
            word.append(text[i:i + 2])
            i += 2
            continue
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in " \t\v\f\r":
            if word:
                words.append("".join(word))
                word = []
            i += 1
            continue
        word.append(ch)
        i += 1
    if word:
        words.append("".join(word))
    return words


def heredoc_names(keyword: str, args: str, escape: str = "\\") -> list[tuple[str, bool]]:
    """(name, `<<-` strips tabs) of each heredoc an instruction opens, in order."""
    if keyword not in HEREDOC_INSTRUCTIONS:
        return []
    found = []
    for word in raw_words(args, escape):
        m = _HEREDOC_WORD.match(word)
        if m and m.group(3):
            found.append((m.group(3).strip("'\""), bool(m.group(2))))
    return found


class Variables:
    """ARG and ENV as BuildKit's dispatcher keeps them through the Dockerfile, for expanding sources."""

    def __init__(self, escape: str = "\\"):
        self.escape = escape
        self.global_args: dict[str, str | None] = {}
        self.values: dict[str, str | None] = {}
        self.in_stage = False

    def see(self, keyword: str, args: str) -> None:
        """Take in an instruction: FROM starts a stage (only its own ARGs and ENVs), ARG and ENV set values."""
        if keyword == "FROM":
            self.in_stage, self.values = True, {}
        elif keyword == "ARG":
            for word in raw_words(args, self.escape):
                name, has_default, default = word.partition("=")
                value = self.expand(default) if has_default else None
                if not self.in_stage:
                    self.global_args[name] = value
                else:
                    self.values[name] = value if has_default else self.global_args.get(name)
        elif keyword == "ENV" and self.in_stage:
            words = raw_words(args, self.escape)
            if words and "=" not in words[0]:   # the legacy form, `ENV KEY the rest of the line`
                self.values[words[0]] = self.expand(args[len(words[0]):].strip())
                return
            for word in words:
                name, _, value = word.partition("=")
                self.values[name] = self.expand(value)

    def expand(self, word: str) -> str | None:
        """The word as the shell lexer makes it: quotes removed, escapes applied, variables expanded; None where it
        uses a form this does not know (`${VAR#x}`, `$(...)`), so that no source is guessed."""
        out, i, quote = [], 0, ""
        while i < len(word):
            ch = word[i]
            if ch == self.escape and quote != "'" and i + 1 < len(word):
                out.append(word[i + 1])
                i += 2
            elif quote == "'":
                if ch == "'":
                    quote = ""
                else:
                    out.append(ch)
                i += 1
            elif ch in "'\"" and (not quote or quote == ch):
                quote = "" if quote else ch
                i += 1
            elif ch == "$":
                value, i = self._variable(word, i)
                if value is None:
                    return None
                out.append(value)
            else:
                out.append(ch)
                i += 1
        return "".join(out)

    _NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
    _BRACED = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([^}]*))?\}")

    def _variable(self, word: str, at: int) -> tuple[str | None, int]:
        plain = self._NAME.match(word, at + 1)
        if plain:
            return self.values.get(plain.group(0)) or "", plain.end()
        braced = self._BRACED.match(word, at + 1)
        if braced:
            name, op, alternative = braced.groups()
            value = self.values.get(name)
            if op in ("-", ":-"):
                use_alternative = value is None or (op == ":-" and value == "")
                return (self.expand(alternative) if use_alternative else value), braced.end()
            if op in ("+", ":+"):
                use_alternative = value is not None and (op == "+" or value != "")
                return (self.expand(alternative) if use_alternative else ""), braced.end()
            return value or "", braced.end()
        if at + 1 >= len(word) or not (word[at + 1] == "{" or word[at + 1] == "("):
            return "$", at + 1      # a `$` before no name is itself
        return None, len(word)


def go_glob(pattern: str):
    """Go's filepath.Match as a regex over a relative path (anchored); None for a pattern Go calls malformed
    (ErrBadPattern: an unterminated or empty class, a range whose end is before its start, a trailing `\\`)."""
    out, i = ["^"], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "\\":
            if i + 1 >= len(pattern):
                return None
            i += 1
            out.append(re.escape(pattern[i]))
        elif ch == "[":
            parsed = _go_class(pattern, i + 1)
            if parsed is None:
                return None
            klass, i = parsed
            out.append(klass)
            continue
        else:
            out.append(re.escape(ch))
        i += 1
    out.append("$")
    return linear("".join(out))


def linear(regex: str):
    """A glob's regex compiled by RE2, whose time is linear in the text as Go's regexp is: with `re`, stars and the
    words between them (`*a*a*a*b`) backtrack in the power of their number over a long file name."""
    return re2.compile(regex, _RE2_OPTIONS)


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.never_capture = True


def _go_class(pattern: str, i: int) -> tuple[str, int] | None:
    """A `[...]` class from just after its `[`: (regex class, index after its `]`), or None when malformed."""
    negated = i < len(pattern) and pattern[i] == "^"
    i += negated
    ranges: list[str] = []
    while True:
        if i >= len(pattern):
            return None
        if pattern[i] == "]" and ranges:
            break
        lo, i = _go_class_char(pattern, i)
        if lo is None:
            return None
        hi = lo
        if i < len(pattern) and pattern[i] == "-":
            hi, i = _go_class_char(pattern, i + 1)
            if hi is None or hi < lo:
                return None
        ranges.append(re.escape(lo) if lo == hi else f"{re.escape(lo)}-{re.escape(hi)}")
    body = "".join(ranges)
    return (f"[^/{body}]" if negated else f"[{body}]"), i + 1


def _go_class_char(pattern: str, i: int) -> tuple[str | None, int]:
    if i >= len(pattern) or pattern[i] in "-]":
        return None, i
    if pattern[i] == "\\":
        return (pattern[i + 1], i + 2) if i + 1 < len(pattern) else (None, i)
    return pattern[i], i + 1


def mount_sources(args: str) -> list[str]:
    """The build-context paths a RUN's bind mounts read (`--mount=[type=bind,]source=X` without `from=`; the
    mount's type defaults to bind, its source to the context's root)."""
    sources = []
    for flag in WHITESPACE.split(args):
        if not flag.startswith("--"):
            break
        if not flag.startswith("--mount="):
            continue
        fields = dict((item.partition("=")[0].lower(), item.partition("=")[2])
                      for item in flag[len("--mount="):].split(",") if item)
        if fields.get("type", "bind") != "bind" or "from" in fields:
            continue
        sources.append(fields.get("source") or fields.get("src") or ".")
    return sources
