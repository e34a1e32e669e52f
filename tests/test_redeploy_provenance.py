"""Runbook 02's plan, proven before anything runs: an image given by tag counts by the digest the tag points at now
(a revision or a build that used the same tag is no record of today's image), and the build's upload (the commit's
tree through its own .gcloudignore, as `gcloud builds submit` sends it) holds the phase's Dockerfile and what its
COPY/ADD read. The sandbox and the gcp fakes, set up as tests/test_redeploy.py and tests/test_redeploy_gcp.py do."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from fakes.fixtures import PROJECT, connect_gcp_on_fakes
from runbook_lib import redeploy
from runbook_lib.errors import ParameterError
from runbook_lib.target import connect
from test_redeploy import _run as _run_local, _untouched
import test_redeploy_gcp as on_gcp
from test_redeploy_gcp import P4_NAME, _head, _run as _run_gcp

deploys, gcp = on_gcp.deploys, on_gcp.gcp     # its fixtures, as these tests ask for them

P3, P4 = "nba-phase3-analytics-processors", "nba-phase4-precompute-processors"
REPO = f"us-west2-docker.pkg.dev/{PROJECT}/cloud-run-source-deploy/{P4}"
STABLE = f"{REPO}:stable"
OLD_DIGEST, NEW_DIGEST = "sha256:" + "0a" * 32, "sha256:" + "1b" * 32
P4_DOCKERFILE, P3_DOCKERFILE = "docker/precompute-processor.Dockerfile", "docker/analytics-processor.Dockerfile"
TAG_PATH = f"/v1/projects/{PROJECT}/locations/us-west2/repositories/cloud-run-source-deploy/packages/{P4}/tags/stable"


def _ran_before(fake_apis, image: str, commit: str) -> str:
    """A revision of Phase 4 from weeks ago that ran `image` with the label commit-sha=<commit>."""
    name = f"{P4}-00020-old"
    fake_apis.run_revisions[P4_NAME].insert(0, {
        "name": f"{P4_NAME}/revisions/{name}", "labels": {"commit-sha": commit[:7]}, "containers": [{"image": image}],
        "createTime": "2025-12-01T00:00:00Z", "conditions": [{"type": "Ready", "state": "CONDITION_SUCCEEDED"}]})
    return name


# ---------------------------------------------------------------- finding 3: a tag proves nothing by itself

@pytest.mark.parametrize("recorded", [STABLE, f"{STABLE}@{OLD_DIGEST}"], ids=["ran-the-tag", "ran-its-old-digest"])
def test_a_tag_moved_since_a_revision_ran_it_gives_no_label_and_deploys_todays_digest(gcp, fake_apis, sandbox_home,
                                                                                       recorded):
    head = _head(sandbox_home)
    old = _ran_before(fake_apis, recorded, head)
    fake_apis.artifact_tags[STABLE] = NEW_DIGEST          # :stable was pushed again since
    plan = redeploy.make_plan(gcp, "phase4", strategy="image", image=STABLE, commit=head)
    assert "commit-sha" not in plan.labels and plan.remove_labels == ["commit-sha"] and plan.env == {}
    assert (plan.image, plan.pinned_from, plan.provenance) == (f"{REPO}@{NEW_DIGEST}", STABLE, "")
    assert f"--image={REPO}@{NEW_DIGEST} " in plan.commands()[0]
    then = (f"and revision {old} ran it with no digest recorded" if recorded == STABLE
            else f"not the sha256:{'0a' * 6} that revision {old} ran")
    assert plan.warnings == [f"the tag stable now points at sha256:{'1b' * 6}, {then} (commit {head[:7]})"]
    # without a commit given nothing says which code the image holds: refused, naming the revision and why
    with pytest.raises(ParameterError) as caught:
        redeploy.make_plan(gcp, "phase4", strategy="image", image=STABLE)
    assert caught.value.parameter == "commit" and f"{then} (commit {head[:7]})" in str(caught.value)
    assert "nothing says which code it holds" in str(caught.value)


def test_a_tag_that_points_at_the_digest_a_revision_ran_keeps_its_label(gcp, fake_apis, sandbox_home):
    head = _head(sandbox_home)
    old = _ran_before(fake_apis, f"{REPO}@{NEW_DIGEST}", head)
    fake_apis.artifact_tags[STABLE] = NEW_DIGEST
    plan = redeploy.make_plan(gcp, "phase4", strategy="image", image=STABLE)
    assert plan.commit == head and plan.labels["commit-sha"] == head[:7] and plan.env == {"COMMIT_SHA": head[:7]}
    assert plan.provenance == (f"revision {old} ran it with the label commit-sha={head[:7]} "
                               "(its tag stable points at it now)")
    assert plan.image == f"{REPO}@{NEW_DIGEST}" and plan.warnings == []
    assert f"# image {STABLE} points at sha256:{'1b' * 6} now: deployed by that digest" in plan.to_text()
    # one read of Artifact Registry's packages.tags.get, nothing written
    assert [(r.method, r.path) for r in fake_apis.requests if "/packages/" in r.path] == [("GET", TAG_PATH)]


def test_a_revision_that_ran_the_tag_proves_the_digest_cloud_run_resolved_it_to(gcp, fake_apis, sandbox_home):
    """A revision deployed by tag records no digest in its image, but Cloud Run says which one it resolved
    (containerStatuses): while the tag points at that digest, the revision's commit-sha label proves the image."""
    head = _head(sandbox_home)
    old = _ran_before(fake_apis, STABLE, head)
    fake_apis.run_revisions[P4_NAME][0]["containerStatuses"] = [{"imageDigest": f"{REPO}@{NEW_DIGEST}"}]
    fake_apis.artifact_tags[STABLE] = NEW_DIGEST
    plan = redeploy.make_plan(gcp, "phase4", strategy="image", image=STABLE)
    assert plan.commit == head and plan.labels["commit-sha"] == head[:7] and plan.warnings == []
    assert plan.provenance == (f"revision {old} ran it with the label commit-sha={head[:7]} "
                               "(its tag stable points at it now)")


