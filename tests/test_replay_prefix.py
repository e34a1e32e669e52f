"""Runbook 03, step 1: the dataset_prefix rules (property-based: no accepted prefix can name a production
dataset or the start of one) and the map of what a prefixed replay reads and writes."""
from __future__ import annotations

import dataclasses
import string

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from runbook_lib.errors import ParameterError
from runbook_lib.phases import load_phases, prefixed_dataset
from runbook_lib.phases import check_test_prefix, production_datasets
from runbook_lib.replay import dataset_map

PHASES = load_phases()
PRODUCTION = production_datasets(PHASES)

# Text near the rules' edges: production names and their beginnings, trailing underscores, upper case.
NEAR_PRODUCTION = st.sampled_from(PRODUCTION).flatmap(lambda name: st.integers(0, len(name)).map(lambda n: name[:n]))
PREFIXES = st.one_of(
    st.text(alphabet=string.ascii_letters + string.digits + "_-. ", max_size=20),
    st.from_regex(r"[a-z][a-z0-9]{0,17}_?", fullmatch=True),
    NEAR_PRODUCTION,
    NEAR_PRODUCTION.map(lambda text: text + "_"),
)


def _never_production(prefix: str, production: list[str]) -> None:
    """What an accepted prefix guarantees: every dataset it makes is a new name, and it is nobody's beginning."""
    assert prefix
    for dataset in production:
        assert prefixed_dataset(dataset, prefix) not in production
        assert not dataset.startswith(prefix)
        assert prefixed_dataset(dataset, prefix) != dataset


@settings(max_examples=400, deadline=None, database=None)
@given(PREFIXES)
@example("test")
@example("test_")
@example("nba")
@example("")
def test_no_accepted_prefix_names_a_production_dataset_or_its_start(prefix):
    try:
        accepted = check_test_prefix(prefix, PHASES)
    except ParameterError as exc:
        assert str(exc).startswith(f"dataset_prefix={prefix!r} is not valid: ") and "\n" not in str(exc)
        return
    assert accepted == prefix
    _never_production(prefix, PRODUCTION)


DATASET_NAMES = st.from_regex(r"[a-z][a-z0-9]{0,6}(_[a-z0-9]{1,6}){0,2}", fullmatch=True)


@settings(max_examples=200, deadline=None, database=None)
@given(reads=st.lists(DATASET_NAMES, min_size=1, max_size=3), writes=st.lists(DATASET_NAMES, min_size=1, max_size=3),
       prefix=st.one_of(st.from_regex(r"[a-z][a-z0-9]{0,15}", fullmatch=True), DATASET_NAMES))
def test_the_guarantee_holds_for_any_pipeline_in_phases_yaml(reads, writes, prefix):
    """Other pipelines name their datasets differently (a production `test` or `test_x` dataset, say)."""
    phase = dataclasses.replace(PHASES.get("phase3"), reads=tuple(reads), writes=tuple(writes), tables=())
    registry = dataclasses.replace(PHASES, phases={"phase3": phase})
    try:
        check_test_prefix(prefix, registry)
    except ParameterError:
        return
    _never_production(prefix, production_datasets(registry))


@pytest.mark.parametrize("prefix, sentence", [
    ("test_", "dataset_prefix='test_' is not valid: upstream adds the underscore itself, so 'test_' writes "
              "test__nba_analytics (two underscores), a dataset nothing else reads; give 'test'."),
    ("", "dataset_prefix='' is not valid: upstream reads an empty prefix as production, so the run would write "
         "nba_analytics itself; give a test prefix such as 'test'."),
    ("nba", "dataset_prefix='nba' is not valid: it is the start of production dataset nba_analytics; choose a prefix "
            "such as 'test'."),
    ("nba_raw", "dataset_prefix='nba_raw' is not valid: give lower-case letters and digits, starting with a letter, "
                "at most 16 characters, such as 'test'."),
    ("Test", "dataset_prefix='Test' is not valid: give lower-case letters and digits, starting with a letter, at most "
             "16 characters, such as 'test'."),
    ("a" * 17, f"dataset_prefix='{'a' * 17}' is not valid: give lower-case letters and digits, starting with a "
               f"letter, at most 16 characters, such as 'test'."),
    (None, "dataset_prefix=None is not valid: give text: lower-case letters and digits, starting with a letter, at "
           "most 16 characters, such as 'test'."),
])
def test_each_refusal_is_one_sentence_and_the_double_underscore_trap_is_explained(prefix, sentence):
    with pytest.raises(ParameterError) as caught:
        check_test_prefix(prefix, PHASES)
    assert str(caught.value) == sentence


def test_a_prefix_that_would_turn_one_production_dataset_into_another_is_refused():
    phase = dataclasses.replace(PHASES.get("phase3"), reads=("raw",), writes=("stage_raw",), tables=())
    registry = dataclasses.replace(PHASES, phases={"phase3": phase})
    with pytest.raises(ParameterError, match="it would make raw into production dataset stage_raw"):
        check_test_prefix("stage", registry)


def test_the_map_shows_phase4_reading_production_phase3_output():
    mapped = dataset_map(PHASES, ["phase3", "phase4"], "test")
    rows = [(u.phase, u.role, u.production, u.replay) for u in mapped.uses]
    assert rows == [
        ("phase3", "reads", "nba_raw", "nba_raw"),
        ("phase3", "writes", "nba_analytics", "test_nba_analytics"),
        ("phase4", "reads", "nba_analytics", "nba_analytics"),
        ("phase4", "writes", "nba_precompute", "test_nba_precompute"),
        ("phase3, phase4", "run history", "nba_reference.processor_run_history", "nba_reference.processor_run_history"),
    ]
    assert mapped.test_datasets == {"nba_analytics": "test_nba_analytics", "nba_precompute": "test_nba_precompute"}
    assert mapped.reads_production_output == [
        "Phase 4's test output was computed from production Phase 3 data (nba_analytics), not from the replayed "
        "test_nba_analytics"]
    table = mapped.table()
    assert "phase4 reads production nba_analytics, not test_nba_analytics" in table.loc[2, "note"]
    assert "whatever dataset_prefix says" in table.loc[4, "note"]


def test_a_phase3_only_replay_reads_nothing_another_phase_wrote():
    mapped = dataset_map(PHASES, ["phase3"], "test")
    assert mapped.reads_production_output == [] and mapped.test_datasets == {"nba_analytics": "test_nba_analytics"}
