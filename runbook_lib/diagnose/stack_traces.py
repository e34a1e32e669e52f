"""Stack traces in a build log: the line that names the exception, read from any of the trace's lines.

A Python traceback ends with its exception (`ModuleNotFoundError: No module named 'main'`); a Java stack trace
is headed by it (`Exception in thread "main" java.lang.NoClassDefFoundError: ...`, `Caused by: ...`); Node.js
quotes the source line that threw, a caret under it, then the exception (`Error: Must throw non-empty error`). The
classifier reads that line rather than a frame or the quoted source, which only say where.
"""
from __future__ import annotations

import re

from .lines import indented_text, line_at, lines_above, lines_below, own_text

# a Python traceback: its header and frames (after any paste prefix), and the line that ends it, which
# names the exception (`ModuleNotFoundError: No module named 'main'`, `pkg.errors.HaltServer: ...`)
_TRACEBACK = re.compile(r'^\s*(?:Traceback \(most recent call last\):|File "[^"]+", line \d+)')
# ... after a log viewer's own prefix on each line (Cloud Logging's `DEFAULT [revision-name] `, the `      .    `
# of Cloud Foundry's PHP buildpack's extension output)
_TRACEBACK_AFTER = re.compile(r'^(?:[A-Z]+ |\s*\.\s+)?(?:\[[^\]]+\] )?(Traceback \(most recent call last\):)')
# ... or ending a message on its line: a tool's verdict quoting the program's stderr (GoReleaser's `⨯ release failed
# ... error=...: exit status 1: Traceback (most recent call last):`), a logger's (`"Access denied: ...": Traceback ...`)
_TRACEBACK_QUOTED = re.compile(r'^.*: (Traceback \(most recent call last\):)\s*$')
_FRAME_BODY = re.compile(r"^\s")   # a frame's source line, indented under it
_FRAME = re.compile(r'File "[^"]+", line \d+')
_CARETS = re.compile(r"^\s*[~^]+\s*$")
_ELISION = re.compile(r"^\s*(?:\.\.\.|…|\[(?:\.\.\.|…)\])\s*$")
# Python's line between a traceback and the one raised while handling its exception: the exception above it is the
# one that went wrong first (`KeyError: 'SECRET_KEY'` above Django's `ImproperlyConfigured` it led to)
_DURING_HANDLING = re.compile(r"^During handling of the above exception, another exception occurred:\s*$")
# an exception's (dotted) name that says so (`ModuleNotFoundError`, `SystemExit`), and any exception's: one that says
# so, gunicorn's `HaltServer`, or any name alone or before its message (`sh.ErrorReturnCode_1:`)
_NAMED = r"[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)\b"
_NAMED_EXCEPTION = re.compile(f"^{_NAMED}")
_EXCEPTION = re.compile(rf"^(?:{_NAMED}|[A-Za-z_][\w.]*(?:Server\b|(?=:|\s*$)))")
# ... and a module's class before its message, as a paste may leave it among the frames
# (`django.core.exceptions.ImproperlyConfigured: ...`)
_DOTTED_EXCEPTION = re.compile(r"^[a-z_]\w*(?:\.[a-z_]\w*)+\.[A-Z]\w*: \S")
MAX_TRACEBACK = 100                 # lines searched below a frame for the exception that ends it
MAX_JS_FRAMES = 60                  # frames searched below a Node.js error for the `[cause]` after them
# a Java stack trace: a frame, the line that ends a cause's frames (`... 12 more`), and an exception's dotted name
# (after the JVM's `Exception in thread "main"`, or `Caused by:`)
_JAVA_FRAME = re.compile(r"^\s*at [\w.$<>/]+\([^)]*\)\s*$")
_JAVA_TRACE_MORE = re.compile(r"^\s*\.\.\. \d+ more\s*$")
_JAVA_EXCEPTION = re.compile(r"(?:^|\s)[a-z][\w.]*\.[A-Z]\w*(?:Exception|Error)\b")
# a stack frame of Node.js, the JVM or .NET, by its call and its place (`at Module._compile (module.js:446:26)`,
# `at /app/web.js:150:18`, `at java.base/java.util.Timer.run(Timer.java:506)`, `at Calamari.X.MoveNext() in
# C:\source\X.cs:line 245`), or .NET's without one (`at System.Net.Http.HttpResponseMessage.EnsureSuccessStatusCode()`)
_CALL_FRAME = re.compile(r"^at \S.*(?::\d+(?::\d+)?\)?|\((?:Native Method|Unknown Source)\)| in \S.*:line \d+)\s*$|"
                         r"^at (?:[\w`<>$+\[\]]+\.)+[\w`<>$+\[\]]+\([^()]*\)\s*$")


