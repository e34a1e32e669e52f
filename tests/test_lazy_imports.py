"""runbook_lib.lazy_imports: rfc3987_syntax (a Lark grammar built on import, about 3 s) is imported by jsonschema,
hence by nbformat, papermill and every `runbook run`, for two string formats no schema of the kit uses. The kit
puts it off until first used, and the formats still check as before."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip("rfc3987_syntax")

PROBE = """
import json, sys
import runbook_lib, nbformat, papermill
from runbook_lib import runner
before = sorted(m for m in sys.modules if m.startswith("rfc3987_syntax."))
from jsonschema import Draft202012Validator, FormatChecker
iri = Draft202012Validator({"format": "iri"}, format_checker=FormatChecker())
reference = Draft202012Validator({"format": "iri-reference"}, format_checker=FormatChecker())
import rfc3987_syntax
print(json.dumps({"before": before,
                  "iri": [iri.is_valid(v) for v in ("https://example.com/caf\\u00e9", "no spaces allowed", "x")],
                  "reference": [reference.is_valid(v) for v in ("../caf\\u00e9?q=1", "a b")],
                  "direct": rfc3987_syntax.is_valid_syntax("iri", "https://example.com/"),
                  "after": "rfc3987_syntax.syntax_helpers" in sys.modules,
                  "stand_in": type(sys.modules["rfc3987_syntax"]).__name__}))
"""


def test_the_runner_imports_no_grammar_and_iri_formats_still_check():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    seen = json.loads(done.stdout)
    assert seen["before"] == []                 # nbformat, papermill and the runner built no grammar
    assert seen["iri"] == [True, False, False] and seen["reference"] == [True, False]
    assert seen["direct"] is True and seen["after"] and seen["stand_in"] == "module"


def test_a_module_imported_before_the_kit_is_left_as_it_is():
    probe = ("import rfc3987_syntax, sys; real = sys.modules['rfc3987_syntax']; import runbook_lib; "
             "print(sys.modules['rfc3987_syntax'] is real)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"


def test_a_phase_service_starts_without_pandas():
    """A phase service process imports the pipeline and the warehouse for its first processing request; they read
    Arrow, so pandas (half of that import) stays out."""
    probe = ("import sys; import runbook_lib.local.service_app, runbook_lib.local.pipeline, "
             "runbook_lib.local.warehouse; print('pandas' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