def test_the_tag_a_redeploy_build_pushed_is_proven_by_that_build_while_it_points_at_its_digest(gcp, deploys, fake_apis,
                                                                                             sandbox_home):
    head = _head(sandbox_home)
    built, _ = _run_gcp(gcp, sandbox_home, phase="phase4")
    pushed = built.details["build"]["image"]              # by digest: the build pushed REPO:<short> as it
    dry, _ = _run_gcp(gcp, sandbox_home, phase="phase4", strategy="image", image=f"{REPO}:{head[:7]}", dry_run=True)
    plan = dry.details["plan"]
    assert plan["image"] == pushed and plan["pinned_from"] == f"{REPO}:{head[:7]}"
    assert plan["provenance"].startswith(f"build {built.details['build']['build_id']} pushed it, built from commit "
                                         f"{head[:7]}'s tree") and plan["labels"]["commit-sha"] == head[:7]


@pytest.mark.parametrize("refused", [False, True], ids=["no-such-tag", "no-reader-role"])
def test_a_tag_whose_digest_cannot_be_read_is_unproven_and_the_dry_run_says_why(gcp, fake_apis, sandbox_home, refused):
    head = _head(sandbox_home)
    old = _ran_before(fake_apis, STABLE, head)
    if refused:
        fake_apis.refuse(TAG_PATH, 403, "Permission 'artifactregistry.tags.get' denied on resource")
    dry, _ = _run_gcp(gcp, sandbox_home, phase="phase4", strategy="image", image=STABLE, commit=head, dry_run=True)
    plan = dry.details["plan"]
    assert "commit-sha" not in plan["labels"] and plan["image"] == STABLE and plan["provenance"] == ""
    why = ("reading it needs roles/artifactregistry.reader on project nba-props-platform; " if refused
           else f"Artifact Registry has no tag stable of {P4})")
    [warning] = plan["warnings"]
    assert warning.startswith(f"which image the tag stable points at now could not be read ({why}")
    assert warning.endswith(f", and revision {old} ran it with no digest recorded (commit {head[:7]})")
    # the reason leads, so the summary says it even where it cuts the clause short
    assert dry.verdict == "warn" and dry.summary.startswith("Dry run, nothing changed: nothing records which code")
    assert "; but which image the tag stable points at now could not be read" in dry.summary


def test_on_the_sandbox_a_tag_points_at_its_newest_push(make_sandbox, tmp_path):
    home = make_sandbox()
    head = _head(home)
    with connect("local", home=home) as tg:
        config = redeploy.cloudbuild_config(P4, P4_DOCKERFILE, STABLE, head)
        first = tg.builds.submit(config, tg.source_dir)
        plan = redeploy.make_plan(tg, "phase4", strategy="image", image=STABLE)
        digest = first["results"]["images"][0]["digest"]
        assert plan.image == redeploy.by_digest(STABLE, digest) and plan.labels["commit-sha"] == head[:7]
        assert plan.provenance == (f"build {first['id']} pushed it, built from commit {head[:7]}'s tree "
                                   "(its tag stable points at it now)")
        # someone pushes other code as :stable, outside the kit's redeploy builds
        tree = tmp_path / "other-tree"
        shutil.copytree(tg.source_dir, tree, ignore=shutil.ignore_patterns(".git"))
        (tree / "shared" / "config.py").write_text("CHANGED = True\n")
        second = tg.builds.submit({**config, "tags": []}, str(tree))
        moved = second["results"]["images"][0]["digest"]
        assert moved != digest and tg.builds.tag_digest(STABLE).digest == moved
        plan = redeploy.make_plan(tg, "phase4", strategy="image", image=STABLE, commit=head)
        assert "commit-sha" not in plan.labels and plan.image == redeploy.by_digest(STABLE, moved)
        assert plan.warnings == [f"the tag stable now points at {moved[:19]}, not the {digest[:19]} that build "
                                 f"{first['id']} pushed (commit {head[:7]})"]