def is_trace_more(line: str) -> bool:
    """Whether a log line (after any paste prefix) is the JVM's `... 12 more` under a cause's own frames."""
    return bool(_JAVA_TRACE_MORE.match(own_text(line)))


def is_call_frame(line: str) -> bool:
    """Whether a log line (after any paste prefix) is a stack frame of Node.js or the JVM."""
    return bool(_CALL_FRAME.match(own_text(line).lstrip()))


def java_exception(text: str, start: int, lineno: int) -> tuple[int, int, str] | None:
    """(line number, start, line) naming the exception that heads the Java stack trace whose frame (`at
    pkg.Class.method(File.java:N)`) is the line starting at `start`: the first line above the frames (and their
    `... N more` lines) when it names an exception (`Exception in thread "main" java.lang.NoClassDefFoundError:
    ...`, or the `Caused by: ...` that heads the frames below it); None otherwise."""
    if not _JAVA_FRAME.match(own_text(line_at(text, start))):
        return None
    for n, pos, line in lines_above(text, start, lineno, MAX_TRACEBACK):
        own = own_text(line)
        if not _JAVA_FRAME.match(own) and not _JAVA_TRACE_MORE.match(own):
            return (n, pos, line) if _JAVA_EXCEPTION.search(own) else None
    return None


# Node.js's mark under the source line that threw an uncaught exception (`            ^`), and the place above that line
_NODE_CARET = re.compile(r"^\s*\^\s*$")
_NODE_PLACE = re.compile(r"\S:\d+\s*$")


def node_exception(text: str, start: int, lineno: int) -> tuple[int, int, str] | None:
    """(line number, start, line) naming the uncaught exception Node.js printed under the line starting at `start`,
    when that line is the source line it quoted (its place, `/app/file.js:259`, above it and its caret below), or that
    place: the first line below the caret that is not blank (Node 12 and later put one between), when it names an
    exception; None otherwise."""
    if _NODE_PLACE.search(own_text(line_at(text, start))):
        source = next(lines_below(text, start, lineno, 1), None)
        if source is not None and (found := _node_exception_below(text, source[1], source[0])) is not None:
            return found
    return _node_exception_below(text, start, lineno)


def _node_exception_below(text: str, start: int, lineno: int) -> tuple[int, int, str] | None:
    """node_exception for the source line starting at `start`."""
    above = next(lines_above(text, start, lineno, 1), None)
    if above is None or not _NODE_PLACE.search(own_text(above[2])):
        return None
    below = list(lines_below(text, start, lineno, 3))
    if not below or not _NODE_CARET.match(own_text(below[0][2])):
        return None
    after = next(((n, pos, line) for n, pos, line in below[1:] if own_text(line).strip()), None)
    return after if after is not None and _EXCEPTION.match(own_text(after[2]).strip()) else None


# Node.js printing an error with a `cause` (ES2022): its frames, the last one opening the error's own properties (`at
# async Command.build (/app/build.js:82:21) {`), then `[cause]: Error: ...`, the error it wraps. Searched in each line
# as it stands (a log viewer's `11:17:03.020 | ` before it, `[cause]` that own_text would read as a prefix).
_JS_ERROR = re.compile(r"(?:^|[\s|:])(?:[A-Z]\w*)?Error: \S")
# (a frame's `at` and its end are looked for apart: one pattern with `.*` between them is quadratic in a long line with
# many ` at ` in it; the `at` stands near the line's start, after a prefix at most MAX_FRAME_PREFIX characters long)
_JS_FRAME_AT = re.compile(r"(?:^|[\s|])at \S")
_JS_FRAME_PLACE_END = re.compile(r":\d+:\d+\)?(?: \{)?\s*\Z")
_JS_FRAME_ANY_END = re.compile(r"(?::\d+:\d+\)?|\(<anonymous>\)|\(native\))(?: \{)?\s*\Z")
MAX_FRAME_PREFIX = 120
_JS_CAUSE = re.compile(r"(?:^|\s)\[cause\]: \S")


