"""Text an operator's data carries, shaped to make a backtracking regex take hours (/work/probes/redos and
/work/probes/classifyhostile): each reading finishes, with the answer it gives on ordinary text. A catastrophic
regex would hang rather than fail, so the hostile inputs run in a subprocess a timeout can stop; on the readings
before the fixes these sizes took from minutes (a 15 KB run of spaces) to never (a line of 60 `|`)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from runbook_lib.diagnose import classify_log
from runbook_lib.diagnose.lines import step_of, without_trailing_space
from runbook_lib.diagnose.message_reading import _RULE
from runbook_lib.diagnose.steps import logged_instructions
from runbook_lib.services import MAX_BODY_BYTES, json_depth, read_capped, response_body

LOG = Path(__file__).parent / "fixtures" / "logs" / "buildpacks-build-failed-1.txt"

_HOSTILE = f'''
import sys
sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})
from pathlib import Path
from runbook_lib.diagnose import classify_log
from runbook_lib.diagnose.message_reading import _RULE
from runbook_lib.diagnose.lines import step_of
from runbook_lib.diagnose.steps import logged_instructions
from runbook_lib.services import response_body
from runbook_lib.preflight import dockerfile_copy_check
from runbook_lib.diagnose.message_reading import _RULE
assert _RULE.search("-" * 300_000 + "x") is None   # a rule that is not one: each run tried once
log = Path({str(LOG)!r}).read_text()
assert step_of("|" * 60 + " progress") is None and step_of(">" * 60) is None   # a bar or a banner, no step prefix
classify_log(log.replace("\\n", "\\n" + "|" * 60 + " 100%\\n", 1))
classify_log(log.replace("\\n", "\\nsome  " + " " * 200_000 + "words \\n", 1))  # a run of spaces inside a line
logged_instructions("Step 3/9 : RUN x" + " " * 200_000 + "y\\n#7 [2/5] RUN z" + " " * 200_000 + "w")
ats = "x " + "at a " * 200_000   # a long line of ` at `, read for a JavaScript stack's frame
classify_log("hello\\n" + ats + "\\nnpm ERR! Failed at the app@1.0.0 build script.\\n")   # above a summary
classify_log("Error: x\\n" + ats + "\\n")   # below an error whose `[cause]` would follow its frames
for body, kind in ((b'"' + b'\\\\"' * 500_000, "application/json"), (b"<" * 1_000_000, "text/html"),
                   (b"<title>" * 150_000, "text/html")):
    response_body(body, kind, 500)
root = Path(sys.argv[1])
(root / ("a" * 200)).write_text("")
(root / "Dockerfile").write_text("FROM x\\nCOPY *a*a*a*a*a*a*b ./\\n")
(root / ".dockerignore").write_text("*a*a*a*a*a*a*a*c\\n")
dockerfile_copy_check(root, "Dockerfile")
print("finished")
'''


def test_hostile_text_is_read_in_linear_time(tmp_path):
    result = subprocess.run([sys.executable, "-c", _HOSTILE, str(tmp_path)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "finished"


def test_the_rewritten_readings_give_the_answers_they_gave():
    assert step_of('Step #3 - "build": x') == 3 and step_of('  |  > 12 | Step #0: x') == 0
    assert step_of("| | Step #7: y") == 7 and step_of("Step 7/9 : RUN x") is None
    assert without_trailing_space("a  \r\nb\t\nc \nd") == "a\r\nb\nc\nd"
    assert logged_instructions("Step 3/9 : RUN  pip   install x   \n#7 [builder 2/5] COPY a b  ") == [
        "RUN pip install x", "COPY a b"]
    assert json_depth(b'{"a": [1, {"b": "]]]\\"[["}], "c": [[[]]]}') == 4 and json_depth(b"[" * 300) == 300
    assert json_depth(b'"unclosed [[[') == 0
    assert _RULE.search("Step #2: ---------- \n") and _RULE.search("x ----- y =*=*=*=*=*") and not _RULE.search("-" * 9 + "x")
    assert response_body(b"<html><title>403 Forbidden</title><h1>Error: Forbidden</h1> Your client does not have "
                         b"permission</html>", "text/html", 403) == {
        "error": "Error: Forbidden Your client does not have permission"}
    assert response_body(b'{"status": "healthy"}', "application/json", 200) == {"status": "healthy"}
    assert response_body(b"x" * 2_000_000, "application/json", 200)["error"].startswith("xxx")   # too big for JSON
    assert classify_log(LOG.read_text())[0].signature == "buildpacks-build-failed"


def test_a_service_answer_is_read_no_further_than_the_body_cap():
    sent = []

    def endless():   # a service streaming without end: the kit stops reading once it knows the body is too long
        while True:
            sent.append(64 * 1024)
            yield b"x" * (64 * 1024)

    raw = read_capped(endless())
    assert len(raw) == MAX_BODY_BYTES + 1 and sum(sent) < MAX_BODY_BYTES + 64 * 1024
    assert read_capped(iter([b'{"a": ', b"1}"])) == b'{"a": 1}'
    assert response_body(raw, "application/json", 200)["error"].startswith("xxx")
