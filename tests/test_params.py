"""Strict runbook parameters: one sentence naming the parameter, the value and what is allowed."""
from __future__ import annotations

from datetime import date
from typing import Literal

import nbformat
import pytest
from pydantic import Field, ValidationError, field_validator

from runbook_lib import params
from runbook_lib.errors import ParameterError


class DemoParams(params.RunbookParams):
    phase: Literal["phase3", "phase4"] = "phase4"
    days: int = Field(3, ge=1, le=30)
    start_date: date = date(2024, 1, 15)
    dataset_prefix: str = params.param("test", allowed="lowercase letters, digits and underscores, not empty")
    api_token: str = ""

    @field_validator("dataset_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not value or not value.replace("_", "").isalnum() or value != value.lower():
            raise ValueError("bad prefix")
        if value.endswith("_"):
            raise ParameterError("dataset_prefix", value, "a prefix without a trailing underscore (one is added)")
        return value


@pytest.mark.parametrize("values, expected", [
    ({"phase": "phase7"}, "phase='phase7' is not valid: choose one of phase3, phase4."),
    ({"days": "many"}, "days='many' is not valid: a whole number, written as a number, not as text."),
    ({"days": "5"}, "days='5' is not valid: a whole number, written as a number, not as text."),   # never read as 5
    ({"days": 0}, "days=0 is not valid: a value of at least 1."),
    ({"days": 31}, "days=31 is not valid: a value of at most 30."),
    ({"start_date": "2024-13-40"}, "start_date='2024-13-40' is not valid: a date as YYYY-MM-DD."),
    ({"target": "aws"}, "target='aws' is not valid: choose one of local, gcp."),
    ({"region": "west"}, "region='west' is not valid: a Google Cloud region such as us-west2, global, or None."),
    ({"dataset_prefix": "Bad-Prefix"},
     "dataset_prefix='Bad-Prefix' is not valid: lowercase letters, digits and underscores, not empty."),
])
def test_a_bad_value_becomes_one_sentence(values, expected):
    with pytest.raises(ParameterError) as caught:
        params.validate_params(DemoParams, values)
    assert str(caught.value) == expected
    assert caught.value.parameter == next(iter(values))


def test_a_validator_that_raises_parameter_error_keeps_its_sentence():
    with pytest.raises(ParameterError, match=r"^dataset_prefix='test_' is not valid: a prefix without a trailing underscore"):
        params.validate_params(DemoParams, {"dataset_prefix": "test_"})


def test_unknown_parameter_is_an_error_listing_the_known_ones():
    with pytest.raises(ParameterError) as caught:
        params.validate_params(DemoParams, {"phse": "phase3"})
    assert caught.value.parameter == "phse"
    assert "not a parameter of this runbook" in str(caught.value)
    assert "phase" in caught.value.allowed and "days" in caught.value.allowed


def test_secret_values_never_appear_in_the_message():
    with pytest.raises(ParameterError) as caught:
        params.validate_params(DemoParams, {"api_token": 12345678})
    assert "12345678" not in str(caught.value)
    assert str(caught.value) == ("api_token='***' is not valid: text, in quotes; it came as a number or a flag, not "
                                 "as text: quote it in a YAML file.")


def test_good_values_are_typed_and_the_model_is_read_only():
    p = params.validate_params(DemoParams, {"days": 5, "start_date": "2024-02-01", "phase": "phase3"})
    assert (p.days, p.start_date, p.phase, p.target) == (5, date(2024, 2, 1), "phase3", "local")
    with pytest.raises(ValidationError):
        p.days = 9


def test_masked_view_and_connect_options():
    p = params.validate_params(DemoParams, {"api_token": "abcd-secret", "sandbox_home": "/tmp/sb"})
    assert p.masked()["api_token"] == "***" and p.masked()["days"] == 3
    assert p.connect_options() == {"home": "/tmp/sb"}
    gcp = params.validate_params(DemoParams, {"target": "gcp", "project": "my-project-1", "region": "us-west2"})
    assert gcp.connect_options() == {"project": "my-project-1", "region": "us-west2"}
    # A kit runbook names itself, for the runbook=<name> label of its BigQuery jobs.
    overview = params.validate_params(params.OverviewParams, {"target": "gcp", "project": "my-project-1"})
    assert overview.connect_options() == {"project": "my-project-1", "runbook": "00_pipeline_overview"}


def _kit_models() -> list[type]:
    """Every runbook's parameters class the kit exports (params.__all__)."""
    return [getattr(params, name) for name in params.__all__ if isinstance(getattr(params, name), type)
            and issubclass(getattr(params, name), params.RunbookParams)
            and getattr(params, name) not in (params.RunbookParams, params.TargetParams)]


def test_every_runbook_names_itself_for_its_bigquery_job_labels():
    """Without `runbook`, a runbook's BigQuery jobs on target=gcp are labelled runbook=interactive."""
    from runbook_lib import runner

    models = _kit_models()
    notebooks = {path.stem for path in runner.NOTEBOOKS_DIR.glob("*.ipynb")}
    assert len(models) == len(notebooks) == 6
    named = {model.__name__: model.runbook for model in models}
    assert all(named.values()), [name for name, runbook in named.items() if not runbook]
    assert set(named.values()) == notebooks


def test_a_runbook_passes_its_name_to_the_gcp_target(sandbox_home):
    for model in _kit_models():
        values = {"target": "gcp", "project": "my-project-1"}
        if model is params.RedeployParams:
            values["source_dir"] = str(sandbox_home / "source")
        assert model(**values).connect_options()["runbook"] == model.runbook, model.__name__


def _namespace(injected_source: str | None, **values):
    history = ["", "target = 'local'  # parameters cell"]
    if injected_source is not None:
        history.append(injected_source)
    history.append("p = params.from_notebook(DemoParams, globals())")
    return {"In": history, "params": params, "pd": object(), **values}


def test_from_notebook_reads_model_fields_and_ignores_other_globals():
    ns = _namespace("# Parameters\ndays = 7\n", days=7, target="local", helper=lambda: None)
    p = params.from_notebook(DemoParams, ns)
    assert p.days == 7


def test_from_notebook_rejects_a_name_papermill_injected_that_the_model_does_not_know():
    ns = _namespace('# Parameters\ndays = 7\nphse = "phase3"\n', days=7, phse="phase3")
    with pytest.raises(params.NotebookParameterError) as caught:
        params.from_notebook(DemoParams, ns)
    assert caught.value.parameter == "phse"
    # In a notebook only the sentence is shown, no traceback.
    assert caught.value._render_traceback_() == [f"ParameterError: {caught.value}"]
    assert type(caught.value).__name__ in params.PARAMETER_ERROR_NAMES


PARAMETERS_CELL = ('target = "local"\nproject = None\nphase = "phase4"\ndays = 3\nstart_date = "2024-01-15"\n'
                   'dataset_prefix = "test"\n')


def test_interactively_a_misspelt_name_in_the_parameters_cell_is_refused_not_left_at_its_default():
    # In JupyterLab there is no injected cell: `dayz = 7` in the parameters cell left days at 3, silently
    # (/work/probes/papermill finding 2). The cells after it that assign a name or two are not parameters cells.
    edited = PARAMETERS_CELL.replace("days = 3", "dayz = 7")
    ns = {"In": ["", edited, "p = params.from_notebook(DemoParams, globals())"], "params": params, "target": "local",
          "project": None, "phase": "phase4", "dayz": 7, "start_date": "2024-01-15", "dataset_prefix": "test"}
    with pytest.raises(params.NotebookParameterError) as caught:
        params.from_notebook(DemoParams, ns)
    assert caught.value.parameter == "dayz"
    assert str(caught.value).startswith("dayz is not a parameter of this runbook: did you mean days (one of target,")
    ns["In"] = ["", PARAMETERS_CELL, "phase = 'phase3'\nwh = connect()", "p = params.from_notebook(DemoParams, globals())"]
    assert params.from_notebook(DemoParams, {**ns, "days": 3, "phase": "phase3"}).phase == "phase3"


def test_interactively_a_parameters_cell_never_run_is_said_not_replaced_by_the_defaults():
    ns = {"In": ["", "p = params.from_notebook(DemoParams, globals())"], "params": params}
    with pytest.raises(params.NotebookParameterError, match=r"^The parameters cell has not run in this kernel: run it "
                                                              r"first \(it sets target, "):
        params.from_notebook(DemoParams, ns)
    assert params.from_notebook(DemoParams, {}).days == 3   # outside a kernel (no input history): the defaults


def test_from_notebook_reports_bad_values_with_the_notebook_error_class():
    with pytest.raises(params.NotebookParameterError, match=r"^days=0 is not valid"):
        params.from_notebook(DemoParams, _namespace("# Parameters\ndays = 0\n", days=0))


def test_declared_parameters_reads_types_defaults_and_comments():
    cell = nbformat.v4.new_code_cell(
        'target: str = "local"  # where to run\n'
        'project: str | None = None  # the cloud project\n'
        'days = 3  # how many days\n'
        'dates: list[str] = ["2024-01-01"]\n')
    cell.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# t"), cell])
    declared = params.declared_parameters(nb)
    assert list(declared) == ["target", "project", "days", "dates"]
    assert declared["project"].annotation == "str | None" and declared["project"].default is None
    assert declared["target"].help == "where to run"
    assert declared["days"].annotation is None and declared["days"].default == 3
    assert declared["dates"].help is None
    assert params.declared_parameters(nbformat.v4.new_notebook()) == {}


def test_an_unknown_name_never_shows_its_value():
    """A misspelt secret name (auth, api_tokn) is not recognised as secret, so its value is never echoed."""
    with pytest.raises(ParameterError) as caught:
        params.validate_params(DemoParams, {"api_token": "literal-S3CRET-1", "auth": "Bearer abcdefgh12345678 literal-S3CRET-1"})
    assert caught.value.parameter == "auth"
    assert "abcdefgh12345678" not in str(caught.value) and "literal-S3CRET-1" not in str(caught.value)
    assert str(caught.value).startswith("auth is not a parameter of this runbook: use one of target,")


def test_a_bad_value_is_shown_scrubbed_of_secret_shapes():
    with pytest.raises(ParameterError) as caught:
        params.validate_params(DemoParams, {"dataset_prefix": "password=hunter2hunter2"})
    assert "hunter2" not in str(caught.value) and caught.value.parameter == "dataset_prefix"


def test_a_name_papermill_injected_that_the_model_does_not_know_never_shows_its_value():
    ns = _namespace('# Parameters\napi_tokn = "S3CRET-in-a-typo"\n', api_tokn="S3CRET-in-a-typo")
    with pytest.raises(params.NotebookParameterError) as caught:
        params.from_notebook(DemoParams, ns)
    assert str(caught.value).startswith("api_tokn is not a parameter of this runbook: did you mean api_token (one of "
                                        "target, project")
    assert "S3CRET" not in str(caught.value) + repr(caught.value.value)
    assert caught.value._render_traceback_() == [f"ParameterError: {caught.value}"]


def test_unknown_parameter_error_names_the_parameter_and_what_is_allowed():
    error = params.unknown_parameter_error("rowz", "x.ipynb declares rows")
    assert isinstance(error, ParameterError) and error.parameter == "rowz" and error.value == "***"
    assert str(error) == "rowz is not a parameter of this runbook: x.ipynb declares rows."


@pytest.mark.parametrize("home", ["", " ", "\t"])
def test_an_empty_sandbox_home_is_refused_not_read_as_the_default(home):
    # `-p sandbox_home "$UNSET"` gives "": the run would otherwise use (and with dry_run=False change) the default
    with pytest.raises(ParameterError, match=r"^sandbox_home=.* is not valid: the sandbox folder as text, or None"):
        params.validate_params(params.OverviewParams, {"sandbox_home": home})


def test_a_refusal_stays_one_line_when_what_is_allowed_quotes_the_value():
    with pytest.raises(ParameterError) as caught:
        params.validate_params(params.OverviewParams, {"sandbox_home": "no\nsuch\rfolder"})
    assert "\n" not in str(caught.value) and "\r" not in str(caught.value)
    assert "\n" not in str(ParameterError("x", 1, "a\nb")) and ParameterError("x", 1, "a\nb").allowed == "a\\nb"


def test_a_region_the_sandbox_does_not_serve_is_refused_before_anything_runs(sandbox_home):
    # the sandbox is one region: `mars-north1` has the shape of one, but a dry run must not print commands for it
    with pytest.raises(ParameterError, match=r"^region='mars-north1' is not valid: the sandbox serves us-west2 only"):
        params.validate_params(params.OverviewParams, {"sandbox_home": str(sandbox_home), "region": "mars-north1"})
    for region in ("us-west2", "global", None):
        assert params.validate_params(params.OverviewParams, {"sandbox_home": str(sandbox_home),
                                                               "region": region}).region == region
    # runbook 02's region is where it builds, and the sandbox builds in its services' region only
    with pytest.raises(ParameterError, match=r"^region='global' is not valid: give the sandbox's own region or None"):
        params.validate_params(params.RedeployParams, {"sandbox_home": str(sandbox_home), "region": "global"})


def test_a_region_the_services_are_not_in_is_refused_on_gcp_where_phases_yaml_places_them(sandbox_home):
    """/work/probes/overview_gcp finding 3: runbook 00 on gcp took region=europe-west1, printed it, and read the
    services in phases.yaml's us-west2 (a PASS about a region not asked about). Runbooks 00 and 03 read only the
    phases' services, which phases.yaml places; runbooks 01 and 02 build in `region`, so they keep it."""
    placed = "phases.yaml sets each phase's region, and this runbook reads its services there"
    for region in ("europe-west1", "global"):
        with pytest.raises(ParameterError, match=rf"^region='{region}' is not valid: {placed} \(us-west2 for phase3 "
                                                 rf"and phase4\): give us-west2 or None\.$"):
            params.validate_params(params.OverviewParams, {"target": "gcp", "project": "my-project-1",
                                                           "region": region})
    with pytest.raises(ParameterError, match=rf"^region='europe-west1' is not valid: {placed} \(us-west2 for phase4\)"):
        params.validate_params(params.ReplayParams, {"target": "gcp", "region": "europe-west1", "phases": ["phase4"]})
    with pytest.raises(ParameterError, match=rf"^region='europe-west1' is not valid: {placed} \(us-west2 for phase4\)"):
        params.validate_params(params.AuditParams, {"target": "gcp", "region": "europe-west1", "services": ["phase4"]})
    for model in (params.OverviewParams, params.ReplayParams, params.AuditParams):
        for region in ("us-west2", None):
            assert params.validate_params(model, {"target": "gcp", "region": region}).region == region
    for model in (params.DiagnoseParams, params.RedeployParams):   # where to build (and look for builds)
        assert params.validate_params(model, {"target": "gcp", "region": "europe-west1",
                                              "source_dir": str(sandbox_home / "source")}).region == "europe-west1"