def node_cause(text: str, start: int, lineno: int) -> tuple[int, int, str] | None:
    """(line number, start, line) of the `[cause]: ...` Node.js printed below the frames of the error named on the line
    starting at `start` (Docusaurus' `Error: Unable to build website for locale en.`, whose cause is `Error: Docusaurus
    found broken links!`); None when the line is no error's or no cause follows its frames."""
    if not _JS_ERROR.search(line_at(text, start)):
        return None
    opened = False   # (the last frame so far opens the error's properties)
    for n, pos, line in lines_below(text, start, lineno, MAX_JS_FRAMES):
        if _JS_CAUSE.search(line):
            return (n, pos, line) if opened else None
        if not _js_frame(line, _JS_FRAME_PLACE_END):
            return None
        opened = line.rstrip().endswith("{")
    return None


# what may stand between a thrown error's message and its frames: a header (`Stack trace:`, Astro's `Location:`), a
# place of its own, an aside (Babel's `(While processing: "...")`), a rule (`-- | --`)
_JS_TRACE_DECORATION = re.compile(r"^(?:\w+(?: \w+){0,2}:|\S+:\d+:\d+|\(.*\)|[\W_]*)$")
MAX_JS_DECORATION = 6   # lines searched above a trace's first frame for its message


def is_js_frame(line: str) -> bool:
    """Whether a log line holds a JavaScript stack frame (`at Module._compile (module.js:446:26)`)."""
    return _js_frame(line, _JS_FRAME_ANY_END)


def _js_frame(line: str, end: re.Pattern) -> bool:
    """Whether a line holds `at ...` near its start and ends as `end` says a frame does."""
    line = line.rstrip("\r\n")
    return bool(_JS_FRAME_AT.search(line, 0, MAX_FRAME_PREFIX + 4)) and bool(end.search(line))


def js_message(text: str, start: int, lineno: int) -> tuple[int, int, str] | None:
    """(line number, start, line) of the message of the thrown JavaScript error whose stack frame is the line starting
    at `start`: the first line above its frames that has words and is no header, place, aside or rule (a message that
    names no error, Astro's `Cannot read properties of undefined (reading 'reduce')` above `Location:` and `Stack
    trace:`); None when a blank line or the log's start comes first, or none stands within MAX_JS_DECORATION lines."""
    top = (lineno, start)
    for n, pos, line in lines_above(text, start, lineno, MAX_JS_FRAMES):
        if not is_js_frame(line):
            break
        top = (n, pos)
    for n, pos, line in lines_above(text, top[1], top[0], MAX_JS_DECORATION):
        if not line.strip():
            return None
        own = own_text(line).strip().lstrip("|").lstrip()   # (past a log viewer's column rule: Cloudflare's `| `)
        if not _JS_TRACE_DECORATION.match(own):
            return n, pos, line
    return None


