"""The kit works when installed, not only from the checkout (the Docker image installs it with pip)."""
import glob
import tomllib
from pathlib import Path

import pytest

from runbook_lib import phases


def test_package_data_covers_every_file_the_library_reads():
    """Every non-Python file under runbook_lib/ is matched by a package-data pattern, expanded the way
    setuptools (>= 62.3, which pyproject's build-system requires) expands them: recursive globs."""
    config = tomllib.loads((phases.PROJECT_ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["runbook_lib"]
    package = phases.PROJECT_ROOT / "runbook_lib"
    shipped = {Path(p).resolve() for pattern in patterns for p in glob.glob(str(package / pattern), recursive=True)
               if Path(p).is_file()}
    data = {p.resolve() for p in package.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")
            and "__pycache__" not in p.parts}
    assert data, "the library reads data files; none found"
    assert data <= shipped, sorted(str(p.relative_to(package)) for p in data - shipped)[:5]
    assert any(p.name == "signatures.yaml" for p in shipped) and any(p.suffix == ".sql" for p in shipped)


def test_phases_file_is_found_without_a_checkout(tmp_path, monkeypatch):
    (tmp_path / "params").mkdir()
    (tmp_path / "params" / "phases.yaml").write_text(phases.DEFAULT_PHASES_FILE.read_text().replace("us-west2", "europe-west1"))
    monkeypatch.setattr(phases, "DEFAULT_PHASES_FILE", tmp_path / "not-installed" / "phases.yaml")
    monkeypatch.chdir(tmp_path)
    assert phases.load_phases().region == "europe-west1"
    monkeypatch.setenv(phases.PHASES_ENV, str(phases.PROJECT_ROOT / "params" / "phases.yaml"))
    assert phases.load_phases().region == "us-west2"
    monkeypatch.setenv(phases.PHASES_ENV, str(tmp_path / "missing.yaml"))
    with pytest.raises(ValueError, match="phases_file="):
        phases.load_phases()