# ---------------------------------------------------------------- finding 8: what the build's upload holds

def _commit_gcloudignore(home: Path, text: str) -> None:
    source = Path(home) / "source"
    (source / ".gcloudignore").write_text(text)
    subprocess.run(["git", "-C", str(source), "add", ".gcloudignore"], check=True)
    subprocess.run(["git", "-C", str(source), "-c", "user.name=ops", "-c", "user.email=ops@example.com", "commit",
                    "-qm", "Add .gcloudignore"], check=True)


def test_a_dockerfile_the_commits_gcloudignore_leaves_out_is_refused_in_a_dry_run_and_a_real_run(make_sandbox):
    home = make_sandbox()
    _commit_gcloudignore(home, "# keep uploads small\n.git\ndocker/\n")
    before = _untouched(home)
    for dry_run in (True, False):
        with pytest.raises(ParameterError) as caught:
            _run_local(home, phase="phase4", dry_run=dry_run)
        said = str(caught.value)
        assert caught.value.parameter == "commit" and "\n" not in said
        assert f"{P4_DOCKERFILE}, phase4's Dockerfile, is left out of the upload" in said
        assert "by line 3 of .gcloudignore, 'docker/'" in said
        # gcloud does not look inside a folder it leaves out, so the fix is to narrow the line, not a ! line
        assert f"narrow it (for example docker/* followed by !{P4_DOCKERFILE}) in .gcloudignore" in said
    assert _untouched(home) == before


def test_on_gcp_a_real_run_stages_and_builds_nothing_when_the_upload_lacks_the_dockerfile(
        make_sandbox, fake_apis, storage_emulator, deploys, tmp_path, monkeypatch):
    home = make_sandbox()
    _commit_gcloudignore(home, "*.Dockerfile\n")
    target = connect_gcp_on_fakes(fake_apis, home, tmp_path, monkeypatch, storage_endpoint=storage_emulator.endpoint)
    try:
        with pytest.raises(ParameterError) as caught:
            _run_gcp(target, home, phase="phase4")
    finally:
        target.close()
    assert "by line 1 of .gcloudignore, '*.Dockerfile'" in str(caught.value)
    assert f"delete that line or add !{P4_DOCKERFILE} below it in .gcloudignore" in str(caught.value)
    assert not [r for r in fake_apis.requests if r.method in ("POST", "PATCH", "PUT", "DELETE")]
    assert storage_emulator.client().lookup_bucket(f"{PROJECT}_cloudbuild") is None


def test_copy_sources_the_upload_leaves_out_are_a_warning_naming_them(make_sandbox):
    home = make_sandbox()
    _commit_gcloudignore(home, "shared/\n")
    dry = _run_local(home, phase="phase4")
    [warning] = dry.details["plan"]["warnings"]
    assert dry.verdict == "warn" and f"; but the build would fail: {P4_DOCKERFILE} copies shared/, " in dry.summary
    assert warning.startswith(f"the build would fail: {P4_DOCKERFILE} copies shared/, which the build context of")
    assert "COPY shared/: gcloud leaves it out of the upload (rule 'shared/' at .gcloudignore:1)" in warning
    assert f"# WARNING: {warning}" in dry.plan.to_text()


def test_a_re_include_keeps_the_dockerfile_and_only_the_phase_whose_dockerfile_is_left_out_is_refused(make_sandbox):
    home = make_sandbox()
    _commit_gcloudignore(home, f"docker/*\n!{P4_DOCKERFILE}\n")
    dry = _run_local(home, phase="phase4")
    assert dry.verdict == "pass" and dry.details["plan"]["warnings"] == [], dry.summary
    with pytest.raises(ParameterError) as caught:
        _run_local(home, phase="phase3")
    assert f"{P3_DOCKERFILE}, phase3's Dockerfile, is left out" in str(caught.value)
    assert "by line 1 of .gcloudignore, 'docker/*'" in str(caught.value)


def test_a_commit_without_the_phases_dockerfile_is_refused(make_sandbox):
    home = make_sandbox()
    source = Path(home) / "source"
    subprocess.run(["git", "-C", str(source), "rm", "-q", P3_DOCKERFILE], check=True)
    subprocess.run(["git", "-C", str(source), "-c", "user.name=ops", "-c", "user.email=ops@example.com", "commit",
                    "-qm", "Drop Phase 3's Dockerfile"], check=True)
    with pytest.raises(ParameterError) as caught:
        _run_local(home, phase="phase3")
    assert caught.value.parameter == "commit" and f"its tree has no {P3_DOCKERFILE}" in str(caught.value)