def python_exception(text: str, start: int, lineno: int) -> tuple[int, int, str] | None:
    """(line number, start, line) naming the exception that ends the Python traceback whose frame or header is
    the line starting at `start`: the first line below it that is neither a frame nor indented (after
    any paste prefix), when it names an exception; None otherwise."""
    head = own_text(line_at(text, start))
    m = _TRACEBACK.match(head) or _TRACEBACK_AFTER.search(head) or _TRACEBACK_QUOTED.search(head)
    if m is None:   # a frame's source line (`return f(x, error)`) is read from its frame
        frame = next(lines_above(text, start, lineno, 1), None)
        if frame is None or not _FRAME.match(own_text(frame[2]).lstrip()) or \
                _indentation(indented_text(line_at(text, start))) <= _indentation(indented_text(frame[2])):
            return None
        return python_exception(text, frame[1], frame[0])
    if (first := _exception_handled_above(text, start, lineno)) is not None:
        return first
    # what a log viewer put before each line of it (`DEFAULT [revision] `), when it is not a known prefix; else the
    # indentation the header stands at, which its exception shares (a Heroku buildpack indents a command's output)
    if m.re is _TRACEBACK_AFTER or m.re is _TRACEBACK_QUOTED:
        lead = head[:m.start(1)]
    elif "Traceback" in m.group(0):
        header = indented_text(line_at(text, start))
        lead = header[:_indentation(header)]
    else:
        lead = ""
    # An exception indented less than the frames still ends them (pip indents a package's whole output, exception
    # and all); a paste that lost the indentation leaves each frame's source line unindented right below the frame.
    frames_at = _indentation(indented_text(line_at(text, start))) if _FRAME.match(head.lstrip()) else None
    after_frame = frames_at == 0
    innermost = None   # the last frame's source line: where it failed, in a paste that ends before its exception
    for n, pos, line in lines_below(text, start, lineno, MAX_TRACEBACK):
        own = indented_text(line)
        if lead and own.startswith(lead):
            own = own[len(lead):]
        if _FRAME.match(own.lstrip()):
            frames_at = _indentation(own) if frames_at is None else frames_at
            after_frame = frames_at == 0
            innermost = None
        elif _CARETS.match(own):   # Python 3.11's marks under a frame's source line
            continue
        elif _ELISION.match(own):   # frames a poster cut out
            continue
        elif not own.strip():   # (a line a viewer's line number stood on: lines.without_decoration)
            continue
        elif _FRAME_BODY.match(own):
            if frames_at and _indentation(own) < frames_at and _NAMED_EXCEPTION.match(own.lstrip()):
                return n, pos, line
            # ... and one a paste left at the frames' indentation, a dotted class with its message
            if frames_at and _indentation(own) <= frames_at and _DOTTED_EXCEPTION.match(own.lstrip()):
                return n, pos, line
            after_frame = False
            innermost = (n, pos, line) if own.strip() else innermost
        elif after_frame:
            after_frame = False
        elif not _TRACEBACK.match(own):
            return (n, pos, line) if _EXCEPTION.match(own) else None
    # (from its header, which says nothing of the failure, unless a message stands before it on its line: a logger's
    # `"Access denied: ... is a private image": Traceback (most recent call last):`; a frame a signature matched stays
    # its own evidence)
    if innermost is not None and "Traceback" in m.group(0) and m.re is not _TRACEBACK_QUOTED and \
            not text[innermost[1] + len(innermost[2]):].strip():
        return innermost
    return None


def _exception_handled_above(text: str, start: int, lineno: int) -> tuple[int, int, str] | None:
    """(line number, start, line) of the exception above the traceback whose header or frame starts at `start`, when
    Python says the traceback's own exception was raised while handling it; None otherwise."""
    header = _header_of(text, start, lineno)
    if header is None:
        return None
    above = [(n, pos, line) for n, pos, line in lines_above(text, header[1], header[0], 4) if own_text(line).strip()]
    if len(above) < 2 or not _DURING_HANDLING.match(own_text(above[0][2]).strip()):
        return None
    return above[1] if _EXCEPTION.match(own_text(above[1][2]).strip()) else None


def _header_of(text: str, start: int, lineno: int) -> tuple[int, int] | None:
    """(line number, start) of the `Traceback (most recent call last):` line of the traceback whose header or frame
    starts at `start`, found up through its frames; None when another line comes first."""
    for n, pos, line in ((lineno, start, line_at(text, start)), *lines_above(text, start, lineno, MAX_TRACEBACK)):
        own = own_text(line).lstrip()
        if _TRACEBACK_AFTER.search(own) or _TRACEBACK_QUOTED.search(own):
            return n, pos
        if not _inside_traceback(line):
            return None
    return None


def _inside_traceback(line: str) -> bool:
    """Whether a line is a Python traceback's frame or stands among its frames (a frame's indented source line, Python
    3.11's carets, a poster's `...`, a blank line a viewer's line number stood on)."""
    own = indented_text(line)
    return bool(_FRAME.match(own.lstrip()) or _FRAME_BODY.match(own) or _CARETS.match(own) or _ELISION.match(own)
                or not own.strip())


def _indentation(line: str) -> int:
    return len(line) - len(line.lstrip())
