"""classify_log on wordings no fixture shows: families of equivalent wordings written as one pattern, the
untranslated tokens a localized tool still prints, boilerplate passed over for the line that says why, and
other CI systems' framings as log sections. Each test fails when its mechanism is taken out (round 5 of
issue 7: the misses of each held-out round were new wordings of known causes)."""
from __future__ import annotations

import re

import pytest

from buildlog_helpers import signature_and_line, top_of
from runbook_lib.diagnose import classify_log, parse_catalogue
from runbook_lib.diagnose.lines import names_error, names_failure
from runbook_lib.errors import ConfigError

UNKNOWN = {"id": "unknown", "title": "t", "weight": 0, "patterns": [], "cause": "c.", "fix": ["f"]}


def _one(pattern: str, **top) -> object:
    doc = {"signatures": [{"id": "boom", "title": "t", "weight": 50, "patterns": [pattern], "cause": "c.",
                           "fix": ["f"]}, UNKNOWN]}
    doc.update(top)
    return parse_catalogue(doc)


def _top_signature(line: str) -> str:
    """The top finding's signature for a log of this one line (the packaged catalogue)."""
    return classify_log(line + "\n")[0].signature


# ---- a family of wordings is one pattern ------------------------------------------------------------------

def test_an_alternation_whose_every_wording_has_a_literal_is_one_pattern():
    cat = _one(r"widget \d+ (?:is not available|was not found|cannot be fetched)")
    for refusal in ("is not available", "was not found", "cannot be fetched"):
        assert classify_log(f"note\nwidget 3 {refusal}\n", cat)[0].line == 2
    assert classify_log("widget 3 is fine\n", cat)[0].signature == "unknown"


def test_a_family_with_a_wording_that_has_no_literal_is_a_config_error():
    with pytest.raises(ConfigError, match=r"or an alternation each of whose wordings has one"):
        _one(r"(?:is not available|x\d)")


def test_section_markers_may_not_be_families():
    # the section tracker searches backwards for one literal per marker
    with pytest.raises(ConfigError, match=r"write alternatives as separate entries"):
        _one("BOOM happened", sections=[{"name": "fetch", "markers": ["(?:FETCH-START|SOURCE-START)"]}])


@pytest.mark.parametrize("line", [
    " !     Requested runtime (python-3.12.1) is not available for this stack (heroku-22).",
    "-----> Requested runtime 'python-3.6.1' was not found.",
    "ERROR: Python 3.14.0 is not supported by this builder",
    "Failed to download node v12.11.0 from the runtime mirror",
    "Unable to find Ruby 2.4.10 for stack cedar-14",
    "Could not install Go 1.99: no such release",
])
def test_runtime_version_refusals_in_unseen_wordings_are_a_version_problem(line):
    assert classify_log(f"building\n{line}\n")[0].signature == "buildpacks-python-version"


@pytest.mark.parametrize("line", [
    "/bin/sh: 1: python3: not found",   # a shell without the interpreter, no version asked for
    "Failure: (ID: 224c5ea3) couldn't find runtime version from runtimeconfig.json",   # no version to refuse
])
def test_a_runtime_word_without_a_refused_version_is_not_a_version_problem(line):
    assert classify_log(f"building\n{line}\n")[0].signature != "buildpacks-python-version"


# ---- the tokens a localized or older tool prints untranslated ---------------------------------------------

@pytest.mark.parametrize("line", [
    # docker's own prefix, then the OS's error in the user's language
    "unable to prepare context: unable to evaluate symlinks in Dockerfile path: CreateFile C:\\src\\Dockerfile: "
    "Le fichier spécifié est introuvable.",
    # a system call on the Dockerfile itself, whatever tool quotes it
    'time="2019-01-01T00:00:00Z" level=fatal msg="open /workspace/Dockerfile.prod: no such file or directory"',
    "Error: stat /src/Dockerfile: Das System kann die angegebene Datei nicht finden.",
])
def test_a_missing_dockerfile_is_recognised_by_the_words_no_locale_changes(line):
    assert _top_signature(line) == "dockerfile-not-in-upload"


def test_a_copy_of_a_file_named_dockerfile_is_not_a_missing_dockerfile():
    line = "COPY failed: stat /var/lib/docker/tmp/docker-builder1/Dockerfile.base: no such file or directory"
    assert _top_signature(line) == "docker-copy-source-missing"


@pytest.mark.parametrize("line", [
    "Ensure that the Cloud Functions service account has 'artifactregistry.repositories.list' permissions",
    'denied: Permission "artifactregistry.repositories.downloadArtifacts" denied on resource',
    "Unable to retrieve the repository metadata for projects/p/locations/us/repositories/gcf-artifacts.",
])
def test_any_refusal_naming_an_artifact_registry_permission_is_a_registry_permission_problem(line):
    assert _top_signature(line) == "push-permission-denied"


def test_the_python_functions_frameworks_start_errors_are_a_start_failure():
    line = "functions_framework.exceptions.MissingSourceException: File /workspace/main.py that is expected"
    assert _top_signature(line) == "container-start-failed"


# ---- boilerplate gives way to the line that says why ------------------------------------------------------

def test_a_findings_boilerplate_first_line_gives_way_to_its_first_line_that_says_more():
    cat = _one(r"TOOL ERR! ", uninformative=["full log is in"])
    log = "TOOL ERR! full log is in /tmp/x.log\nTOOL ERR! widget 3 failed to compile\n"
    top = classify_log(log, cat)[0]
    assert (top.line, top.lines) == (2, [2, 1])
    only_boilerplate = classify_log("TOOL ERR! full log is in /tmp/x.log\n", cat)[0]
    assert only_boilerplate.line == 1   # nothing says more: the boilerplate is still the evidence


@pytest.mark.parametrize("log, line", [
    # npm's epilogue, pasted above the failure (newest-first) or below it
    ("npm ERR! A complete log of this run can be found in:\nnpm ERR!     /root/.npm/_logs/2020-01-01-debug.log\n"
     "npm ERR! This is probably not a problem with npm.\nnpm ERR! Failed at the app@1.0.0 build script.\n", 4),
    # pip's epilogue below the cause
    ("  error: the widget header is missing\n  note: This error originates from a subprocess, and is likely not "
     "a problem with pip.\n", 1),
    # pack's verdict after the buildpack's own words
    ("[builder] widget failed: no compiler\nERROR: failed to build: exit status 1\n", 1),
])
def test_shipped_boilerplate_is_passed_over_for_the_line_that_says_what_failed(log, line):
    assert classify_log(log)[0].line == line


# ---- other CI systems' framings as sections ---------------------------------------------------------------

GITHUB_FETCH = ["##[group]Run actions/checkout@v4", "Fetching the repository",
                "##[error]fatal: repository 'https://github.com/o/r/' not found", "##[endgroup]"]
GITHUB_STEP = ["##[group]Run ./deploy.sh", "CommandException: No URLs matched: gs://assets/*.js", "##[endgroup]"]


def test_a_github_actions_checkout_failure_is_no_cloud_build_fetch_and_a_later_steps_copy_is_no_fetch():
    # (LABELLING.md: source-fetch-failed is Cloud Build's; a CI runner's checkout is read at its own error)
    assert signature_and_line(GITHUB_FETCH) == ("unknown", 3)
    assert signature_and_line(GITHUB_FETCH[:2] + ["##[error]Error running git [fetch origin]: exit status 128"]) \
        == ("unknown", 3)
    # gsutil's words in a later step are that step's own copy, not the fetch
    later = classify_log("\n".join(GITHUB_FETCH[:2] + ["##[endgroup]"] + GITHUB_STEP + ["FETCHSOURCE"]))[0]
    assert later.signature != "source-fetch-failed"


def test_gitlabs_source_step_is_its_own_and_tektons_git_resource_is_the_fetch():
    gitlab = ["Getting source from Git repository", "Fetching changes with git depth set to 20...",
              "fatal: unable to access 'https://gitlab.com/o/r.git/': The requested URL returned error: 403"]
    assert signature_and_line(gitlab) == ("unknown", 3)
    script = gitlab[:2] + ['Executing "step_script" stage of the job script', "$ make", "make: *** [all] Error 2"]
    assert classify_log("\n".join(script))[0].signature == "unknown"
    tekton = ["[git-source-repo-x7k2q] {\"level\":\"error\",\"msg\":\"Error running git [checkout]: exit status 1\"}"]
    assert classify_log("\n".join(tekton))[0].signature == "source-fetch-failed"


# ---- round 5's tuning logs: a traceback ends in its exception; more wordings of known causes ---------------

TRACEBACK = ["Traceback (most recent call last):", '  File "/srv/app/server.py", line 12, in boot',
             "    load()", '  File "/srv/app/loader.py", line 3, in load', "    import widget",
             "ModuleNotFoundError: No module named 'widget'", "next unrelated line"]


def test_a_match_on_a_traceback_frame_is_led_by_the_exception_that_ends_the_traceback():
    cat = _one(r'app/server\.py", line \d+, in boot')
    top = classify_log("\n".join(TRACEBACK), cat)[0]
    assert (top.line, top.lines) == (6, [6, 2])
    assert top.evidence[0] == TRACEBACK[5]
    # a traceback cut before its exception: the frame stays the evidence
    assert classify_log("\n".join(TRACEBACK[:5]), cat)[0].line == 2


def test_shipped_app_server_start_failures_and_their_tracebacks_are_a_start_failure():
    frames = ['  File "/env/lib/python3.9/site-packages/gunicorn/arbiter.py", line 589, in spawn_worker',
              "    worker.init_process()", "ImportError: cannot import name 'app' from 'main'"]
    top = classify_log("\n".join(["Traceback (most recent call last):"] + frames))[0]
    assert (top.signature, top.line) == ("container-start-failed", 4)
    for line in ("[2024-01-01 00:00:00 +0000] [9] [ERROR] Worker failed to boot.",
                 'ERROR:    Error loading ASGI app. Could not import module "main".'):
        assert _top_signature(line) == "container-start-failed"


@pytest.mark.parametrize("line, signature", [
    ("[ERROR] Failed to execute goal com.google.cloud.tools:jib-gradle-plugin:3.1.0:build: Build image failed, "
     "perhaps you should make sure your credentials for 'europe-docker.pkg.dev/p/r/app' are set up correctly",
     "push-permission-denied"),
    ("com.google.cloud.tools.jib.registry.RegistryUnauthorizedException: Unauthorized for quay.io/o/app",
     "push-permission-denied"),
    ("-----> DEPENDENCY MISSING IN MANIFEST: ruby 2.2.10", "buildpacks-python-version"),
    ("Unfortunately, that version of Node.js is not supported by this buildpack", "buildpacks-python-version"),
    ('ERROR: File "setup.py" or "setup.cfg" not found. Directory cannot be installed in editable mode: /app',
     "pip-install-failed"),
    ("Smoke checks for 28744e2b071248 failed: the app appears to be crashing", "container-start-failed"),
    ("1/1 replicas never became healthy!", "container-start-failed"),   # Railway's deploy healthcheck
    ('unable to prepare context: path "./src" not found', "dockerfile-not-in-upload"),   # the context is not there
    ("  pip: Failed to detect successful installation of [face_recognition]", "pip-install-failed"),   # rosdep's
    ("building of '/nix/store/6nff4g-octave-4.2.2.drv' timed out after 3600 seconds", "build-timeout"),   # Nix's
    # docker's verdict on a RUN step that installs the requirements with conda
    ("The command '/bin/sh -c conda env create -p /envs/app -f environment.yml' returned a non-zero code: 1",
     "pip-install-failed"),
    ('ERROR: failed to solve: process "/bin/sh -c conda install -y numpy=1.16.0" did not complete successfully: '
     "exit code: 1", "pip-install-failed"),
])
def test_more_wordings_of_known_causes(line, signature):
    assert classify_log(f"building\n{line}\n")[0].signature == signature


# ---- round 6: the registry API's error codes in text form; the builders' own user errors; lead lines --------

@pytest.mark.parametrize("line", [
    "unauthorized: authentication required",                                  # docker push, any registry
    "buildApp: pushImg error: unauthorized: Not Authorized.",
    "Error: Error publishing image: UNAUTHORIZED: You don't have the needed permissions to perform this op",
    "denied: Unauthenticated request. Unauthenticated requests do not have permission",
    'Error: Status 403 trying to push repository acme/api: "Access denied."',  # docker < 1.6
    "error pushing image: PUT https://gcr.io/v2/p/app/manifests/v1: NAME_UNKNOWN: repo not found",
    # BuildKit wraps containerd's pusher errors in `failed to push <ref>: `
    "ERROR: failed to push gcr.io/p/app:v1: unexpected status from PUT request to "
    "https://gcr.io/v2/p/app/manifests/v1: 403 Forbidden",
    "ERROR: failed to push europe-docker.pkg.dev/p/r/app:v1: failed to authorize: failed to fetch oauth "
    "token: unexpected status from GET request to https://europe-docker.pkg.dev/v2/token: 403 Forbidden",
    "error: failed to push ghcr.io/o/app:v1: server message: insufficient_scope: authorization failed",
    "denied: Token exchange failed for project 'p'. Caller does not have permission 'storage.buckets.create'.",
    # go-containerregistry (ko, crane) quoting the token request for a push scope that the registry refused
    "Error: failed to publish images: error publishing ko://example.com/cmd/app: GET https://gcr.io/v2/token?"
    "scope=repository%3Ap%2Fapp%3Apush%2Cpull&service=gcr.io: UNAUTHORIZED: You don't have the needed permissions",
    "GET https://us-docker.pkg.dev/v2/token?scope=repository:p/r/app:push,pull&service=us-docker.pkg.dev: DENIED: "
    "Permission denied",
    # Container Registry refusing a push to a project that is not there, as skaffold quotes it
    'level=fatal msg="build failed: building [app]: build artifact: unknown: Project \'projects/acme\' not found or '
    'deleted."',
    # docker-java (CI plugins' Java Docker client) quoting the registry's refusal
    "com.github.dockerjava.api.exception.DockerClientException: Could not push image: error from registry: User is "
    "unauthorized to upload to docker-local/corp/app/_uploads",
])
def test_the_registry_refusing_a_push_in_any_wording_is_a_refused_push(line):
    assert _top_signature(line) == "push-permission-denied"


@pytest.mark.parametrize("line", [
    # the registry refuses a pull in the same words: a base image the build may not read is no refused push
    "pull access denied for acme/base, repository does not exist or may require 'docker login': "
    "denied: requested access to the resource is denied",
    "ERROR: failed to solve: acme/base:1: failed to resolve source metadata for docker.io/acme/base:1: "
    "unauthorized: authentication required",
    "Error response from daemon: Get https://gcr.io/v2/: unauthorized: login attempt failed",
    "Permission denied: '/workspace/out'",   # a file system refusal
    "Error response from daemon: Get https://gcr.io/v2/b/img/manifests/latest: denied: Token exchange failed "
    "for project 'b'. Caller does not have permission 'storage.buckets.get'.",   # a step's image refused
    # terraform creating a Cloud Run job whose image its service agent may not pull (no image is pushed)
    'Error: Error creating Job: googleapi: Error 403: Permission "artifactregistry.repositories.downloadArtifacts" '
    'denied on resource "projects/p/locations/us/repositories/r" (or it may not exist).',
    # a token for a pull scope only: a base image the build may not read
    "GET https://gcr.io/v2/token?scope=repository%3Adistroless%2Fstatic%3Apull&service=gcr.io: UNAUTHORIZED: "
    "You don't have the needed permissions",
    "com.github.dockerjava.api.exception.DockerClientException: Could not pull image: unauthorized: authentication "
    "required",
])
def test_the_same_words_on_a_pull_or_a_file_are_not_a_refused_push(line):
    assert _top_signature(line) != "push-permission-denied"


# Messages GoogleCloudPlatform/buildpacks raises as user errors (pkg/entrypoint/procfile.go, pkg/appyaml,
# cmd/{python,ruby}/functions_framework, cmd/java/functions_framework, pkg/{python,nodejs,golang}, pkg/runtime)
@pytest.mark.parametrize("line, signature", [
    ("ERROR: failed to build: did not find any processes in Procfile", "buildpacks-no-entrypoint"),
    ("Couldn't find entrypoint from app.yaml: <nil>", "buildpacks-no-entrypoint"),
    ("missing main.py and GOOGLE_FUNCTION_SOURCE not specified. Either create the function in main.py or ...",
     "buildpacks-no-entrypoint"),
    ('expected source file "app.rb" does not exist', "buildpacks-no-entrypoint"),
    ("function has neither pom.xml nor already-built jar file; directory /workspace contains: [src]",
     "buildpacks-no-entrypoint"),
    ('invalid stack for Python runtime: "ubuntu1804"', "buildpacks-python-version"),
    ("failed to detect valid Node.js version 25.x: no match", "buildpacks-python-version"),
    ("flex version 3.6 is less than the minimum version 3.8 allowed", "buildpacks-python-version"),
    ("Error setting python version from runtime.txt", "buildpacks-python-version"),
    ("ERROR: Unable to install the Ruby version from .ruby-version", "buildpacks-python-version"),
    ("-----> App not compatible with buildpack: https://example.com/buildpack.tgz", "buildpacks-detect-failed"),
    (" !     No default language could be detected for this app.", "buildpacks-detect-failed"),
    ("Error: error building image: copy failed: no source files specified", "docker-copy-source-missing"),
    ('Error: error building at STEP "COPY app.py .": checking on sources under "/tmp/ctx": copier: stat: '
     '"/app.py": no such file or directory', "docker-copy-source-missing"),
    ("Error Response: [13] Timed out when starting VMs.  It's possible that the application code is unhealthy.",
     "container-start-failed"),
    ("ERROR: (gcloud.preview.app.deploy) Not enough VMs ready (1/3 ready, 2 still deploying).",
     "container-start-failed"),
    # Cloud Run's startup probes of any kind, the sentence cut or wrapped after its count
    ("Default STARTUP HTTP probe failed 3 times consecutively", "container-start-failed"),
    ('Default STARTUP GRPC probe failed 1 time consecutively for container "api" on port 8080.',
     "container-start-failed"),
    # a missing-entrypoint buildpack's refusal for any language, cut after its start
    ("ERROR: failed to build: for PHP, an entrypoint must be manually set", "buildpacks-no-entrypoint"),
    ("  Could not find a version that satisfies the requirement flask==9.9 (from versions: )", "pip-install-failed"),
    ('Command "python setup.py egg_info" failed with error code 1 in /tmp/pip-build/x/', "pip-install-failed"),
    ("  × Building wheel for numpy (pyproject.toml) did not run successfully.", "pip-install-failed"),
    ("  × No solution found when resolving dependencies:", "pip-install-failed"),
])
def test_the_builders_own_words_for_known_causes(line, signature):
    assert classify_log(f"building\n{line}\n")[0].signature == signature


@pytest.mark.parametrize("lines, line", [
    # App Engine flexible's nginx in front of an app that never came up: the app's own error above it
    (["Error: EROFS: read-only file system, open '/srv/logs/server.log'",
      'nginx failed to start: aborted, context canceled. subject:"nginx" Timeout:30m0s, attempts:5'], 1),
    # Vercel's Python runtime on a function that exited as it started: the exception above its verdict
    (['File "/var/task/app/main.py", line 12, in <module>', "    os.makedirs('/var/task/cache')",
      "OSError: [Errno 30] Read-only file system: '/var/task/cache'",
      "Python process exited with exit status: 1. The logs above can help with debugging the issue."], 3),
    # Vertex AI's verdict on a model server an endpoint could not start
    (["Deploying llama-serve on g2-standard-12 with 1 NVIDIA_L4 GPU(s).",
      "FailedPrecondition: 400 Model server exited unexpectedly. Model server logs can be found at ..."], 2),
    # a Modal container whose start took too long or whose startup hook raised
    (["INFO 05-01 12:39:12 backends.py:311] Cache the graph of shape None for later use",
      "Runner failed with exception: Runner has been initializing for too long: 300 seconds"], 2),
    (['  File "/pkg/modal/_runtime/user_code_imports.py", line 63, in call_lifecycle_functions',
      "    res = func(*args)", '  File "/root/serve.py", line 319, in wait_ready',
      '    raise TimeoutError(f"server not ready within {timeout} seconds")',
      "TimeoutError: server not ready within 300 seconds",
      "Runner failed with exception: TimeoutError('server not ready within 300 seconds')"], 5),
    # a model server's: Hugging Face Inference Endpoints' verdict, and Text Generation Inference's launcher
    (["[Server message]Endpoint failed to start", 'Exit code: 1. Reason: {"message":"Shard 0 failed"}'], 1),
    (["ERROR text_generation_launcher: Shard 3 failed to start:",
      "[W socket.cpp:601] [c10d] The client socket has failed to connect to [localhost]:29500",
      "INFO text_generation_launcher: Shutting down shards", "Error: ShardCannotStart"], 1),
    # an AWS Copilot service's log, each line after its log stream
    (["$ copilot svc logs", "copilot/api-dev/f2 /bin/sh: 1: /app/start.sh: Permission denied",
      "copilot/api-dev/c4 /bin/sh: 1: /app/start.sh: Permission denied"], 2),
    # pods crash-looping as `kubectl get pods` lists them, and the container's own words in `kubectl logs` below
    (["$ kubectl get pods", "NAME         READY   STATUS             RESTARTS   AGE",
      "api-8b48f    0/1     CrashLoopBackOff   3          2m", "$ kubectl logs api-8b48f",
      "exec /start.sh: no such file or directory"], 5),
])
def test_other_platforms_verdicts_on_an_app_that_would_not_start_are_a_start_that_failed(lines, line):
    top = top_of(lines)
    assert (top.signature, top.line) == ("container-start-failed", line)


def test_a_modal_image_build_that_failed_is_no_start():
    log = ["ValueError: setuptools>=49.4.0 is required",
           'Terminating task due to error: failed to run builder command "python setup_cuda.py install"',
           "Runner failed with exception: task exited with failure, status = exit status: 1"]
    assert top_of(log).signature == "unknown"   # (its runner's verdict alone marks no container's start)


@pytest.mark.parametrize("image, signature", [
    ([], "buildpacks-python-version"),   # no builder shown: the words are a builder's refusal of a version
    (["-----> Python app detected"], "buildpacks-python-version"),   # Heroku's buildpack
    (["/opt/build-bin/run-build-functions.sh: line 325: /opt/buildhome/python3.9/bin/activate: No such file"],
     "unknown"),   # Netlify's build image, which runs no buildpack (LABELLING.md)
    (["Failed: build command exited with code: 1"], "unknown"),   # ... Cloudflare Pages', its verdict below
])
def test_a_version_a_hosting_services_own_build_image_cannot_install_is_no_buildpacks_refusal(image, signature):
    refusal = ["Attempting python version '3.6' from runtime.txt", "Python 3.6 is not available"]
    lines = (image + refusal) if not image or "Failed:" not in image[0] else (refusal + image)
    top = top_of(lines)
    assert (top.signature, top.line) == (signature, lines.index(refusal[1]) + 1)


def test_a_version_word_without_a_refusal_of_the_version_file_is_no_version_problem():
    for line in ("Error reading the config from runtime.txt", "Setting python version from runtime.txt: 3.11"):
        assert _top_signature(line) != "buildpacks-python-version"


@pytest.mark.parametrize("lines, lead", [
    # npm's header lines name the error code; the line after them says what went wrong
    (["npm ERR! code ENOENT", "npm ERR! syscall open", "npm ERR! path /workspace/package.json",
      "npm ERR! errno -2", "npm ERR! enoent ENOENT: no such file or directory, open '/workspace/package.json'"], 5),
    # maven's closing advice and bare `[ERROR]` spacers come after (or, pasted newest first, before) the cause
    (["[ERROR] ", "[ERROR] Re-run Maven using the -X switch to enable full debug logging.", "[ERROR] -> [Help 1]",
      "[ERROR] Failed to execute goal on project app: tests failed"], 4),
    # a shell's own error form names no failure word
    (["-----> Building go-heroku-example...", "/srv/ci/bin/compile: line 68: test: too many arguments",
      "-----> Creating release..."], 2),
    # firebase deploy's closing verdict comes after the list of what failed
    (["i  functions: updating Node.js 20 function api(europe-west1)...", "",
      "Functions deploy had errors with the following functions:", "        api(europe-west1)", "",
      "Error: There was an error deploying functions"], 3),
    # npm's header lines over a script it could not run (`file`, `errno`) and its report: the shell's words above
    (["sh: cargo-cp-artifact: command not found", "npm ERR! code ELIFECYCLE", "npm ERR! syscall spawn",
      "npm ERR! file sh", "npm ERR! errno ENOENT", "npm ERR! app@0.1.0 build: `cargo-cp-artifact -nc index.node`",
      "npm ERR! spawn ENOENT"], 1),
    # Node.js's process warnings, whatever level a logger prints them at, are no cause
    (["$ nuxt prepare", " ERROR  (node:68) ExperimentalWarning: The Fetch API is an experimental feature.", " ERROR ",
      "        Failed to load schema from http://localhost:1337/graphql:"], 4),
    # a formatter's check: the file it would rewrite, above its verdict and the CI step's
    (["would reformat /home/runner/work/app/app/src/cli.py", "", "Oh no! 💥 💔 💥",
      "1 file would be reformatted, 4 files would be left unchanged.",
      "Error: Process completed with exit code 1."], 1),
    # a library's preamble to an error it did not expect, and webpack's stats row for a module that failed
    (["This error shouldn't have happened. Please consider opening a GitHub issue with the stack trace below here:",
      "An unchecked error was produced.", "",
      'Error: The package "@esbuild/linux-x64" could not be found, and is needed by esbuild.'], 4),
    (["   [0] ./src/content.js 1.61 kB {1} [built] [failed] [1 error]", "ERROR in ./src/content.js",
      "Module build failed: Error: Couldn't find preset \"babili\" relative to directory \"/app\""], 2),
    # go-multierror's heading (Pulumi, Terraform providers): the error it gathered below it
    (["  gcp:apigateway:ApiConfig (task-list-config):", "    error: 1 error occurred:",
      "    \t* Error creating ApiConfig: googleapi: Error 400: Cannot convert to service config.",
      "    kind: ERROR"], 3),
    (["Deploying...", "! 2 errors occurred:", "        * Cloud Run service failed to get ready",
      "        * Error during rollback: 1 error occurred:"], 3),
    # rsync's closing verdict points at the errors above it
    (['rsync: link_stat "/github/workspace/dist/" failed: No such file or directory (2)', "sending incremental file list",
      "rsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1196) [sender=3.1.2]"],
     1),
])
def test_the_lead_line_skips_headers_and_advice_for_the_line_that_says_why(lines, lead):
    top = top_of(lines)
    assert (top.signature, top.line) == ("unknown", lead)


def test_an_environment_listings_log_level_is_no_error_line():
    # Heroku's Node.js buildpack lists NPM_CONFIG_LOGLEVEL=error in every build, above whatever went wrong
    lines = ["-----> Node.js app detected", "-----> Creating runtime environment", "       NPM_CONFIG_LOGLEVEL=error",
             "       NODE_ENV=production", "-----> Installing binaries", "       Resolving node version 99.x...",
             "       Could not fetch the archive: connection reset", "-----> Build failed"]
    top = top_of(lines)
    assert (top.signature, top.line) == ("buildpacks-build-failed", 7)
    # ... while a logger's own `level=error` line is still the one to read
    assert top_of(['time="2024-01-01T00:00:00Z" level=error msg="failed to export: denied"']).line == 1


def test_herokus_refusal_of_an_end_of_life_python_is_a_version_it_cannot_provide_but_its_warning_is_not():
    head = ["-----> Building on the Heroku-20 stack", "-----> Python app detected",
            "-----> Using Python version specified in runtime.txt", " !     "]
    refused = [" !     Python 3.7 reached upstream end-of-life on June 27th, 2023, and is",
               " !     therefore no longer receiving security updates:", " !     ",
               " !     As such, it is no longer supported by this buildpack.",
               " !     Push rejected, failed to compile Python app."]
    assert signature_and_line(head + refused) == ("buildpacks-python-version", 5)
    # (in 2023 the same Python was built with a warning first; the build then failed for its own reasons)
    warned = [" !     Python 3.7 reached its upstream end-of-life on June 27th, 2023, so no longer",
              " !     receives any security updates:",
              " !     Support for Python 3.7 will be removed from this buildpack.",
              "-----> Installing requirements with pip",
              "       ERROR: No matching distribution found for nosuchpkg==9"]
    assert signature_and_line(head + warned)[0] == "pip-install-failed"


@pytest.mark.parametrize("instance", ["[REDACTED_INSTANCE_ID]", "<instance id>", "4815162342"])
def test_agent_engines_instance_that_failed_to_start_is_the_container_failing_even_when_its_id_was_redacted(instance):
    line = (f"An unexpected error occurred: 400 Reasoning Engine instance {instance} failed to start and cannot "
            "serve traffic.")
    assert _top_signature(line) == "container-start-failed"


@pytest.mark.parametrize("why, signature", [
    ("The user-provided container failed to start and listen on the port defined by PORT=8080",
     "container-start-failed"),
    ("Image 'gcr.io/p/app:v1' not found.", "unknown"),   # the revision never got an image to start
    ("Google Cloud Run Service Agent service-1@serverless-robot-prod.iam.gserviceaccount.com must have "
     "permission to read the image, gcr.io/p/app.", "unknown"),
])
def test_a_revision_that_is_not_ready_failed_to_start_only_when_it_had_an_image(why, signature):
    line = f"ERROR: (gcloud.run.deploy) Revision 'svc-00001-abc' is not ready and cannot serve traffic. {why}"
    assert _top_signature(line) == signature


def test_a_managed_build_quoted_on_its_own_line_counts_package_manager_errors():
    log = "Build failed: npm ERR! code E404\nnpm ERR! 404 Not Found - GET https://registry.npmjs.org/x - Not found\n"
    assert classify_log(log)[0].signature == "buildpacks-build-failed"
    # npm's words alone, in no build the log shows, name no known cause
    assert classify_log(log.replace("Build failed: ", ""))[0].signature == "unknown"


# ---- round 8: reports read at their telling line; causes before verdicts; a tool's words lead ------------

ERESOLVE = ["Build failed: npm ERR! code ERESOLVE", "npm ERR! ERESOLVE could not resolve", "npm ERR!",
            "npm ERR! While resolving: app@1.0.0", "npm ERR! Found: firebase-admin@10.3.0", "npm ERR!",
            "npm ERR! Could not resolve dependency:", 'npm ERR! peer firebase-admin@"^8.0.0" from lib@5.13.0',
            "npm ERR! Fix the upstream dependency conflict"]
GRADLE = ["> Task :compileJava FAILED", "", "FAILURE: Build failed with an exception.", "",
          "* What went wrong:", "Execution failed for task ':compileJava'.", "> Compilation failed",
          "", "* Try:", "> Run with --stacktrace option to get the stack trace."]
PIP = ["ERROR: Cannot install flask==1.0 and werkzeug==3.0 because these package versions have conflicting "
       "dependencies.", "", "The conflict is caused by:", "    The user requested werkzeug==3.0",
       "    flask 1.0 depends on Werkzeug>=0.14", ""]


HELMFILE = ["in ./helmfile.yaml: command \"/usr/local/bin/helm\" exited with non-zero status:", "", "PATH:",
            "  /usr/local/bin/helm", "", "ERROR:", "  exit status 1", "", "EXIT STATUS", "  1", "", "STDERR:",
            '  Error: unknown command "diff" for "helm"', "  Run 'helm --help' for usage."]
TERRAFORM_PLAN = ["Error: Error applying plan:", "", "1 error(s) occurred:", "",
                  "* google_cloudfunctions_function.function: 1 error(s) occurred:", "",
                  "* google_cloudfunctions_function.function: googleapi: Error 400: The request has errors, badRequest"]
DEPLOYMENT_MANAGER = ["Waiting for create [operation-1]...failed.",
                      "ERROR: (gcloud.deployment-manager.deployments.create) Error in Operation [operation-1]: errors:",
                      "- code: MANIFEST_EXPANSION_USER_ERROR", "  location: /deployments/d/manifests/m",
                      "  message: Manifest expansion encountered the following errors: No module named zipfile"]
TERRAFORM_PROVISIONER = ["│ Error: local-exec provisioner error", "│", "│   with null_resource.wait_conditions,",
                         '│   on main.tf line 85, in resource "null_resource" "wait_conditions":', "│",
                         "│ Error running command 'kubectl wait --for=condition=ready pods --all': exit status 1."]
CONDA_REPORT = ["# >>>>>>>>>>>>>>>>>>>>>> ERROR REPORT <<<<<<<<<<<<<<<<<<<<<<", "",
                "    Traceback (most recent call last):",
                '      File "/opt/conda/lib/python3.11/site-packages/conda/exception_handler.py", line 16, in __call__',
                "        return func(*args, **kwargs)",
                '      File "/opt/conda/lib/python3.11/site-packages/mamba/mamba_env.py", line 153, in mamba_install',
                "        transaction.fetch_extract_packages()",
                "    RuntimeError: Could not set URL (code: 14 - url = /numpy-1.26.4-py311_0.conda)", "",
                "`$ /opt/conda/bin/mamba env update -p /opt/conda/envs/app --file environment.yml`"]
DBT_REPORT = ["02:41:30 Running with dbt=1.8.2", "02:41:31 Registered adapter: bigquery=1.8.1",
              "02:41:34 Encountered an error:", "02:41:34 Runtime Error", "02:41:34   Could not find profile named 'warehouse'"]
# ... as a host's job log prints it, each line's time on a line of its own
DBT_REPORT_STAMPED = [part for line in DBT_REPORT for part in ("2026-04-03 16:37:03", f"app CMDOUT ({line[9:]})")]
AIRFLOW_TASK = ["[2024-05-11, 13:13:37 UTC] {dbt_hook.py:117} INFO - dbt run --profiles-dir /opt/airflow/dbt/",
                "[2024-05-11, 13:13:37 UTC] {taskinstance.py:1888} ERROR - Task failed with exception",
                "Traceback (most recent call last):",
                '  File "/opt/airflow/plugins/operators/dbt.py", line 98, in execute',
                "    self.create_hook().run_cli('run')",
                '  File "/usr/local/lib/python3.11/subprocess.py", line 1821, in _execute_child',
                "    raise child_exception_type(errno_num, err_msg, err_filename)",
                "FileNotFoundError: [Errno 2] No such file or directory: 'dbt'"]
# BuildKit's excerpt of the Dockerfile, as docker/build-push-action's annotation heads it, above the verdict that says why
BUILDKIT_ANNOTATION = ["Error: Dockerfile:12", "--------------------", "  10 |     FROM node:20-slim",
                       "  11 |     WORKDIR /app", "  12 | >>> COPY --from=ghcr.io/o/tools:1.2 /bin/tool /usr/bin/tool",
                       "--------------------",
                       "ERROR: failed to solve: ghcr.io/o/tools:1.2: failed to resolve source metadata for "
                       "ghcr.io/o/tools:1.2: unexpected status from HEAD request: 403 Forbidden"]
CRA_ESLINT = ["Treating warnings as errors because process.env.CI = true.", "Most CI servers set it automatically.", "",
              "Failed to compile.", "", "src/components/App/index.js",
              "  Line 4:10:  'withTransaction' is defined but never used  no-unused-vars"]
SENTRY_ON_VERCEL = ["18:38:16.186 | Failed to compile.", "-- | --",
                    "18:38:16.186 | Sentry CLI Plugin: Command failed: /vercel/path0/node_modules/.bin/sentry-cli",
                    "18:38:16.186 | error: API request failed",
                    "18:38:16.187 | caused by: sentry reported an error: Invalid token (http status: 401)"]
# xcodebuild's verdict and the commands that failed, then the verdict of the CI step that ran it (Bitrise's)
XCODE_ARCHIVE = ["** ARCHIVE FAILED **", "", "The following build commands failed:",
                 "\tCompileSwift normal arm64 /Users/ci/app/Sources/Login.swift (in target 'App' from project 'App')",
                 "(1 failure)", "Archive failed, error: exit status 65"]
GOOGLE_ERROR_PAGE = ["Rolling back the update.", "Error 403: --- begin server output ---", "<!DOCTYPE html>",
                     "<html lang=en>", "  <title>Error 403 (Forbidden)!!1</title>", "  <style>", "  </style>",
                     "  <p><b>403.</b> <ins>That’s an error.</ins>",
                     "  <p>Your client does not have permission to get URL <code>/api/appversion/clonefiles</code> "
                     "from this server.  <ins>That’s all we know.</ins>", "--- end server output ---"]
NEXT_FAILED = ["===> BUILDING", "Creating an optimized production build ...", "Failed to compile.", "",
               "src/app/[locale]/layout.tsx", "An error occurred in `next/font`.", "",
               "Error: Cannot find module 'postcss-preset-mantine'", "Require stack:",
               "- /workspace/node_modules/next/dist/build/webpack/config/blocks/css/plugins.js", "",
               "> Build error occurred", "Error: > Build failed because of webpack errors",
               "ERROR: failed to build: exit status 1"]


def _next_failed_with(error: str) -> list[str]:
    """Next.js's report with another compiler or bundler error at its line 8."""
    return NEXT_FAILED[:7] + [error] + NEXT_FAILED[8:]


# GitHub refusing a push for a repository rule, the rules listed below its GH013 heading
GH013 = ["remote: error: GH013: Repository rule violations found for refs/heads/main.        ",
         "remote: Review all repository rules at http://github.com/o/r/rules?ref=refs%2Fheads%2Fmain        ",
         "remote: ", "remote: - Changes must be made through a pull request.        ", "remote: ",
         " ! [remote rejected] main -> main (push declined due to repository rule violations)"]
# pip 19-22's report on the pip it ran to install a package's build dependencies, and that pip's own error
PIP_BUILD_DEPS = ["Processing /home/app/patch", "  Installing build dependencies: started",
                  "  Installing build dependencies: finished with status 'error'",
                  "  ERROR: Command errored out with exit status 1:",
                  "   command: /usr/bin/python3 /tmp/pip-standalone-pip/__env_pip__.zip/pip install --ignore-installed",
                  "       cwd: None", "  Complete output (2 lines):",
                  "  ERROR: Could not find a version that satisfies the requirement hatchling==0.0.41 (from versions: "
                  "0.0.45)", "  ERROR: No matching distribution found for hatchling==0.0.41"]
# the Ionic CLI on the command it ran, its output indented below
IONIC_RUN = ["> cordova build android", "✖ Running command - failed!",
             "[ERROR] An error occurred while running cordova build android (exit code 1):", "",
             "        ANDROID_HOME=/opt/android-sdk-linux",
             "        Error: Could not find an installed version of Gradle either in Android Studio,",
             "        or on your system to install the gradle wrapper.", "ERROR: Job failed: exit code 1"]
# Netlify's box over a configuration error, then its `Error message` heading
NETLIFY_CONFIG = ["", "┌─────────────────────────────┐", "│     Configuration error     │",
                  "└─────────────────────────────┘", "", "  Error message",
                  "  Plugin could not be found using local path: ./plugins/purge",
                  "  Cannot find module './plugins/purge'", "", "  Resolved config"]
# Haskell's Stack on an error that wraps another, each under its error code
STACK_NESTED = ["Error: [S-7282]", "       Stack failed to execute the build plan.", "       ",
                "       While executing the build plan, Stack encountered the error:", "       ",
                "       Error: [S-7011]", "       While building package zlib-0.6.3.0 (scroll up to its section to see "
                "the error) using:", "Error: Process completed with exit code 1."]
# the Elm compiler run by webpack's loader: the loader's verdict, then Elm's own report under its heading
ELM_LOADER = ["ERROR in ./src/Main.elm", "Module build failed (from ./node_modules/elm-webpack-loader/index.js):",
              "Error: Compiler process exited with error Compilation failed",
              "-- TYPE MISMATCH ------------------------------------------------------ src/Main.elm", "",
              "The 1st argument to `text` is not what I expect:", "", "12|     text model.count"]
# SAP's Project "Piper" Jenkins library on a failed step: its parameters hidden, then the error between `***` rules
PIPER_STEP = ["13:28:03  --- An error occurred in the library step: mtaBuild",
              "13:28:03  ----------------------------------------------------------", "13:28:03  ",
              "13:28:03  The following parameters were available to the step:", "13:28:03  ***",
              "13:28:03  *** to show step parameters, set verbose:true in general pipeline configuration",
              "13:28:03  ***", "13:28:03  The error was:", "13:28:03  ***",
              "13:28:03  hudson.AbortException: [mtaBuild] Step execution failed. Error: 'mta.yaml' not found",
              "13:28:03  ***"]
# npm's report on the git command it ran for a git dependency: the command, then git's own error
NPM_GIT = ["npm ERR! Error while executing:", "npm ERR! /usr/bin/git ls-remote -h -t ssh://git@github.com/o/lib.git",
           "npm ERR! ", "npm ERR! Host key verification failed.",
           "npm ERR! fatal: Could not read from remote repository.", "npm ERR! ",
           "npm ERR! Please make sure you have the correct access rights", "npm ERR! and the repository exists."]
# opam's report on a package whose build failed: its heading, its context, then the command's output behind `# `
OPAM_BUILD = ["#=== ERROR while compiling yojson.1.4.0 ==========================================#",
              "# context     2.0.5 | linux/x86_64 | ocaml-base-compiler.4.14.0 | https://opam.ocaml.org#6a3f1e",
              "# path        ~/.opam/4.14/.opam-switch/build/yojson.1.4.0",
              "# command     ~/.opam/4.14/bin/dune build -p yojson",
              "# exit-code   1", "# output-file ~/.opam/log/yojson-21-5b3c1d.out", "### output ###",
              "# File \"lib/read.mll\", line 1, characters 0-1:",
              "# Error: Some fields are missing in this record: source_file", "",
              "<><> Error report <><><><><><><><><><><><><><><><><><><><><><><><><><><><><><><>",
              "+- The following actions failed", "| - build yojson 1.4.0"]
# the SonarQube scanner's failure in a CI step: its message (a Java exception and frames, or `null`), then the cause
SONAR_SCANNER = ["ERROR: Error during SonarQube Scanner execution",
                 "org.sonarsource.scanner.api.internal.ScannerException: Unable to execute SonarQube",
                 "\tat org.sonarsource.scanner.api.internal.IsolatedLauncherFactory.createLauncher(IsolatedLauncherF"
                 "actory.java:74)",
                 "\tat org.sonarsource.scanner.api.EmbeddedScanner.doStart(EmbeddedScanner.java:181)",
                 "\tat org.sonarsource.scanner.cli.Main.execute(Main.java:73)",
                 "\tat org.sonarsource.scanner.cli.Main.main(Main.java:61)",
                 "Caused by: java.lang.IllegalStateException: Fail to download libraries from server",
                 "\tat org.sonarsource.scanner.api.internal.Jars.downloadFiles(Jars.java:93)"]
SONAR_SCANNER_NULL = ["ERROR: Error during SonarQube Scanner execution", "ERROR: null",
                      "ERROR: Caused by: Could not initialize NSS", "ERROR: Caused by: /usr/lib/libnss3.so", "ERROR: "]
# the Nexus staging plugin refusing to close a staging repository (a Maven Central release through OSSRH)
NEXUS_STAGING = ['[ERROR] Rule failure while trying to close staging repository with ID "comexample-1042".',
                 "[ERROR] ", "[ERROR] Nexus Staging Rules Failure Report", "[ERROR] ==================================",
                 '[ERROR] Repository "comexample-1042" failures', '[ERROR]   Rule "signature-staging" failures',
                 "[ERROR]     * Missing Signature: '/com/example/lib/1.2.0/lib-1.2.0.pom.asc' does not exist for "
                 "'lib-1.2.0.pom'.", '[ERROR]   Rule "pom-staging" failures',
                 "[ERROR]     * Invalid POM: /com/example/lib/1.2.0/lib-1.2.0.pom: Project URL missing"]


@pytest.mark.parametrize("lines, signature, telling", [
    (ERESOLVE, "buildpacks-build-failed", 7),          # a managed build quoting npm: the conflict, not the headline
    ([line.replace("npm ERR!", "npm error") for line in ERESOLVE], "buildpacks-build-failed", 7),   # ... npm >= 10
    (["===> BUILDING"] + GRADLE, "buildpacks-build-failed", 7),   # gradle: the line under `* What went wrong:`
    (PIP, "pip-install-failed", 4),                    # pip: the line under `The conflict is caused by:`
    (ERESOLVE[1:], "unknown", 6),                      # no build shown: still the line to read
    # Next.js's `Failed to compile.`: the compiler's or the bundler's own error below it
    (NEXT_FAILED, "buildpacks-build-failed", 8),
    (_next_failed_with("Module not found: Can't resolve '@/components/ui/button'"), "buildpacks-build-failed", 8),
    (_next_failed_with("Type error: Property 'lessons' does not exist on type 'AITask'."), "buildpacks-build-failed", 8),
    (_next_failed_with("SyntaxError: Unexpected token '<'"), "buildpacks-build-failed", 8),
    (HELMFILE, "unknown", 13),                  # a Go tool's report on a command: the command's stderr
    (TERRAFORM_PLAN, "unknown", 7),             # terraform before 0.12: the resource's own error
    (["ERROR    -> Command exited with non-zero exit code:", "Command: puppet module install --force croddy/make",
      "Stdout:", "Notice: Downloading from https://forgeapi.puppetlabs.com ...", "Stderr:",
      "Error: Could not connect to https://forgeapi.puppetlabs.com", "Exit code: 1"], "unknown", 6),   # r10k
    (['Error: Failed preparing provisioner-block "ansible" ""', "", "  on template.pkr.hcl line 46:",
      "  (source code not available)", "", "1 error(s) occurred:", "",
      '* Error running "ansible-playbook --version": exit status 5'], "unknown", 8),   # Packer: the error it gathered
    (DEPLOYMENT_MANAGER, "unknown", 5),         # gcloud deployment-manager: the message that says why
    (TERRAFORM_PROVISIONER, "unknown", 6),      # terraform's provisioner heading: the command that failed
    (GOOGLE_ERROR_PAGE, "unknown", 9),          # Google's HTML error page: the sentence that says why
    (CONDA_REPORT, "unknown", 8),               # conda's error report: the exception its traceback ends in
    (XCODE_ARCHIVE, "unknown", 4),              # xcodebuild's list, up from the CI step's `exit status 65` verdict
    (XCODE_ARCHIVE[:5], "unknown", 4),          # ... and from its own
    (BUILDKIT_ANNOTATION, "unknown", 7),        # BuildKit's Dockerfile excerpt: the verdict below its box
    (CRA_ESLINT, "unknown", 7),                 # Create React App's `Failed to compile.`: ESLint's first finding
    (SENTRY_ON_VERCEL, "unknown", 4),           # ... a webpack plugin's tool's error, behind Vercel's time column
    (DBT_REPORT, "unknown", 5),                 # dbt's report: the message under the error's kind
    (DBT_REPORT_STAMPED, "unknown", 10),        # ... past a platform's time on a line of its own
    (AIRFLOW_TASK, "unknown", 8),               # Airflow's task that raised: the exception its traceback ends in
    (NEXUS_STAGING, "unknown", 7),              # Sonatype's staging rules: the first rule's failed item
    ([line.removeprefix("[ERROR] ") for line in NEXUS_STAGING], "unknown", 7),   # ... without Maven's level
    (SONAR_SCANNER, "unknown", 7),              # the SonarQube scanner's failure: the cause it was given
    (OPAM_BUILD, "unknown", 9),                 # opam's report on a package that failed: its output's error
    (NPM_GIT, "unknown", 4),                    # npm running git for a dependency: git's own error
    (PIPER_STEP, "unknown", 10),                # SAP's Piper library on a step: the error under `The error was:`
    (["`" + PIPER_STEP[0].removeprefix("13:28:03  -")] + PIPER_STEP[1:], "unknown", 10),   # ... a dash lost in a paste
    (ELM_LOADER, "unknown", 6),                 # the Elm compiler under a bundler's loader: what its report says
    (STACK_NESTED, "unknown", 7),               # Haskell's Stack, an error wrapping another: the inner message
    (IONIC_RUN, "unknown", 6),                  # the Ionic CLI on a command it ran: the command's own error
    (PIP_BUILD_DEPS, "pip-install-failed", 8),  # pip 19-22's report on the pip installing build dependencies
    (GH013, "unknown", 4),                      # GitHub refusing a push for a repository rule: the rule
    (["✘  An error occurred while running semantic-release: Error: Command failed with exit code 1: git push --tags "
      "https://x-access-token:[secure]@github.com/o/r HEAD:main"] + GH013, "unknown", 5),   # ... under the release tool
    (NETLIFY_CONFIG, "unknown", 7),             # Netlify's configuration error box: the message under its heading
    ([line.replace("Host key verification failed.", "Permission denied (publickey).") for line in NPM_GIT],
     "unknown", 4),
    (SONAR_SCANNER_NULL, "unknown", 3),         # ... whose message says nothing (`ERROR: null`)
])
def test_a_report_whose_first_line_only_announces_it_is_read_at_its_telling_line(lines, signature, telling):
    top = top_of(lines)
    assert (top.signature, top.line) == (signature, telling)
    assert top.evidence[0] == lines[telling - 1]


@pytest.mark.parametrize("lines, opening", [
    (ERESOLVE[:6], 2),
    (HELMFILE[:8], 7),            # `exit status 1` with no stderr block below it
    (GOOGLE_ERROR_PAGE[:7], 5),   # a page cut before its last sentence keeps its title
])
def test_a_report_without_its_telling_line_keeps_its_opening(lines, opening):
    assert top_of(lines).line == opening


def test_npm_10s_errors_in_a_quoted_managed_build_are_a_buildpacks_failure():
    log = ["ERROR: (gcloud.app.deploy) Error Response: [9] Cloud build 0123-abcd status: FAILURE",
           "npm error code E401", "npm error Incorrect or missing password.",
           "npm error A complete log of this run can be found in: /home/.npm/_logs/debug-0.log"]
    top = top_of(log)
    assert (top.signature, top.line) == ("buildpacks-build-failed", 3)
    # ... and npm 10's words alone, in no build the log shows, name no known cause
    assert top_of(log[1:]).signature == "unknown"


def test_a_match_that_states_the_cause_leads_before_the_builders_verdict_whatever_the_order():
    newest_first = ['ERROR: error pushing image "us-docker.pkg.dev/p/r/app": generic::unknown: retry budget '
                    'exhausted (10 attempts): step exited with non-zero status: 1', "ERROR",
                    "ERROR: failed to push because we ran out of retries.",
                    'name unknown: Repository "r" not found']
    top = top_of(newest_first)
    assert (top.signature, top.line) == ("push-permission-denied", 4)
    # a verdict alone still names the failure, at the verdict
    assert classify_log(newest_first[0] + "\n")[0].line == 1


def test_a_tools_own_failure_words_lead_a_log_no_signature_explains():
    log = ["#13 7.197 This warning will become an exception once you run composer update!",
           "#13 7.371 Your lock file does not contain a compatible set of packages. Please run composer update.",
           "#13 7.371   Problem 1"]
    top = classify_log("=> ERROR [8/9] RUN composer install\n" + "\n".join(log) + "\n")[0]
    assert (top.signature, top.line) == ("unknown", 3)
    # ... unless they were said in a Cloud Build step that did not fail
    steps = ['Step #0 - "deps": Your lock file does not contain a compatible set of packages.',
             'Step #1 - "test": FAIL: test_home (tests.HomeTest)', "Finished Step #1",
             'ERROR: build step 1 "python" failed: step exited with non-zero status: 1']
    assert top_of(steps).line == 2


def test_a_wrapped_python_entrypoint_sentence_still_names_the_missing_entrypoint():
    log = 'ERROR: for Python, provide a main.py or app.py file or set an entrypoint with\n' \
          '"GOOGLE_ENTRYPOINT" env var or by creating a "Procfile" file\n'
    assert (classify_log(log)[0].signature, classify_log(log)[0].line) == ("buildpacks-no-entrypoint", 1)


def test_a_docker_daemon_refused_a_pull_is_not_a_refused_push():
    line = ('Error response from daemon: Head "https://us-central1-docker.pkg.dev/v2/p/r/img/manifests/1": denied: '
            'Permission "artifactregistry.repositories.downloadArtifacts" denied on resource "projects/p"')
    assert _top_signature(line) != "push-permission-denied"
    # Cloud Functions refused reading the repository its image goes to stays a push-side refusal
    assert _top_signature('Permission "artifactregistry.repositories.downloadArtifacts" denied on resource '
                          '"projects/p/locations/us-central1/repositories/gcf-artifacts"') == "push-permission-denied"


def test_reports_in_the_catalogue_are_validated():
    with pytest.raises(ConfigError, match=r"reports\[0\] must have `opens` .* and may have `telling`"):
        _one("BOOM happened", reports=[{"telling": "BOOM happened"}])
    for telling in ("", [], ["Cause: ", ""], ["Cause: ", 3]):
        with pytest.raises(ConfigError, match=r"reports\[0\] must have `opens`"):
            _one("BOOM happened", reports=[{"opens": "BOOM happened", "telling": telling}])
    for key in ("ends", "above"):
        for value in ("", [], ["Done: ", 3]):
            with pytest.raises(ConfigError, match=r"reports\[0\] must have `opens`"):
                _one("BOOM happened", reports=[{"opens": "BOOM happened", key: value}])


def test_a_reports_telling_line_may_be_any_of_several_wordings():
    cat = _one("BOOM happened", reports=[{"opens": "BOOM happened", "telling": ["^Cause: ", "^Reason: "]}])
    for wording in ("Cause: ", "Reason: "):
        lines = ["BOOM happened", "  while doing it", f"{wording}the disk is full", "Cause: a later one"]
        top = classify_log("\n".join(lines) + "\n", cat)[0]
        assert (top.signature, top.line) == ("boom", 3)
    # a line that meets neither keeps the report's opening
    assert classify_log("BOOM happened\nwhile doing it\n", cat)[0].line == 1


def test_a_chained_report_is_read_at_the_first_line_past_its_own():
    # `past`: the report's own lines (a Go error wrapped once per layer), the telling line the first below them
    cat = _one("BOOM happened", reports=[{"opens": "BOOM happened", "past": ["^unable to ", "^failed to "]}])
    lines = ["BOOM happened", "unable to contribute layer", "failed to fetch", "  unable to request", "Get: refused",
             "unable to later"]
    assert classify_log("\n".join(lines) + "\n", cat)[0].line == 5
    with pytest.raises(ConfigError, match=r"may have `telling` or `past`"):
        _one("BOOM happened", reports=[{"opens": "BOOM happened", "past": "^unable to ", "telling": "^Cause: "}])


def test_paketos_chain_of_wrapped_errors_is_read_at_its_cause():
    # libpak's `unable to ...` wrappers above the lifecycle's verdict: the cause is the first line past them
    log = ["Paketo Buildpack for Maven 6.18.3", "  unable to invoke layer creator", "  unable to get dependency jdk",
           "  unable to download https://example.com/jdk.tgz", '  Get "https://example.com/jdk.tgz": dial tcp: i/o timeout',
           "ERROR: failed to build: exit status 1", "ERROR: failed to build: executing lifecycle: failed with status code: 51"]
    top = top_of(log)
    assert (top.signature, top.line) == ("buildpacks-build-failed", 5)


def test_a_google_apis_json_error_answer_is_read_at_its_message_or_the_violation_it_names():
    answer = ["gcloud call failed:", "{", '  "error": {', '    "code": 409,',
              '    "message": "Resource already exists in the project",', '    "status": "ALREADY_EXISTS"', "  }", "}"]
    assert signature_and_line(answer) == ("unknown", 5)
    # Apigee's refusal of a proxy bundle names the fault in a violation's description, below its message
    bundle = ["Deploying the proxy...", "{", '  "error": {', '    "code": 400,', '    "message": "bundle contains errors",',
              '    "details": [{"violations": [', "      {", '        "description": "The proxy must contain a ProxyEndpoint"',
              "      }]}]", "  }", "}"]
    assert top_of(bundle).line == 8
    # ... and a bad request's generic message gives way to the field violation that names the field and why
    bad = ['"error": {', '    "code": 400,', '    "message": "The request has errors",',
           '    "status": "INVALID_ARGUMENT",', '    "details": [{"fieldViolations": [', "      {",
           '        "field": "labels",',
           '        "description": "labels {commit=\\"$(git rev-parse --short HEAD)\\"} format is invalid"']
    assert top_of(bad).line == 8
    # ... in the Go client's words too (Terraform's google provider), its `Details:` the same JSON unindented
    go = ["Error: googleapi: Error 400: The request has errors", "Details:", "[", "{",
          '"@type": "type.googleapis.com/google.rpc.BadRequest",', '"fieldViolations": [', "{",
          '"description": "\\"vpc_connector_egress_settings\\" requires \\"vpc_connector\\" field to be set.",',
          '"field": "vpc_connector_egress_settings"', "}", "]", "}", "]"]
    assert signature_and_line(go) == ("unknown", 8)
    # ... and quoted by a deployment tool in JSON of its own, no `"error": {` above it and no space after the colons
    quoted = ['{', '  "ResourceErrorCode":"400",', '  "ResourceErrorMessage":{', '    "code":400,',
              '    "message":"The request has errors",', '    "status":"INVALID_ARGUMENT",', '    "details":[',
              '      {', '        "fieldViolations":[', '          {', '            "field":"vpc_connector",',
              '            "description":"A Cloud Function and a connector must be located in the same region."']
    assert signature_and_line(quoted) == ("unknown", 12)


def test_gradles_numbered_failure_is_read_at_what_went_wrong():
    # a build that failed more than once numbers each failure (`1: Task failed with an exception.`)
    log = ["FAILURE: Build completed with 2 failures.", "", "1: Task failed with an exception.", "-----------",
           "* Where:", "Script '/home/travis/build/app/maven.gradle' line: 89", "* What went wrong:",
           "A problem occurred evaluating script.",
           "> Failed to install the following Android SDK packages as some licences have not been accepted."]
    assert signature_and_line(log) == ("unknown", 8)
    assert signature_and_line(log[2:]) == ("unknown", 6)


def test_dpkgs_verdict_on_a_maintainer_script_gives_way_to_the_scripts_own_failure_above():
    log = ["#5 48.98 Setting up systemd (260.1-1) ...", "#5 49.08 qemu-aarch64: QEMU internal SIGSEGV {code=128, addr=0}",
           "#5 49.33 Segmentation fault (core dumped)", "#5 50.45 dpkg: error processing package systemd (--configure):",
           "#5 50.45  old systemd package postinst maintainer script subprocess failed with exit status 139"]
    assert signature_and_line(log) == ("unknown", 3)
    # ... and dpkg-buildpackage's on the debian/rules target, to the packaging helper's own words above it
    package = ["dh_install --fail-missing", 'dh_install: Cannot find (any matches for) "usr/share/icons" (tried in .)',
               "dh_install: missing files, aborting", "make[1]: *** [override_dh_install] Error 25",
               "dpkg-buildpackage: error: fakeroot debian/rules binary-arch subprocess returned exit status 2"]
    assert signature_and_line(package) == ("unknown", 2)
    # ... in its other wording, over a test that crashed (`Illegal instruction`, a failure's words)
    tests = ["cd build && ./tests/unittest_common && cd ..", "Illegal instruction (core dumped)",
             "debian/rules:40: recipe for target 'override_dh_auto_test' failed",
             "make[1]: *** [override_dh_auto_test] Error 132",
             "dpkg-buildpackage: error: debian/rules build gave error exit status 2"]
    assert signature_and_line(tests) == ("unknown", 2)


def test_cocoapods_resolver_report_is_read_where_it_says_why_no_spec_meets_the_requirements():
    log = ["Resolving dependencies of `Podfile`", "[!] Unable to satisfy the following requirements:", "",
           "- `Smooch (= 5.5.0)` required by `Podfile`", "",
           "None of your spec sources contain a spec satisfying the dependency: `Smooch (= 5.5.0)`.", "",
           "You have either:", " * out-of-date source repos which you can update with `pod repo update`."]
    assert signature_and_line(log) == ("unknown", 6)
    compatible = ['[!] CocoaPods could not find compatible versions for pod "Firebase/Core":', "  In Podfile:",
                  '    Firebase/Core (~> 10.0)', "",
                  "Specs satisfying the `Firebase/Core (~> 10.0)` dependency were found, but they required a higher "
                  "minimum deployment target."]
    assert signature_and_line(compatible) == ("unknown", 5)


def test_a_warning_above_a_builders_verdict_is_not_its_cause():
    # Cloud Foundry's staging: a supply buildpack's warnings, then the failure, then the platform's verdict
    log = ["   Warning: this buildpack can only be run as a supply buildpack, it cannot be run alone",
           "   Failed to compile droplet: Failed to compile droplet: exit status 1",
           "BuildpackCompileFailed - App staging failed in the buildpack compile phase"]
    assert top_of(log).line == 2


def test_setuptools_refusing_an_installed_version_a_dependency_excludes_is_a_pip_failure():
    log = ["Processing dependencies for pipeline==0.2",
           "error: PyYAML 5.3.1 is installed but pyyaml~=3.12 is required by {'kubernetes'}",
           "The command '/bin/sh -c python3 setup.py install' returned a non-zero code: 1"]
    top = top_of(log)
    assert (top.signature, top.line) == ("pip-install-failed", 2)


PIP_SUBPROCESS = ["  error: subprocess-exited-with-error", "  ", "  × python setup.py egg_info did not run successfully.",
                  "  │ exit code: 1", "  ╰─> [6 lines of output]", "      running egg_info",
                  "      /usr/lib/setuptools/dist.py:1: SetuptoolsDeprecationWarning: license_file is deprecated",
                  "      Error: pg_config executable not found.", "      ", "      [end of output]", "  ",
                  "  note: This error originates from a subprocess, and is likely not a problem with pip."]


@pytest.mark.parametrize("first", [0, 2])   # pip >= 23 opens with `error: subprocess-exited-with-error`
def test_pips_subprocess_report_is_read_at_the_packages_own_error(first):
    lines = PIP_SUBPROCESS[first:]
    top = top_of(lines)
    assert top.signature == "pip-install-failed"
    assert top.evidence[0] == "      Error: pg_config executable not found."


@pytest.mark.parametrize("first", [0, 2])
def test_pips_report_of_output_printed_above_it_ends_at_its_note(first):
    # pip's closing summary: its output was above it (`See above for output.`), so the CI's verdict below pip's note is
    # no line of the package's
    lines = ["  error: subprocess-exited-with-error", "  ", "  × Getting requirements to build wheel did not run "
             "successfully.", "  │ exit code: 1", "  ╰─> See above for output.", "  ",
             "  note: This error originates from a subprocess, and is likely not a problem with pip.",
             "  The command '/bin/sh -c pip install -r requirements.txt' returned a non-zero code: 1", "",
             "Error: Docker build failed with exit code 1"][first:]
    top = top_of(lines)
    assert (top.signature, top.line) == ("pip-install-failed", 1)


def test_pips_closing_summary_is_read_at_the_packages_error_in_the_output_above_it():
    # an excerpt that starts inside pip's first report and goes on to its closing summary (`See above for output`)
    lines = ["#12 8.706         File \"<string>\", line 5, in <module>",
             "#12 8.706       ModuleNotFoundError: No module named 'pkg_resources'", "#12 8.706       [end of output]",
             "#12 8.706   ", "#12 8.706   note: This error originates from a subprocess, and is likely not a problem "
             "with pip.", "#12 8.795 error: subprocess-exited-with-error", "#12 8.795 ",
             "#12 8.795 × Getting requirements to build wheel did not run successfully.", "#12 8.795 │ exit code: 1",
             "#12 8.795 ╰─> See above for output.", "#12 8.795 ",
             "#12 8.795 note: This error originates from a subprocess, and is likely not a problem with pip."]
    assert signature_and_line(lines) == ("pip-install-failed", 2)
    # ... and in a whole log, no further up than the report's own first telling
    whole = ["  × Getting requirements to build wheel did not run successfully.", "  │ exit code: 1",
             "  ╰─> [3 lines of output]", "      ModuleNotFoundError: No module named 'six'", "      [end of output]",
             ""] + lines[1:]
    assert signature_and_line(whole) == ("pip-install-failed", 4)


def test_pips_sentences_read_without_their_frame():
    assert _top_signature("python setup.py egg_info did not run successfully") == "pip-install-failed"


def test_a_line_naming_an_error_before_a_tools_words_leads():
    # gcloud refused the deploy; gradle then reports its task failed: read gcloud's line
    log = ["> Configure project :", "ERROR: (gcloud.app.deploy) The current Google Cloud project [p] does not "
           "contain an App Engine application.", "> Task :appengineDeploy FAILED",
           "FAILURE: Build failed with an exception.", "* What went wrong:", "Execution failed for task ':x'."]
    top = top_of(log)
    assert (top.signature, top.line) == ("unknown", 2)


def test_buildkits_progress_header_over_a_failed_step_is_not_the_line_to_read():
    log = ["=> ERROR [3/4] RUN make all                                   2.1s", "------",
           " > [3/4] RUN make all:", "#7 0.512 cc: fatal error: main.c: No such file or directory"]
    assert top_of(log).line == 4


# ---- round 10: docker's verdicts give way to the cause; npm 3's header; more wordings ---------------------

def test_dockers_verdict_on_a_failed_run_step_gives_way_to_the_cause_above_it():
    log = ["Step 4/6 : RUN pip install -r requirements.txt", " ---> Running in 0a1b2c3d",
           "ERROR: Exception:", "Traceback (most recent call last):", '  File "/usr/lib/pip/install.py", line 3, in run',
           "AssertionError",
           "The command '/bin/sh -c pip install -r requirements.txt' returned a non-zero code: 2"]
    top = top_of(log)
    assert (top.signature, top.line) == ("pip-install-failed", 3)


def test_npm_3s_environment_header_is_not_the_line_to_read():
    log = ["npm ERR! Linux 4.4.0-133-generic", 'npm ERR! argv "/nodejs/bin/node" "/nodejs/bin/npm" "install"',
           "npm ERR! node v6.14.0", "npm ERR! npm  v3.10.10", "npm ERR! code ELIFECYCLE", "",
           "npm ERR! sharp@0.20.6 install: `node install/libvips`", "npm ERR! Exit status 1"]
    assert top_of(log).line == 7


# ---- rounds 7-11: one line in a wording no fixture had names its cause ----------------------------------

@pytest.mark.parametrize("line, signature", [
    # round 11: more of gcloud's and Cloud Build's own refusals
    ('ERROR: (gcloud.app.deploy) You must provide your own Dockerfile when using a custom runtime. Otherwise '
     'provide a "runtime" field with one of the supported runtimes.', "dockerfile-not-in-upload"),
    ('ERROR: (gcloud.builds.submit) FAILED_PRECONDITION: invalid bucket "123.cloudbuild-logs.googleusercontent.com"; '
     "default Cloud Build service account or user-specified service account does not have access to the bucket",
     "logs-bucket-forbidden"),
    ("ERROR: (gcloud.builds.log) PERMISSION_DENIED: Permission denied for all log views.", "logs-bucket-forbidden"),
    ("ERROR: (gcloud.run.deploy) PERMISSION_DENIED: Build failed because the", "source-fetch-failed"),
    # round 10: Cloud Run's readiness deadline, a corrupt source archive
    ("X  Deploying... Assigning traffic to latest specified targets. Resource readiness deadline exceeded.",
     "container-start-failed"),
    ("End-of-central-directory signature not found. Either this file is not", "source-fetch-failed"),
    # round 7: the registry refusing an upload, whatever the client says around it
    ('failed to push us-docker.pkg.dev/p/r/app:v1: unexpected status from POST request to '
     'https://us-docker.pkg.dev/v2/p/r/app/blobs/uploads/: 403 Forbidden', "push-permission-denied"),
    ("Post https://gcr.io/v2/p/app/blobs/uploads/: token auth attempt for registry: https://gcr.io/v2/token?"
     "scope=repository%3Ap%2Fapp%3Apush%2Cpull&service=gcr.io request failed with status: 403 Forbidden",
     "push-permission-denied"),
    # ... but a refused download of a layer is a pull
    ("failed to copy: httpReadSeeker: failed open: unexpected status code https://gcr.io/v2/p/base/blobs/"
     "sha256:0a1b: 403 Forbidden", "unknown"),
    ("Step #1: ERROR: No buildpack groups", "buildpacks-detect-failed"),   # a console's cut
    ("invalid  version specified: Invalid Semantic Version. You may need to use a different builder.",
     "buildpacks-python-version"),
    ('message: "Container failed with: Error: Cannot find module \'express\'', "container-start-failed"),
])
def test_one_line_in_the_wordings_of_rounds_7_to_11_names_its_cause(line, signature):
    assert _top_signature(line) == signature


def test_app_hostings_json_verdict_gives_way_to_the_frameworks_error_above():
    log = ['Running "npm exec --prefix /layers/google.nodejs.firebasenextjs/npm_modules apphosting-adapter-build"',
           'Error occurred prerendering page "/login".', "Export encountered an error on /login, exiting the build.",
           "-" * 80, "failed to build: (error ID: eebdcfd4):",
           '{"reason":"Failed Framework Build","code":"fah/failed-framework-build","userFacingMessage":"..."}']
    top = top_of(log)
    assert (top.signature, top.line) == ("buildpacks-build-failed", 2)


def test_a_github_actions_jobs_post_checkout_cleanup_is_no_fetch():
    # `gh run view --log` names each line's step; the job's last step cleans up after the checkout
    cleanup = ["deploy\tRun ./deploy.sh\t2024-05-01T10:00:00.1Z ##[group]Run ./deploy.sh",
               "deploy\tPost Run actions/checkout@v4\t2024-05-01T10:05:00.1Z Post job cleanup.",
               "AccessDeniedException: 403 ci@example.iam.gserviceaccount.com does not have storage.objects.get "
               "access to the Google Cloud Storage object."]
    assert classify_log("\n".join(cleanup))[0].signature != "source-fetch-failed"


# ---- round 13's tuning: App Hosting's CLI, framework adapters, the pre-buildpacks builders' stderr report ----

def test_the_firebase_clis_app_hosting_rollout_that_failed_to_build_is_a_buildpacks_failure():
    # App Hosting builds with buildpacks only, so the CLI's own words are a buildpacks build's verdict
    cli = ["i  deploying apphosting", "i  apphosting: Found backend(s) shop-web",
           "⚠  apphosting: Rollout for backend shop-web failed.",
           "⬢  apphosting: Failed to build your app. Please inspect the build logs at https://console.cloud.google.com/"]
    top = top_of(cli)
    assert (top.signature, top.line) == ("buildpacks-build-failed", 3)
    # ... while a rollout whose revision would not start says so
    started = cli[:3] + ["⬢  apphosting: Revision 'shop-web-build-2' is not ready and cannot serve traffic. The "
                         "user-provided container failed to start and listen on the port defined provided by the "
                         "PORT=8080 environment variable within the allocated timeout."]
    assert top_of(started).signature == "container-start-failed"
    # ... and the word alone outside a failed build names no failure
    alone = classify_log("i  apphosting: Found backend(s) shop-web\ni  apphosting: waiting\n")[0]
    assert (alone.signature, alone.line) == ("unknown", 2)   # (the last words)


@pytest.mark.parametrize("framework", ["nextjs", "angular"])
def test_a_framework_buildpack_that_cannot_fetch_its_adapter_is_a_buildpacks_failure(framework):
    # GoogleCloudPlatform/buildpacks: gcp.InternalErrorf("failed to resolve latest %s adapter version: %w")
    top = classify_log(f"failed to resolve latest {framework} adapter version: npm view failed\n")[0]
    assert (top.signature, top.line) == ("buildpacks-build-failed", 1)


def test_the_pre_buildpacks_builders_stderr_report_is_read_at_npms_first_line_past_its_code_header():
    # npm's `npm ERR! code E404` only heads its report (a bare header, like the verdicts); the next line names what
    log = ['Step #1 - "builder": ERROR `npm_install` had stderr output:',
           'Step #1 - "builder": npm ERR! code E404',
           'Step #1 - "builder": npm ERR! 404 Not Found - GET https://registry.npmjs.org/@acme%2fsecret-lib',
           'Step #1 - "builder": ERROR: build step 1 "gcr.io/gae-runtimes/nodejs10_app_builder" failed']
    top = top_of(log)
    assert (top.signature, top.line) == ("unknown", 3)


# ---- a tool that reported a failure and then went on and succeeded failed nothing (`recovered_by`) ----------

_PIP_LEGACY = ["Building wheels for collected packages: psycopg2",
               "  ERROR: Command errored out with exit status 1:",
               "   command: /usr/local/bin/python -u -c 'import setuptools' bdist_wheel -d /tmp/pip-wheel-x",
               "  ERROR: Failed building wheel for psycopg2",
               "Failed to build psycopg2",
               "Installing collected packages: psycopg2",
               "    Running setup.py install for psycopg2: finished with status 'done'"]


def test_pip_before_21_that_installed_from_source_after_its_wheel_failed_is_no_pip_failure():
    recovered = classify_log("\n".join(_PIP_LEGACY + ["Successfully installed psycopg2-2.8.6"]) + "\n")
    assert "pip-install-failed" not in {f.signature for f in recovered}
    # ... but without the success line (the source install failed too) it is
    assert top_of(_PIP_LEGACY).signature == "pip-install-failed"


def test_a_success_in_another_cloud_build_step_recovers_nothing():
    failed = [f'Step #1 - "deps": {line}' for line in _PIP_LEGACY]
    other = 'Step #2 - "tools": Successfully installed black-24.1.0'
    assert top_of(failed + [other]).signature == "pip-install-failed"
    assert top_of(failed + ['Step #1 - "deps": Successfully installed psycopg2-2.8.6']) \
        .signature != "pip-install-failed"


def test_a_success_in_another_buildkit_step_recovers_nothing():
    # BuildKit interleaves the output of stages it runs in parallel, each line led by its step's `#N`
    failed = [f"#8 3.{n} {line}" for n, line in enumerate(_PIP_LEGACY)]
    assert top_of(failed + ["#9 4.2 Successfully installed black-24.1.0"]).signature \
        == "pip-install-failed"
    assert top_of(failed + ["#8 4.2 Successfully installed psycopg2-2.8.6"]).signature \
        != "pip-install-failed"


@pytest.mark.parametrize("key", ["recovered_by", "ruled_out_by"])
@pytest.mark.parametrize("lines, complaint", [([r"\d+"], "needs a plain literal"), ("fine", "must be a list")])
def test_recovered_by_and_ruled_out_by_are_lists_of_lines_that_follow_the_literal_rule(key, lines, complaint):
    boom = {"id": "boom", "title": "t", "weight": 50, "patterns": [r"widget \d+ broke"],
            key: lines, "cause": "c.", "fix": ["f"]}
    with pytest.raises(ConfigError, match=complaint):
        parse_catalogue({"signatures": [boom, UNKNOWN]})


def test_the_serverless_frameworks_error_banner_gives_way_to_the_error_below_it():
    log = ["Serverless: Checking Stack update progress...", "",
           "  Serverless Error ---------------------------------------", "",
           "  An error occurred: AppLambdaFunction - Resource handler returned message: \"Uploaded file must be a "
           "non-empty zip\"."]
    top = top_of(log)
    assert (top.signature, top.line) == ("unknown", 5)


def test_cloud_builds_older_step_verdict_naming_the_image_is_passed_over_like_the_numbered_one():
    # before 2017 Cloud Build named the failed step by its image (held-out-20's google-cloud-go-519)
    log = ["Step 3 : RUN go-wrapper install -tags appenginevm",
           'api.go:7:2: cannot find package "golang.org/x/net/context" in any of:',
           "The command '/bin/sh -c go-wrapper install -tags appenginevm' returned a non-zero code: 1", "ERROR",
           'ERROR: build step "gcr.io/cloud-builders/docker@sha256:7f00" failed: exit status 1']
    assert top_of(log).line == 2


def test_an_error_a_tool_repeats_at_the_end_is_read_where_it_first_said_it():
    # the Firebase CLI warns with the error first and repeats it as its closing `Error:` (round 22's
    # firebase-functions-python-102); a short message is no evidence of a repeat
    log = ["i  functions: preparing codebase ingestion for deployment",
           "⚠  functions: Failed to detect functions from source FirebaseError: User code failed to load. Cannot "
           "determine backend specification.", "stderr: * Running on http://127.0.0.1:8081", "Press CTRL+C to quit",
           "", "", "Error: User code failed to load. Cannot determine backend specification"]
    assert top_of(log).line == 2
    short = ["npm notice: Failed to fetch", "", "", "", "", "Error: Failed to fetch"]
    assert top_of(short).line == 6


def test_a_containerd_push_refused_its_token_is_a_push_refusal_and_a_pull_refused_is_not():
    push = ('X Pushing image to "https://europe-west3-docker.pkg.dev/p/repo"\n'
            "Error: unable to push config: failed to authorize: failed to fetch anonymous token: unexpected status: "
            "403 Forbidden\n")
    assert classify_log(push)[0].signature == "push-permission-denied"
    pull = ("#3 [internal] load metadata for europe-west3-docker.pkg.dev/p/repo/base:1\n"
            "ERROR: failed to solve: failed to authorize: failed to fetch anonymous token: unexpected status: "
            "403 Forbidden\n")
    assert classify_log(pull)[0].signature != "push-permission-denied"


def test_pips_conflict_report_cut_before_its_verdict_is_still_a_pip_failure():
    # a quote of a Cloud Build step (held-out-23's langgraph-1933) that ends inside pip's conflict report
    log = ['Step #11:  > [3/7] RUN pip install --no-cache-dir -c /api/constraints.txt -r /deps/app/requirements.txt:',
           "Step #11: 3.757     The user requested (constraint) langgraph<0.2.29,>=0.2.18",
           "Step #11: 3.757     The user requested langgraph>=0.3"]
    top = top_of(log)
    assert (top.signature, top.line) == ("pip-install-failed", 2)


@pytest.mark.parametrize("refusal", [
    "ERROR: invalid run-image 'gcr.io/paketo-buildpacks/run:full-cnb-cf': error getting credentials - err: exec: "
    '"docker-credential-gcloud": executable file not found in $PATH, out: ``',
    "ERROR: failed to create 'exporter' container: Error response from daemon: invalid mount config for type "
    '"bind": bind source path does not exist: /tmp/stack.toml155056902',
    "exiting dev mode because first build failed: validating stack mixins: buildpack google.go.runtime@0.9.1 does not "
    "support stack google"])
def test_pack_unable_to_run_the_lifecycle_is_no_buildpacks_failure(refusal):
    # a builder refused before its buildpacks ran (LABELLING.md): round 24's tuning logs, buildpacks #196
    log = ["$ pack build app --builder gcr.io/buildpacks/builder:v1", "===> EXPORTING", refusal]
    top = top_of(log)
    assert (top.signature, top.line) == ("unknown", 3)


def test_the_firebase_clis_predeploy_verdict_is_read_at_the_hooks_own_failure():
    log = ["i  deploying hosting", "Running command: flutter clean; flutter build web",
           'Could not find a command named "clean;".', "", "",
           "Run 'flutter -h' (or 'flutter <command> -h') for available flutter commands and options.", "",
           "Error: hosting predeploy error: Command terminated with non-zero exit code64"]
    assert top_of(log).line == 3


def test_a_client_that_timed_out_is_the_line_to_read():
    log = ["Checking build status: QUEUED", "Checking build status: WORKING", "connect timed out"]
    top = top_of(log)
    assert (top.signature, top.line) == ("unknown", 3)


def test_a_compiler_killed_above_makes_verdicts_is_the_line_to_read():
    # the Go compiler killed (out of memory) on several packages, then make's verdicts (round 25's cert-manager-7307)
    log = ["k8s.io/client-go/informers/apps/v1: /workspace/go/pkg/tool/linux_amd64/compile: signal: killed",
           "make: *** [make/server.mk:64: _bin/server/webhook-linux-arm64] Error 1",
           "make: *** Waiting for unfinished jobs...."]
    top = top_of(log)
    assert (top.signature, top.line) == ("unknown", 1)


def test_cloud_composers_verdict_on_its_pypi_install_is_a_pip_failure():
    line = ("Error: Error waiting to update Environment: Error code 3, message: Failed to install Python packages. "
            "Check the build logs for details.")
    assert classify_log(line + "\n")[0].signature == "pip-install-failed"


def test_pip_checks_report_is_a_pip_failure():
    # `pip check` exits 1 on it (round 25's solana-etl-airflow-4); pip 20.2's `but you'll have` at install is a near
    # miss (test_classify_producers.py)
    check = ["+ python3 -m pip check", "web3 6.0.0b3 has requirement jsonschema<5,>=4.0.0, but you have jsonschema 3.2.0."]
    assert top_of(check).signature == "pip-install-failed"


def test_a_push_whose_credential_helper_gave_nothing_is_a_push_refusal():
    log = ["2020/02/14 14:13:53 Error pushing image to gcr.io/p/issue-creator:latest: unable to push image to "
           "gcr.io/p/issue-creator:latest: error getting credentials - err: exit status 1, out: ``",
           "ERROR: (gcloud.auth.docker-helper) You do not currently have an active account selected."]
    assert top_of(log).signature == "push-permission-denied"


def test_pulumis_stack_verdict_gives_way_to_the_resources_error_below_it():
    # (past go-multierror's `1 error occurred:` heading, since stop 59, to the error it gathered)
    log = ["Diagnostics:", "  pulumi:pulumi:Stack (test):", "    error: update failed", " ",
           "  gcp:cloudfunctions:Function (hello):", "    error: Plan apply failed: 1 error occurred:",
           "        * updating urn:pulumi:test/function:Function::hello: Error while updating cloudfunction "
           "configuration: googleapi: Error 400: The request has errors, badRequest"]
    assert top_of(log).line == 7


def test_an_audit_log_entrys_error_status_is_read_at_its_code():
    # a Cloud Audit Logs entry names no error word, only the Google APIs' error code in its status (round 22's
    # python-docs-samples-2776); the code counts in capitals only
    log = ['  methodName: "google.cloud.functions.v1.CloudFunctionsService.UpdateFunction"',
           '  serviceName: "cloudfunctions.googleapis.com"', "  status: {", "   code: 3",
           '   message: "INVALID_ARGUMENT"', "  }"]
    assert top_of(log).line == 5
    assert top_of(log[:4] + ['   note: "an invalid_argument is not one"', "   retried: true", "  }"]).line == 6


def test_mavens_build_failure_banner_gives_way_to_the_goal_that_failed():
    log = ["[INFO] ------------------------------------------------------------------------", "[INFO] BUILD FAILURE",
           "[INFO] ------------------------------------------------------------------------",
           "[INFO] Total time:  3.894 s",
           "[ERROR] Failed to execute goal com.google.cloud.tools:appengine-maven-plugin:2.4.4:deploy (default-cli) "
           "on project shop: Execution default-cli of goal ...:deploy failed: Deployment failed with exit code 1"]
    assert top_of(log).line == 5


def test_laravels_exception_name_alone_is_read_at_the_message_below_it():
    # Laravel's console (Collision) prints the exception's name alone, indented, then its message; neither has
    # an error word of its own (held-out-19's gcp-community-1618, inside a Cloud Build step)
    log = ['Step #6 - "builder": > @php artisan package:discover --ansi', 'Step #6 - "builder": ',
           'Step #6 - "builder":    InvalidArgumentException ', 'Step #6 - "builder": ',
           'Step #6 - "builder":   Please provide a valid cache path.',
           'Step #6 - "builder":   at vendor/laravel/framework/src/Illuminate/View/Compilers/Compiler.php:36']
    top = top_of(log)
    assert (top.signature, top.line) == ("unknown", 5)
    # ... while Python's last traceback line, a name alone and not indented, stays the line read
    py = ["Traceback (most recent call last):", '  File "main.py", line 3, in <module>', "    raise KeyboardInterrupt",
          "KeyboardInterrupt", "Deployment failed"]
    assert top_of(py).line == 4


# ---- round 15's tuning: a failure no signature explains, summed up by a builder's verdict ----------------------

def test_a_verdict_no_signature_explains_gives_way_to_the_exception_above_it():
    # BuildKit's `did not complete successfully` only sums up; the step's own output above says why, here in
    # an exception's name (`TypeError: ...`), which names a failure as `...Exception: ` does
    log = [" => ERROR [build 4/4] RUN node scripts/bundle.js", "------",
           " > [build 4/4] RUN node scripts/bundle.js:", "1.204 /app/scripts/bundle.js:7",
           "1.204 TypeError: Cannot read properties of undefined (reading 'entry')",
           "1.204     at Object.<anonymous> (/app/scripts/bundle.js:7:31)", "------",
           'ERROR: failed to solve: process "/bin/sh -c node scripts/bundle.js" did not complete successfully: '
           'exit code: 1']
    top = top_of(log)
    assert (top.signature, top.line) == ("unknown", 5)


@pytest.mark.parametrize("line, names", [("TypeError: x is not a function", True),
                                         ("KeyError: '__version__'", True),
                                         # Node.js's with a code between the name and the message
                                         ("TypeError [ERR_INVALID_ARG_TYPE]: The path argument must be", True),
                                         ("PathError [TypeError]: Missing parameter name at index 2: /*", True),
                                         # ... and Node.js's system errors, ended by their errno's name
                                         ("spawn composer ENOENT", True), ("open '/app/.env' EACCES", True),
                                         # ... and Elixir's and Mix's (`** (Name) message`)
                                         ("remote: ** (MatchError) no match of right hand side value: nil", True),
                                         ("** (Mix) Could not compile dependency :bcrypt_elixir", True),
                                         ("x ** (y) z", False),
                                         # ... and an API refusing a value (Cloud Run's `Invalid value specified for
                                         # cpu`, in an audit log entry's status message)
                                         ('"message": "template.containers.resources.limits.cpu: Invalid value '
                                          'specified for cpu."', True),
                                         ("raise IOError", False), ("ftl_error: retrying", False),
                                         ("setting ENOENTRY=1", False),
                                         ("OSError [see below]", False)])
def test_an_exceptions_name_with_its_message_names_a_failure(line, names):
    assert names_failure(line) is names


@pytest.mark.parametrize("tag", ["ERROR:", "Error:", "Step #1: error:"])
def test_an_error_tag_alone_on_its_line_is_read_at_the_message_below(tag):
    # a console that wraps gcloud's message at its width leaves `ERROR: ` alone on a line; some tools print the
    # message under the tag
    log = ["Deploying container to Cloud Run service [pg] in project [p] region [us-central1]", "Deployment failed",
           f"{tag} ", "", "(gcloud.run.deploy) spec.template.spec.containers[0].env: The following reserved env names",
           "were provided: PORT."]
    if tag.startswith("Step"):
        log = [f"Step #1: {line}" if line else "Step #1:" for line in log[:2]] + [tag + " "] + \
              [f"Step #1: {line}" for line in log[4:]]
    top = top_of(log)
    assert (top.signature, top.line) == ("unknown", 5 if not tag.startswith("Step") else 4)
    # a tag with its message on the same line is that line
    assert classify_log(f"{tag} the message itself\nnext line\n")[0].line == 1


def test_a_code_fence_glued_to_the_first_and_last_lines_is_no_part_of_them():
    log = ['```Step #0 - "Buildpack": FAILURE: Build failed with an exception.', 'Step #0 - "Buildpack": ',
           'Step #0 - "Buildpack": * What went wrong:', "Step #0 - \"Buildpack\": Execution failed for task ':compileJava'.",
           'Step #0 - "Buildpack": > error: invalid source release: 17```']
    top = top_of(log)
    unfenced = classify_log("\n".join(log).replace("```", "") + "\n")[0]
    # gradle's report, in gcloud's pack step, read below its `What went wrong:` heading as without the fence
    assert (top.signature, top.line) == (unfenced.signature, unfenced.line) == ("buildpacks-build-failed", 4)
    assert top.evidence[0] == log[3]   # quoted as given


def test_a_glued_fence_leaves_the_backticks_a_poster_put_around_each_line():
    from runbook_lib.diagnose.lines import without_decoration
    quoted = ["`Paketo Buildpack for Apache Tomcat 8.7.5`", "`unable to invoke layer creator`",
              "`ERROR: failed to build: exit status 1`"]
    fenced = "```" + "\n".join(quoted) + "```\n"
    assert without_decoration(fenced) == without_decoration("\n".join(quoted) + "\n")
    assert without_decoration("``````Step #0: a\nStep #0: b``````\n") == "Step #0: a\nStep #0: b\n"   # fence on fence


def test_dashs_command_not_found_is_the_line_to_read():
    log = ['Step #5 - "builder": Running "npm ci --quiet (NODE_ENV=production)"', 'Step #5 - "builder": > tsc',
           'Step #5 - "builder": ', 'Step #5 - "builder": sh: 1: tsc: not found']
    top = top_of(log)
    assert (top.signature, top.line) == ("buildpacks-build-failed", 4)


def test_uvicorn_giving_up_at_startup_is_a_start_failure_read_at_the_exception_above():
    log = ['  File "/app/db.py", line 9, in connect', "    return _connect(dsn)",
           'sqlalchemy.exc.OperationalError: connection to server on socket "/cloudsql/p:r:db/.s.PGSQL.5432" failed',
           "ERROR:    Application startup failed. Exiting."]
    top = top_of(log)
    assert (top.signature, top.line) == ("container-start-failed", 3)


def test_buildkits_cache_key_checksum_failure_cut_short_is_still_a_missing_copy_source():
    line = "ERROR: failed to build: failed to solve: failed to compute cache key: failed to calculate checksum of r"
    assert _top_signature(line) == "docker-copy-source-missing"
    # the same words' other ends stay what they were
    assert _top_signature("failed to solve: failed to compute cache key: failed to copy: httpReadSeeker: failed open") \
        != "docker-copy-source-missing"


def test_firebases_closing_verdict_is_read_at_the_failure_it_sums_up():
    log = ["✔  functions[ok(us-central1)]: Successful update operation.", "",
           "Functions deploy had errors with the following functions:", "        onCreateCompany", "",
           "To try redeploying those functions, run:", "    firebase deploy --only functions:onCreateCompany", "",
           "Error: Functions did not deploy properly."]
    assert top_of(log).line == 3


def test_composers_report_is_read_at_the_first_problem_that_says_what_requires_what():
    log = ["Loading composer repositories with package information", "Installing dependencies from lock file",
           "Your requirements could not be resolved to an installable set of packages.", "", "  Problem 1",
           "    - Installation request for dompdf/dompdf v0.8.0 -> satisfiable by dompdf/dompdf[v0.8.0].",
           "    - dompdf/dompdf v0.8.0 requires ext-gd * -> the requested PHP extension gd is missing from your system."]
    assert top_of(log).line == 7
    # a report with no such line below is read at its own line
    assert top_of(log[:6]).line == 3


def test_a_release_tools_registry_write_check_that_failed_is_a_push_refused():
    log = ["Checking Docker version: OK", "Checking write access to registry gcr.io/p: FAILED",
           "FAILED in check_prerequisites."]
    assert signature_and_line(log) == ("push-permission-denied", 2)
    assert top_of(["Checking write access to registry gcr.io/p: OK"]).signature == "unknown"


@pytest.mark.parametrize("lacks, line", [("       freetds is missing.", 5), ("       Can't install RMagick 2.13.2. Can't find "
                                                                         "MagickWand.h.", 5),
                                         ("       sqlite3.h is missing. Try 'brew install sqlite3',", 5)])
def test_rubygems_native_extension_report_is_read_where_extconf_says_what_it_lacks(lacks, line):
    # Dokku's buildstep (its runtimes under /build/app/vendor/) building a gem whose C library is missing
    log = ["       Gem::Ext::BuildError: ERROR: Failed to build gem native extension.",
           "       /build/app/vendor/ruby-2.1.2/bin/ruby extconf.rb", "       checking for sybfront.h... no",
           "       -----", lacks, "       -----", "       *** extconf.rb failed ***"]
    assert signature_and_line(log) == ("buildpacks-build-failed", line)
    # with nothing that says what it lacks, extconf's own verdict
    assert top_of(log[:4] + log[5:]).line == 6


def test_bundlers_wrapped_refusal_and_herokus_tabbed_bang_name_failures():
    log = ["remote:        bundler-2.5.6 requires ruby version >= 3.0.0, which is incompatible with the",
           "remote:        current version, 2.7.2", "remote:  !", "remote:  !     Failed to install gems via Bundler.",
           "remote:  !     Push rejected, failed to compile Ruby app."]
    assert signature_and_line(log) == ("buildpacks-build-failed", 1)
    assert names_failure("remote: !\tCedar-10 is deprecated. Please update to Cedar-14:")
    assert not names_failure("remote: !\tok")


@pytest.mark.parametrize("log, line", [
    # Heroku's Go buildpack: a Go without modules support for an app with go.mod
    (["remote: -----> Go app detected", "remote:  !!    Go modules are an experimental feature of go1.11",
      "remote:  !!    You are using , which does not support the Go modules experiment",
      "remote:  !!    Please add the following comment to your go.mod file to specify go1.11:"], 3),
    # the Elixir buildpack: an Erlang version it does not have
    (["Checking Erlang and Elixir versions", "       * Stack heroku-24", "       * Erlang 27.2",
      "       Sorry, Erlang '27.2' isn't supported yet or isn't formatted correctly. For a list of supported versions",
      "remote:  !     App build failed"], 4),
    # Cloud Foundry's Go buildpack: a Go it does not offer, and one its manifest names but cannot download
    (["It looks like you're trying to use go 1.6.", "The versions of go supported in this buildpack are:",
      "- 1.5.3", "Failed to compile droplet"], 1),
    (["-------> Buildpack version 1.4.0",
      "-----> Resource https://storage.googleapis.com/golang/go1.4.2.linux-amd64.tar.gz does not exist.",
      "-----> Installing go1.4.2...Staging failed: Buildpack compilation step failed"], 2),
], ids=["heroku-go-modules", "elixir-erlang", "cf-go-refused", "cf-go-missing"])
def test_other_vendors_buildpacks_refusing_a_runtime_version_is_the_version_refused(log, line):
    assert signature_and_line(log) == ("buildpacks-python-version", line)


@pytest.mark.parametrize("log, line", [
    # a gem that needs another Ruby, in words bundler wraps after `which is`
    (["remote: -----> Using Ruby version: ruby-3.1.2", "remote: -----> Installing dependencies using bundler 2.3.25",
      "remote:        nokogiri-1.12.5-x86_64-linux requires ruby version < 3.1.dev, >= 2.5, which is",
      "remote:        incompatible with the current version, 3.1.2"], 4),
    # a gemspec that raised while bundler loaded it (`There was a X while loading`)
    (["-----> Ruby app detected", "       Fetching git://github.com/locomotivecms/steam.git",
      "       There was a ArgumentError while loading locomotivecms_steam.gemspec:",
      "       Malformed version number string 1.0.0-beta.2 from"], 3),
], ids=["gem-needs-another-ruby", "gemspec-raised"])
def test_bundlers_own_words_in_herokus_ruby_buildpack_are_the_build_failing(log, line):
    assert signature_and_line(log) == ("buildpacks-build-failed", line)


def test_composers_script_verdict_is_read_at_the_scripts_own_failure_above_it():
    log = ["Step #1: In Connection.php line 671:", "Step #1:   SQLSTATE[HY000] [2002] No such file or directory",
           "Step #1: ", "Step #1: Script @php artisan package:discover --ansi handling the post-autoload-dump event "
           "returned with error code 1", "Step #1: error building image: exit status 1"]
    assert top_of(log).line == 2
    # with nothing above that names a failure, the verdict is the line to read
    assert top_of(log[3:]).line == 1


def test_other_vendors_buildpacks_refusing_an_app_or_a_toolchain():
    # Haskell on Heroku's Halcyon, after Heroku's own detection passed, refusing the app
    halcyon = ["remote: -----> Haskell app detected", "remote: -----> Installing Halcyon... done, 7210a8a",
               "remote:    *** ERROR: Failed to detect app"]
    assert signature_and_line(halcyon) == ("buildpacks-detect-failed", 3)
    # rustup refusing the channel a Rust buildpack read from the app's version file
    rust = ["-----> Rust app detected", "-----> Using rustup to install Rust channel nightly",
            "error: invalid toolchain name: 'nightly", " !     Push rejected, failed to compile Rust app."]
    assert signature_and_line(rust) == ("buildpacks-python-version", 3)
    # ... which outside a buildpacks build is a CI's own toolchain, no version a builder refused
    assert top_of(rust[2:3]).signature == "unknown"


def test_a_functions_missing_main_file_quoted_with_its_error_id_is_no_entrypoint():
    line = ("ERROR: (gcloud.functions.deploy) OperationError: code=3, message=Build failed: index.js does not exist; "
            "Error ID: e1b2ac36")
    assert _top_signature(line) == "buildpacks-no-entrypoint"
    # a file some tool says is missing mid-sentence is not the function's main file
    assert _top_signature("warning: config.js does not exist, using defaults") != "buildpacks-no-entrypoint"


def test_paketos_node_start_finding_no_app_is_no_entrypoint_though_detection_failed():
    log = ["======== Output: paketo-buildpacks/node-start@0.8.0 ========",
           "could not find app in /workspace: expected one of server.js | app.js | main.js | index.js",
           "======== Results ========", "fail: paketo-buildpacks/node-start@0.8.0",
           "ERROR: No buildpack groups passed detection."]
    top = top_of(log)
    assert (top.signature, top.line) == ("buildpacks-no-entrypoint", 2)


def test_container_registrys_shutdown_refuses_a_push_and_firebases_aborted_deployment_is_no_pipenv_failure():
    # since 2025 gcr.io takes no pushes: docker quotes the registry's HTTP 412 body (round 31's two logs)
    refusal = ('error parsing HTTP 412 response body: invalid character \'C\' looking for beginning of value: '
               '"Container Registry is deprecated and shutting down, please use the auto migration tool to migrate '
               'to Artifact Registry (gcloud artifacts docker upgrade migrate --projects=\'p\')."')
    top = top_of(["The push refers to repository [gcr.io/p/app]", "5f70bf18a086: Preparing", refusal])
    assert (top.signature, top.line) == ("push-permission-denied", 3)
    assert any("gcloud artifacts docker upgrade migrate" in step for step in top.fix)
    # ... while a daemon refused the same on a pull is no push (a step's or a base image)
    pull = top_of([f"Error response from daemon: Get https://gcr.io/v2/p/base/manifests/latest: {refusal}"])
    assert pull.signature != "push-permission-denied"
    # ... nor a Google API client refused the same creating a registry (terraform, Pulumi): no push was tried
    api = "    * googleapi: got HTTP response code 412 with body: " + refusal.split('"', 1)[1]
    assert top_of(["  gcp:container:Registry (my-registry):", "    error: 1 error occurred:", api]).signature == \
        "unknown"
    # BuildKit refused the push scope's token by the shut-down registry names the push it failed
    buildkit = ("#40 ERROR: failed to push gcr.io/p/app:1: failed to authorize: failed to fetch oauth token: unexpected "
                "status from GET request to https://gcr.io/v2/token?scope=repository%3Ap%2Fapp%3Apull%2Cpush&service="
                "gcr.io: 412 Precondition Failed")
    assert (top_of(["#40 pushing layers 1.3s done", buildkit]).signature, top_of([buildkit]).line) == \
        ("push-permission-denied", 1)
    # pipenv's `Aborting deploy.` is a pip failure; the Firebase CLI's `Aborting deployment.` is not
    assert top_of(["Installing dependencies from Pipfile.lock (abc)...", "Aborting deploy."]).signature == \
        "pip-install-failed"
    assert top_of(["Error: No function matches given --only filters. Aborting deployment."]).signature == "unknown"


@pytest.mark.parametrize("line", ["sh: 1: ng: not found",
                                  "/usr/lib/sdk/install.sh: 209: /usr/lib/sdk/install.sh: python: not found",
                                  "./build.sh: 3: python3: not found"])
def test_dash_saying_a_command_is_not_found_names_a_failure(line):
    # dash's `not found`, interactive (`sh: 1: x: not found`) or in a script, which older dash names twice
    assert names_failure(line)
    log = ["Step #3: Welcome to the SDK!", f"Step #3: {line}", "Step #3: [INFO] BUILD FAILURE",
           "Step #3: [INFO] Finished at: 2020-03-02T09:58:03Z"]
    assert top_of(log).line == 2


@pytest.mark.parametrize("line, names", [("basename: missing operand", True), ("cp: missing destination file operand "
                                         "after 'a'", True), ("the docs' missing operand section", False)])
def test_coreutils_missing_operand_names_a_failure(line, names):
    # a buildpack script whose variable came out empty calls `basename` with nothing: coreutils' usage error says so
    assert names_failure(line) is names


@pytest.mark.parametrize("line, names", [("BAD BUILD: the fuzzer seems to have either startup crash or exit.", True),
                                         ("State changed from starting to crashed", True),
                                         ("crashpad_handler started", False), ("no crashes in 4 runs", False)])
def test_a_crash_names_a_failure(line, names):
    assert names_failure(line) is names


@pytest.mark.parametrize("line, names", [
    ("E: Unable to locate package libfoo", True), ("remote: E: The repository 'x' no longer has a Release file.", True),
    (" !     stunnel not detected! stunnel not supported on heroku-24+", True),
    ("remote: !     Push rejected, failed to compile Ruby app.", True),
    (" !!    The 'metadata.heroku[\"root-package\"]' field is not specified in 'Gopkg.toml'.", True),
    ("W: Target Packages (main/binary-amd64/Packages) is configured multiple times", False), ("LINE: 2", False),
    ("   1 ! 2", False),
    ("echo !  done", False)])
def test_apt_errors_and_heroku_error_lines_name_a_failure(line, names):
    # apt's `E: ` (not its `W: ` warnings) and a Heroku buildpack's `!` error lines (` !     ...`, under `remote: `)
    assert names_failure(line) is names


@pytest.mark.parametrize("line", ["apt: 2 packages not found", "step 1: 3: ok"])
def test_other_not_found_lines_name_no_failure(line):
    assert not names_failure(line)


def test_gcloud_staging_command_failures_are_read_at_the_first_failure_in_their_stderr():
    # `gcloud app deploy` quotes a failed staging command's output under rules; its stderr's first line naming a
    # failure says why (the go-app-stager's `failed analyzing ...`, here below a line that only says what it does)
    rule = "-" * 36
    log = ["ERROR: (gcloud.app.deploy) Staging command [/sdk/go-app-stager /src/app.yaml /src /tmp/staging] failed "
           "with return code [1].", "", f"{rule} STDOUT {rule}", "building with dependencies from GOPATH",
           f"{rule} STDERR {rule}", "2019/03/23 20:22:33 staging for go1.11",
           '2019/03/23 20:22:33 Staging second-gen Standard app: failed analyzing /src: cannot find package "x"',
           "GOPATH: /go", "-" * 80]
    top = top_of(log)
    assert (top.signature, top.line) == ("unknown", 7)


def test_pips_subprocess_report_is_read_at_the_compilers_own_error_above_the_failed_command():
    # a C extension that cannot build: the compiler's `file:line:col: fatal error:` says why; setuptools'
    # `error: command 'gcc' failed` below it only says that the compiler failed
    log = ["  Running setup.py install for pyfarmhash: finished with status 'error'",
           "  error: subprocess-exited-with-error", "  ",
           "  × Running setup.py install for pyfarmhash did not run successfully.", "  │ exit code: 1",
           "  ╰─> [6 lines of output]", "      running build_ext", "      x86_64-linux-gnu-gcc -O2 -c src/farmhash.cc",
           "      src/python-farmhash.cc:25:10: fatal error: Python.h: No such file or directory",
           "      compilation terminated.", "      error: command '/usr/bin/x86_64-linux-gnu-gcc' failed with exit code 1",
           "      [end of output]", "error: legacy-install-failure"]
    top = top_of(log)
    assert (top.signature, top.line) == ("pip-install-failed", 9)


@pytest.mark.parametrize("line, names", [
    ("       ! The distribution doesn't have a proper Makefile.PL/Build.PL See /app/.cpanm/build.log for details.", True),
    ("remote:        ! Couldn't find module or a distribution Foo::Bar", True),
    ("! [remote rejected] master -> master (pre-receive hook declined)", False),   # git's, not cpanm's
    ("Hello! It looks fine", False), ("! ok", False),
    # a server's status line alone (appcfg prints the answer it got under its `Error posting to URL` warning)
    ("401 Unauthorized", True), ("  403 Forbidden", True), ("200 OK", False), ("401 Unauthorized users were listed", False)])
def test_cpanms_report_lines_and_a_bare_status_line_name_a_failure(line, names):
    # cpanm prefixes each failure it reports with `! `; git's rejection is `! [`, Heroku's errors ` !     `
    assert names_failure(line) is names


def test_a_detect_result_without_the_arrow_shows_a_buildpacks_build():
    # herokuish (Dokku's) prints the buildpack's detect result alone on its line; below it a failure no signature
    # explains is the buildpacks build failing
    log = ["-----> Building app ...", "Dart app detected", "remote: gzip: stdin: not in gzip format",
           "remote: tar: Child returned status 1"]
    assert signature_and_line(log) == ("buildpacks-build-failed", 3)
    assert top_of(["Note: no app detected in the sentence, it is prose", "gzip: stdin: not in gzip format"]).signature \
        == "unknown"


def test_out_of_order_is_a_flag_of_a_builder_only():
    sig = {"id": "boom", "title": "t", "weight": 50, "patterns": ["widget fails"], "cause": "c.", "fix": ["f"]}
    parse_catalogue({"builders": [{"name": "runtime", "markers": ["app\\[web"], "out_of_order": True}],
                     "signatures": [sig, UNKNOWN]})
    with pytest.raises(ConfigError, match="out_of_order must be true or false, and only on a builder"):
        parse_catalogue({"sections": [{"name": "build", "markers": ["Step #"], "out_of_order": True}],
                         "signatures": [sig, UNKNOWN]})
    with pytest.raises(ConfigError, match="out_of_order"):
        parse_catalogue({"builders": [{"name": "runtime", "markers": ["app\\[web"], "out_of_order": "yes"}],
                         "signatures": [sig, UNKNOWN]})


# ---- rounds 75-82 (stop 50): other vendors' platforms and running apps, tools' failure words, pasted tracebacks -
def test_a_tools_failure_in_herokus_buildpack_indentation_under_git_remote_is_the_buildpacks_build_failing():
    log = ["remote:        Gem::InstallError: classifier-reborn requires Ruby version >= 1.9.3.",
           "remote:        Installing rake 12.3.1"]
    assert signature_and_line(log) == ("buildpacks-build-failed", 1)
    # git's own prefix with another indentation (a Git host's message, a Halcyon header) marks no buildpack
    other = ["remote:    Gem::InstallError: classifier-reborn requires Ruby version >= 1.9.3."]
    assert top_of(other).signature == "unknown"


def test_unzips_refusal_below_a_buildpacks_step_header_is_the_buildpacks_download_not_the_source_fetch():
    unzip = ["  End-of-central-directory signature not found.  Either this file is not",
             "  a zipfile, or it constitutes one disk of a multi-part archive.  In the",
             "unzip:  cannot find zipfile directory in one of /tmp/cache/elixir.zip or"]
    log = ["remote: -----> Installing Elixir v1.10.4 (changed)", "remote: [/tmp/cache/elixir-v1.10.4.zip]",
           *(f"remote: {line}" for line in unzip), "remote: /tmp/buildpackTdmxb/lib/elixir_funcs.sh: line 99: mix: "
           "command not found"]
    # (since stop 52 the download of a runtime at a version, Elixir v1.10.4, a version the builder cannot provide)
    assert signature_and_line(log) == ("buildpacks-python-version", 3)
    # ... while an uploaded source archive cut short, with no build above it, is the fetch that failed
    assert top_of(unzip).signature == "source-fetch-failed"


def test_the_ruby_buildpacks_broken_download_of_its_default_bundler_cache_is_no_ruby_version_refused():
    def quoted(archive: str) -> list[str]:
        return ["-----> Using Ruby version: ruby-2.0.0", " !",
                " !     Command: 'set -o pipefail; curl --fail --retry 3 "
                f"https://s3-external-1.amazonaws.com/heroku-buildpack-ruby/{archive} -s -o - | tar zxf -' failed "
                "unexpectedly:", " !     gzip: stdin: unexpected end of file"]
    assert top_of(quoted("ruby-2.0.0-p481-default-cache.tgz")).signature == "buildpacks-build-failed"
    assert top_of(quoted("ruby-2.0.0-p481.tgz")).signature == "buildpacks-python-version"


def test_a_koyeb_instance_that_exits_after_its_build_is_read_at_the_apps_own_error():
    log = ["Timer: Builder started at 2026-03-15T16:57:46Z", "## Heroku Node.js Engine",
           "- Installing Node.js distribution",
           "Timer: Builder ran for 118.687134ms and ended at 2026-03-15T16:57:47Z", "",
           "Instance created. Preparing to start...", "/workspace/node_modules/path-to-regexp/dist/index.js:96",
           "PathError [TypeError]: Missing parameter name at index 2: /*",
           "    at name (/workspace/node_modules/path-to-regexp/dist/index.js:96:19)", "", "> node server.js",
           "Instance is starting... Waiting for health checks to pass.",
           "Application exited with code 1. This usually indicates an application failure. Check that the command used "
           "to launch your application is correct."]
    assert signature_and_line(log) == ("container-start-failed", 8)


@pytest.mark.parametrize("line", [
    "google.api_core.exceptions.InvalidArgument: 400 Reasoning Engine instance 8188080684233916416 failed to start and "
    "cannot serve traffic.",
    "RuntimeError: Failed to update Agent Engine: {'code': 3, 'message': 'Reasoning Engine resource [projects/"
    "PROJECT_NUMBER/locations/us-central1/reasoningEngines/5126135964191686656] failed to start and cannot serve"])
def test_agent_engines_container_failing_to_start_on_create_or_update_is_a_start_failure(line):
    assert _top_signature(line) == "container-start-failed"


@pytest.mark.parametrize("line, signature", [
    # Cloud Foundry's cf CLI when staging found no buildpack whose detect passed
    ("Error staging application: An app was not successfully detected by any available buildpack",
     "buildpacks-detect-failed"),
    # kpack's prepare step, before any build, when it may not write the image it would push
    ("prepare:main.go:66: invalid credentials to build to /1e51074a-d26f-4a4c-80b9-0b4fdbfee826",
     "push-permission-denied"),
    # a Heroku dyno running the Meteor buildpack's bundle, whose start failed
    ("Error: Cannot find module '/app/.meteor/heroku_build/bin/boot_proxy.js'", "container-start-failed")])
def test_other_platforms_refusals_of_a_source_an_image_or_a_start(line, signature):
    assert _top_signature(line) == signature


def test_an_app_engine_instance_that_did_not_answer_its_start_request_did_not_start():
    log = ["2019-11-13 17:34:02.397 CST", "The request failed because the instance could not start successfully",
           "2019-11-13 17:34:02.397 CST", "Process terminated because it failed to respond to the start request with "
           "an HTTP status code of 200-299 or 404."]
    assert signature_and_line(log) == ("container-start-failed", 2)


def test_a_dynos_exception_below_its_exit_is_read_past_the_frames_printed_before_it():
    frames = [f"2012-11-29T17:12:12+00:00 app[web.1]:     at Module._compile (module.js:{n}:26)" for n in range(9)]
    log = ["2012-11-29T17:12:10+00:00 heroku[web.1]: Starting process with command `bin/web`",
           "2012-11-29T17:12:11+00:00 heroku[web.1]: Process exited with status 1",
           "2012-11-29T17:12:11+00:00 app[web.1]: [nodemon] starting `coffee web.coffee`", *frames,
           "2012-11-29T17:12:12+00:00 app[web.1]: Error: Cannot find module 'logger'"]
    assert signature_and_line(log) == ("container-start-failed", 13)
    # ... while ten lines of the app's own output between them are as far as the summary's cause is read
    other = [line.replace("    at Module._compile (module.js:", "loading module ") for line in log]
    assert top_of(other).line == 2


def test_herokus_router_answering_for_a_crashed_web_dyno_is_the_app_failing_to_start():
    log = ['2016-12-06T22:07:25.937574+00:00 heroku[router]: at=error code=H10 desc="App crashed" method=GET path="/" '
           'host=tstudio.herokuapp.com']
    assert signature_and_line(log) == ("container-start-failed", 1)


def test_an_exception_raised_while_handling_another_is_read_at_the_first():
    log = ["app[web.1]:   File \"/app/django/conf/__init__.py\", line 42, in _setup",
           "app[web.1]: django.core.exceptions.ImproperlyConfigured: Requested setting CACHES, but settings are not "
           "configured.", "app[web.1]: ", "app[web.1]: During handling of the above exception, another exception "
           "occurred:", "app[web.1]: ", "app[web.1]: Traceback (most recent call last):",
           "app[web.1]:   File \"/app/.heroku/python/lib/python3.6/site-packages/gunicorn/arbiter.py\", line 578, in "
           "spawn_worker", "app[web.1]:     worker.init_process()"]
    assert signature_and_line(log) == ("container-start-failed", 2)
    # ... and a traceback with no chain above it is read at its own exception
    alone = log[5:] + ["app[web.1]: RuntimeError: no app"]
    assert top_of(alone).line == 4


@pytest.mark.parametrize("line", [
    # Knative func's deployer on a service whose revision never became ready
    "Error: knative deployer failed to wait for the Knative Service to become ready: timeout: service 'kn-go-func' "
    "not ready after 120 seconds",
    # the buildpacks' launcher failing as the container started
    "ERROR: failed to launch: exec.d: failed to execute exec.d file at path '/layers/paketo-buildpacks_npm-install/"
    "launch-modules/exec.d/0-setup-symlinks': exit status 1"])
def test_a_knative_service_or_a_buildpacks_launcher_that_would_not_start_is_a_start_failure(line):
    assert _top_signature(line) == "container-start-failed"


def test_a_gigalixir_releases_start_log_is_a_running_apps():
    log = ["2020-04-19T03:53:02.99Z app[gigalixir-run]: Attempting health checks on port 4000",
           "2020-04-19T03:53:03.21Z app[app-844cd4559d-shhbv]: web.1  | sh: 1: /app/bin/app: not found",
           "2020-04-19T03:53:03.31Z app[app-844cd4559d-shhbv]: web.1  | exited with code 127"]
    assert signature_and_line(log) == ("container-start-failed", 2)


def test_knative_funcs_verdict_on_a_lifecycle_that_refused_its_platform_api_is_no_buildpacks_failure():
    # (the lifecycle's `ERROR: ` cut to `ROR: ` by the poster's console: the verdict is the first line naming an error)
    log = ["ROR: failed to : set platform API: platform API version '0.9' is incompatible with the lifecycle", "",
           "Error: failed to build the function: executing lifecycle. This may be the result of using an untrusted "
           "builder: failed with status code: 11"]
    assert signature_and_line(log) == ("unknown", 1)


def test_herokus_go_buildpack_failing_to_install_a_go_it_warned_it_no_longer_supports_is_the_version():
    warned = ["remote: -----> Go app detected", "remote:  !!    ",
              "remote:  !!    Deprecated or unsupported version of go (1.9.4)", "remote:  !!    ",
              "remote: -----> Installing 1.9.4",
              "remote: -----> Fetching 1.9.4.linux-amd64.tar.gz... ", "remote: gzip: stdin: not in gzip format",
              "remote:  !     Push rejected, failed to compile Go app."]
    assert signature_and_line(warned) == ("buildpacks-python-version", 3)
    # ... but once that Go is installed and the app's build runs, the build failed for another reason
    built = warned[:5] + ["remote: -----> Fetching go1.9.4.linux-amd64.tar.gz... done",
                          "remote: -----> Running: go install -v -tags heroku ./...",
                          "remote: main.go:9:2: cannot find package \"github.com/x/y\" in any of:",
                          "remote:  !     Push rejected, failed to compile Go app."]
    assert top_of(built).signature == "buildpacks-build-failed"


def test_herokus_go_buildpack_running_the_apps_install_marks_a_buildpacks_build():
    log = ["-----> Running: godep go install -tags heroku ./...", "# cd /tmp/godep/repo/go.net; hg init",
           "godep: create repo: fork/exec /app/tmp/cache/venv/bin/hg: no such file or directory"]
    assert signature_and_line(log) == ("buildpacks-build-failed", 3)


def test_a_traceback_a_poster_cut_and_flattened_is_read_at_its_exception():
    cut = ["Traceback (most recent call last):", '  File "gobotany/manage.py", line 10, in <module>', "...",
           '  File "/app/django/contrib/staticfiles/storage.py", line 49, in path',
           "    raise ImproperlyConfigured(\"You're using the staticfiles app\")",
           "ImproperlyConfigured: You're using the staticfiles app without having set the STATIC_ROOT setting"]
    assert top_of(cut).line == 6
    # ... and when the paste left the exception at the frames' own indentation, by its dotted class and message
    flat = [" Traceback (most recent call last):", '   File "gobotany/manage.py", line 10, in <module>',
            '  File "/app/django/contrib/staticfiles/storage.py", line 49, in path',
            '  raise ImproperlyConfigured("You\'re using the staticfiles app "',
            "  django.core.exceptions.ImproperlyConfigured: You're using the staticfiles app without having"]
    assert top_of(flat).line == 5


def test_herokus_time_limit_stopping_a_buildpack_is_the_build_timing_out():
    log = ["-----> Swift app detected", "-----> Installing clang-3.7.0", "-----> Building Package",
           "-----> Timed out running buildpack Swift", " !     Push failed"]
    assert signature_and_line(log) == ("build-timeout", 4)
    # ... and its slug compiler before 2014, which said so in a Ruby exception under the buildpack's last line
    old = ["-----> Ruby/Rails app detected", "       Fetching gem metadata from http://rubygems.org/..",
           "/app/slug-compiler/lib/utils.rb:66:in `block (2 levels) in spawn': command='/tmp/buildpacks/ruby/bin/"
           "compile /tmp/build_1p6071sni4hh1 /app/tmp/repo.git/.cache' exit_status=0 out='' at=timeout "
           "elapsed=900.1056394577026 (Utils::TimeoutError)", "  from /app/slug-compiler/lib/utils.rb:52:in `loop'",
           " !     Heroku push rejected, failed to compile Ruby/rails app"]
    assert signature_and_line(old) == ("build-timeout", 3)


def test_flynns_release_whose_processes_never_came_up_is_the_app_failing_to_start():
    log = ["-----> Build succeeded!", "-----> Creating release...", "=====> Scaling initial release to web=1",
           "-----> Waiting for initial web job to start...", "",
           "-----> WARN: scaling initial release down to web=0 due to error",
           "remote: ERROR: timed out waiting for scale to complete (waited 1200 seconds)",
           " ! [remote rejected] master -> master (pre-receive hook declined)"]
    assert signature_and_line(log) == ("container-start-failed", 7)


@pytest.mark.parametrize("prefix, blank", [("", False), ("remote: ", False), ("", True)])
def test_the_source_line_nodejs_quotes_above_its_caret_gives_way_to_the_exception_below(prefix, blank):
    # Node.js prints an uncaught exception's place, the source line that threw (`throw new Error(...)`, which names an
    # error itself), a caret under it, since Node 12 a blank line, and then the exception: that is the line to read
    log = ["-----> Building Meteor app with ROOT_URL: http://chat.example.org/",
           "/cache/.meteor/packages/meteor-tool/dev_bundle/lib/node_modules/fibers/future.js:259",
           "            throw new Error('Must throw non-empty error');", "                  ^",
           *([""] if blank else []), "Error: Must throw non-empty error",
           "    at Object.Future.throw (/cache/.meteor/packages/meteor-tool/fibers/future.js:259:19)"]
    log = [f"{prefix}{line}" if prefix and n else line for n, line in enumerate(log)]
    # (the Meteor buildpack's header names the build a buildpack's)
    assert signature_and_line(log) == ("buildpacks-build-failed", 6 if blank else 5)
    # ... and not without the caret (a line that quotes code, then an error of its own)
    no_caret = [line for line in log if line.strip().removeprefix("remote:").strip() != "^"]
    assert signature_and_line(no_caret)[1] == 3


@pytest.mark.parametrize("line, names", [
    # PHP's PDO quoting the database's refusal (Laravel's `package:discover` querying a table during a build)
    ("  SQLSTATE[42S02]: Base table or view not found: 1146 Table 'app.items' doesn't exist", True),
    ("  SQLSTATE[HY000] [2002] Connection refused", True),
    # the dynamic loader refusing a library older than the program was linked against
    ("/usr/lib/R/bin/exec/R: /lib/x86_64-linux-gnu/libm.so.6: version `GLIBC_2.23' not found (required by "
     "/home/vcap/app/.root/usr/lib/libR.so)", True),
    # Ruby's NoMethodError in its own words (Heroku's Ruby buildpack's error box prints it without the class), and the
    # .NET host unable to start a program whose framework is missing
    ("remote:        !     undefined method `version' for nil:NilClass", True),
    ("undefined local variable or method `foo' for main:Object", True),
    ("  You must install or update .NET to run this application.", True),
    ("SQLSTATE = 'ok'", False), ("version `1.2' not found here", False), ("the method is undefined for now", False)])
def test_a_databases_error_through_pdo_and_the_loaders_missing_symbol_version_name_a_failure(line, names):
    assert names_failure(line) is names


def test_laravels_console_block_above_composers_script_verdict_is_read_at_the_databases_error():
    log = ["-----> PHP app detected", "       > @php artisan package:discover --ansi", "       ",
           "       In Connection.php line 712:", "                                ",
           "         SQLSTATE[42S02]: Base table or view not found: 1146 Table 'heroku_x.items' doesn't exist  ",
           "       Script @php artisan package:discover --ansi handling the post-autoload-dump event returned with "
           "error code 1", " !     ERROR: Dependency installation failed!", " !     Push rejected, failed to compile "
           "PHP app."]
    assert signature_and_line(log) == ("buildpacks-build-failed", 6)


def test_cloud_foundrys_java_buildpack_offline_without_the_jre_asked_for_cannot_provide_that_version():
    def staging(url: str) -> list[str]:
        return ["-----> Java Buildpack Version: v3.6 (offline) | https://github.com/cloudfoundry/java-buildpack.git",
                f"[Buildpack]                      ERROR Compile failed with exception #<RuntimeError: Unable to find "
                f"cached file for {url}>", "Failed to compile droplet"]
    assert signature_and_line(staging("https://download.run.pivotal.io/openjdk/trusty/x86_64/openjdk-1.7.0_40.tar.gz"))\
        == ("buildpacks-python-version", 2)
    # ... while a cached file of another dependency (an agent, a container) is the buildpack failing
    assert top_of(staging("https://download.run.pivotal.io/tomcat/tomcat-8.0.21.tar.gz")).signature \
        == "buildpacks-build-failed"


def test_cloud_foundrys_verdict_on_crashed_instances_is_read_at_the_instances_own_error_below():
    log = ["Staging...", "-----> Executing init.r script", "       R 3.4.0 successfully installed", "Exit status 0",
           "...", "0 of 1 instances running, 1 crashed", "FAILED", "Error restarting application: Start unsuccessful",
           "", "CF LOGS extract:",
           " 2017-07-26T12:29:10.97-0700 [APP/PROC/WEB/0] ERR /usr/lib/R/bin/exec/R: /usr/lib/x86_64-linux-gnu/"
           "libgomp.so.1: version `GOMP_4.0' not found (required by /home/vcap/app/.root/usr/lib/libR.so)"]
    assert signature_and_line(log) == ("container-start-failed", 11)


@pytest.mark.parametrize("refusal", [
    "A compatible SDK version for global.json version: [2.2.203] from [/tmp/build_b72582ed/global.json] was not found",
    "A compatible .NET SDK was not found.",
])
def test_the_dotnet_hosts_refusal_of_the_sdk_global_json_pins_is_a_version_the_builder_cannot_provide(refusal):
    log = ["-----> ASP.NET Core app detected", "-----> Fetching .NET SDK", "publish MyApp/MyApp.csproj for Release",
           refusal, "Requested SDK version: 8.0.100"]
    assert signature_and_line(log) == ("buildpacks-python-version", 4)


@pytest.mark.parametrize("step, broken", [
    # Heroku's Go buildpack, the Elixir buildpack's Erlang, the R buildpack, the Elm buildpack's bare version
    (["-----> Installing go1.14.4", "-----> Fetching go1.14.4.linux-amd64.tar.gz..."],
     "gzip: stdin: not in gzip format"),
    (["remote: -----> Fetching Erlang 19", "remote: -----> Installing Erlang 19 (changed)", "remote: "],
     "remote: gzip: stdin: not in gzip format"),
    (["-----> Vendoring R 3.3.3 for heroku-16 stack (latest)", "Downloading and unpacking R binaries (http://x/R.tgz)"],
     "gzip: stdin: not in gzip format"),
    (["-----> Retrieving 0.17", "https://s3.amazonaws.com/heroku-buildpack-elm/assets/elm/0.17/elm:"],
     "2016-05-14 06:23:48 ERROR 403: Forbidden."),
    # curl -f refusing the download, as wget does above; the Clojure buildpack's CLI tools at the version asked for
    (["-----> Installing go1.22.4"], "-----> Fetching go1.22.4.linux-amd64.tar.gz... curl: (22) The requested URL "
     "returned error: 403"),
    (["remote: -----> Installing Clojure 1.12.0.1479 CLI tools"], "remote: curl: (22) The requested URL returned "
     "error: 404"),
])
def test_a_runtime_download_at_a_version_that_is_no_archive_is_a_version_the_builder_cannot_provide(step, broken):
    log = ["-----> Building on the Heroku-18 stack", *step, broken, "tar: Child returned status 1",
           " !     Push rejected, failed to compile app."]
    assert signature_and_line(log) == ("buildpacks-python-version", len(step) + 2)


def test_tar_finding_no_download_of_the_version_on_the_install_step_is_a_version_but_a_vendored_file_is_not():
    # Heroku's Go buildpack given a malformed version from Godeps.json prints tar's refusal on its step's own line
    log = ["remote: -----> Checking Godeps/Godeps.json file.",
           "remote: /app/tmp/buildpacks/go/bin/compile: line 113: test: /app/tmp/cache/go1.5: binary operator expected",
           "remote: -----> Installing go1.5 darwin/amd64... tar (child): go1.5: Cannot open: No such file or directory",
           "remote: tar: Child returned status 2", "remote:  !     Push rejected, failed to compile Go app"]
    assert signature_and_line(log) == ("buildpacks-python-version", 3)
    # ... while the buildpack's own vendored file missing, named with its path, is the build failing
    vendored = ["-----> Python app detected", "-----> Installing python-3.5.2",
                "tar (child): /app/tmp/buildpacks/779a/vendor/setuptools-25.2.0.tar.gz: Cannot open: No such file or "
                "directory", "tar: Child returned status 2"]
    assert signature_and_line(vendored)[0] == "buildpacks-build-failed"


def test_curls_refusal_below_no_runtimes_install_at_a_version_is_no_version_the_builder_cannot_provide():
    log = ["-----> Downloading chromedriver v93.0.4577.63...", "curl: (22) The requested URL returned error: 404",
           " !     Push rejected, failed to compile Node.js app."]
    assert signature_and_line(log)[0] != "buildpacks-python-version"


def test_a_tools_download_that_is_no_archive_is_the_build_failing_even_below_a_runtimes():
    log = ["-----> Java (using Apache Ant 1.9.8) app detected", "-----> Installing OpenJDK 1.8... done",
           "-----> Installing Apache Ant 1.9.8..... [start]", "gzip: stdin: not in gzip format",
           " !     Push rejected, failed to compile Java (using Apache Ant 1.9.8) app."]
    assert signature_and_line(log) == ("buildpacks-build-failed", 4)


def test_msbuilds_verdict_on_a_command_it_ran_gives_way_to_the_commands_own_words_above():
    log = ["  Build succeeded.", "  You must install or update .NET to run this application.", "  ",
           "  App: /app/.nuget/packages/dotnet-ef/7.0.12/tools/net6.0/any/tools/netcoreapp2.0/any/ef.dll",
           "  Framework: 'Microsoft.NETCore.App', version '7.0.0' (x64)",
           "/tmp/build_da5deca9/Core/Core.csproj(31,2): error MSB3073: The command \"dotnet ef database update\" "
           "exited with code 150.", " !     Push rejected, failed to compile Core .NET app."]
    assert signature_and_line(log) == ("buildpacks-build-failed", 2)


def test_cloud_foundrys_cli_on_an_app_that_never_listened_in_time_is_the_app_failing_to_start():
    log = ["FAILED", "Error restarting application: Start app timeout", "",
           "TIP: Application must be listening on the right port. Instead of hard coding the port, use the $PORT "
           "environment variable."]
    assert signature_and_line(log) == ("container-start-failed", 2)



def test_kanikos_push_without_credentials_from_its_helper_is_the_push_refused():
    log = ["Step #0: error pushing image: resolving pushAuth: error getting credentials - err: exit status 2, out: ``",
           "ERROR", 'ERROR: build step 0 "gcr.io/kaniko-project/executor:latest" failed: step exited with non-zero '
           "status: 1"]
    assert signature_and_line(log) == ("push-permission-denied", 1)


@pytest.mark.parametrize("log, line", [
    # the lifecycle unable to start its detector (a builder laid out wrongly), read at its own words
    (["===> ANALYZING", "===> DETECTING", "ERROR: failed to initialize detector: open /builds/app/urn:cnb:builder/"
      "paketo-buildpacks/ruby/0.42.1/buildpack.toml: no such file or directory"], 3),
    # ... or to run a buildpack's detect, under the header that names the buildpack
    (["===> DETECTING", "[detector] ======== Error: paketo-buildpacks/health-checker@1.1.0 ========",
      "[detector] fork/exec /cnb/buildpacks/paketo-buildpacks_health-checker/1.1.0/bin/detect: no such file or "
      "directory"], 3)])
def test_a_lifecycle_that_could_not_run_any_buildpacks_code_is_no_buildpacks_failure(log, line):
    assert signature_and_line(log) == ("unknown", line)


def test_a_buildpacks_failed_detect_is_read_below_the_lifecycles_header_naming_it():
    log = ["===> DETECTING", "[detector] ======== Error: paketo-buildpacks/node-engine@1.2.3 ========",
           "[detector] failed to parse package.json: unexpected end of JSON input", "[detector] ERROR: failed to "
           "detect: buildpack(s) failed with err"]
    assert top_of(log).line == 3


@pytest.mark.parametrize("log, line", [
    # an excerpt that starts at composer's first problem, read at the requirement it names
    (["     !     >   Problem 1", "     !     >     - symfony/polyfill-ctype v1.24.0 requires php >=7.1 -> "
      "satisfiable by php[7.3.24, 7.4.12].", "     !     >     - don't install symfony/polyfill-ctype v1.24.0|don't "
      "install php 7.4.12"], 2),
    # ... or at the conflict it names
    (["-----> PHP app detected", "Problem 1", "    - Installation request for ext-protobuf 3.7.0 -> satisfiable by "
      "ext-protobuf[3.7.0].", "    - google/gax 1.0.0 conflicts with ext-protobuf[3.7.0]."], 4)])
def test_composers_numbered_problem_is_read_at_the_requirement_or_conflict_it_names(log, line):
    assert signature_and_line(log) == ("buildpacks-build-failed", line)


@pytest.mark.parametrize("path, signature", [
    ("/app/tmp/cache/meteor/.meteor/packages/meteor-tool/dev_bundle/bin/node", "buildpacks-build-failed"),
    ("/tmp/build_23w2j5nfuo0fp/.heroku/node/bin/node", "buildpacks-build-failed"),   # (Heroku's build directory, 2012)
    ("/app/tmp/cache/assets/node", "unknown"),   # a running Rails app's asset cache shows no build
    ("/usr/local/bin/node", "unknown")])
def test_herokus_older_build_and_cache_directories_show_a_buildpacks_build(path, signature):
    log = ["npm ERR! Linux 3.13.0-112-generic", f'npm ERR! argv "{path}" "npm" "install"', "npm ERR! node v4.7.3",
           "npm ERR! npm  v4.1.2", "npm ERR! code ELIFECYCLE",
           "npm ERR! opencollective-postinstall@1.0.9 postinstall: `./bin/setup.js`", "npm ERR! Exit status 1",
           "npm ERR! ", "npm ERR! Failed at the opencollective-postinstall@1.0.9 postinstall script './bin/setup.js'.",
           "npm ERR! Make sure you have the latest version of node.js and npm installed.",
           "npm ERR! If you do, this is most likely a problem with the opencollective-postinstall package,"]
    assert signature_and_line(log) == (signature, 6)


def test_npm_1s_verdict_on_a_script_is_read_at_the_shells_missing_command_above_it():
    log = ["-----> Installing dependencies with npm",
           "> neo4j@0.2.13 postinstall /tmp/build_20zj9urr4tkew/node_modules/neo4j",
           "> npm run build",
           "",
           "sh: npm: not found",
           "npm http GET https://registry.npmjs.org/crc/0.2.0",
           "npm ERR! neo4j@0.2.13 postinstall: `npm run build`",
           'npm ERR! `sh "-c" "npm run build"` failed with 127',
           "npm ERR! ",
           "npm ERR! Failed at the neo4j@0.2.13 postinstall script."]
    assert signature_and_line(log) == ("buildpacks-build-failed", 5)


def test_npms_debug_log_header_is_passed_over_for_its_error():
    log = ["remote: 13612 verbose cwd /tmp/build_3352709514c6073540abbc12deb4ae94",
           "remote: 13613 error Linux 3.13.0-79",
           'remote: 13614 error argv "/tmp/build_3352709514c6073540abbc12deb4ae94/vendor/node/bin/node" "npm" '
           '"install"',
           "remote: 13615 error node v0.12.13",
           "remote: 13616 error npm  v2.15.0",
           "remote: 13617 error code EPEERINVALID",
           "remote: 13618 error peerinvalid The package grunt@1.0.1 does not satisfy its siblings' "
           "peerDependencies requirements!",
           "remote:  !     Push rejected, failed to compile Node.js app"]
    assert signature_and_line(log) == ("buildpacks-build-failed", 7)


def test_npms_closing_advice_is_boilerplate_so_its_report_is_read_where_it_starts():
    log = ["remote:        npm ERR! Failed at the bcrypt@0.8.2 install script 'node-gyp rebuild'.",
           "remote:        npm ERR! This is most likely a problem with the bcrypt package,",
           "remote:        npm ERR! not with npm itself.",
           "remote:        npm ERR! Tell the author that this fails on your system:",
           "remote:        npm ERR!     node-gyp rebuild",
           "remote:        npm ERR! You can get their info via:",
           "remote:        npm ERR!     npm owner ls bcrypt",
           "remote:        npm ERR! There is likely additional logging output above."]
    assert signature_and_line(log) == ("buildpacks-build-failed", 1)


def test_play_frameworks_server_that_could_not_start_is_read_at_the_exception_below_it():
    log = ["2015-12-08T18:44:11.319118+00:00 app[web.1]: Oops, cannot start the server.",
           "2015-12-08T18:44:11.327327+00:00 app[web.1]: \tat "
           "play.api.Configuration$.configError(Configuration.scala:178)",
           "2015-12-08T18:44:11.327856+00:00 app[web.1]: Caused by: com.typesafe.config.ConfigException$Parse:  @ "
           "file:/app/conf/application.conf: 2: Key 'application.conf' may not be followed by token"]
    assert signature_and_line(log) == ("container-start-failed", 3)
    # ... and where the poster ran it by hand, with nothing of the platform around it, at Play's own words
    assert signature_and_line(["Oops, cannot start the server.", "@7f1a: Database 'default' needs migration!",
                               "\tat org.flywaydb.play.PlayInitializer.checkState(PlayInitializer.scala:126)"]) \
        == ("container-start-failed", 1)


def test_pip_raising_its_own_exception_is_pip_failing():
    # (prompting for the password of a private index in a buildpacks build, which has no terminal to answer it)
    log = ["User for us-central1-python.pkg.dev: ERROR: Exception:",
           "Traceback (most recent call last):",
           '  File "/l'
           'ayers/google.python.runtime/python/lib/python3.10/site-packages/pip/_internal/cli/base_command.py", '
           "line 160, in exc_logging_wrapper",
           "    status = run_func(*args)"]
    assert signature_and_line(log) == ("pip-install-failed", 1)


def test_herokus_bamboo_stack_rejecting_a_push_for_bundler_is_a_buildpacks_style_build_failing():
    log = ["-----> Gemfile detected, running Bundler version 1.0.7",
           "       Unresolved dependencies detected; Installing...",
           "       Could not find gem 'growl (>= 0)' in any of the gem sources.",
           "       FAILED: http://devcenter.heroku.com/articles/bundler",
           "",
           " !     Heroku push rejected, failed to install gems via Bundler"]
    assert signature_and_line(log) == ("buildpacks-build-failed", 3)


def test_a_failure_after_cloud_foundry_uploads_the_droplet_is_the_apps_or_the_platforms_not_the_buildpacks():
    staged = ["2014-05-30T01:11:41.70-0400 [STG]     OUT -----> Downloaded app package (4.0K)",
              "2014-05-30T01:11:42.05-0400 [STG]     OUT     -----> Downloading IBM 1.7.0 JRE",
              "2014-05-30T01:12:07.90-0400 [STG]     OUT -----> Uploading droplet (85M)"]
    crashed = staged + ["2014-05-30T01:12:25.23-0400 [App/0]   ERR     Error: Could not find or load main class "
                        "HelloWorld"]
    assert signature_and_line(crashed) == ("container-start-failed", 4)
    refused = staged + ["2016-01-21T09:12:07.97+0800 [API/0]      ERR Error uploading: (Polling failed - status 0)"]
    assert signature_and_line(refused) == ("unknown", 4)
    # ... while a buildpack's failure above the upload, which the staging went on past, is still the buildpacks'
    detect = ["   -----> Java Buildpack v4.40 (offline)",
              "   [Buildpack]                      ERROR Detect failed with exception #<RuntimeError: Zulu JRE error>",
              "   -----> Nothing to compile", "   Exit status 0", "   Uploading droplet, build artifacts cache...",
              "   Uploaded droplet (24M)"]
    assert signature_and_line(detect) == ("buildpacks-build-failed", 2)


@pytest.mark.parametrize("handover", ["-----> Uploading droplet (52M)", "-----> Compressing..."])
def test_a_handed_over_line_ends_the_buildpacks_output_that_their_own_words_count_in(handover):
    # swiftenv's refusal means the Swift version refused only in a buildpacks build's output
    refusal = "We don't have build instructions for 4.0-DEVELOPMENT-SNAPSHOT"
    assert top_of(["-----> Swift app detected", refusal]).signature == "buildpacks-python-version"
    assert signature_and_line(["-----> Swift app detected", handover, refusal]) == ("unknown", 3)


def test_heroku_refusing_a_compiled_slug_is_no_buildpacks_failure():
    log = ["remote: -----> Discovering process types",
           "remote:        Procfile declares types -> web",
           "remote: ",
           "remote: -----> Compressing...",
           "remote:  !     Compiled slug size: 325.8M is too large (max is 300M).",
           "remote:  !     See: http://devcenter.heroku.com/articles/slug-size",
           "remote: ",
           "remote:  !     Push failed"]
    assert top_of(log).signature == "unknown"


def test_cloud_foundrys_php_buildpack_failing_on_composer_is_read_at_the_extension_the_platform_lacks():
    log = ["Installing dependencies from lock file", "Your requirements could not be resolved to an installable set of "
           "packages.", "  Problem 1", "    - The requested PHP extension ext-mcrypt * is missing from your system. "
           "Install or enable PHP's mcrypt extension.", "-----> Composer command failed"]
    assert signature_and_line(log) == ("buildpacks-build-failed", 4)


def test_herokus_nodejs_buildpack_unable_to_provide_the_yarn_that_engines_pins_cannot_provide_that_version():
    log = ["-----> Installing binaries",
           "       engines.node (package.json):  8.x",
           "       engines.yarn (package.json):  1.0.1",
           "       Resolving yarn version 1.0.1...",
           "       Could not find Yarn version corresponding to version requirement: 1.0.1",
           "-----> Build failed",
           " !     No matching version found for Yarn: 1.0.1"]
    assert signature_and_line(log) == ("buildpacks-python-version", 5)


def test_cloud_foundry_starting_an_app_instance_marks_the_apps_own_lines_below():
    log = ["Starting app instance (index 0) with guid 3258a8cf-68eb-4645-b1b4-b04c85b4d25a", "    module.js:327",
           "    throw err;", "    ^", "Error: Cannot find module '/home/vcap/app/app.js",
           "    at Function.Module._resolveFilename (module.js:325:15)"]
    assert signature_and_line(log) == ("container-start-failed", 5)
    assert top_of(log[1:]).signature == "unknown"


def test_a_python_traceback_behind_gits_remote_prefix_is_read_at_its_exception():
    log = ["remote: -----> Python app detected        ", "remote: -----> Installing pip        ",
           "remote: Traceback (most recent call last):        ",
           'remote:   File "/app/tmp/buildpacks/e0177/vendor/pipenv-to-pip", line 24, in <module>        ',
           "remote:     main()        ", "remote: TypeError: string indices must be integers        ",
           "remote:  !     Push rejected, failed to compile Python app.        "]
    assert signature_and_line(log) == ("buildpacks-build-failed", 6)


@pytest.mark.parametrize("prefix", ["remote: ", ""])
def test_a_traceback_a_buildpack_indents_is_read_at_the_exception_level_with_its_header(prefix):
    # Heroku's Python buildpack indents collectstatic's output by seven spaces, the traceback's header and its
    # exception alike; with the frames cut out the exception stands right under the header, at its indentation
    log = [f"{prefix}-----> Collecting static files", f"{prefix}       Traceback (most recent call last):",
           f"{prefix}       ValueError: The file 'admin/css/pagedown.css' could not be found with <storage>.",
           f"{prefix} !     Push rejected, failed to compile Python app."]
    assert signature_and_line(log) == ("buildpacks-build-failed", 3)
    frames = [f'{prefix}         File "manage.py", line 10, in <module>', f"{prefix}           main()"]
    framed = log[:2] + frames + log[2:]
    assert signature_and_line(framed) == ("buildpacks-build-failed", 5)


def test_pip_unable_to_fetch_a_requirement_given_as_a_url_is_pip_failing():
    log = ["-----> Installing requirements with pip",
           "       Collecting https://github.com/o/r/archive/asyncio.zip (from -r "
           "/tmp/build_59d3568e/requirements.txt (line 3))",
           "         ERROR: HTTP error 404 while getting https://github.com/o/r/archive/asyncio.zip",
           "       ERROR: Could not install requirement https://github.com/o/r/archive/asyncio.zip (from -r "
           "/tmp/build_59d3568e/requirements.txt (line 3)) because of HTTP error 404 Client Error: Not Found",
           " !     Push rejected, failed to compile Python app."]
    assert top_of(log).signature == "pip-install-failed"


def test_next_js_started_without_a_production_build_is_a_start_failure():
    log = ["Error: Could not find a production build in the '.next' directory. Try building your app with 'next build' "
           "before starting the production server.", "    at setupFsCheck (/layers/google.nodejs.yarn/yarn_modules/"
           "node_modules/next/dist/server/lib/router-utils/filesystem.js:148:19)"]
    assert signature_and_line(log) == ("container-start-failed", 1)
    # ... and Nuxt 2's `nuxt start` where `nuxt build` never ran
    assert signature_and_line(["> $ nuxt start", "> FATAL  No build files found in /workspace/.nuxt/dist/server."]) \
        == ("container-start-failed", 2)


@pytest.mark.parametrize("prefix", ["", "remote: ", "[help-app] [2024-11-06 17:36:49] │ "])
def test_the_nodejs_buildpacks_verdict_behind_any_prefix_is_a_buildpack_failing(prefix):
    # a deploy tool that puts its app's name and a time before each line still shows Heroku's Node.js buildpack
    log = ["  src/Account.tsx(7,19): error TS2307: Cannot find module '../Input/Input'.", f"{prefix}",
           f"{prefix}-----> Build failed", f"{prefix}       ",
           f"{prefix}       We're sorry this build is failing! You can troubleshoot common issues here:"]
    assert signature_and_line(log) == ("buildpacks-build-failed", 1)


def test_pip_1x_unquoted_setup_py_command_and_its_log_are_pip_failing():
    log = ["           ----------------------------------------",
           '           Command /app/.heroku/python/bin/python -c "import setuptools;__file__=\'/app/build/p/setup.py\';'
           'exec(compile(open(__file__).read(), __file__, \'exec\'))" install --record /tmp/r.txt '
           "failed with error code 1 in /app/build/pyramid", "           Storing complete log in /app/.pip/pip.log",
           "     !     Heroku push rejected, failed to compile Python app"]
    assert signature_and_line(log) == ("pip-install-failed", 2)


def test_condas_verdict_on_pip_is_read_at_pips_own_failure_above_it():
    log = ["Collecting git+git://github.com/o/r.git", "  Cloning git://github.com/o/r.git to /tmp/pip-build",
           "fatal: unable to connect to github.com:", "github.com[0: 192.30.255.113]: errno=Connection timed out",
           'Command "git clone -q git://github.com/o/r.git /tmp/pip-build" failed with error code 128 in None', "",
           "CondaValueError: pip returned an error.", "Staging failed: Buildpack compilation step failed"]
    assert signature_and_line(log) == ("pip-install-failed", 3)


def test_the_lifecycle_binary_for_another_cpu_is_no_buildpacks_failure():
    # Dokku switching to its pack builder on an arm64 server whose lifecycle image is built for amd64: no phase ran
    log = ["remote:  !     Herokuish builder not supported on arm64 servers.", "===> ANALYZING",
           "remote: [analyzer] exec /cnb/lifecycle/analyzer: exec format error",
           "remote: ERROR: failed to build: executing lifecycle. This may be the result of using an untrusted builder: "
           "failed with status code: 1", "remote:  !     App build failed"]
    assert signature_and_line(log) == ("unknown", 3)


@pytest.mark.parametrize("notice", [
    '       info "fsevents@1.2.9" is an optional dependency and failed compatibility check. Excluding it.',
    '       warning "webpack-dev-server > webpack-dev-middleware@3.7.0" failed to resolve its peer "webpack@^4.0.0".'])
def test_yarns_notices_indented_under_a_buildpack_are_not_the_failure(notice):
    log = ["       Running: rake assets:precompile", "       yarn install v1.12.3", notice, "       Done in 26.82s.",
           "       Compiling…", "       Compilation failed:", "       ", "    !     Precompiling assets failed."]
    assert signature_and_line(log) == ("buildpacks-build-failed", 6)



def test_the_exporter_failing_after_every_buildpack_ran_is_no_buildpacks_failure():
    log = ["===> BUILDING", "[builder] Paketo Buildpack for Maven 6.15.1", "===> EXPORTING", "...",
           "ERROR: failed to export: saving image: failed to commit cache: backing up cache: rename "
           r"c:\launch-cache\committed c:\launch-cache\committed-backup: The system cannot find the path specified.",
           "ERROR: failed to build: executing lifecycle: failed with status code: 62"]
    assert signature_and_line(log) == ("unknown", 5)
    # ... but a registry refusing the image's tags there is still the push refused
    refused = log[:4] + ["ERROR: failed to export: failed to write image to the following tags: [gcr.io/p/app:latest]: "
                         "GET https://gcr.io/v2/token: DENIED: Permission denied for \"latest\" from request"] + log[5:]
    assert top_of(refused).signature == "push-permission-denied"


def test_libpaks_own_line_alone_is_a_version_the_buildpack_cannot_provide():
    # the reason below it (`no valid dependencies for jdk, 15.*, and io.buildpacks.stacks.bionic in [...]`) cut off
    log = ["    [creator]     Paketo BellSoft Liberica Buildpack 3.2.0", "    [creator]       Build Configuration:",
           "    [creator]         $BP_JVM_VERSION              15.*            the Java version",
           "    [creator]     ", "    [creator]     Paketo BellSoft Liberica Buildpack 3.2.0",
           "    [creator]       unable to find dependency"]
    assert signature_and_line(log) == ("buildpacks-python-version", 6)


def test_a_paketo_buildpacks_header_behind_a_steps_own_tag_marks_a_buildpacks_build():
    log = ["[create] Paketo Maven Buildpack 6.5.1", "[create]   https://github.com/paketo-buildpacks/maven",
           "[create]     Executing mvnw --batch-mode -Dmaven.test.skip=true --no-transfer-progress package",
           "[create]       Unable to parse command line options: Unrecognized option: --no-transfer-progress"]
    assert signature_and_line(log) == ("buildpacks-build-failed", 4)


def test_a_builder_without_its_order_of_buildpacks_is_no_buildpacks_failure():
    log = ["Executing lifecycle version 0.6.1", "===> DETECTING",
           "[detector] ERROR: failed to read buildpack order file: open /buildpacks/order.toml: no such file",
           "ERROR  failed with status code: 1"]
    assert signature_and_line(log) == ("unknown", 3)


def test_an_app_instance_container_created_after_staging_hands_the_failure_below_to_the_app():
    stg = "2017-05-07T15:29:03.16+0800 [STG/0] OUT        "
    app = "2017-05-07T15:30:08.30+0800 [APP/0] ERR "
    log = [f"{stg}node-pre-gyp ERR! Pre-built binaries not found for bcrypt@1.0.2 (falling back to source compile)",
           "2017-05-07T15:30:00.39+0800 [CELL/0] OUT Successfully created container", f"{app}    ^",
           f"{app}Error: Cannot find module 'bluebird'", f"{app}    at Function.Module._load (module.js:276:25)"]
    assert signature_and_line(log) == ("container-start-failed", 4)


def test_a_pre_paketo_buildpacks_header_marks_a_buildpacks_build():
    log = ["Pivotal Build System Buildpack 1.0.97", "  fork/exec /workspace/mvnw: permission denied"]
    assert signature_and_line(log) == ("buildpacks-build-failed", 2)


def test_googles_failure_quoting_only_npms_script_banner_is_read_at_npms_lines_above():
    step = 'Step #3 - "build": '
    log = [f"{step}npm ERR! code ELIFECYCLE", f"{step}npm ERR! errno 1",
           f"{step}npm ERR! sharp@0.18.4 install: `node-gyp rebuild`", f"{step}npm ERR! Exit status 1",
           f'{step}Done "npm install --quiet (NODE_ENV=production)" (4.469620576s)',
           f"{step}Failure: (ID: 49341d49) > sharp@0.18.4 install /workspace/node_modules/sharp",
           f"{step}> node-gyp rebuild"]
    top = top_of(log)
    assert top.signature == "buildpacks-build-failed" and top.line in (1, 2, 3)


def test_pip_crashing_in_its_own_script_is_pip_failing():
    log = ["Traceback (most recent call last):", '  File "/app/.heroku/python/bin/pip", line 9, in <module>',
           "    load_entry_point('pip==1.5.6', 'console_scripts', 'pip')()",
           '  File "/app/.heroku/python/lib/python2.7/site-packages/pip-1.5.6-py2.7.egg/pip/basecommand.py", line 161',
           "    text = '\\n'.join(complete_log)",
           "UnicodeDecodeError: 'ascii' codec can't decode byte 0xe2 in position 36: ordinal not in range(128)", "",
           " !     Push rejected, failed to compile Multipack app"]
    assert signature_and_line(log) == ("pip-install-failed", 6)
    # ... not a buildpack's own tool that imports pip and fails in it
    tool = [log[0], '  File "/tmp/buildpack/vendor/pip-pop/pip-diff", line 35, in load'] + log[3:]
    assert top_of(tool).signature == "buildpacks-build-failed"


# ---- round 105: Cloud Foundry's crash event, Windows' shells, Render, CapRover, CodeBuild, Nixpacks ------------

CF_WINDOWS_CRASH = ["2017-09-15T16:01:53.83-0400 [STG/0] OUT -----> Hwc Buildpack version 2.3.2",
                    "2017-09-15T16:01:54.77-0400 [STG/0] OUT Exit status 0",
                    "2017-09-15T16:01:56.57-0400 [CELL/0] OUT Creating container",
                    "2017-09-15T16:02:00.12-0400 [APP/PROC/WEB/0] OUT Running cmd /c .\\\\app --server.urls "
                    "http://*:%PORT%",
                    "2017-09-15T16:02:00.12-0400 [APP/PROC/WEB/0] ERR '.\\\\app' is not recognized as an internal or "
                    "external command,",
                    "2017-09-15T16:02:00.12-0400 [APP/PROC/WEB/0] ERR operable program or batch file.",
                    "2017-09-15T16:02:00.13-0400 [APP/PROC/WEB/0] OUT Exit status 1",
                    "2017-09-15T16:02:00.87-0400 [CELL/0] OUT Destroying container",
                    '2017-09-15T16:02:01.26-0400 [API/0] OUT Process has crashed with type: "web"']


def test_cloud_foundrys_crash_event_is_read_at_the_instances_own_words_above_it():
    # Windows' cmd not finding the start command says why the instance crashed; the crash event only sums it up
    assert signature_and_line(CF_WINDOWS_CRASH) == ("container-start-failed", 5)


def test_a_windows_shell_unable_to_find_a_tool_is_no_builders_failure():
    log = ['Running skaffold command: cmd.exe /c C:\\Users\\me\\AppData\\Local\\Google\\Cloud SDK\\bin\\skaffold.exe '
           'init --artifact {"image":"gcr.io/p/app","builder":"Buildpacks","payload":{"builder":'
           '"gcr.io/buildpacks/builder:v1"}}',
           "'C:\\Users\\me\\AppData\\Local\\Google\\Cloud' is not recognized as an internal or external command,",
           "operable program or batch file."]
    assert signature_and_line(log) == ("unknown", 2)


@pytest.mark.parametrize("verdict", ["==> Exited with status 1", "==> Exited with status 1 while running your code.",
                                     "==> Port scan timeout reached, no open ports detected. Bind your service to at "
                                     "least one port."])
def test_renders_deploy_whose_process_exited_or_never_listened_is_a_start_that_failed(verdict):
    log = ["Pushing image to registry...", "Upload succeeded", "==> Deploying...",
           "==> No open ports detected, continuing to scan...",
           "==> Docs on specifying a port: https://render.com/docs/web-services#port-binding", verdict]
    assert signature_and_line(log) == ("container-start-failed", 6)
    # ... not its build's
    assert top_of(["==> Running build command 'npm run build'...", "sh: 1: vite: not found",
                   "==> Exited with status 127 while building your code."]).signature != "container-start-failed"


@pytest.mark.parametrize("log, expected", [
    # a Node.js tool's error opening the Dockerfile (CapRover)
    (["Build started for project", "Build has failed!", "Deploy failed!",
      "Error: ENOENT: no such file or directory, open '/captain/temp/image_raw/project/27/source_files/Dockerfile'"],
     ("dockerfile-not-in-upload", 4)),
    # git unable to fetch a buildpack's own repository: no buildpack's failure
    (["2015-11-27T04:57:15.04-0500 [STG/0]      OUT -----> Downloaded app package (1.1M)",
      "2015-11-27T04:57:15.90-0500 [STG/0]      ERR     Cloning into '/tmp/buildpacks/java-buildpack'...",
      "2015-11-27T05:00:17.08-0500 [STG/0]      ERR fatal: unable to access "
      "'https://github.com/cloudfoundry/java-buildpack.git/': gnutls_handshake() failed"], ("unknown", 3)),
    # AWS CodeBuild's verdicts give way to the command's own words
    (["[Container] 2018/12/21 14:09:24 Entering phase INSTALL",
      "[Container] 2018/12/21 14:09:24 Running command pip install --upgrade pip",
      "/codebuild/output/tmp/script.sh: 4: /codebuild/output/tmp/script.sh: pip: not found", "",
      "[Container] 2018/12/21 14:09:24 Command did not exit successfully pip install --upgrade pip exit status 127",
      "[Container] 2018/12/21 14:09:24 Phase complete: INSTALL Success: false",
      "[Container] 2018/12/21 14:09:24 Phase context status code: COMMAND_EXECUTION_ERROR Message: Error while "
      "executing command: pip install --upgrade pip. Reason: exit status 127"], ("unknown", 3)),
    # Nixpacks' banner gives way to its reason
    (["==============", "Using Nixpacks", "==============", "Nixpacks build failed", "", "",
      "Nixpacks was unable to generate a build plan for this app.",
      "Please check the documentation for supported languages: https://nixpacks.com"], ("unknown", 7)),
])
def test_round_105s_wordings(log, expected):
    assert signature_and_line(log) == expected


# ---- round 106's tuning: BuildKit's refused export ------------------------------------------------------------

def test_buildkits_bare_refusal_below_its_push_of_layers_is_a_refused_push():
    log = ["#32 exporting to image", "#32 pushing layers 1.5s done", "#32 ERROR: unexpected status: 403 Forbidden",
           "------", " > exporting to image:", "------", "ERROR: failed to solve: unexpected status: 403 Forbidden"]
    assert signature_and_line(log) == ("push-permission-denied", 3)
    # ... not the same words answering a pull of the base image
    pull = ["#4 [internal] load metadata for ghcr.io/acme/base:1", "#4 ERROR: unexpected status: 403 Forbidden",
            "ERROR: failed to solve: ghcr.io/acme/base:1: unexpected status: 403 Forbidden"]
    assert top_of(pull).signature != "push-permission-denied"


# ---- round 106: fixed after its measurement ------------------------------------------------------------------

@pytest.mark.parametrize("log, expected", [
    # libcnb (2020) naming the stack in its refusal of a dependency version
    (['failed to satisfy "dotnet-runtime" dependency for stack "io.buildpacks.stacks.bionic" with version constraint '
      '"2.1.0": no compatible versions. Supported versions are: [3.1.17, 5.0.9]',
      "Paketo .NET Core Runtime Buildpack 0.2.0"], ("buildpacks-python-version", 1)),
    # Oryx's buildpacks refusing a platform version
    (["[builder] Timer: Builder ran for 13.6s and ended at 2024-01-24T09:16:59Z",
      "[builder] ERROR: failed to build: exit status 1",
      ", stderr: [builder] Error: Platform 'nodejs' version '>=>=14.0.0' is unsupported. Supported versions: 12.19.0",
      "ERROR: failed to build: executing lifecycle: failed with status code: 51"], ("buildpacks-python-version", 3)),
    # docker before 1.7 prompting for a login it cannot read
    (["203ac7c888b0: Image push failed", "", "Please login prior to push:", "Username: EOF",
      "Build step 'Execute shell' marked build as failure"], ("push-permission-denied", 3)),
    # App Runner's verdict (newest first) gives way to its deployment log's own line
    (["06-06-2021 08:59 PM Deployment failed. **For details, see service logs.**",
      "06-06-2021 08:41 PM Successfully pulled image from ECR.", "", "Deployment logs", "",
      "06-06-2021 08:59 PM Failed to deploy your application image."], ("unknown", 6)),
    # Oryx's closing verdict gives way to the build's own (yarn's, whose cause was cut off above)
    (["error Command failed with exit code 1.", "info Visit https://yarnpkg.com/en/docs/cli/run for documentation",
      "", "---End of Oryx build logs---", "Oryx has failed to build the solution."], ("unknown", 1)),
])
def test_round_106s_wordings(log, expected):
    assert signature_and_line(log) == expected


# ---- round 107: fixed after its measurement ------------------------------------------------------------------

def test_buildkits_verdict_is_read_at_the_failed_steps_last_output_in_its_report():
    # no word of the step's output names a failure: its last line is still why (a Go too old for go.mod)
    log = [" > [linux/amd64 builder 5/6] RUN go mod download:",
           "0.059 go: go.mod requires go >= 1.24.0 (running go 1.23.5; GOTOOLCHAIN=local)", "------", "Dockerfile:6",
           "--------------------", "   5 |     COPY . /app", "   6 | >>> RUN go mod download", "--------------------",
           'ERROR: failed to build: failed to solve: process "/bin/sh -c go mod download" did not complete '
           "successfully: exit code: 1"]
    assert signature_and_line(log) == ("unknown", 2)


@pytest.mark.parametrize("log, expected", [
    # the buildpacks launcher finding no default process in the image it starts
    (["Waiting for deployments to stabilize...",
      " - app:deployment/backend: container backend terminated with exit code 82",
      "      > [backend-56585887b4-zrm4h backend] ERROR: failed to launch: determine start command: when there is no "
      "default process a command is required"], ("buildpacks-no-entrypoint", 3)),
    # pip 1.x finding no download of a pinned requirement
    (["remote: Downloading/unpacking azure-iothub-device-client==1.3.2 (from -r requirements.txt (line 1))",
      "remote: Could not find any downloads that satisfy the requirement azure-iothub-device-client==1.3.2",
      "remote: Cleaning up...", "remote: No distributions at all found for azure-iothub-device-client==1.3.2",
      "remote: An error has occurred during web site deployment."], ("pip-install-failed", 2)),
    # Skaffold's closing verdict gives way to the resource that failed above it
    (["Status check started", "Resource pod/app-554bbbbc57-csf5j status failed with container server is waiting to "
      "start: gcr.io/p/app:latest can't be pulled", "Status check failed", "",
      "Update failed with error code STATUSCHECK_IMAGE_PULL_ERR"], ("unknown", 2)),
])
def test_round_107s_wordings(log, expected):
    assert signature_and_line(log) == expected


# ---- round 108's tuning ----------------------------------------------------------------------------------------

def test_buildkits_cache_backend_missing_a_blob_is_no_missing_context_file():
    log = ["#18 [11/19] COPY requirements.txt .", "#18 ERROR: blob not found", "------",
           " > [11/19] COPY requirements.txt .:", "------",
           "error: failed to solve: failed to compute cache key: blob not found"]
    assert signature_and_line(log) == ("unknown", 2)
    # ... while a file the context lacks is
    missing = log[:1] + ['#18 ERROR: failed to compute cache key: "/requirements.txt": not found']
    assert top_of(missing).signature == "docker-copy-source-missing"


def test_msbuilds_count_of_no_errors_is_not_the_line_to_read():
    log = ["Step 10/23 : RUN dotnet build", "Build succeeded.", "    0 Warning(s)", "    0 Error(s)", "",
           "Step 11/23 : FROM build AS testrunner",
           "pull access denied for build, repository does not exist or may require 'docker login': denied: requested "
           "access to the resource is denied"]
    assert signature_and_line(log) == ("unknown", 7)


# ---- round 108: fixed after its measurement ------------------------------------------------------------------

def test_nodes_error_is_read_at_the_cause_it_prints_below_its_frames():
    log = ["[INFO] Docusaurus version: 3.1.0", "Error: Unable to build website for locale en.",
           "    at tryToBuildLocale (/repo/node_modules/@docusaurus/core/lib/commands/build.js:55:19)",
           "    at async Command.build (/repo/node_modules/@docusaurus/core/lib/commands/build.js:82:21) {",
           "  [cause]: Error: Docusaurus found broken links!", "",
           "Please check the pages of your site in the list below"]
    assert signature_and_line(log) == ("unknown", 5)
    # ... and at the error itself when no cause follows its frames
    assert signature_and_line(log[:3] + ["Done in 2s."]) == ("unknown", 2)


@pytest.mark.parametrize("log, expected", [
    # docker before 17.06 below a COPY step, as a poster put it in bold
    (["Step 1/7 : FROM docker.io/nginx:latest", " ---> c82521676580",
      "**Step 2/7 : COPY default.conf /etc/nginx/conf.d/default.conf.templ",
      "lstat default.conf: no such file or directory**", "[Pipeline] End of Pipeline",
      "ERROR: script returned exit code 1"], ("docker-copy-source-missing", 4)),
    # IBM Cloud's Delivery Pipeline finding no Dockerfile
    (["DOCKER_FILE=Dockerfile", "Checking for Dockerfile at the repository root", "Dockerfile not found at: Dockerfile",
      "", "Finished: FAILED"], ("dockerfile-not-in-upload", 3)),
])
def test_round_108s_wordings(log, expected):
    assert signature_and_line(log) == expected


# ---- round 109: fixed after its measurement ------------------------------------------------------------------

@pytest.mark.parametrize("log, expected", [
    # a Flutter buildpack cloning the SDK's branch for the version asked for
    (["remote: -----> https://buildpack-registry.s3.amazonaws.com/buildpacks/ee/flutter.tgz app detected",
      "remote: -----> Installing SDK from Github repository.",
      "remote: warning: Could not find remote branch v2.8.1 to clone.",
      "remote: fatal: Remote branch v2.8.1 not found in upstream origin",
      "remote:  !     Push rejected, failed to compile https://buildpack-registry.s3.amazonaws.com/x.tgz app."],
     ("buildpacks-python-version", 3)),
    # Fly.io's machine whose start command is missing, and its app that does not listen where the proxy looks
    (["2022-09-06T11:20:36Z app[f7d972e9] nrt [info]bash: gunicorn: command not found",
      "2022-09-06T11:20:37Z app[f7d972e9] nrt [info]Starting clean up."], ("container-start-failed", 1)),
    (["WARNING The app is not listening on the expected address and will not be reachable by fly-proxy.",
      "You can fix this by configuring your app to listen on the following addresses:", "  - 0.0.0.0:7842"],
     ("container-start-failed", 1)),
    # BuildKit's missing context file whose ref a poster redacted
    (["#10 [production-deps 3/4] ADD package.json package-lock.json .npmrc ./",
      '#10 ERROR: failed to calculate checksum of [REDACTED]: "/package-lock.json": not found', "------",
      "Error: failed to fetch an image or build from source: error building: failed to solve: failed to compute cache "
      'key: failed to calculate checksum of [REDACTED]: "/package-lock.json": not found'],
     ("docker-copy-source-missing", 2)),
    # pip refusing a wheel it downloaded
    (["ERROR: Wheel 'botocore' located at /tmp/pip-unpack-6pji9o0y/botocore-1.12.198-py2.py3-none-any.whl is invalid.",
      "", '--> ERROR: process "/bin/sh -c pip install -r /tmp/requirements.txt" did not complete successfully: exit '
      "code: 1"], ("pip-install-failed", 1)),
    # Heroku's closing verdict on a push sums up its own `!` lines above
    (["-----> Compressing...", "", " !     Compiled slug size: 826.7M is too large (max is 500M).", "",
      " !     See: http://devcenter.heroku.com/articles/slug-size", "", " !     Push failed"], ("unknown", 3)),
])
def test_round_109s_wordings(log, expected):
    assert signature_and_line(log) == expected


# ---- round 110's tuning ----------------------------------------------------------------------------------------

def test_app_runners_failed_health_check_is_a_start_that_failed():
    log = ["08-28-2023 07:58:27 PM [AppRunner] Health check failed on port '3000'. Check your configured port number. "
           "For more information, read the application logs.",
           "08-28-2023 07:52:22 PM [AppRunner] Performing health check on path '/' and port '3000'.",
           "08-28-2023 07:52:01 PM [AppRunner] Successfully copied the image from ECR."]
    assert signature_and_line(log) == ("container-start-failed", 1)


# ---- round 110: fixed after its measurement ------------------------------------------------------------------

@pytest.mark.parametrize("log, expected", [
    # no start command or run command from the buildpacks or the app: Cloud Foundry's launcher, Koyeb's builder
    (["   2020-03-07T11:52:37.06+0100 [APP/PROC/WEB/0] ERR Error: no start command specified during staging or launch",
      "   2020-03-07T11:52:37.10+0100 [APP/PROC/WEB/0] OUT Exit status 1"], ("buildpacks-no-entrypoint", 1)),
    (["Instance created. Preparing to start...", "ERROR: no command to run your application: add a run command in your "
      "Service configuration or create a Procfile in your git repository.",
      "Application exited with code 1. This usually indicates an application failure."],
     ("buildpacks-no-entrypoint", 2)),
    # other platforms' verdicts on a container that did not start or answer
    (["2023-07-14T10:23:25.987Z ERROR - Container app_1_240b2df1 for site app did not start within expected time "
      "limit. Elapsed time = 230.6 sec", "2023-07-14T10:23:26.031Z ERROR - Container app_1_240b2df1 didn't respond to "
      "HTTP pings on port: 8000, failing site start. See container logs for debugging"], ("container-start-failed", 1)),
    (['{"Type":"Warning","ContainerAppName":"app","Msg":"Readiness Probe with executor HttpGetExecutor reached failure '
      'threshold 3, changing status to Failure.","Reason":"ProbeFailed","Count":1}'], ("container-start-failed", 1)),
    (["HTTP health check failed on port 8069.", "Instance stopped.", "Instance created. Preparing to start..."],
     ("container-start-failed", 1)),
    (["-> TasksFailed", "    1 Tasks have failed", "", "    Failure Reasons", "",
      "    Reason: Essential container in task exited", "      Container: app (STOPPED)", "        Exit code: 137",
      "        Reason: OutOfMemoryError: Container killed due to memory usage"], ("container-start-failed", 6)),
])
def test_round_110s_wordings(log, expected):
    assert signature_and_line(log) == expected


# ---- round 111: fixed after its measurement ------------------------------------------------------------------

def test_vercels_own_build_command_is_no_buildpack():
    log = ["[13:27:30.479] Running build in Washington, D.C., USA (East) – iad1",
           '[13:27:31.245] Running "vercel build"',
           "[13:27:32.135] Installing dependencies...", "[13:27:39.306] npm error code EUNSUPPORTEDPROTOCOL",
           '[13:27:39.306] npm error Unsupported URL Type "workspace:": workspace:*',
           '[13:27:39.354] Error: Command "npm install" exited with 1']
    assert signature_and_line(log) == ("unknown", 5)
    # ... while a buildpack's own `Running "..."` line still marks a buildpacks build
    assert top_of(['Running "npm run build"'] + log[3:]).signature == "buildpacks-build-failed"


def test_coolifys_rollback_of_an_unhealthy_container_is_a_start_that_failed():
    log = ['[2024-Mar-20 03:51:55.734183] Attempt 2 of 10 | Healthcheck status: "unhealthy"',
           "[2024-Mar-20 03:51:55.803961] Removing old containers.",
           "[2024-Mar-20 03:51:55.835095] New container is not healthy, rolling back to the old container.",
           "[2024-Mar-20 03:51:56.818985] Rolling update completed."]
    assert signature_and_line(log) == ("container-start-failed", 3)


# ---- round 112's tuning ----------------------------------------------------------------------------------------

def test_pyinstallers_verdict_gives_way_to_the_traceback_beside_it():
    log = ["#11 DONE 0.3s", "[3163] Failed to execute script docker-compose", "Traceback (most recent call last):",
           '  File "bin/docker-compose", line 3, in <module>', '  File "compose/service.py", line 1876, in build',
           "IndexError: list index out of range", "Error: Process completed with exit code 255"]
    assert signature_and_line(log) == ("unknown", 6)


# ---- after round 112: a start that failed on any platform (LABELLING.md, since round 113) -------------------

@pytest.mark.parametrize("log, line", [
    ([" Container coolify-db  Healthy", " Container coolify-realtime  Healthy", "container coolify is unhealthy"], 3),
    (["\tDeployment error\t", "Failed to deploy a stack: compose up operation failed: dependency failed to start: "
      "container pangolin is unhealthy"], 2),
    (["overall progress: rolling back update: 2 out of 2 tasks",
      "rollback: update rolled back due to failure or early termination of task 8jej8t73el7cgty3t5s4l6gwp",
      "verify: Service ximv0s6r8fgd17mdh6d100yuk converged"], 2),
])
def test_compose_and_swarm_containers_that_did_not_come_up_are_starts_that_failed(log, line):
    assert signature_and_line(log) == ("container-start-failed", line)


def test_an_error_word_glued_to_a_timestamp_is_still_one():
    # Zeabur's build log glues its time to each line (`14:14:04error ...`); inside a longer log, where that is no
    # decoration of every line, the word still names the error
    log = ["Step 1/2 : FROM node:18", " ---> 3933ccb62340", "14:14:03STEP 11/15: RUN yarn instypes.tall",
           "14:14:04yarn run v1.22.19", '14:14:04error Command "instypes.tall" not found.',
           "14:14:04info Visit https://yarnpkg.com/en/docs/cli/run for documentation about this command.",
           '14:14:04Error: building at STEP "RUN yarn instypes.tall": while running runtime: exit status 1',
           "14:14:04exit status 1"]
    assert signature_and_line(log) == ("unknown", 5)


# ---- round 114's tuning logs -----------------------------------------------------------------------------------

def test_a_thrown_errors_message_that_names_no_error_is_read_above_its_frames():
    # Cloudflare Pages' verdict on the build command sums up the output above it, where a JavaScript stack's message
    # names no error; the headers, place and rule a framework prints between the message and its frames are passed
    log = ["12:01:02.100 | Building 14 pages", "12:01:03.585 | entries.reduce is not a function",
           "12:01:03.585 | -- | --", "12:01:03.586 | Location:",
           "12:01:03.586 | /repo/node_modules/plugin/dist/index.js:9:7", "12:01:03.586 | Stack trace:",
           "12:01:03.586 | at build:done (file:///repo/node_modules/plugin/dist/index.js:9:7)",
           "12:01:03.586 | at async run (file:///repo/node_modules/tool/dist/cli/index.js:147:7)",
           "12:01:03.661 | Failed: Error while executing user command. Exited with error code: 1",
           "12:01:03.667 | Failed: build command exited with code: 1",
           "12:01:04.860 | Failed: error occurred while running build command"]
    assert signature_and_line(log) == ("unknown", 2)
    # ... and the same below npm's verdict on a script, past the error's own properties and an aside above its frames
    log = ["[TOOL] src/app.js: Requires tool-core ^7.0.0, but was loaded with 6.2.0.",
           '(While processing: "/app/index.js")',
           "    at throwVersion (/app/node_modules/utils/lib/index.js:63:11)", "    at Array.map (<anonymous>)",
           "    at Object.compile (/app/node_modules/cli/lib/util.js:71:18) {", "  code: 'VERSION_UNSUPPORTED',", "}",
           "npm ERR! code ELIFECYCLE", "npm ERR! errno 1", "npm ERR! app@1.0.0 build: `tool src --out-dir build`",
           "npm ERR! Exit status 1"]
    assert signature_and_line(log) == ("unknown", 1)
    # a blank line above the frames: no message of theirs to read
    assert signature_and_line(["Compiled.", ""] + log[2:]) == ("unknown", 10)
    # ... nor in a line without the timestamp each frame was printed with (the build's own, above a dyno's log)
    dyno = "2022-05-09T14:17:50.630614+00:00 app[web.1]: "
    log = ["49b91d6f-9bcc-4665  2018-11-20T09:49:12+00:00  1M1S  gs://p_cloudbuild/source/1542707346.tgz  -  SUCCESS",
           dyno + "    at ESMLoader.resolve (node:internal/modules/esm/loader:580:30)",
           dyno + "    at link (node:internal/modules/esm/module_job:78:36) {", dyno + "  code: 'ERR_MODULE_NOT_FOUND'",
           dyno + "}", "2022-05-09T14:17:50.760494+00:00 heroku[web.1]: Process exited with status 1",
           "2022-05-09T14:17:50.818170+00:00 heroku[web.1]: State changed from starting to crashed"]
    assert signature_and_line(log) == ("container-start-failed", 6)


# ---- after rounds 113 to 115: fixed after their measurement ----------------------------------------------------

@pytest.mark.parametrize("log, expected", [
    # Railway's runtime unable to start the container, and a Railway deploy's own log below its `Starting Container`
    (["========================", "Container Start Failure!", "========================",
      'rpc error: code = Unknown desc = Failed to start container:  "node" executable file not found in $PATH unknown'],
     ("container-start-failed", 4)),
    (["[INFO] [2025-01-02T10:00:00.000Z] [DEPLOY] Starting Container",
      "[ERROR] [2025-01-02T10:00:02.000Z] [DEPLOY] /docker-entrypoint.sh: exec: line 8: ./bin/run.sh: not found"],
     ("container-start-failed", 2)),
    # Fly.io's smoke checks on a machine that crashed, and Shuttle's deployer on a service that did
    (["Preparing to run: `/app/bin/server` as app",
      "Error: smoke checks for 3d8d9e1f2a0b98 failed: the app appears to be crashing"], ("container-start-failed", 2)),
    (["INFO Entering loading state", "INFO Entering crashed state",
      'ERROR {error="Failed to get runtime"} shuttle_deployer::deployment::run: service startup encountered an error'],
     ("container-start-failed", 3)),
    # cargo install's report, read at the cause under its `Caused by:`
    (["error: failed to compile `sqlx-cli v0.8.2`, intermediate artifacts can be found at `/tmp/cargo-installX`.", "",
      "Caused by:", "  rustc 1.75.0 is not supported by the following package:",
      "    sqlx-cli@0.8.2 requires rustc 1.78"],
     ("unknown", 4)),
    # podman's COPY from another stage whose path is missing there (no build context's), and one from the context
    (["[2/2] STEP 3/5: COPY --from=builder /out/app /app",
      'Error: building at STEP "COPY --from=builder /out/app /app": checking on sources under "/var/lib/containers/'
      'storage/overlay/abc/merged": copier: stat: "/out/app": no such file or directory'], ("unknown", 2)),
    (["[2/2] STEP 3/5: COPY app.py /app",
      'Error: building at STEP "COPY app.py /app": checking on sources under "/home/ci/src": copier: stat: '
      '"/app.py": no such file or directory'], ("docker-copy-source-missing", 2)),
    # Jenkins' verdict on a pipeline's `sh` step is no line to read: the step's own output above says why
    (["+ kubectl apply -f deploy.yml",
      'unable to recognize "deploy.yml": no matches for kind "Deployment" in version "extensions/v1beta1"',
      "[Pipeline] End of Pipeline", "ERROR: script returned exit code 1", "Finished: FAILURE"], ("unknown", 2)),
    # docker 1.x's client (OpenShift's builder) refused as it starts a push's upload
    (["I0903 11:57:52.941852       1 sti.go:134] Pushing 172.30.1.1:5000/ns/app image ...",
      "F0903 11:59:01.105431       1 builder.go:70] Build error: Failed to push image: Error pushing to registry: "
      "Server error: unexpected 400 response status trying to initiate upload of ns/app"],
     ("push-permission-denied", 2)),
    # buildah's and podman's push verdict with the registry's refusal in it, and without one (no refusal: unknown)
    (["Getting image source signatures",
      'error pushing image "registry.example.org/team/app" to "docker://registry.example.org/team/app": Error trying '
      "to reuse blob sha256:4a2b at destination: error pinging docker registry registry.example.org: invalid status "
      "code from registry 404 (Not Found)"], ("push-permission-denied", 2)),
    (["Getting image source signatures",
      'error pushing image "registry.example.org/team/app" to "docker://registry.example.org/team/app": writing blob: '
      "dial tcp 10.0.0.1:443: connect: connection refused"], ("unknown", 2)),
])
def test_wordings_from_rounds_113_to_115(log, expected):
    assert signature_and_line(log) == expected


def test_a_message_repeated_at_the_end_is_read_where_first_said_however_it_is_indented():
    # (an indented paste below unindented lines keeps its indentation: the error tag is found after it)
    log = ["Run docker/login-action@v3", "  Warning: Docker login for 'ghcr.io' failed with exit code 1, back off 3 s.",
           "  Error: Docker login for 'ghcr.io' failed with exit code 1"]
    assert signature_and_line(log) == ("unknown", 2)


# ---- after round 116: fixed after its measurement ---------------------------------------------------------------

@pytest.mark.parametrize("log, expected", [
    # Fly.io's deployment monitor on an instance that never became healthy
    (["==> Monitoring deployment", "",
      " 1 desired, 1 placed, 0 healthy, 1 unhealthy [restarts: 2] [health checks: 1 total]", "Failed Instances"],
     ("container-start-failed", 3)),
    # ... and its release command's failure, read at the first error in the machine's lines it fetches below
    (["Running app release_command: /app/bin/migrate", " ✖ release_command failed",
      "Error release_command failed running on machine 7819650f029e18 with exit code 1.",
      "Checking logs: fetching the last 100 lines below:",
      "2026-03-27T00:36:47Z  INFO Preparing to run: `/app/bin/migrate`",
      "2026-03-27T00:36:47Z Machine started in 1.195s", "2026-03-27T00:36:48Z ERROR! Config provider failed with:",
      "2026-03-27T00:36:48Z ** (RuntimeError) environment variable SECRET_KEY_BASE is missing."], ("unknown", 7)),
    # Posit Connect's launcher of a Python app in the frames of what the app raised as it started
    (["2024/01/02 10:00:00 AM: Unexpected error while running Python API: No module named 'dash_table'",
      "2024/01/02 10:00:00 AM: Traceback (most recent call last):",
      '2024/01/02 10:00:00 AM:   File "/opt/rstudio-connect/python/connect_dash_runtime.py", line 120, in main'],
     ("container-start-failed", 1)),
    # yarn berry's frozen lockfile, read at its message, not at the lockfile's diff printed above it
    (["➤ YN0028: │ +\"left-pad@npm:^1.3.0\":", "➤ YN0028: │ +  version: 1.3.0", "➤ YN0000: │",
      "➤ YN0028: │ The lockfile would have been modified by this install, which is explicitly forbidden.",
      "➤ YN0000: · Failed with errors in 0s 129ms", "Failed: error occurred while installing tools or dependencies"],
     ("unknown", 4)),
])
def test_wordings_from_round_116(log, expected):
    assert signature_and_line(log) == expected


# ---- round 117's tuning logs -------------------------------------------------------------------------------------

def test_a_pod_in_crashloopbackoff_is_a_start_that_failed():
    log = ["$ kubectl get pods", "NAME                       READY     STATUS             RESTARTS   AGE",
           "web-755c6f9496-hgdnr       0/1       CrashLoopBackOff   3          1m",
           "$ kubectl logs web-755c6f9496-hgdnr",
           "Error: -jar requires jar file specification"]
    assert signature_and_line(log[:3]) == ("container-start-failed", 3)
    # the container's own words below it, in `kubectl logs`, say why (since round 133)
    assert signature_and_line(log) == ("container-start-failed", 5)
    # (the word inside another, or a status that is no crash, is none)
    assert signature_and_line(log[:2] + ["web-755c6f9496-hgdnr       0/1       ImagePullBackOff   0          1m"]) == \
        ("unknown", 3)


# ---- after round 117: fixed after its measurement ---------------------------------------------------------------

@pytest.mark.parametrize("log, expected", [
    # AWS's and Azure's verdicts on new instances or tasks that never came up healthy
    (["There was an error deploying web", 'Resource handler returned message: "Error occurred during operation '
      "'ECS Deployment Circuit Breaker was triggered'.\" (RequestToken: f64c, HandlerErrorCode: "
      "GeneralServiceException)"],
     ("container-start-failed", 2)),
    (["2022-05-06 15:30:43 UTC+0700 | ERROR | Failed to deploy application.",
      "2022-05-06 15:30:43 UTC+0700 | ERROR | Instance id(s) 'i-0abc' did not pass health check after command "
      "execution. Aborting the operation."], ("container-start-failed", 2)),
    (["[WARNING] WARNING: Run failed: Time out: ELB failed to put instances in service within 300 seconds",
      "=> check the instance logs"], ("container-start-failed", 1)),
    (["[3/3] Updating deployment in app 'orders' (this operation can take a while to complete)",
      "112404: Failed to wait for deployment instances to be ready. Please check the application log, and try again."],
     ("container-start-failed", 2)),
    # ... but not when ECS says its tasks could not pull their image: they never started
    (['Resource handler returned message: "Error occurred during operation \'ECS Deployment Circuit Breaker was '
      "triggered'.\"", "", "   Task stopped: CannotPullContainerError: pull image manifest has been retried 1 time(s)"],
     ("unknown", 1)),
    # a module's advice below its error is no line to read
    (["3:36:58 PM: Something went wrong installing the \"sharp\" module",
      "3:36:58 PM: Cannot find module '../build/Release/sharp.node'",
      "3:36:58 PM: - Search for this error at https://github.com/lovell/sharp/issues"], ("unknown", 2)),
])
def test_wordings_from_round_117(log, expected):
    assert signature_and_line(log) == expected


# ---- round 118's tuning logs -------------------------------------------------------------------------------------

@pytest.mark.parametrize("log, expected", [
    # the docker CLI refusing how it was called names the failure, before make's verdict on the recipe
    (["docker build ''  -t example/app:latest -f deploy/Dockerfile .", '"docker build" requires exactly 1 argument.',
      "See 'docker build --help'.", "Makefile:59: recipe for target 'images' failed", "make: *** [images] Error 1"],
     ("unknown", 2)),
    # a tool quoting the docker build it ran is read at docker's own verdict below
    (["[ ✖ ] Failed to build container image.",
      "Error: attempted to build and failed: docker build failed: exit status 1, output:", "Dockerfile:53",
      "--------------------", "  53 | >>> RUN go test ./...", "--------------------",
      'ERROR: failed to build: failed to solve: process "/bin/sh -c go test ./..." did not complete successfully: '
      "exit code: 1"], ("unknown", 7)),
])
def test_wordings_from_round_118s_tuning_logs(log, expected):
    assert signature_and_line(log) == expected


def test_deno_deploys_isolate_whose_code_threw_as_it_started_is_a_start_that_failed():
    log = ["✔ Uploaded 5 new assets.", "✖ Deployment failed.", "error: The deployment failed: UNCAUGHT_EXCEPTION", "",
           "TypeError: Deno.env.toObject is not a function", "    at main (file:///src/main.ts:3:19)"]
    assert signature_and_line(log) == ("container-start-failed", 3)


def test_the_supabase_clis_bundling_verdict_is_read_at_the_bundlers_error_below_it():
    log = ["Bundling chat", "Error: Error bundling function: exit status 1", "file:///src/import_map.json",
           "file:///src/index.ts", "file:///_shared/cors.ts", "file:///_shared/db.ts",
           'error: Uncaught (in promise) Error: Relative import path "fs" not prefixed with / or ./ or ../',
           "    at __wbg_new (https://deno.land/x/eszip@v0.30.0/eszip_wasm.generated.js:312:19)"]
    assert signature_and_line(log) == ("unknown", 7)


def test_netlifys_error_box_headers_are_no_lines_to_read():
    log = ["4:49:58 PM: Packaging Edge Functions from .netlify/edge-functions directory:",
           '4:50:04 PM: TypeError: Cannot read properties of undefined (reading "exec")',
           "4:50:04 PM:     at file:///opt/build/repo/.netlify/edge-functions/server/server.js:1:353021",
           "4:50:04 PM: Bundling of edge function failed", "4:50:04 PM:   Error message",
           '4:50:04 PM:   Could not load edge function at "/opt/build/repo/server.js".', "4:50:04 PM:   Error location",
           "4:50:04 PM:   While bundling edge function"]
    assert signature_and_line(log) == ("unknown", 2)


def test_a_verdict_that_quotes_the_build_output_below_it_is_read_at_the_outputs_error():
    log = ["2026-05-20 01:10:39.168 ERROR (MainThread) [supervisor.addons.addon] Could not build image for app x: "
           "Docker build failed for x/aarch64-addon:1.0 (exit code 1). Build output:",
           "#1 [internal] load build definition from Dockerfile",
           "#1 WARN: InvalidDefaultArgInFrom: Default value for ARG $BUILD_FROM results in empty or invalid base image",
           "#1 DONE 0.0s", "Dockerfile:2", "--------------------", "   1 |     ARG BUILD_FROM",
           "   2 | >>> FROM $BUILD_FROM", "--------------------",
           "ERROR: failed to build: failed to solve: base name ($BUILD_FROM) should not be blank"]
    assert signature_and_line(log) == ("unknown", 10)


def test_a_platform_refusing_a_runtime_it_retired_is_the_line_to_read():
    log = ["    at IncomingMessage.onEnd (/usr/lib/node_modules/aws-sdk/lib/event_listeners.js:307:13)",
           "    at processTicksAndRejections (internal/process/task_queues.js:81:17)", "  message:",
           "   'The runtime parameter of nodejs6.10 is no longer supported for creating or updating AWS Lambda "
           "functions. We recommend you use the new runtime (nodejs12.x) while creating or updating functions.',",
           "  code: 'InvalidParameterValueException',", "  statusCode: 400,", "  retryable: false,"]
    assert names_failure(log[3])
    assert signature_and_line(log) == ("unknown", 4)


def test_pips_report_on_a_rust_extension_is_read_at_maturins_sentence_on_the_missing_cargo():
    log = ["  Preparing metadata (pyproject.toml): finished with status 'error'",
           "  error: subprocess-exited-with-error", "  ",
           "  × Preparing metadata (pyproject.toml) did not run successfully.", "  │ exit code: 1",
           "  ╰─> [6 lines of output]", "      Checking for Rust toolchain...", "      ",
           "      Cargo, the Rust package manager, is not installed or is not on PATH.",
           "      This package requires Rust and Cargo to compile extensions. Install it through",
           "      [end of output]",
           "  ", "  note: This error originates from a subprocess, and is likely not a problem with pip.",
           "error: metadata-generation-failed"]
    assert signature_and_line(log) == ("pip-install-failed", 9)


def test_gos_http_client_giving_up_names_a_failure():
    log = ["  Step 1/4 : FROM ghcr.io/example/tool:0.0.34",
           '  Head "https://ghcr.io/v2/example/tool/manifests/0.0.34": Get "https://ghcr.io/token?scope=x": net/http: '
           "request canceled (Client.Timeout exceeded while awaiting headers)",
           "  Warning: Docker build failed with exit code 1, back off 5.737 seconds before retry.",
           "  Sending build context to Docker daemon  28.08MB", "  Step 1/4 : FROM ghcr.io/example/tool:0.0.34"]
    assert names_failure(log[1])
    assert signature_and_line(log) == ("unknown", 2)


def test_pips_verdict_on_wheels_it_could_not_build_is_read_at_the_builds_error_above():
    log = ["149.9     error: [Errno 2] No such file or directory: 'gcc'", "149.9     [end of output]", "149.9 ",
           "149.9     note: This error originates from a subprocess, and is likely not a problem with pip.",
           "149.9     ERROR: Failed building wheel for blis", "149.9   Failed to build murmurhash cymem blis",
           "149.9   ERROR: Could not build wheels for murmurhash, cymem, blis, which is required to install "
           "pyproject.toml-based projects"]
    assert signature_and_line(log) == ("pip-install-failed", 1)


def test_a_platform_refusing_a_function_for_its_size_is_the_line_to_read():
    log = ['2:33:04 PM: The function "___NETLIFY-ODB-HANDLER" is larger than the 50MB limit. Please consider '
           'reducing it.',
           "2:33:55 PM: Failed to upload file: ___netlify-handler", "2:34:05 PM: Section completed: deploying",
           "2:34:06 PM: Execution cancelled", "2:34:06 PM: Error running command: Command was cancelled",
           "2:34:06 PM: Failing build: Failed to build site"]
    assert names_failure(log[0])
    assert names_failure("remote:  !     Compiled slug size: 826.7M is too large (max is 500M).")
    assert signature_and_line(log) == ("unknown", 1)


def test_the_serverless_frameworks_link_to_the_stacks_events_is_no_line_to_read():
    log = ["Serverless: Checking Stack update progress...", "....", "Serverless: Operation failed!",
           "Serverless: View the full error output: https://us-east-1.console.aws.amazon.com/cloudformation/home",
           " ", "  Serverless Error ---------------------------------------", " ",
           "  An error occurred: ApiLambdaFunction - Function code combined with layers exceeds the maximum allowed "
           "size of 262144000 bytes. (Service: AWSLambdaInternal; Status Code: 400)"]
    assert signature_and_line(log) == ("unknown", 8)


def test_a_go_panic_and_a_rust_threads_panic_name_a_failure():
    assert names_failure('> panic: unknown time zone "Europe/Berlin"')
    assert names_failure("thread 'main' panicked at src/main.rs:4:5:")
    assert not names_failure("recovered from a panic in the handler") and not names_failure("set -o panic:off")
    log = ["> Starting semaphore server", "> Loading config", "> Validating config",
           '> panic: unknown time zone "Europe/Berlin"', "> goroutine 1 [running]:",
           "> github.com/semaphoreui/semaphore/services/schedules.(*SchedulePool).init(0xc000254c90)",
           "> \t/go/src/semaphore/services/schedules/SchedulePool.go:115 +0xd4"]
    assert signature_and_line(log) == ("unknown", 4)


def test_a_docker_compose_containers_output_is_a_running_apps():
    log = ["ctfe-ctfe-1                 | /ct_server: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.32' not found "
           "(required by /ct_server)"]
    assert signature_and_line(log) == ("container-start-failed", 1)
    assert signature_and_line(["build-1 | /bin/sh: 1: make: not found"])[0] == "unknown"   # (no padded column)


def test_cloud_foundrys_java_buildpack_failing_its_compile_is_a_buildpacks_build():
    log = ["Starting app hello-spring-cloud in org kyland / space kyland as admin...",
           "-----> Downloaded app package (31M)",
           "[DownloadCache]                  WARN  Unable to download https://java-buildpack.cloudfoundry.org/container-"
           "certificate-trust-store/index.yml into cache /tmp: Failed to open TCP connection",
           "[Buildpack]                      ERROR Compile failed with exception #<RuntimeError: Container Certificate "
           "Trust Store error: Unable to find cached file>"]
    assert signature_and_line(log) == ("buildpacks-build-failed", 4)


def test_a_registry_refusing_the_manifest_an_app_platform_pulls_is_no_push():
    log = ["2025-06-02T12:23:49.153Z INFO  - Pulling image: example.azurecr.io/app:dev",
           '2025-06-02T12:23:49.489Z ERROR - DockerApiException: Docker API responded with status '
           'code=InternalServerError, response={"message":"Head \\"https://example.azurecr.io/v2/app/manifests/dev\\": '
           'unauthorized: authentication required, visit https://aka.ms/acr/authorization for more information."}',
           "2025-06-02T12:23:49.492Z ERROR - Image pull failed: Verify docker image configuration and credentials"]
    assert signature_and_line(log)[0] == "unknown"
    assert signature_and_line(["unauthorized: authentication required"])[0] == "push-permission-denied"


def test_the_go_command_refusing_a_module_for_a_newer_go_names_a_failure():
    log = ["Status: Downloaded newer image for gcr.io/k8s-staging-test-infra/gcb-docker-gcloud:v20240718",
           "go: go.mod requires go >= 1.22.8 (running go 1.22.5; GOTOOLCHAIN=local)", "make build-bins",
           "make[1]: *** [Makefile:106: .build/bin/vsphere-csi.linux_amd64] Error 1",
           "make: *** [Makefile:195: deploy] Error 2", "ERROR",
           'ERROR: build step 0 "gcr.io/k8s-staging-test-infra/gcb-docker-gcloud" failed: step exited with non-zero '
           "status: 2"]
    assert names_failure(log[1])
    assert signature_and_line(log) == ("unknown", 2)


def test_poetry_looking_for_another_python_is_no_refused_version_yet():
    notice = "The currently activated Python version 2.7.17 is not supported by the project (^3.6.1)."
    assert signature_and_line([notice])[0] == "buildpacks-python-version"
    log = ["Step 10/14 : RUN poetry install --no-ansi", notice, "Trying to find and use a compatible version. ",
           "Using python3 (3.6.9)", "Installing dependencies from lock file", "", "[SolverProblemError]",
           "The current project's Python requirement (2.7.17) is not compatible with some of the required packages "
           "Python requirement:", "So, because hyperglass depends on flake8-comprehensions (^3.1.4), version solving "
           "failed.", "The command '/bin/sh -c poetry install --no-ansi' returned a non-zero code: 1"]
    assert signature_and_line(log)[0] != "buildpacks-python-version"


def test_vercels_build_is_no_buildpacks_build_though_it_runs_the_build_script_in_the_same_words():
    log = ['Running "pnpm run build"', "> registry@0.1.0 build /vercel/path0", "> next build", "Failed to compile.",
           "./registry/patterns/accordion-form-1.tsx:1:23",
           "Type error: Cannot find module '@faker-js/faker' or its corresponding type declarations.",
           "Next.js build worker exited with code: 1 and signal: null",
           " ELIFECYCLE  Command failed with exit code 1.", 'Error: Command "pnpm run build" exited with 1']
    assert signature_and_line(log) == ("unknown", 6)
    assert signature_and_line([line for line in log if "vercel" not in line and "Error: Command" not in line])[0] \
        == "buildpacks-build-failed"   # (Google's Node.js buildpack prints `Running "npm run build"` too)


def test_a_papertrail_line_without_the_colon_is_a_dynos_and_zeit_nows_build_is_vercels():
    dyno = ["Mar 24 02:38:07 njvax app/clock.1   File \"/app/notify/console.py\", line 7, in <module>",
            "Mar 24 02:38:07 njvax app/clock.1 KeyError: 'STATES'"]
    assert signature_and_line(dyno)[0] == "container-start-failed"
    now = ["> petme@1.0.0 preinstall /zeit/18b59264/node_modules/now", 'Running "npm run build"',
           "> petme@1.0.0 build /zeit/18b59264", "Error: Cannot find module '/zeit/18b59264/build'",
           "npm ERR! Failed at the petme@1.0.0 build script.", "Error: Exited with 1"]
    assert signature_and_line(now) == ("unknown", 4)


def test_dart_pubs_solver_failing_is_no_pip_failure_though_it_words_it_as_poetry_does():
    pub = ["Step 4/12 : RUN dart pub get", "Resolving dependencies...",
           "Because functions depends on domain from path which doesn't exist (could not find package domain at "
           '"../../domain"), version solving failed.',
           "The command '/bin/sh -c dart pub get' returned a non-zero code: 66"]
    assert signature_and_line(pub) == ("unknown", 3)
    poetry = ["Because myapp depends on pandas (^9.0) which doesn't match any versions, version solving failed."]
    assert signature_and_line(poetry)[0] == "pip-install-failed"


def test_elastic_beanstalks_events_send_the_reader_to_the_log_that_says_why():
    log = ["Create environment operation is complete, but with errors. For more information, see troubleshooting "
           "documentation.", "",
           "[Instance: i-09b310f4235bfc2e9] Command failed on instance. Return code: 1 Output: Engine execution has "
           "encountered an error..", "", "Instance deployment failed. For details, see 'eb-engine.log'.", "",
           "/var/log/web.stdout.log", "----------------------------------------",
           "Sep  7 07:55:56 ip-172-31-44-139 web: /bin/sh: application: command not found"]
    assert signature_and_line(log) == ("container-start-failed", 9)


def test_aws_lambdas_runtime_errors_on_code_it_could_not_load_are_a_start_that_failed():
    log = ['{"errorMessage": "Unable to import module \'app\': /lib64/libc.so.6: version `GLIBC_2.18\' not found '
           '(required by /var/task/rusty_rlp.cpython-37m-x86_64-linux-gnu.so)", "errorType": "Runtime.ImportModuleError"}',
           "Fri Sep 18 13:47:33 UTC 2020 : Lambda execution failed with status 200 due to customer function error"]
    assert signature_and_line(log)[0] == "container-start-failed"
    assert signature_and_line([log[1]])[0] == "unknown"   # (no runtime error type: the function may have run)


def test_kubectl_logs_of_a_build_steps_container_are_no_apps_own_output():
    # (Knative Build's `build-step-git-source`, Tekton's `step-build`: a build that failed, not an app that would not
    # start; an app container's logs still are)
    error = '{"level":"fatal","logger":"git-init","msg":"Unexpected error creating symlink: file exists"}'
    for container in ("build-step-git-source", "step-build"):
        log = [f"$ kubectl logs app-from-source-00001-6nnw6 -c {container}", error]
        assert signature_and_line(log)[0] == "unknown"
    assert signature_and_line(["$ kubectl logs app-00001-6nnw6 -c user-container", error])[0] == \
        "container-start-failed"


def test_a_report_may_open_with_any_of_several_wordings():
    # (each wording a regex with a literal of its own; the report below is read the same way after either)
    opens = ["BOOM happened", "KABOOM error at \\d+"]
    for first in ("BOOM happened", "KABOOM error at 12"):
        lines = [first, "  while doing it", "Cause: the disk is full", "shutting down"]
        assert classify_log("\n".join(lines) + "\n", _one("BOOM happened", reports=[
            {"opens": opens, "telling": "^Cause: "}]))[0].line == 3
        # (with only the other wording, the report is not opened: read at its first line)
        other = [o for o in opens if not re.match(o, first)]
        assert classify_log("\n".join(lines) + "\n", _one("BOOM happened", reports=[
            {"opens": other, "telling": "^Cause: "}]))[0].line == 1
    with pytest.raises(ConfigError, match=r"reports\[0\] must have `opens`"):
        _one("BOOM happened", reports=[{"opens": [], "telling": "^Cause: "}])


# ---- rounds 160 and 161's tuning: Bazel's Starlark errors, Dependabot's count, Earthly's stack heading -------------

@pytest.mark.parametrize("heading", ["ERROR: An error occurred during the fetch of repository 'rules_x':",
                                     "ERROR: Traceback (most recent call last):"])
def test_bazels_starlark_failure_is_read_at_its_error_below_the_frames(heading):
    log = [heading, "   Traceback (most recent call last):" if "fetch" in heading else "",
           '\tFile "/ws/bazel/distdir.bzl", line 89, column 42, in _repo_cache_tar_impl',
           "\t\thttp_artifacts = parse_http_artifacts(ctx, lockfile_path, ctx.attr.repos)",
           '\tFile "/ws/bazel/utils.bzl", line 108, column 13, in parse_http_artifacts',
           '\t\tfail("Could not find all required repos, missing: %s" % missing_repos)',
           'Error in fail: Could not find all required repos, missing: ["grpc~bazel_skylib"]']
    assert signature_and_line([line for line in log if line]) == ("unknown", 7 if "fetch" in heading else 6)


def test_dependabots_count_of_its_errors_is_read_at_its_table_of_what_failed():
    log = ["updater | Dependabot encountered '2' error(s) during execution, please check the logs for more details.",
           "updater | +-----------------------------------------------------+",
           "updater | |            Dependencies failed to update            |",
           "updater | +-------------------------------------+---------------+",
           "updater | | javax.servlet:javax.servlet-api     | unknown_error |",
           "updater | +-------------------------------------+---------------+"]
    assert signature_and_line(log) == ("unknown", 5)
    # ... or at the details of an error of the update itself, below its type
    log = ["Dependabot encountered '1' error(s) during execution, please check the logs for more details.",
           "+-------------------------------+-----------------------------------------------+",
           "| Type                          | Details                                       |",
           "+-------------------------------+-----------------------------------------------+",
           "| dependency_file_not_parseable | {                                             |",
           '|                               |   "message": "/pnpm-lock.yaml not parseable", |',
           "+-------------------------------+-----------------------------------------------+",
           "Failure running container 050c8907: Error: Command failed with exit code 1: /bin/sh -c run update_files"]
    assert signature_and_line(log) == ("unknown", 5)


def test_earthlys_stack_heading_gives_way_to_the_error_below_its_frames():
    log = ["buildkitd | Starting buildkit daemon as a docker container (earthly-buildkitd)...", "Error stack trace:",
           "github.com/earthly/earthly/buildkitd.init", "\t/earthly/buildkitd/buildkitd.go:28", "runtime.main",
           "\t/usr/local/go/src/runtime/proc.go:208",
           "Error: build new buildkitd client: maybe start buildkitd: wait until started: buildkitd crashed"]
    assert signature_and_line(log) == ("unknown", 7)


# ---- rounds 160 and 161's misses, fixed after their measurement ------------------------------------------------------

def test_bazels_starlark_failure_before_bazel_4_is_read_at_its_fail_call_over_the_message():
    log = ["ERROR: An error occurred during the fetch of repository 'local_config_cc':",
           "   Traceback (most recent call last):",
           '\tFile "/tmp/bazel/external/bazel_tools/tools/cpp/cc_configure.bzl", line 123',
           "\t\tconfigure_osx_toolchain(<2 more arguments>)",
           '\tFile "/tmp/bazel/external/bazel_tools/tools/cpp/osx_cc_configure.bzl", line 138, in configure_osx',
           "\t\tfail(<1 more arguments>)",
           "wrapped_clang failed to generate. Please file an issue at https://github.com/bazelbuild/bazel/issues",
           "return code 256, stderr: Timed out, stdout:"]
    assert signature_and_line(log) == ("unknown", 6)


def test_pants_failed_process_is_read_at_what_it_printed_to_stderr():
    log = ["16:01:50.21 [INFO] Completed: Building pylint_runner.pex", "Error: 0.22 [ERROR] 1 Exception encountered:",
           "",
           "Engine traceback:", "  in `lint` goal", "",
           "ProcessExecutionFailure: Process 'Building pylint_runner.pex' failed with exit code 1.", "stdout:", "",
           "stderr:", "[Errno 17] File exists: '../installed_wheels/2/pyfarmhash-0.4.0.dist-info/LICENSE'", "", "",
           "error: Recipe `lint` failed on line 315 with exit code 1"]
    assert signature_and_line(log) == ("unknown", 11)


def test_gardens_crash_report_is_read_at_the_error_it_caught():
    log = ["✖ deploy.platform-ui        → Failed (took 8.7 sec)", "",
           "Encountered an unexpected Garden error. This is likely a bug 🍂", "",
           "You can help by reporting this on GitHub: https://github.com/garden-io/garden/issues/new", "",
           "Failed resolving status for Deploy type=container name=platform-ui (took 9.32 sec). This is what happened:",
           "Error: Cannot parse content. No Content-Type defined.",
           "  at ObjectSerializer.parse (file:///github/home/.local/share/garden/garden.mjs:567762:21)"]
    assert signature_and_line(log) == ("unknown", 8)


def test_the_error_mark_of_electron_builder_and_goreleaser_names_an_error():
    # (read before the wrapper's `Error: Command failed: ...` below it, as a line naming an error would be)
    log = ["  ⨯ 403 Forbidden",
           '"method: post url: https://api.github.com/repos/o/r/releases Data: {\"message\":\"Resource not accessible"',
           "/home/runner/work/_actions/samuelmeuli/action-electron-builder/v1/index.js:144", "\t\t\t\tthrow err;", "",
           "Error: Command failed: npx --no-install electron-builder --linux --publish always"]
    assert signature_and_line(log) == ("unknown", 1)


def test_a_system_library_a_crate_cannot_find_through_pkg_config_is_the_failure():
    log = ["  The system library `javascriptcoregtk-4.1` required by crate `javascriptcore-rs-sys` was not found.",
           "  The PKG_CONFIG_PATH environment variable is not set.", "",
           "  HINT: if you have installed the library, try setting PKG_CONFIG_PATH to the directory containing it."]
    assert signature_and_line(log) == ("unknown", 1)


def test_octopus_deploys_failed_step_heading_gives_way_to_the_task_logs_own_failure():
    log = ["                    |   Failed: Step 1: Deploy to Azure",
           "07:18:49   Info     |     Executing step: Deploy to Azure",
           "07:18:50   Verbose  |     Failed receiving Octopus.Platform.Deployment.Messages.StartServerActionCommand",
           "                    |     Object reference not set to an instance of an object."]
    assert signature_and_line(log) == ("unknown", 3)


# ---- rounds 162 and 163's tuning: k6's thresholds verdict, storybook-deployer's verdict on its command ---------------

def test_k6s_verdict_on_crossed_thresholds_sums_up_the_failure_above_it():
    log = ["  - HEALTH_SECRET: Missing required health probe authentication secret", "",
           "Refusing to boot in production mode with insecure or incomplete configuration.",
           "    at cL (.next/server/chunks/62508.js:62:25483)", "", "  ✗ THRESHOLDS ", "    failed_requests",
           "    ✗ 'rate<0.05' rate=100.00%", "",
           "time=\"2026-10-05T07:46:41Z\" level=error msg=\"thresholds on metrics 'failed_requests' have been crossed",
           "##[error]Process completed with exit code 99."]
    assert signature_and_line(log) == ("unknown", 3)


def test_storybook_deployers_verdict_on_its_build_command_is_read_at_the_commands_own_error():
    log = ["Error: Exec code(1) on executing: npm run build-storybook -- -o out6551", "info @storybook/react v6.5.9",
           "info => Loading presets",
           "/home/runner/work/foo/foo/node_modules/@storybook/core-server/dist/cjs/utils/server-statics.js:109",
           "    throw new Error((0, _tsDedent.default)((0, _chalk.default)`", "          ^", "",
           "Error: Failed to load static files, no such directory: /home/runner/work/foo/foo/public",
           "Make sure this directory exists, or omit the -s (--static-dir) option."]
    assert signature_and_line(log) == ("unknown", 8)


# ---- rounds 162 and 163's misses, fixed after their measurement ------------------------------------------------------

def test_chromatics_mark_under_a_failed_step_names_its_error():
    # (before a notice that the CLI went on without something, `Could not retrieve package info ...; skipping`)
    log = ["Chromatic CLI v6.0.0", "Could not retrieve package info from registry; skipping update check",
           "Collecting Storybook metadata", "    → ✖ Storybook package not installed",
           "Could not find @storybook/react in node_modules.", "", "✖ Failed to collect Storybook metadata"]
    assert signature_and_line(log) == ("unknown", 4)


def test_a_registrys_bare_refusal_behind_a_ci_timestamp_is_a_refused_push_in_a_log_not_all_stamped():
    # (docker's `denied: denied` from ghcr.io, behind Azure Pipelines' time, below a line with no time of its own)
    log = ["STATUS: SUCCESS", "2024-11-06T07:22:30.2654470Z The push refers to repository [ghcr.io//my-repo]",
           "2024-11-06T07:22:30.4700157Z denied: denied", "2024-11-06T07:22:30.4732761Z ##[error]denied: denied"]
    assert signature_and_line(log) == ("push-permission-denied", 3)


# ---- rounds 164 and 165's tuning: Deployer's report on a command that failed on a host -------------------------------

def test_deployers_report_on_a_failed_command_is_read_at_the_commands_stderr():
    log = ["task deploy:setup", "[203.0.113.7]  error  in setup.php on line 7:",
           "[203.0.113.7] run [ -d /var/www/app ] || mkdir -p /var/www/app;", "cd /var/www/app;",
           "[ -d releases ] || mkdir releases;", "[203.0.113.7] err sh: exec: line 0: ssh: not found",
           "[203.0.113.7] exit code -1 (Unknown error)", "ERROR: Task deploy:setup failed!"]
    assert signature_and_line(log) == ("unknown", 6)


# ---- rounds 164 and 165's misses, fixed after their measurement ------------------------------------------------------

def test_a_conda_recipes_requirements_its_build_cannot_resolve_are_no_failed_install():
    solve = ["- Encountered problems while solving:",
             "-   - package liblalframe-1.5.5-h3422bc3_0 requires ldas-tools-framecpp >=2.7.2,<2.8.0a0, but none of "
             "the providers can be installed"]
    assert signature_and_line(["Mamba failed to solve:", " - gsl 2.7.*", "", "The reported errors are:", *solve]) == \
        ("unknown", 5)
    assert signature_and_line(["Attempting to finalize metadata for cmor", "Getting pinned dependencies: ...failed",
                               "Encountered problems while solving:", "  - unsupported request"])[0] == "unknown"
    # (the same solver's words installing an environment are still a failed install)
    assert signature_and_line(["$ conda env create -f environment.yml", *solve])[0] == "pip-install-failed"


@pytest.mark.parametrize("heading", [["In Client.php line 103:", ""], []])
def test_deployers_failed_command_is_read_below_its_rule_at_the_commands_own_output(heading):
    log = ["✔ Executing task deploy:lock", "➤ Executing task deploy:release", "✔ Executing task deploy:failed", "",
           *heading, '  The command "cd / && (date +"%Y%m%d%H%M%S")" failed.  ', "",
           "  Exit Code: 127 (Command not found)", "", "  Host Name: stage.example.org", "", "  ================",
           "  bash: line 1: date: command not found", ""]
    assert signature_and_line(log) == ("unknown", 12 + len(heading))


def test_ftp_deploy_actions_banners_give_way_to_the_error_it_caught():
    rule = "----------------------------------------------------------------"
    log = [rule, "🚀 Thanks for using ftp-deploy. Let's deploy some stuff!", rule,
           "Failed to connect, are you sure your server works via FTP or FTPS? Users sometimes get this error when the "
           "server only supports SFTP.", "", rule, "--------------  🔥🔥🔥 an error occurred  🔥🔥🔥  --------------", rule,
           "", rule, "----------------------  full error below  ----------------------", rule, "",
           "FTPError: 530 Login authentication failed",
           "    at FTPContext._onControlSocketData (/home/runner/work/_actions/ftp-deploy/dist/index.js:5252:39)"]
    assert signature_and_line(log) == ("unknown", 14)


# ---- rounds 166 and 167's misses, fixed after their measurement ------------------------------------------------------

def test_snakemakes_conda_environment_it_could_not_create_is_read_at_condas_own_error():
    log = ["Creating conda environment /tmp/x/bio/unicycler/environment.yaml...", "CreateCondaEnvironmentException:",
           "Could not create conda environment from /tmp/x/bio/unicycler/environment.yaml:",
           "Solving environment: ...working... done", "Verifying transaction: ...working... failed", "",
           "NoSpaceLeftError: No space left on devices."]
    assert signature_and_line(log) == ("unknown", 7)


def test_an_actions_stderr_relayed_as_warnings_is_read_before_its_verdict_on_the_tool():
    # (azure/arm-deploy prints az's stderr as `Warning: `; @actions/exec's verdict names only the exit code)
    log = ["Validating template...",
           "Warning: InvalidArgumentValueError: az deployment group validate: 'validate' is not a valid value for "
           "'--mode'.", "Still stuck? Run 'az deployment group validate --help' to view all commands", "",
           "Warning: Template validation failed.", "Error: The process '/usr/bin/az' failed with exit code 2"]
    assert signature_and_line(log) == ("unknown", 2)
    # (a warning of a tool's own is still no cause)
    assert signature_and_line(["Warning: DeprecationWarning: x is deprecated", "Error: something broke"]) == \
        ("unknown", 2)


def test_an_indented_tracebacks_frames_end_at_its_exception_indented_less():
    # (a cut traceback, pasted indented, whose frame's source line names an error: read at the exception below it,
    # with other output above or not)
    frames = ['    File "/env/lib/python3.8/site-packages/urllib3/util/retry.py", line 592, in increment',
              "      raise MaxRetryError(_pool, url, error or ResponseError(cause))",
              "  urllib3.exceptions.MaxRetryError:",
              "  HTTPSConnectionPool(host='api.components.espressif.com', port=443): Max retries exceeded"]
    assert signature_and_line(frames) == ("unknown", 3)
    assert signature_and_line(["Processing dependencies", *frames]) == ("unknown", 4)


# ---- rounds 168 and 169's tuning: Gradle's validation problems -------------------------------------------------------

def test_gradles_validation_problem_names_a_failure():
    log = ["  - Gradle detected a problem with the following location: '/home/runner/work/app/src/main/java'.", "    ",
           "    Reason: Task ':compileJava' uses this output of task ':stonecutterMerge' without declaring an explicit "
           "or implicit dependency.", "    ", "    Possible solutions:",
           "      1. Declare task ':stonecutterMerge' as an input of ':compileJava'.", "", "* Try:",
           "> Run with --scan to get full insights."]
    assert signature_and_line(log) == ("unknown", 1)


# ---- rounds 168 and 169's misses, fixed after their measurement ------------------------------------------------------

def test_a_debug_line_azure_pipelines_marks_as_an_error_for_its_stream_is_no_error():
    log = ["2024-09-26T09:31:00.1443752Z ##[error]DEBUG: cli.knack.cli: Command arguments: ['containerapp', 'update']",
           "DEBUG: cli.knack.cli: __init__ debug log:", "DEBUG: cli.azure.cli.core: Loading command modules:",
           "2024-09-26T09:31:00.1456161Z ##[error]Script has output to stderr. Failing as failOnStdErr is set to true.",
           "2024-09-26T09:31:00.1459929Z [command]/usr/bin/az account clear"]
    assert signature_and_line(log) == ("unknown", 4)


# ---- round 171's miss, fixed after its measurement -------------------------------------------------------------------

def test_dataprocs_verdict_on_a_failed_initialization_action_is_read_at_the_scripts_own_error():
    verdict = ("ERROR: (gcloud.dataproc.clusters.create) Operation [projects/p/regions/us-central1/operations/0a1b] "
               "failed: Google Cloud Dataproc Agent reports failure. If logs are available, they can be found in "
               "'gs://dataproc-staging-us/google-cloud-dataproc-metainfo/1234/cluster-m'.")
    log = [verdict, "", "google-cloud-dataproc-metainfo-1234-cluster-m-dataproc-initialization-script-0_output:", "",
           "+ apt-get install -y presto", "E: Unable to locate package presto",
           "/tmp/script.tmp: line 9: presto-cli: command not found"]
    assert signature_and_line(log) == ("unknown", 6)
    # the verdict alone, as gcloud prints it without the output pasted below, is read where it is
    assert signature_and_line([verdict, "Waiting for cluster creation operation...failed."]) == ("unknown", 1)


# ---- round 172's misses, fixed after its measurement -----------------------------------------------------------------

def test_curls_own_error_names_the_failure_ahead_of_a_later_error_word():
    log = ["DEBUG subprocess: stderr:", "100 8080M    0     0  100 8080M      0  91.6M  0:01:28  0:01:28 --:--:--     0",
           "curl: (52) Empty reply from server", "DEBUG subprocess: Exit status: 52",
           " INFO interface: error: Failed to create box peru/windows-server-2012", "exit code: 52"]
    assert signature_and_line(log) == ("unknown", 3)


def test_stacks_exit_failure_names_the_failure():
    log = ["--  While building custom Setup.hs for package mmark-0.0.5.6 using:",
           "      /root/.stack/setup-exe-cache/Cabal-simple_2.2.0.1_ghc-8.4.3 build lib:mmark",
           "    Process exited with code: ExitFailure (-9) (THIS MAY INDICATE OUT OF MEMORY)",
           "    Logs have been written to: /root/project/.stack-work/logs/mmark-0.0.5.6.log", "",
           "    Configuring mmark-0.0.5.6...", "    [1 of 9] Compiling Text.MMark.Parser.Internal.Type"]
    assert signature_and_line(log) == ("unknown", 3)


def test_a_tool_refusing_an_argument_as_not_a_valid_one_names_the_failure_but_a_hedge_in_a_sentence_does_not():
    log = ['  Attempting to install ghc 8.10.4" using ghcup', '  ghcup install ghc 8.10.4"', "  Not a valid version", "",
           "  Usage: ghcup install ghc [-p|--platform PLATFORM]", "    Install GHC", "  Available options:",
           "    -h,--help                Show this help text"]
    assert signature_and_line(log) == ("unknown", 3)
    hedge = ["There was an issue building your app. This can mean your app.json's project is not a valid Heroku "
             "application.", "-----> $ python manage.py collectstatic --noinput", "       KeyError: 'APP_ENVIRONMENT'"]
    assert signature_and_line(hedge) == ("unknown", 3)


def test_github_actions_error_repeating_an_actions_message_is_read_where_the_action_said_it():
    log = ["Run mihails-strasuns/setup-dlang@v0.4.1", "ReferenceError: Cannot access 'latest' before initialization",
           "    at /home/runner/work/_actions/setup-dlang/v0.4.1/lib/compiler.js:150:87",
           "    at processTicksAndRejections (internal/process/task_queues.js:93:5)",
           "##[error]Cannot access 'latest' before initialization", "##[error]Node run failed with exit code 1"]
    assert signature_and_line(log) == ("unknown", 2)


def test_esys_verdict_on_a_package_is_read_at_the_first_failure_in_its_build_log():
    log = ["error: build failed with exit code: 1", "  build log:", "    # esy-build-package: building: @opam/topkg", "",
           "    C:/Users/x/.esy/3_/i/ocamlfind/bin/ocaml: line 2: $'\\r': command not found",
           '    error: command failed: "ocaml" "pkg/pkg.ml" "build" (exited with 127)', "",
           "    esy-build-package: exiting with errors above..."]
    assert signature_and_line(log) == ("unknown", 5)


# ---- round 173's misses, fixed after its measurement -----------------------------------------------------------------

def test_electron_builders_failed_program_is_read_at_the_programs_own_error_in_its_output():
    log = ["  • building        target=nsis file=build/app.exe archs=ia32 oneClick=false",
           "  ⨯ /home/x/.cache/electron-builder/nsis/nsis-3.0.4.1/linux/makensis process failed "
           "ERR_ELECTRON_BUILDER_CANNOT_EXECUTE", "Exit code:", "84", "Output:", "FATAL: main argv conversion failed!",
           "  failedTask=build stackTrace=Error: makensis process failed ERR_ELECTRON_BUILDER_CANNOT_EXECUTE"]
    assert signature_and_line(log) == ("unknown", 6)


def test_cocoapods_lint_on_a_command_that_failed_is_read_at_the_commands_own_error():
    log = ["Validating podspec", " -> GrowingAnalytics (0.0.1)", "    - WARN  | summary: The summary is not meaningful.",
           "    - ERROR | [iOS] unknown: Encountered an unknown error ([!] /usr/local/bin/git clone "
           "https://github.com/growingio/sdk.git /tmp/d2020 --template= --single-branch --depth 1 --branch 0.0.1", "",
           "Cloning into '/tmp/d2020'...", "warning: Could not find remote branch 0.0.1 to clone.",
           "fatal: Remote branch 0.0.1 not found in upstream origin", ") during validation.", "",
           "[!] The spec did not pass validation, due to 1 error."]
    assert signature_and_line(log) == ("unknown", 8)


# ---- round 174's misses, fixed after its measurement -----------------------------------------------------------------

def test_goreleasers_verdict_naming_only_the_command_that_failed_is_read_at_the_commands_own_output():
    log = [" • signing artifacts",
           "      • signing                   cmd=[gpg -u *** --output dist/x.sig --detach-sign dist/x]",
           "      • gpg: signing failed: Inappropriate ioctl for device", " cmd=gpg",
           "      • gpg: signing failed: Inappropriate ioctl for device", " cmd=gpg",
           "   ⨯ release failed after 867.67s error=sign: gpg failed"]
    assert signature_and_line(log) == ("unknown", 3)
    # ... but one whose error says why is read where it is
    said = [" • publishing", "   ⨯ release failed after 2.01s error=homebrew tap formula: failed to publish "
            "artifacts: PUT https://api.github.com/repos/o/homebrew-tap/contents/x.rb: 403 Resource not accessible by "
            "integration"]
    assert signature_and_line(said) == ("unknown", 2)


def test_the_runners_verdict_on_a_javascript_action_is_passed_over_for_the_failure_above_it():
    log = ["/usr/bin/git push origin gh-pages", "To https://github.com/o/site.git",
           " ! [rejected]        gh-pages -> gh-pages (fetch first)",
           "error: failed to push some refs to '***github.com/o/site.git'",
           "hint: Updates were rejected because the remote contains work that you do",
           "hint: not have locally. This is usually caused by another repository pushing",
           "##[error]Action failed with \"Error: Error: The process '/usr/bin/git' failed with exit code 1\"",
           "##[error]Node run failed with exit code 1"]
    # (git's own ` ! [rejected]` for the ref, since stop 65; before it, the hint below it, 5)
    assert signature_and_line(log) == ("unknown", 3)


# ---- round 176's tuning logs -----------------------------------------------------------------------------------------

def test_sops_report_on_a_file_it_could_not_decrypt_is_read_at_the_first_keys_reason():
    # (round 176's tuning log, SOPS behind the Terraform provider: Terraform's `│` column on each line)
    log = ["│ Error: Failed to get the data key required to decrypt the SOPS file.", "│", "│ Group 0: FAILED",
           "│   age1ufs2csswtmh232k34m4tvc0t8s90nltppsgkgl4uer8erv2ve5pqam36gw: FAILED",
           "│     - | failed to load age identities: failed to parse",
           "│       | 'SOPS_AGE_KEY' age identities: error at line 1: malformed", "│",
           "│ Recovery failed because no master key was able to decrypt the file. In"]
    assert signature_and_line(log) == ("unknown", 5)


# ---- round 176's misses, fixed after its measurement -----------------------------------------------------------------

def test_a_traceback_through_a_program_installed_from_pips_temporary_folder_is_no_failed_install():
    # (azure-cli installed from pip's `pip-install-...` folder: its frames are the program's, not a package's setup.py)
    log = ["ERROR: Operation returned an invalid status code 'Bad Request'", "Traceback (most recent call last):",
           '  File "C:\\\\Temp\\\\pip-install-6nyhv9qe\\\\azure-cli-core\\\\azure\\\\cli\\\\core\\\\commands\\\\__init__.py", '
           "line 366, in execute",
           '  File "C:\\\\Temp\\\\pip-install-6nyhv9qe\\\\azure-cli-cdn\\\\azure\\\\cli\\\\command_modules\\\\cdn\\\\commands.py", '
           "line 23, in _inner_not_found"]
    assert signature_and_line(log) == ("unknown", 1)
    # ... while a package's setup.py failing in that folder still is
    built = ['  File "/tmp/pip-install-3p1noqkw/dlib/setup.py", line 129, in run',
             "    cmake_version = self.get_cmake_version()", "RuntimeError: CMake must be installed to build dlib"]
    assert signature_and_line(built)[0] == "pip-install-failed"


def test_terraforms_warning_box_saying_error_as_advice_is_passed_over_for_the_helm_release_error():
    log = ["module.kubernetes.helm_release.cert_manager: Still creating... [7m50s elapsed]", "╷",
           "│ Warning: Helm release created with warnings", "│",
           '│ Helm release "cert-manager" was created but has a failed status. Use the `helm` command to investigate '
           "the error, correct it, then run Terraform again.", "╵", "╷", "│ Error: Helm release error", "│",
           "│   with module.kubernetes.helm_release.cert_manager,",
           '│   on ../../modules/kubernetes/main.tf line 46, in resource "helm_release" "cert_manager":', "│",
           "│ failed post-install: 1 error occurred:", "│ \t* job cert-manager-startupapicheck failed: BackoffLimitExceeded"]
    assert signature_and_line(log) == ("unknown", 14)
    # an error box's own words are still read
    error_box = ["╷", "│ Error: creating Instance: googleapi: Error 400: user-managed notebooks have been deprecated",
                 "│", "│   with google_notebooks_instance.x,", "╵"]
    assert signature_and_line(error_box) == ("unknown", 2)


# ---- round 177's tuning logs -----------------------------------------------------------------------------------------

def test_an_error_line_ending_in_an_http_status_and_a_json_body_is_read_at_the_bodys_message():
    log = ["executing Crowdin command upload...", "upload calliopemini/target-strings.json (60 strings) to https://x",
           "INTERNAL ERROR: Error: Error, upload translation: calliopemini/target-strings.json, 404, {",
           '    "success": false,', '    "error": {', '        "code": 1,',
           '        "message": "Requested project doesn\'t exist or the API key is invalid"', "    }", "}"]
    assert signature_and_line(log) == ("unknown", 7)
    # a line that only ends with a brace is no such answer
    assert signature_and_line(["Error: config at line 3 {", "  retries: 3", "}"]) == ("unknown", 1)


# ---- round 177's misses, fixed after its measurement -----------------------------------------------------------------

def test_fabrics_verdict_on_a_remote_command_is_read_at_the_commands_own_error_above_it():
    log = ["[hqcelery0.internal] out: CommandError: Can't find msgfmt. Make sure you have GNU gettext tools 0.15 or "
           "newer installed.", "[hqcelery1.internal] out:", "",
           "Fatal error: sudo() received nonzero return code 1 while executing!", "",
           "Requested: /home/cchq/python_env/bin/python manage.py compilemessages", "", "Aborting."]
    assert signature_and_line(log) == ("unknown", 1)


def test_a_count_of_errors_alone_on_a_line_is_passed_over_for_the_error_itself():
    log = ["> Task :storage:androidJavadocs", "1 error", "", "> Task :common:androidJavadocs FAILED", "1 error", "",
           "Picked up JAVA_TOOL_OPTIONS: -Dfile.encoding=UTF-8",
           "javadoc: error - The code being documented uses modules but the packages defined in "
           "https://developer.android.com/reference/ are in the unnamed module.",
           "Note: Some input files use or override a deprecated API."]
    assert signature_and_line(log) == ("unknown", 8)


def test_github_actions_debug_lines_are_passed_over_for_the_actions_error():
    log = ['##[debug]Gathered action inputs: {"errors":false,"method":"","payload":"","payloadFilePath":"x.json"}', "",
           "file:///home/runner/work/_actions/slackapi/slack-github-action/v2.0.0/src/content.js:139",
           "      throw new SlackError(", "^",
           "SlackError: Invalid input! Failed to parse contents of the provided payload file",
           "    at Content.getContentPayloadFilePath (file:///home/runner/work/_actions/src/content.js:139:1)"]
    assert signature_and_line(log) == ("unknown", 6)


# ---- round 178's tuning logs -----------------------------------------------------------------------------------------

def test_atlantis_heading_over_a_commands_output_is_passed_over():
    log = ["Ran Plan for dir: terraform/environments/dev workspace: dev", "", "Plan Error", "",
           'running "/usr/local/bin/terraform init -input=false -no-color -upgrade" in "/home/atlantis/repos/x/dev"',
           "Initializing the backend...", "Error selecting workspace: input not a valid number"]
    assert signature_and_line(log) == ("unknown", 7)


# ---- round 178's misses, fixed after its measurement -----------------------------------------------------------------

def test_macos_dynamic_loader_unable_to_start_a_program_names_the_failure():
    log = ["Building for debugging...", "dyld[7460]: Symbol not found: (_$s10Foundation11JSONDecoderC6decode)",
           "  Referenced from: '/Users/runner/work/x/.build/plugins/tools/debug/GenerateTests'",
           "  Expected in: '/System/Library/Frameworks/Foundation.framework/Versions/C/Foundation'",
           "[5/14] Generating Tests.swift", "Error: Process completed with exit code 1."]
    assert signature_and_line(log) == ("unknown", 2)


def test_the_scala_js_linkers_reference_to_a_missing_class_names_the_failure():
    log = ["Linker: Compute reachability: 3008820 us", "Referring to non-existent class web.actions.NothingLoaded$",
           "  called from web.MainJS$.<init>()", "  exported to JavaScript with @JSExport",
           "Referring to non-existent class web.states.State$", "  called from web.MainJS$.<init>()"]
    assert signature_and_line(log) == ("unknown", 2)


def test_a_json_answers_error_status_field_is_passed_over_for_the_message_above_it():
    log = ["View Run in HCP Terraform: https://app.terraform.io/app/o/workspaces/w/runs/run-1",
           "run run-1, cannot be applied", "{", '  "run_id": "run-1",', '  "run_status": "post_plan_running",',
           '  "status": "Error"', "}"]
    assert signature_and_line(log) == ("unknown", 2)


def test_a_verdict_putting_its_context_before_a_message_said_above_is_read_where_the_message_was_first_said():
    log = ["  Downloading https://packages.lazarus-ide.org/ to /Users/runner/work/_temp",
           "  Destination file path /Users/runner/work/_temp already exists", "  Waiting 10 seconds before trying again",
           "  Destination file path /Users/runner/work/_temp already exists", "  Waiting 11 seconds before trying again",
           "  Error: Installation failed: Destination file path /Users/runner/work/_temp already exists"]
    assert signature_and_line(log) == ("unknown", 2)
    # ... but a value after a label is no message (the cache key the step was given above)
    keyed = ["  key: build-22.12.0-a4e610e54533800f6ddc73008226559653961ec3", "  fail-on-cache-miss: true",
             "##[error]Failed to restore cache entry. Exiting as fail-on-cache-miss is set. Input key: "
             "build-22.12.0-a4e610e54533800f6ddc73008226559653961ec3"]
    assert signature_and_line(keyed) == ("unknown", 3)


# ---- round 179's miss, fixed after its measurement -------------------------------------------------------------------

def test_errors_a_tool_says_are_safe_to_ignore_are_no_lead():
    log = ["Successfully tagged travis.debian.net/libbbmotor:latest",
           "I: Restoring Dockerfile to previous state (safe to ignore errors)",
           "error: pathspec 'Dockerfile' did not match any file(s) known to git.", "I: Running build",
           "gbp:info: Performing the build", "cowbuilder not found; you need to install the cowbuilder package",
           "gbp:error: 'DIST=sid git-pbuilder -uc -us -sa' failed: it exited with 1"]
    assert signature_and_line(log) == ("unknown", 7)   # (not git's pathspec error the tool said to ignore, line 3)
    # ... only right below where it says so
    later = log[:2] + ["I: step", "I: step", "I: step", "error: pathspec 'x' did not match any file(s) known to git."]
    assert signature_and_line(later) == ("unknown", 6)


# ---- round 180's tuning logs -----------------------------------------------------------------------------------------

def test_an_http_error_page_printed_as_html_names_the_failure():
    log = ["+ tar -czf nodejs-v21.0.0.tar.gz cov-int", "+ set +x", "<html>",
           "<head><title>413 Request Entity Too Large</title></head>", "<body>",
           "<center><h1>413 Request Entity Too Large</h1></center>", "<hr><center>cloudflare</center>", "</body>",
           "</html>", "+ rm -rf nodejs-v21.0.0.tar.gz cov-int"]
    assert signature_and_line(log) == ("unknown", 4)


def test_git_describe_without_tags_is_passed_over_for_the_failure_below():
    log = ["The cov-build utility completed successfully.", "Uploading coverity scan result to http://scan.coverity.com",
           "fatal: No names found, cannot describe anything.", "fatal: No names found, cannot describe anything.",
           "100 14.2M  100    20  100 14.2M      3  2740k  0:00:06  0:00:05  0:00:01 2961k", "Email can't be blank"]
    assert signature_and_line(log) == ("unknown", 6)


# ---- round 180's misses, fixed after its measurement -----------------------------------------------------------------

def test_clang_tidys_headings_are_passed_over_for_the_compiler_error_below():
    log = ["Error while processing /b/s/w/ir/cache/builder/src/flutter/impeller/toolkit/egl/surface.cc.",
           "Suppressed 704 warnings (704 in non-user code).", "Found compiler error(s).",
           "error: unknown argument: '-i' [clang-diagnostic-error]", "1227 warnings and 1 error generated."]
    assert signature_and_line(log) == ("unknown", 4)


def test_a_go_programs_segmentation_violation_names_the_failure():
    log = ["#10 [builder 6/6] RUN tinygo build -o /main.wasm -scheduler=none -target=wasi ./",
           "#10 8.787 SIGSEGV: segmentation violation", "#10 8.787 PC=0x512465e m=4 sigcode=18446744073709551610",
           "#10 8.787 signal arrived during cgo execution", "#10 8.787 goroutine 243 [syscall]:",
           "#10 8.787 tinygo.org/x/go-llvm.Value.EraseFromParentAsFunction({0xc01d955b50?})"]
    assert signature_and_line(log) == ("unknown", 2)


# ---- round 181's tuning logs -----------------------------------------------------------------------------------------

def test_npms_errors_that_amplify_prints_at_its_warning_level_are_errors():
    log = ["# Starting phase: preBuild", "2022-04-13T17:25:37.978Z [INFO]: # Executing command: npm ci",
           "2022-04-13T17:25:39.183Z [WARNING]: npm",
           "2022-04-13T17:25:39.184Z [WARNING]: ERR! cipm can only install packages with an existing package-lock.json "
           "or npm-shrinkwrap.json with lockfileVersion >= 1.",
           "2022-04-13T17:25:39.215Z [WARNING]: npm ERR! A complete log of this run can be found in:",
           "2022-04-13T17:25:39.215Z [HELP]: Outputting the npm debug log", "0 info it worked if it ends with ok"]
    assert signature_and_line(log) == ("unknown", 4)
    # its own warnings stay warnings
    assert signature_and_line(["[WARNING]: ! Unable to write cache: 404 Not Found", "Build failed"])[1] == 2


# ---- round 181's misses, fixed after its measurement -----------------------------------------------------------------

def test_kpacks_check_of_write_access_refused_is_a_push_refusal():
    log = [" Loading cluster credential helpers", "",
           ' Error verifying write access to "harbor.example.com/project/test": UNAUTHORIZED']
    assert signature_and_line(log) == ("push-permission-denied", 3)


def test_the_web_pages_list_of_a_jobs_steps_opens_no_fetch_section():
    log = ["  Set up job1s", "  Run actions/checkout@v12s", "  Install build dependencies14s", "  Clone source2s",
           "index.html", "_Deployment v2ws doesn't exist in namespace ***. Do you want to create a new one? [y/n]:  x  "
           "couldn't read your response", "##[error]Process completed with exit code 1."]
    assert signature_and_line(log) == ("unknown", 6)


def test_a_block_indented_as_a_whole_and_wrapped_at_a_width_is_joined_without_its_indentation():
    # (round 181's Copilot log below another line, which keeps the block from being dedented as a whole)
    wrapped = ['    Resource handler returned message: "Error occurred during operation \'E',
               "    CS Deployment Circuit Breaker was triggered'.\" (RequestToken: 121161f9",
               "    -1c97-e3d5-b4d3-8328bb2b676c, HandlerErrorCode: GeneralServiceExceptio", "    n)"]
    assert signature_and_line(["3f4ca61aafcd: Pull complete", *wrapped])[0] == "container-start-failed"


# ---- round 182's tuning logs -----------------------------------------------------------------------------------------

def test_elms_report_is_read_at_the_first_line_under_its_heading():
    log = ["Run elm make src/Main.elm --output=/dev/null", "Compiling ...",
           "-- TYPE MISMATCH ----------------------------------------------- src/Main.elm", "",
           "The 1st argument to `text` is not what I expect:", "", "42|     text model.count",
           "             ^^^^^^^^^^^", "This `count` value is a:", "", "    Int", "",
           "Detected problems in 1 module.", "Error: Process completed with exit code 1."]
    assert signature_and_line(log) == ("unknown", 5)
    assert names_failure("-- CORRUPT DEPENDENCY ----------------------------------------------------------")
    assert not names_failure("-- a comment ---------") and not names_failure("-- TODO: SOMETHING")


def test_lernas_announcement_of_a_commands_error_output_is_read_at_the_output():
    log = ["Dependencies ready!", "lerna ERR! yarn run build:elm stderr:",
           "-- CORRUPT DEPENDENCY ----------------------------------------------------------", "",
           "I ran into a problem while building the following package:", "", "    elm/url 1.0.0", "",
           "error Command failed with exit code 1."]
    assert signature_and_line(log) == ("unknown", 5)


# ---- round 182's misses, fixed after its measurement -----------------------------------------------------------------

def test_nodes_command_failed_is_read_at_the_commands_own_output_above_it():
    log = ["** BUILD FAILED **", "The following build commands failed:",
           "\tCompileC build/Objects-normal/x86_64/AppDelegate.o ZulipMobile/AppDelegate.m normal x86_64 objective-c",
           "(1 failure)", "child_process.js:634", "    throw err;", "    ^",
           "Error: Command failed: xcodebuild -project ios/ZulipMobile.xcodeproj -scheme ZulipMobile",
           "    at checkExecSyncError (child_process.js:591:13)", "error Command failed with exit code 1."]
    assert signature_and_line(log) == ("unknown", 3)   # (xcodebuild's list of the commands that failed)


def test_tars_closing_verdict_is_read_at_the_complaint_above_it():
    log = ["[info] Downloading https://example.com/gnucobol-3.3-dev.tar.gz",
           "tar: This does not look like a tar archive",
           "", "gzip: stdin: not in gzip format", "tar: Child returned status 1",
           "tar: Error is not recoverable: exiting now", "./install-cobc.sh: 40: ./configure: not found"]
    assert signature_and_line(log) == ("unknown", 4)


# ---- round 183's tuning logs -----------------------------------------------------------------------------------------

def test_a_side_tasks_warning_that_quotes_the_same_refusal_is_not_its_first_statement():
    refusal = "HttpError: Resource not accessible by integration"
    log = ["Run github/codeql-action/upload-sarif@v2",
           f"Warning: Caught an exception while gathering information for telemetry: {refusal}. Will skip sending "
           "status report.", "Uploading results", "  Validating ./results.sarif",
           "  Error: Resource not accessible by integration",
           f"  Warning: Caught an exception while gathering information for telemetry: {refusal}. Will skip sending "
           "status report."]
    assert signature_and_line(log) == ("unknown", 5)
    # a warning that states the failure itself still is its first statement (the Firebase CLI's)
    firebase = ["⚠  functions: Failed to detect functions from source FirebaseError: User code failed to load. Cannot "
                "determine backend specification", "", "Error: User code failed to load. Cannot determine backend "
                "specification"]
    assert signature_and_line(firebase) == ("unknown", 1)


# ---- round 184's tuning logs -----------------------------------------------------------------------------------------

def test_a_dotnet_exceptions_name_alone_on_its_line_names_a_failure_and_its_frames_are_call_frames():
    from runbook_lib.diagnose.stack_traces import is_call_frame
    log = ["Uploading package to ClareWebApp", "Running rollback behaviours...",
           "Response status code does not indicate success: 401 (Unauthorized).",
           "System.Net.Http.HttpRequestException",
           "   at System.Net.Http.HttpResponseMessage.EnsureSuccessStatusCode()",
           r"   at Calamari.Behaviors.ZipDeployBehaviour.MoveNext() in C:\source\ZipDeployBehaviour.cs:line 245",
           "--- End of stack trace from previous location ---",
           "   at Polly.AsyncPolicy`1.ExecuteAsync(Func`3 action, Context context, Boolean continueOnCapturedContext)"]
    assert signature_and_line(log) == ("unknown", 4)
    assert all(is_call_frame(line) for line in log[4:6] + log[7:])
    assert names_failure("java.lang.IllegalStateException") and not names_failure("    see HttpRequestException")
    assert not names_failure("System.Net.Http.HttpRequestException handling is described in the docs")


def test_the_cdks_verdict_on_a_failed_stack_is_read_at_cloudformations_failed_resource_above_it():
    log = ["09:38:07 | CREATE_FAILED        | AWS::SageMaker::Endpoint       | SagemakerEndpointhfendpointE7336632",
           "Request to service failed. If failure persists after retry, contact customer support.", "",
           "        \\_ Kernel._create (/tmp/tmpa44vq3sx/lib/program.js:8432:34)", "",
           " ❌  HfEndpoint failed: Error: The stack named HfEndpoint failed creation, it may need to be "
           "manually deleted from the AWS console: ROLLBACK_COMPLETE",
           "    at waitForStackDeploy (/usr/lib/node_modules/aws-cdk/lib/api/util/cloudformation.ts:307:11)"]
    assert signature_and_line(log) == ("unknown", 1)
    assert names_failure("<MyStack> | 9:41:19 AM | UPDATE_FAILED | AWS::Lambda::Alias | FnAlias")
    assert not names_failure("MyStack | UPDATE_ROLLBACK_COMPLETE | AWS::CloudFormation::Stack")


# ---- round 184's misses, fixed after its measurement -----------------------------------------------------------------

def test_a_tables_rows_as_wide_as_each_other_are_no_lines_a_terminal_cut():
    from runbook_lib.diagnose.lines import unwrapped
    path = "─" * 34
    table = [f"┌─────────┬──────────┬─────────────┬{path}┐", f"│ (index) │ version  │ buildNumber │{'path':^34}│",
             f"├─────────┼──────────┼─────────────┼{path}┤", "│    0    │ '14.3.0' │  '14E222b'  │ "
             "'/Applications/Xcode_14.3.app'   │", f"└─────────┴──────────┴─────────────┴{path}┘"]
    assert len({len(row) for row in table}) == 1
    log = ["Switching Xcode to version '15.0-beta'...", "Available versions:", *table,
           "Error: Could not find Xcode version that satisfied version spec: '15.0-beta'"]
    assert unwrapped("\n".join(log))[1] is None
    assert signature_and_line(log) == ("unknown", 8)
    rule = "+" + "-" * 40 + "+" + "-" * 40 + "+"
    ascii_table = [rule, f"|{'app':^40}|{'state':^40}|", rule, f"|{'web':^40}|{'crashed':^40}|", rule]
    assert unwrapped("\n".join(ascii_table + ["Error: deploy failed"]))[1] is None


# ---- round 185's tuning logs -----------------------------------------------------------------------------------------

def test_a_clis_failure_mark_starting_a_line_names_a_failure_in_each_of_its_forms():
    log = ["==workloadRollbackDefinitionJsonOutputEnd==",
           "  × android (Microsoft.NET.Sdk.Android.Manifest-8.0.100 : 34.0.79/8.0.100) not installed.",
           "  × ios (Microsoft.NET.Sdk.iOS.Manifest-8.0.100 : 17.2.8022/8.0.100) not installed.",
           "  × maui (Microsoft.NET.Sdk.Maui.Manifest-8.0.100 : 8.0.6/8.0.100) not installed."]
    assert signature_and_line(log) == ("unknown", 2)
    for mark in "✖×✗✕":
        assert names_failure(f"  {mark} tests/api.test.ts > returns 404")
    assert not names_failure("resize the image to 1920 × 1080 pixels") and not names_failure("×")


# ---- round 185's misses, fixed after its measurement -----------------------------------------------------------------

def test_a_terraform_providers_template_summary_is_read_at_its_detail_below_the_resource():
    log = ['example_team.group["a"]: Creating...', "╷", "│ Error: Client Error", "│",
           '│   with example_team.group["a"],', '│   on teams.tf line 6, in resource "example_team" "group":',
           '│    6: resource "example_team" "group" {', "│",
           "│ Unable to enable Operations for the created team, status code: 404. Got response: "
           "{\"message\":\"Team not",
           "│ found\"}", "╵"]
    assert signature_and_line(log) == ("unknown", 9)
    # a diagnostic whose summary says what failed is read there
    plain = ["╷", "│ Error: creating Workflow: googleapi: Error 403: Location asia-southeast2 is not found", "│",
             '│   with google_workflows_workflow.main,', "╵"]
    assert signature_and_line(plain) == ("unknown", 2)


# ---- round 186's misses, fixed after its measurement -----------------------------------------------------------------

def test_vercels_verdict_on_the_build_command_is_read_at_the_commands_output_or_its_build_system_report():
    turbo = ["  x could not resolve workspaces: We did not find a package manager",
             '  | specified in your root package.json. Please set the "packageManager"', "  | property in your root",
             "  `-> We did not find a package manager specified in your root package.json.",
             'Error: Command "turbo run build" exited with 1']
    assert signature_and_line(turbo) == ("unknown", 1)
    oom = ["  x Internal errors encountered: external process killed a task",
           'Error: Command "timeout 10m turbo run build" exited with 1', "▲ Build system report",
           "▲ To always completely log this report, add VERCEL_BUILD_SYSTEM_REPORT=1 as an Environment Variable.",
           '• At least one "Out of Memory" ("OOM") event was detected during the build.']
    assert signature_and_line(oom) == ("unknown", 5)


def test_a_failure_is_read_at_the_innermost_of_the_causes_it_wraps_below_it():
    log = ["> 💥 maturin failed", '>   Caused by: 💥 Failed to upload "datago-2025.3.2-cp311-cp311-linux_x86_64.whl"',
           ">   Caused by: Failed to upload the wheel with status 400: <html>", ">  <head>",
           ">   <title>400 Invalid distribution file. WHEEL not found at datago-2025.3.2.dist-info/WHEEL</title>"]
    assert signature_and_line(log) == ("unknown", 3)
    java = ["ERROR: Connection was broken: java.io.IOException: Unexpected termination of the channel",
            "    at hudson.remoting.SynchronousCommandTransport$ReaderThread.run(SynchronousCommandTransport.java:50)",
            "Caused by: java.io.EOFException",
            "    at java.io.ObjectInputStream.readShort(ObjectInputStream.java:2897)",
            "    ... 3 more", "", "Build step 'Invoke Gradle script' marked build as failure"]
    assert signature_and_line(java) == ("unknown", 3)
    assert signature_and_line(["Error: deploy failed", "next step ran", "Caused by: elsewhere"]) == ("unknown", 1)


# ---- round 187's misses, fixed after its measurement -----------------------------------------------------------------

def test_a_cut_traceback_whose_header_follows_a_message_is_read_at_that_message():
    log = ['"Access denied: 983724ceadc1 is a private image": Traceback (most recent call last):',
           '  File "/home/shippable/dpd/step_listener.py", line 99, in handle_message_callback',
           "    self.execute_step(build_plan, current_step, False)",
           '  File "/home/shippable/dpd/step_listener.py", line 165, in execute_step', "    raise e"]
    assert signature_and_line(log) == ("unknown", 1)
    # a log viewer's prefix before the header is no message: the cut traceback is read at its innermost frame
    viewer = ["DEFAULT [svc-00001] Traceback (most recent call last):",
              'DEFAULT [svc-00001]   File "/srv/main.py", line 3, in <module>', "DEFAULT [svc-00001]     import widget"]
    assert signature_and_line(viewer) == ("unknown", 3)


def test_commitlints_marks_followed_by_several_spaces_name_a_failure():
    log = ["$ commitlint-travis", "", "⧗   input: ci: fix typo in commitlintrc.yml", "",
           "✖   subject must be empty [subject-empty]", "", "✖   found 1 problems, 0 warnings", "",
           "ⓘ   Get help: https://github.com/conventional-changelog/commitlint/#what-is-commitlint"]
    assert signature_and_line(log) == ("unknown", 5)


def test_azures_go_sdk_error_is_read_at_the_answers_message():
    log = ["  (x) Failed: Deploying service backend", "",
           "ERROR: error executing step command 'deploy --all': failed deploying service 'backend': POST "
           "https://management.azure.com/subscriptions/f0542a21/resourceGroups/rg-dev/providers/Microsoft.Container"
           "Registry/registries/acr1/scheduleRun", "-" * 80, "RESPONSE 400: 400 Bad Request",
           "ERROR CODE: TasksOperationsNotAllowed", "-" * 80, "{", '  "error": {',
           '    "code": "TasksOperationsNotAllowed",',
           '    "message": "ACR Tasks requests for the registry acr1 are not permitted.",', "  }", "}"]
    assert signature_and_line(log) == ("unknown", 11)


def test_a_json_answers_error_key_is_no_error_word_ahead_of_the_line_that_says_what_failed():
    log = ["Finished building and uploading jaeger-tracegen", " docker upload cmd/tracegen/README.md",
           "  🛑 Failed to update Docker Hub README for jaegertracing/jaeger-tracegen with status code 401",
           '  🛑 Full response: {"message":"A personal access token cannot be used as a bearer."}', "",
           "  🛑 Failed to update Quay.io README for jaegertracing/jaeger-tracegen with status code 403",
           '  🛑 Full response: {"error": "CSRF token was invalid or missing."}']
    assert signature_and_line(log) == ("unknown", 3)
    assert names_failure('{"error": "CSRF token was invalid"}')   # (still a failure's words, only not ERROR_WORD's)


# ---- round 188's tuning logs -----------------------------------------------------------------------------------------

def test_nf_cores_panel_of_failed_tests_is_read_at_its_tables_first_row():
    log = ["╭─ [✗] 1 Module Test Failed ──────────────────────────────────╮",
           "│              ╷                              ╷               │",
           "│ Module name  │ File path                    │ Test message  │",
           "│╶─────────────┼──────────────────────────────┼──────────────╴│",
           "│ flye         │ modules/nf-core/flye/tests/… │ versions not  │",
           "│              ╵                              ╵               │",
           "╰─────────────────────────────────────────────────────────────╯"]
    assert signature_and_line(log) == ("unknown", 5)


# ---- round 188's misses, fixed after its measurement -----------------------------------------------------------------

def test_krane_quoting_kubectls_failed_patch_is_read_at_its_for_line():
    stamp = "[FATAL][2017-07-31 21:33:12 +0000]\t"
    log = [f"{stamp}> Error from kubectl:", f"{stamp}    Error from server (InternalError): error when applying patch:",
           f'{stamp}    {{"spec":{{"containers":[{{"name":"runner"}}]}}}}', f"{stamp}    to:",
           f"{stamp}    &{{0xc42100b680 0xc420152070 <app> n upload-assets /tmp/Pod-upload-assets.yml}}",
           f'{stamp}    for: "/tmp/Pod-upload-assets.yml": an error on the server ("the server could not find the '
           'requested resource")', f"{stamp}> Rendered template content:"]
    assert signature_and_line(log) == ("unknown", 6)


def test_a_go_type_assertion_that_failed_names_a_failure_above_its_goroutines():
    log = ["$ fly launch", "Scanning source code", "Oops, something went wrong! Could you try that again?", "",
           "interface conversion: interface {} is nil, not map[string]interface {}", "goroutine 1 [running]:",
           "runtime/debug.Stack()", "\truntime/debug/stack.go:26 +0x64", "panic({0x104b45720?, 0x140007b38f0?})",
           "\truntime/panic.go:785 +0x124"]
    assert signature_and_line(log) == ("unknown", 5)


def test_texs_file_line_error_is_an_error_line():
    log = ["/opt/texlive/texdir/texmf-dist/tex/latex/biblatex/biblatex.sty:2175: Text line",
           "contains an invalid character.", r"l.2175      \bgroup\nohyphenation#1\egroup^^^",
           "/opt/texlive/texdir/texmf-dist/tex/latex/biblatex/biblatex.sty:2175:  ==> Fatal",
           " error occurred, no output PDF file produced!", "Transcript written on sample.log.",
           "  pdflatex: Command for 'pdflatex' gave return code 1"]
    assert signature_and_line(log) == ("unknown", 1)
    assert signature_and_line(["Running pdflatex", "./thesis.tex:42: Undefined control sequence.",
                               "Latexmk: Errors, so I did not complete making targets"]) == ("unknown", 2)


# ---- round 189's tuning logs -----------------------------------------------------------------------------------------

def test_azure_pipelines_verdict_on_a_script_task_is_read_at_the_scripts_output_above_it():
    log = ["Exception: /home/vsts/work/_temp/b7a9f14b.ps1:9", "Line |",
           '   9 |  if ($LASTEXITCODE -ne 0) { throw "Running extractor failed."}',
           "     |                             ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~",
           "     | Running extractor failed.", "",
           "##[debug]Exit code 1 received from tool '/usr/bin/pwsh'", "##[debug]task result: Failed",
           "##[error]PowerShell exited with code '1'.",
           "##[debug]Processed: ##vso[task.issue type=error;]PowerShell exited with code '1'."]
    assert signature_and_line(log)[1] in range(1, 6)
    assert signature_and_line(["curl: (60) Peer's Certificate has expired.", "##[error]Bash exited with code '60'."]) \
        == ("unknown", 1)


# ---- round 189's misses, fixed after its measurement -----------------------------------------------------------------

def test_node_errno_names_and_gos_dns_failure_name_a_failure():
    for line in ["connect EHOSTUNREACH 140.82.121.3:443", "npm ERR! network request failed, reason: ENETUNREACH",
                 "Error: getaddrinfo EAI_AGAIN registry.npmjs.org", "Error: ENOSPC: write",
                 "dial tcp: lookup goproxy.example.net on 10.233.0.10:53: no such host"]:
        assert names_failure(line), line
    assert not names_failure("EPERMISSIONS are fine") and not names_failure("ETIMEDOUTS")
    go = ["[2020-06-15T01:17:55.889Z] session.go:36:2: github.com/pingcap/parser@v0.0.0: Get "
          "https://goproxy.example.net/x.zip: dial tcp: lookup goproxy.example.net on 10.233.0.10:53: no such host", ""]
    assert signature_and_line(go * 3) == ("unknown", 1)


def test_an_actions_error_command_repeating_a_message_is_read_where_the_message_was_first_said():
    log = ["Downloading https://github.com/docker/buildx/releases/download/v0.28.0/buildx-v0.28.0.linux-amd64",
           "connect EHOSTUNREACH 140.82.121.3:443", "Waiting 17 seconds before trying again",
           "connect EHOSTUNREACH 140.82.121.4:443", "Waiting 11 seconds before trying again",
           "::error::connect EHOSTUNREACH 140.82.121.4:443"]
    assert signature_and_line(log) == ("unknown", 4)


# ---- round 190's tuning logs -----------------------------------------------------------------------------------------

GRADLE_UNRESOLVED = ["* What went wrong:", "A problem occurred configuring root project 'teammates'.",
                     "> Could not resolve all artifacts for configuration ':classpath'.",
                     "   > Could not resolve com.google.guava:guava:20.0.", "     Required by:", "         project :",
                     "      > Could not resolve com.google.guava:guava:20.0.",
                     "         > Could not get resource 'https://jcenter.bintray.com/guava-20.0.pom'."]


def test_gradles_unresolved_dependencies_are_read_at_the_transports_reason_when_the_chain_ends_in_one():
    status = ["            > Could not GET 'https://jcenter.bintray.com/guava-20.0.pom'. Received status code 502 from "
              "server: Bad Gateway", "   > Could not resolve com.google.code.gson:gson:2.7.", "      > Skipped due to "
              "earlier error"]
    assert signature_and_line(GRADLE_UNRESOLVED + status) == ("unknown", 9)
    timeout = ["            > Could not GET 'https://jcenter.bintray.com/guava-20.0.pom'.",
               "               > Read timed out"]
    assert signature_and_line(GRADLE_UNRESOLVED + timeout) == ("unknown", 10)
    # a chain that ends in no transport's reason (an unknown host's bare name) is read at its top
    host = ["            > Could not HEAD 'https://download.jetbrains.com/x.tar.gz'.",
            "               > download.jetbrains.com"]
    assert signature_and_line(GRADLE_UNRESOLVED[2:] + host)[1] in (1, 2)


# ---- round 190's misses, fixed after its measurement -----------------------------------------------------------------

def test_a_compose_containers_column_named_for_a_one_off_job_marks_no_running_app():
    fatal = ("  | PHP Fatal error:  Allowed memory size of 2147483648 bytes exhausted (tried to allocate 4096 "
             "bytes) in phar:///usr/local/bin/composer/src/Composer/DependencyResolver/Solver.php on line 223")
    job = ["install_dependencies_1  | Loading composer repositories with package information",
           f"install_dependencies_1{fatal}"]
    assert signature_and_line(job) == ("unknown", 2)
    sut = ["5852251822-sut-1    | Error: Invalid SQL: migrations/1.sql: 1: cannot open g5: No such file"]
    assert signature_and_line(sut) == ("unknown", 1)
    # an app's container failing as it starts is still a start that failed
    app = ["web-1  | Traceback (most recent call last):", '  web-1  |   File "/app/main.py", line 1, in <module>',
           "web-1  | ModuleNotFoundError: No module named 'flask'", "web-1 exited with code 1"]
    assert signature_and_line(app)[0] == "container-start-failed"


# ---- round 191's misses, fixed after its measurement -----------------------------------------------------------------

def test_a_flyio_machine_whose_process_exits_as_it_starts_is_a_start_that_failed():
    app = "2023-12-17T01:36:06.138 app[e784e113ae4e18] hkg [info] "
    log = [f"{app}[ 0.056226] PCI: Fatal: No config space access function found", "",
           f"{app}INFO Preparing to run: `./start.sh` as root", "", f"{app}/bin/sh: 0: Illegal option -", "",
           f"{app}INFO Main child exited normally with code: 2", "", f"{app}INFO Starting clean up."]
    signature, line = signature_and_line(log)
    assert signature == "container-start-failed" and line in range(5, 8)
    # the kernel's boot message alone is no failure, nor a process that exited with 0
    assert signature_and_line(log[:1] + [f"{app}INFO Main child exited normally with code: 0"])[0] == "unknown"


def test_a_python_exception_from_a_module_of_exceptions_names_a_failure():
    log = ["google.api_core.exceptions.NotFound: 404 Not found: Table p:d.t was not found in location US", "",
           "(job ID: 216488b2-449e-4ad6-9fe7-0108f5bccf1a)", "", "    -----Query Job SQL Follows-----", "",
           "   1:CREATE OR REPLACE VIEW", "   2:  `p.d.v`", "   3:AS SELECT * FROM `p.d.t`"]
    assert signature_and_line(log) == ("unknown", 1)
    assert names_failure("google.auth.exceptions.RefreshError: ('invalid_grant: Invalid JWT Signature.')")
    assert not names_failure("see google.api_core.exceptions for the classes")


# ---- a report whose telling line is any that names a failure ---------------------------------------------------------

def test_a_reports_failure_flag_takes_any_line_that_names_a_failure_as_its_telling_line():
    log = ["boom: tool quoting its program's output:", "  starting program", "  loading config",
           "  sh: 1: webpack: not found", "  Error: exited 127"]
    plain = _one("boom: tool quoting", reports=[{"opens": "tool quoting its program"}])
    flagged = _one("boom: tool quoting", reports=[{"opens": "tool quoting its program", "failure": True}])
    assert classify_log("\n".join(log), plain)[0].line == 2      # (no telling rule: the first line with text)
    assert classify_log("\n".join(log), flagged)[0].line == 4    # (the program's own failure)
    with pytest.raises(ConfigError, match=r"reports\[0\] must have `opens`"):
        _one("boom", reports=[{"opens": "tool quoting its program", "failure": "yes"}])
    with pytest.raises(ConfigError, match=r"reports\[0\] must have `opens`"):
        _one("boom", reports=[{"opens": "tool quoting its program", "failure": True, "past": ["^x "]}])


# ---- round 192's misses, fixed after its measurement -----------------------------------------------------------------

def test_something_said_not_to_exist_at_the_end_of_its_line_names_a_failure():
    buf = [f"proto/umee/{m}/v1beta1/genesis.proto:4:8:gogoproto/gogo.proto: does not exist"
           for m in ("leverage", "oracle")]
    assert signature_and_line(buf + ["make: *** [Makefile:203: proto-check-breaking] Error 1"]) == ("unknown", 1)
    assert names_failure("x Directory '/app/apps/docs' specified in filter does not exist")
    # (a tool's note that it makes what is missing goes on; so does a name that merely holds the words)
    assert not names_failure('Release "cicd" does not exist. Installing it now.')
    assert not names_failure("skip if the bucket does not exist yet")


# ---- round 193's tuning logs -----------------------------------------------------------------------------------------

def test_gatsbys_static_html_heading_is_read_at_the_webpack_error_below_it():
    old = ["11:31:27 AM: error Building static HTML failed", "11:31:27 AM:", "11:31:27 AM:",
           "11:31:27 AM:   WebpackError: Invariant failed", "11:31:27 AM:",
           "11:31:27 AM:   - build-html.js:110 doBuildPages", "11:31:27 AM: npm ERR! code ELIFECYCLE"]
    assert signature_and_line(old) == ("unknown", 4)
    v3 = ["success Rewriting compilation hashes - 0.002s", "", " ERROR #95313 ", "",
          'Building static HTML failed for path "/about/"', "", "See our docs page for more info on this error: "
          "https://gatsby.dev/debug-html", "", "", "  WebpackError: ReferenceError: window is not defined", "",
          "  - about.js:12 ", "    src/pages/about.js:12:3"]
    assert signature_and_line(v3) == ("unknown", 10)


# ---- round 193's misses, fixed after its measurement -----------------------------------------------------------------

def test_kamals_first_container_of_a_role_that_never_became_healthy_is_a_start_that_failed():
    log = ['  INFO [62dbc614] Running docker exec kamal-proxy kamal-proxy deploy app-web --target="8a72e6bb9d8e:80"',
           " ERROR Failed to boot web", "  INFO First web container is unhealthy, not booting any other roles",
           "  INFO [ba1dd874] Running docker container ls --all --filter name=^app-web-e04370f3$ --quiet",
           " ERROR 2025-06-12T13:26:09.724251244Z bin/rails aborted!"]
    assert signature_and_line(log) == ("container-start-failed", 2)
    assert signature_and_line(["ERROR Failed to boot web on 10.0.0.1",
                               "  INFO First web container is unhealthy on 10.0.0.1, not booting any other roles"]) \
        == ("container-start-failed", 1)


def test_a_lock_file_from_a_newer_poetry_is_a_failed_install():
    log = ["Step 14/18 : RUN poetry install", " ---> Running in 7c9d1bcc919b", "  RuntimeError", "",
           "  The lock file is not compatible with the current version of Poetry.",
           "  Upgrade Poetry to be able to read the lock file or, alternatively, regenerate the lock file.",
           "The command '/bin/sh -c poetry install' returned a non-zero code: 1"]
    assert signature_and_line(log) == ("pip-install-failed", 5)


def test_pipenv_missing_the_python_a_pipfile_asks_for_is_no_builders_refused_version():
    pipenv = ["Warning: Python 3.9.13 was not found on your system...",
              "Neither 'pyenv' nor 'asdf' could be found to install Python.",
              "You can specify specific versions of Python with:", "$ pipenv --python path/to/python"]
    assert signature_and_line(pipenv)[0] == "unknown"
    # ... and under Paketo's Pipenv Install buildpack, its verdict on pipenv is the failed install
    paketo = ["Paketo Pipenv Install Buildpack 0.1.0", "  Executing build process",
              "    Running 'pipenv install --deploy'", "pipenv install failed:"] + pipenv + ["", "error: exit status 1"]
    assert signature_and_line(paketo) == ("pip-install-failed", 4)
    # (a builder's own refusal of a version keeps its reading)
    assert signature_and_line(["[builder] Python 3.14 was not found", "ERROR: failed to build: exit status 1"])[0] \
        == "buildpacks-python-version"


def test_yum_and_dnf_lacking_a_repositorys_keys_name_a_failure():
    log = ["You have enabled checking of packages via GPG keys. This is a good thing.",
           "However, you do not have any GPG public keys installed. You need to download",
           "the keys for packages you wish to install and install them.", "", "Problem repository: [rhel-9-baseos]"]
    assert signature_and_line(log) == ("unknown", 2)


# ---- round 194's tuning logs and misses ------------------------------------------------------------------------------

def test_eas_submits_verdict_is_read_at_the_first_failure_in_the_submissions_logs():
    log = ["> Waiting for submission to complete. You can press Ctrl+C to exit.",
           "> ✖ Something went wrong when submitting your app to Apple App Store Connect.", ">",
           "> We couldn't figure out what went wrong. See logs to learn more.", ">",
           "> [logs] Starting iOS app upload", "> [logs] Uploading the app with fastlane pilot",
           "> [logs] Going to upload updated app to App Store Connect", "> [logs] Transporter transfer failed.",
           "> [logs]", "> [logs] An exception has occurred: issuerId is required"]
    assert signature_and_line(log) == ("unknown", 9)


def test_docker_about_to_pull_an_image_it_lacks_is_no_failure():
    pull = ["Run docker run --rm appropriate/curl -s --retry 3 http://localhost:8080/",
            "Unable to find image 'appropriate/curl:latest' locally", "latest: Pulling from appropriate/curl",
            "ff3a5c916c92: Pull complete", "Status: Downloaded newer image for appropriate/curl:latest"]
    assert signature_and_line(pull + ["##[error]Process completed with exit code 7."]) == ("unknown", 6)
    # ... and an image with nothing for the runner's platform is the failure
    windows = ["Unable to find image 'messense/cargo-zigbuild:latest' locally",
               "latest: Pulling from messense/cargo-zigbuild",
               "docker: no matching manifest for windows/amd64 10.0.20348 in the manifest list entries.",
               "See 'docker run --help'."]
    assert signature_and_line(windows) == ("unknown", 3)


# ---- round 195's misses, fixed after its measurement -----------------------------------------------------------------

def test_composer_installing_from_a_lock_file_the_platform_cannot_take_is_read_at_the_problem():
    log = ["Step 7/7 : RUN composer install", "Installing dependencies from lock file (including require-dev)",
           "Verifying lock file contents can be installed on current platform.",
           "Your lock file does not contain a compatible set of packages. Please run composer update.", "",
           "  Problem 1",
           "    - aws/aws-sdk-php is locked to version 3.214.0 and an update of this package was not requested.",
           "    - aws/aws-sdk-php 3.214.0 requires ext-simplexml * -> it is missing from your system. Install or "
           "enable PHP's simplexml extension."]
    assert signature_and_line(log) == ("unknown", 8)
    # (with no problems below it, the verdict itself)
    assert signature_and_line(log[:4] + ["Error: Process completed with exit code 2."]) == ("unknown", 4)


# ---- round 196's tuning logs -----------------------------------------------------------------------------------------

def test_gradles_unresolved_dependency_with_no_variant_the_build_can_take_is_read_at_that():
    log = ["> Could not resolve all files for configuration ':compileClasspath'.",
           "   > Could not resolve com.example:api-kotlin:2025.1.0.", "     Required by:", "         root project :",
           "      > No matching variant of com.example:api-kotlin:2025.1.0 was found. The consumer was configured to "
           "find a library for use during compile-time, compatible with Java 11, but:",
           "          - Variant 'apiElements' declares a library for use during compile-time:",
           "              - Incompatible because this component declares a component, compatible with Java 17"]
    assert signature_and_line(log) == ("unknown", 5)


# ---- round 196's misses, fixed after its measurement -----------------------------------------------------------------

def test_an_exception_below_renders_start_of_a_service_is_a_start_that_failed():
    started = ["==> Build successful 🎉", "==> Deploying...", "==> Starting service with 'yarn start:production'",
               "yarn run v1.22.5", "$ NODE_ENV=production node index.js", "node:internal/modules/cjs/loader:1042",
               "  throw err;", "  ^", "", "Error: Cannot find module '../services/users'", "Require stack:",
               "- /opt/render/project/src/index.js"]
    assert signature_and_line(started) == ("container-start-failed", 10)
    esm = ["==> Running 'node index.js'", "file:///opt/render/project/src/index.js:1",
           'import { createBareServer } from "@tomphttp/bare-server-node";', "^^^^^^^^^^^^^^^^",
           "SyntaxError: Named export 'createBareServer' not found."]
    assert signature_and_line(esm) == ("container-start-failed", 5)
    # (the same exception under Render's build command is the build's, not a start)
    built = ["==> Running build command 'yarn build'...", "$ tsc", "Error: Cannot find module 'typescript'"]
    assert signature_and_line(built)[0] == "unknown"


# ---- round 197's misses, fixed after its measurement -----------------------------------------------------------------

def test_nextflow_unable_to_create_a_process_environment_is_read_at_its_message():
    log = ["ERROR ~ Error executing process > 'prepare:check_own (1)'", "", "  Caused by:",
           "    Failed to create Conda environment",
           "    command: conda env create --prefix /w/conda/seqkit --file envs/seqkit.yml", "    status : 1",
           "    message:", '      InvalidArchiveError("Error with archive /home/runner/conda_pkgs_dir/x.conda.")']
    assert signature_and_line(log) == ("unknown", 8)
    # (a process that ran and failed has no message, and is read at the verdict)
    ran = log[:3] + ["    Process `check_own (1)` terminated with an error exit status (1)", "",
                     "  Command executed:", "", "    generate_cram_csv.sh hic-arima"]
    assert signature_and_line(ran) == ("unknown", 1)


def test_cocoapods_failing_to_download_a_pod_is_read_at_the_downloads_own_failure():
    log = ["[!] Error installing DivKitBinaryCompatibilityFacade",
           "[!] /usr/bin/curl -f -L -o /tmp/file.zip https://div-storage.s3.yandex.net/releases/x.zip --retry 2",
           "  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current",
           "  0     0    0     0    0     0      0      0 --:--:-- --:--:-- --:--:--     0curl: (6) Could not "
           "resolve host: div-storage.s3.yandex.net", "Command exited with non-zero exit-code: 1"]
    assert signature_and_line(log) == ("unknown", 4)


# ---- round 198's tuning logs and misses ------------------------------------------------------------------------------

def test_cmake_unable_to_use_a_generator_is_read_where_it_says_why():
    log = ["cmake version 3.22.2", "CMake Error at CMakeLists.txt:42 (project):", "  Generator", "",
           "    Visual Studio 16 2019", "", "  could not find any instance of Visual Studio.", "", "",
           "-- Configuring incomplete, errors occurred!"]
    assert signature_and_line(log) == ("unknown", 7)
    # (CMake's other errors about project() are read at their heading)
    other = ["CMake Error at CMakeLists.txt:3 (project):", "  No CMAKE_CXX_COMPILER could be found.", "",
             "-- Configuring incomplete, errors occurred!"]
    assert signature_and_line(other)[1] in (1, 2)


def test_a_consoles_columns_as_wide_as_the_next_long_line_are_no_line_a_terminal_cut():
    from runbook_lib.diagnose.lines import unwrapped
    row = ("49b91d6f-9bcc-4665-9a43-35ebdb7d62ea  2018-11-20T09:49:12+00:00  1M1S      "
           "gs://p_cloudbuild/source/x.tgz  -  SUCCESS")
    failure = "[ERR_PNPM_RECURSIVE_RUN_FIRST_FAIL] app@1.0.0 build: `pnpm run clean && concurrently pnpm:build:*`"
    failure += "x" * (len(row) - len(failure))
    assert len(failure) == len(row)
    log = ["DONE", "", "ID  CREATE_TIME  DURATION  SOURCE  IMAGES  STATUS", row, failure,
           'Command failed with signal "SIGTERM"']
    assert unwrapped("\n".join(log))[1] is None
    assert signature_and_line(log)[1] in (5, 6)


# ---- round 199's misses, fixed after its measurement -----------------------------------------------------------------

def test_pack_unable_to_get_a_buildpack_or_read_the_previous_image_is_no_buildpacks_failure():
    download = ["$ pack build myapp --buildpack dmikusa/apt@0.2.5", "24: Pulling from heroku/builder",
                "Status: Downloaded newer image for heroku/builder:24",
                "ERROR: failed to build: downloading buildpack: extracting from registry dmikusa/apt@0.2.5: fetching "
                "image: Error response from daemon: manifest unknown"]
    assert signature_and_line(download) == ("unknown", 4)
    analyzer = ["===> ANALYZING", "[analyzer] Error: failed to access previous image: connect to repo store "
                "'docker.pkg.github.com/o/r/i:latest': NAME_UNKNOWN: docker package \"i\" does not exist under owner",
                "ERROR: failed with status code: 1"]
    assert signature_and_line(analyzer) == ("unknown", 2)


def test_logrus_levels_of_an_error_name_one():
    log = ["FATA[0034] apply failed: failed parsing json: invalid character '<' looking for beginning of value; "
           "response from API:", "<!DOCTYPE html>", "<html>", "  <head>", "    <title>Application Error</title>"]
    assert signature_and_line(log) == ("unknown", 1)
    assert names_error("ERRO[0000] error waiting for container: context canceled")
    assert not names_error("INFO[0000] applying migrations") and not names_error("WARN[0001] retrying")


# ---- round 200's misses, fixed after its measurement -----------------------------------------------------------------

def test_ansibles_failed_task_is_read_at_the_stderr_it_quotes():
    yaml_result = ["TASK [ceph-rgw-loadbalancer : generate haproxy configuration file: haproxy.cfg] ****",
                   "fatal: [ceph-rgw01]: FAILED! => changed=false", "  exit_status: 1", "  msg: failed to validate",
                   "  stderr: |-",
                   "    [ALERT] 351/140240 (18214) : parsing [source:11] : 'stats socket' : unknown keyword "
                   "'tune.ssl.default-dh-param'. Registered keywords :", "        [ ALL] accept-proxy"]
    assert signature_and_line(yaml_result) == ("unknown", 6)
    json_result = ["TASK [nodenv_install : ensure node version 24.10.0 is installed (with yarn)] ***",
                   "fatal: [staging]: FAILED! => {", '    "changed": false,', '    "rc": 1', "}", "", "STDERR:", "",
                   "node-build: definition not found: 24.10.0", "",
                   "See all available versions with `nodenv install --list'."]
    assert signature_and_line(json_result) == ("unknown", 9)
    # (a result that quotes no stderr is read at Ansible's line)
    quoted_none = ["fatal: [localhost]: FAILED! => changed=false",
                   "  msg: 'Directory ''/tmp/x/tests/scorecard/'' specified in annotations does not exist'"]
    assert signature_and_line(quoted_none)[1] in (1, 2)


def test_a_cause_that_repeats_the_failures_own_message_is_read_where_it_was_first_said():
    log = ['Exception in thread "main" clojure.lang.ExceptionInfo: ns "java.lang.StringBuilder" not available '
           '{:ns java.lang.StringBuilder}, compiling:(/tmp/form-init1.clj:1:72)',
           "\tat clojure.lang.Compiler.load(Compiler.java:7249)", "\tat clojure.main.main(main.java:37)",
           'Caused by: clojure.lang.ExceptionInfo: ns "java.lang.StringBuilder" not available '
           '{:ns java.lang.StringBuilder}',
           "\tat clojure.core$ex_info.invoke(core.clj:4591)"]
    assert signature_and_line(log) == ("unknown", 1)


def test_a_bracketed_time_of_day_is_a_lines_prefix_whatever_the_lines_around_it():
    upload = ["[10:43:47] INFO: Start upload of ghcr.io/o/addon-i386:0.1.0 (attempt #1/3)",
              "[10:43:47] WARNING: Upload failed on attempt #1", "[10:44:17] INFO: Start upload (attempt #2/3)",
              "[10:44:18] WARNING: Upload failed on attempt #2", "[10:44:48] FATAL: Upload failed on attempt #3"]
    healthy = ["Step #1: versionId: '1'", "Finished Step #1", "PUSH", "DONE"]
    assert signature_and_line(upload) == ("unknown", 5)
    assert signature_and_line(healthy + upload) == ("unknown", 9)


# ---- round 201's tuning logs -----------------------------------------------------------------------------------------

def test_webpacks_error_report_ends_where_the_next_one_starts():
    log = ["ERROR in Template parse errors:", 'There is no directive with "exportAs" set to "mdAutocomplete" ("',
           '    <md-autocomplete [ERROR ->]#searchSuggestBox="mdAutocomplete">', "ERROR in ./src/main.ts",
           "Module not found: Error: Can't resolve './$$_gendir/app/app.module.ngfactory' in '/build/src'"]
    assert signature_and_line(log)[1] in (1, 2)
    # (a report with its own loader's error still reads it)
    sass = ["ERROR in ./app/javascript/x.scss", "Module build failed (from ./node_modules/sass-loader/dist/cjs.js):",
            "SassError: File to import not found or unreadable: ~bootstrap/scss/bootstrap."]
    assert signature_and_line(sass) == ("unknown", 3)


# ---- round 201's misses, fixed after its measurement -----------------------------------------------------------------

def test_a_tool_requiring_a_newer_runtime_names_a_failure():
    log = ["Node.js version v16.20.2 detected.", "The Angular CLI requires a minimum Node.js version of v18.13.", "",
           "Please update your Node.js version or visit https://nodejs.org/ for additional instructions.", "",
           "Error: Process completed with exit code 3."]
    assert signature_and_line(log) == ("unknown", 2)
    assert not names_failure("This package requires a minimum of two reviewers")


# ---- round 202's misses, fixed after its measurement -----------------------------------------------------------------

def test_docker_hubs_autobuild_without_its_dockerfile_is_a_dockerfile_not_in_the_upload():
    log = ["o/app:latest: Build in 'master' (b8bec0d3)", "ERROR: Build failed: Dockerfile not found at ./Dockerfile "
           "ERROR: Build failed with exit code 2 ERROR: Build in 'master' (b8bec0d3) failed in 0:00:42"]
    assert signature_and_line(log) == ("dockerfile-not-in-upload", 2)
    assert signature_and_line(["Dockerfile not found at: Dockerfile", "Build failed"])[0] == "dockerfile-not-in-upload"


# ---- round 203's misses, fixed after its measurement -----------------------------------------------------------------

def test_the_standard_error_streams_name_is_no_error():
    log = ["Environment Standard Error", "", "", "", "CHECKOUT", "",
           "fatal: Failed to resolve 'master' as a valid ref."]
    assert signature_and_line(log) == ("unknown", 7)
    assert not names_error("Standard Error") and not names_failure("--- Standard error ---")
    assert names_error("a standard library error: boom")


# ---- round 204's tuning logs -----------------------------------------------------------------------------------------

def test_a_process_out_of_memory_names_a_failure():
    log = ["Starting a Gradle Daemon (subsequent builds will be faster)",
           "The message received from the daemon indicates that the daemon has disappeared.",
           "Build request sent: Build{id=35870ef8.1, currentDir=/builds/app}",
           "Attempting to read last messages from the daemon log...", "Daemon pid: 423",
           "  log file: /root/.gradle/daemon/3.3/daemon-423.out.log"]
    assert signature_and_line(log) == ("unknown", 2)
    assert names_failure("<--- JS stacktrace ---> JavaScript heap out of memory")
    assert names_failure("Expiring Daemon because JVM heap space is exhausted")
    assert names_failure("> GC overhead limit exceeded")
    assert not names_failure("Uses less memory than before")


# ---- round 204's misses, fixed after its measurement -----------------------------------------------------------------

def test_a_tool_unable_to_parse_a_runtimes_own_version_is_no_version_file_refused():
    log = ["$ java -Xmx32m -version", 'openjdk version "11.0.2" 2019-01-15', "4.46s$ ./gradlew assemble",
           "FAILURE: Build failed with an exception.", "* What went wrong:",
           "Could not determine java version from '11.0.2'.", "* Try:"]
    assert signature_and_line(log) == ("unknown", 6)
    # (a builder unable to set the version a file names still is)
    refused = ["-----> Python app detected", " !     Error setting python version from runtime.txt"]
    assert signature_and_line(refused)[0] == "buildpacks-python-version"


# ---- round 205's misses, fixed after its measurement -----------------------------------------------------------------

def test_a_diagnostic_in_file_line_form_without_a_level_names_a_failure():
    log = ["Starting 'govet' pass at Wed Jan 24 12:51:20 UTC 2018", "# github.com/coreos/etcd/auth",
           "auth/store_test.go:675: etcdserverpb.AuthUserAddRequest composite literal uses unkeyed fields",
           "auth/store_test.go:682: etcdserverpb.AuthRoleAddRequest composite literal uses unkeyed fields",
           "auth/store_test.go:687: etcdserverpb.AuthUserGrantRoleRequest composite literal uses unkeyed fields"]
    assert signature_and_line(log) == ("unknown", 3)
    assert names_failure("./main.go:10:2: undefined: foo")
    # (a level below an error's, a Python warning, and a stack frame are none)
    for line in ("src/a.c:3:1: warning: unused variable 'x'", "src/a.c:3:1: note: declared here",
                 "main.py:3: DeprecationWarning: the imp module is deprecated",
                 "\t/usr/local/go/src/runtime/panic.go:212 +0x55", "    at run (/app/index.js:10:5)"):
        assert not names_failure(line), line


def test_a_threshold_not_met_names_a_failure():
    log = ['Jest: "global" coverage threshold for statements (85%) not met: 75.08%',
           'Jest: "global" coverage threshold for lines (85%) not met: 75.08%', "",
           "Test Suites: 12 skipped, 9 passed, 9 of 21 total", "Ran all test suites.", "npm ERR! code ELIFECYCLE",
           "npm ERR! errno 1", "npm ERR! app@0.0.1 test:unit: `jest --ci --coverage`", "npm ERR! Exit status 1"]
    assert signature_and_line(log) == ("unknown", 1)
    assert names_failure("Package requirements (libssl libcrypto) were not met:")
    assert not names_failure("Once met, the conditions are not metered")


# ---- round 206's tuning logs -----------------------------------------------------------------------------------------

def test_pre_commit_failing_a_run_whose_hooks_changed_files_names_a_failure():
    log = ["pre-commit hook(s) made changes.",
           "If you are seeing this message in CI, reproduce locally with: `pre-commit run --all-files`.",
           "All changes made by hooks:", "diff --git a/docs/conf.py b/docs/conf.py", "--- a/docs/conf.py",
           "+++ b/docs/conf.py", "@@ -32,8 +32,6 @@", "-    ", '     "CircuitPython": ("https://docs.x.org/", None),']
    assert signature_and_line(log) == ("unknown", 1)
    assert names_failure("- files were modified by this hook")


# ---- round 206's misses, fixed after its measurement -----------------------------------------------------------------

def test_netlifys_box_on_a_failed_build_command_is_read_at_its_error_message():
    log = ["8:19:16 AM: ┌─────────────────────────────┐", '8:19:16 AM: │   "build.command" failed    │',
           "8:19:16 AM: └─────────────────────────────┘", "8:19:16 AM:", "8:19:16 AM:   Error message",
           "8:19:16 AM:   Command failed with exit code 1: npm run generate", "8:19:16 AM:",
           "8:19:16 AM:   Error location", "8:19:16 AM:   In build.command from netlify.toml:"]
    assert signature_and_line(log) == ("unknown", 6)


def test_pre_commits_reports_are_read_at_what_is_wrong():
    manifest = ["An error has occurred: InvalidManifestError: ",
                "==> File /home/circleci/.cache/pre-commit/repom2uplygd/.pre-commit-hooks.yaml",
                "==> At Hook(id='check-added-large-files')", "==> At key: stages", "==> At index 0",
                "=====> Expected one of commit, commit-msg, manual, push but got: 'pre-commit'"]
    assert signature_and_line(manifest) == ("unknown", 6)
    # (a command it ran, at that command's stderr, behind Dagger's step and time)
    command = [" 23  :   [17.5s] | An unexpected error has occurred: CalledProcessError: command: ('/root/.cache/"
               "pre-commit/repo5z/node_env-default/bin/node', 'npm', 'install')", "23  :   [17.5s] | return code: 127",
               "23  :   [17.5s] | stdout: (none)", "23  :   [17.5s] | stderr:",
               "23  :   [17.5s] |     Error relocating /root/.cache/pre-commit/repo5z/node_env-default/bin/node: "
               "_ZNSt7__cxx11: symbol not found",
               "23  :   [17.5s] | Check the log at /root/.cache/pre-commit/pre-commit.log"]
    assert signature_and_line(command) == ("unknown", 5)


def test_a_hosts_warning_level_over_a_loggers_error_level_is_an_error():
    log = ["2021-03-22T21:02:55.021Z [WARNING]: [error] Could not resolve routes", "--",
           "105 | 2021-03-22T21:02:55.023Z [WARNING]: [fatal] Request failed with status code 502",
           "106 | at createError (node_modules/axios/lib/core/createError.js:16:15)"]
    assert signature_and_line(log) == ("unknown", 1)


def test_a_link_checkers_failures_are_read_at_the_first_one_above_its_count():
    log = ["- public/post/goisforlovers/index.html",
           "  *  internally linking to /content/front-matter, which does not exist (line 315)",
           '     <a href="/content/front-matter">front matter</a>',
           "  *  internally linking to /layout/functions, which does not exist (line 127)",
           '     <a href="/layout/functions">Hugo template functions</a>',
           "htmlproofer 3.10.2 | Error:  HTML-Proofer found 2 failures!"]
    assert signature_and_line(log) == ("unknown", 2)
    assert names_failure("Misspelled words:")


def test_a_traceback_between_a_viewers_line_numbers_is_read_at_its_exception():
    log = ["Traceback (most recent call last):", "15", '  File "/home/runner/bin/main", line 298, in <module>', "16",
           "    raise SystemExit(main())", "17", "                     ^^^^^^", "18",
           '  File "/usr/lib/python3.12/subprocess.py", line 413, in check_call', "19",
           "    raise CalledProcessError(retcode, cmd)", "20",
           "subprocess.CalledProcessError: Command '('git', 'commit')' returned non-zero exit status 1."]
    assert signature_and_line(log) == ("unknown", 13)


# ---- round 207's tuning logs -----------------------------------------------------------------------------------------

def test_rspec_unable_to_load_a_spec_is_read_at_the_exceptions_message():
    log = ["An error occurred while loading ./spec/helpers/git_spec.rb. - Did you mean?",
           "                    rspec ./spec/spec_helper.rb", "", "Failure/Error: require 'git'", "", "LoadError:",
           "  cannot load such file -- git", "# ./lib/helpers/git.rb:1:in `<top (required)>'", "",
           "Finished in 0.00003 seconds (files took 0.12259 seconds to load)",
           "0 examples, 0 failures, 1 error occurred outside of examples", "",
           "##[error]Process completed with exit code 1."]
    assert signature_and_line(log) == ("unknown", 7)


# ---- round 207's misses, fixed after its measurement -----------------------------------------------------------------

def test_an_error_the_tool_falls_back_from_gives_way_to_the_next():
    log = ["+ circleci tests run --command 'xargs bundle exec rspec' --split-by=timings",
           "There was an error reading historical timing data: file does not existRequested weighting by historical "
           "based timing, but they are not present. Falling back to weighting by name.",
           "DEBU[2025-07-31T12:10:32Z] starting execution", "",
           "An error occurred while loading ./spec/models/user_spec.rb.",
           "Failure/Error: require_relative '../config/environment'", "", "ArgumentError:",
           "  Route path not specified"]
    assert signature_and_line(log) == ("unknown", 9)
    # (alone, it is still what the log says went wrong)
    assert signature_and_line(log[:3]) == ("unknown", 2)


def test_rspec_unable_to_load_a_helper_is_read_at_rails_own_exception():
    log = ["An error occurred while loading rails_helper.",
           "Failure/Error: ActiveRecord::Migration.maintain_test_schema!",
           "", "ActiveRecord::ConnectionNotEstablished:",
           '  connection to server at "::1", port 5432 failed: Connection refused',
           "  \tIs the server running on that host and accepting TCP/IP connections?",
           "# ./spec/rails_helper.rb:30:in `<top (required)>'", "No examples found."]
    assert signature_and_line(log) == ("unknown", 5)


def test_tox_on_dependencies_pip_could_not_install_is_a_pip_failure():
    log = ["ERROR: could not install deps [-r/home/travis/build/app/requirements_dev.txt]; v = InvocationError('/home/"
           "travis/build/app/.tox/py36/bin/python -m pip install -r/home/travis/build/app/requirements_dev.txt', 1)",
           "___________________________________ summary ____________________________________",
           'The command "tox" exited with 1.']
    assert signature_and_line(log) == ("pip-install-failed", 1)
    direct = ["py36 inst: /home/travis/build/app/.tox/.tmp/package/1/v2x-0.0.1.zip",
              "ERROR: invocation failed (exit code 1), logfile: /home/travis/build/app/.tox/py36/log/py36-2.log",
              "Processing ./.tox/.tmp/package/1/v2x-0.0.1.zip",
              "Direct url requirement (like vtr_xml_utils@ git+https://github.com/x/vtr-xml-utils) are not allowed for "
              "dependencies"]
    assert signature_and_line(direct) == ("pip-install-failed", 4)


# ---- round 208's tuning logs -----------------------------------------------------------------------------------------

def test_netlify_on_a_functions_missing_dependency_is_read_at_the_module():
    log = ["Error message", "5:59:05 PM:   A Netlify Function failed to require one of its dependencies.",
           "5:59:05 PM:   Please make sure it is present in the site's top-level \"package.json\".", "",
           '5:59:05 PM:   In file "/opt/build/repo/netlify/functions/careers/careers.js"',
           "5:59:05 PM:   Cannot find module '@react-native-async-storage/async-storage'"]
    assert signature_and_line(log) == ("unknown", 6)


# ---- round 208's misses, fixed after its measurement -----------------------------------------------------------------

def test_xunits_exception_with_its_message_apart_names_a_failure():
    log = ["---- System.ArgumentException : Docker is either not running or misconfigured. Please ensure that Docker "
           "is running.", "  Stack Trace:",
           "     at App.Tests.Containers.DisposeAsync() in /builds/app/Containers.cs:line 9",
           "----- Inner Stack Trace -----",
           "   at DotNet.Testcontainers.Guard.ThrowIf(...) in /_/src/Guard.Null.cs:line 62"]
    assert signature_and_line(log) == ("unknown", 1)


def test_testifys_report_is_read_at_its_error():
    log = ["=== RUN   TestSuite", "--- FAIL: TestSuite (62.33s)", "    customers_test.go:41:",
           "        \tError Trace:\tcustomers_test.go:41", "        \t            \t\t\t\tsuite.go:118",
           "        \tError:      \tReceived unexpected error:",
           "        \t            \tcreating reaper failed: could not start container: dial tcp 169.254.1.1:32768: "
           "i/o timeout", "        \tTest:       \tTestSuite", "FAIL"]
    assert signature_and_line(log)[1] in (6, 7)


def test_functions_core_tools_on_pip_it_ran_is_a_pip_failure():
    log = ["> func azure functionapp publish churnapp --force", "",
           "There was an error restoring dependencies.ERROR: ['pip', 'download', '-r', '/app/requirements.txt', "
           "'--dest', '/tmp/azureworkers'] failed with exit code 1"]
    assert signature_and_line(log) == ("pip-install-failed", 3)


# ---- round 209's tuning logs -----------------------------------------------------------------------------------------

def test_a_ci_setup_action_without_a_build_of_a_version_is_no_builder_refusing_it():
    log = ["Not found in manifest. Falling back to download directly from Node",
           "Error: Unable to find Node version '22' for platform linux and architecture x86."]
    assert signature_and_line(log) == ("unknown", 2)
    assert signature_and_line(["-----> Installing node", " !     Unable to find Node version 22.99.0"])[0] \
        == "buildpacks-python-version"


def test_acr_tasks_verdicts_are_read_near_the_steps_own_output():
    log = ['  "vulnerability_summary": {', '    "high": 1,', '    "medium": 7', "  }", "}",
           "The command '/bin/sh -c /microscanner your-token' returned a non-zero code: 4",
           "2019/08/05 05:20:54 Container failed during run: acb_step_2. No retries remaining.",
           "failed to run step ID: acb_step_2: exit status 4", "",
           "Run ID: ce9 failed after 34s. Error: failed during run, err: exit status 1"]
    assert signature_and_line(log)[1] in range(3, 10)


# ---- round 209's misses, fixed after its measurement -----------------------------------------------------------------

def test_exec_maven_plugins_verdict_is_read_at_the_programs_own_output():
    log = ["[INFO] --- exec-maven-plugin:1.6.0:exec (generate) @ handler ---", "=== Unhandled exception ===",
           "Please report this issue to the team.", "Please include the log file 'rpdk.log'",
           "[ERROR] Command execution failed.",
           "org.apache.commons.exec.ExecuteException: Process exited with an error: 127 (Exit value: 127)",
           "at org.apache.commons.exec.DefaultExecutor.executeInternal (DefaultExecutor.java:404)"]
    assert signature_and_line(log) == ("unknown", 2)


# ---- round 210's tuning logs -----------------------------------------------------------------------------------------

def test_an_error_that_names_none_gives_way_to_the_failure_above_it():
    log = ["2020-09-03T16:15:43.902Z [WARNING]: ✔ Successfully pulled backend environment devb from the cloud.",
           "2020-09-03T16:15:44.776Z [INFO]: python3 found but version Python 3.7.4 is less than the minimum required "
           "version.", '                                 You must have python >= 3.8 installed and available on your '
           'PATH as "python3".',
           "2020-09-03T16:15:44.778Z [WARNING]: ✖ An error occurred when pushing the resources to the cloud",
           "                                    ✖ There was an error initializing your environment."]
    assert signature_and_line(log) == ("unknown", 2)
    # (not one that gives its message, nor a report's heading)
    said = ["Serverless: Operation failed!", "  Serverless Error ---------------------------------------",
            "  An error occurred: ApiLambdaFunction - Function code combined with layers exceeds the maximum allowed "
            "size"]
    assert signature_and_line(said)[1] == 3


# ---- round 210's misses, fixed after its measurement -----------------------------------------------------------------

def test_poetrys_failed_package_and_its_build_backend_are_pip_failures():
    log = ["  • Installing pyyaml (5.4.1): Failed", "", "  CalledProcessError", "",
           "  at /usr/local/lib/python3.10/subprocess.py:524 in run"]
    assert signature_and_line(log) == ("pip-install-failed", 1)
    backend = ["#16 23.40   Backend 'setuptools.build_meta:__legacy__' is not available.", "#16 23.40",
               "#16 23.40   at /usr/local/lib/python3.9/site-packages/poetry/installation/chef.py:152 in _prepare",
               '#16 23.42       149│                 error = ChefBuildError("\\n\\n".join(message_parts))',
               "#16 23.43     → 152│                 raise error from None"]
    assert signature_and_line(backend) == ("pip-install-failed", 1)


def test_a_github_actions_step_stopped_at_its_own_timeout_is_a_timeout():
    log = ["Run nwtgck/actions-netlify@v1.1", "  with:", "    publish-dir: ./public", "  env:",
           "    NETLIFY_AUTH_TOKEN: ***", "##[error]The action has timed out."]
    assert signature_and_line(log) == ("build-timeout", 6)


# ---- round 212's tuning logs -----------------------------------------------------------------------------------------

def test_pytest_unable_to_collect_a_module_is_read_at_its_exception():
    log = ["Run pytest", "============================= test session starts ==============================",
           "collected 13 items / 1 error", "",
           "==================================== ERRORS ====================================",
           "___________________ ERROR collecting tests/test_optimizer.py ___________________",
           "ImportError while importing test module '/home/runner/work/app/tests/test_optimizer.py'.",
           "Hint: make sure your test modules/packages have valid Python names.", "Traceback:",
           "tests/test_optimizer.py:3: in <module>", "    from train_network import setup_parser",
           "E   ModuleNotFoundError: No module named 'train_network'",
           "=========================== short test summary info ============================",
           "ERROR tests/test_optimizer.py"]
    assert signature_and_line(log) == ("unknown", 12)


# ---- round 212's misses, fixed after its measurement -----------------------------------------------------------------

def test_pytest_on_a_set_up_that_raised_is_read_at_its_exception():
    log = ["____ ERROR at setup of TestAuthenticate.test_creates_action_log ____",
           "self = <django.db.backends.utils.CursorWrapper object at 0x7ff0b5739128>",
           "sql = 'CREATE DATABASE \"test_d5ccjhie43jnqf\" ', params = None",
           "    def _execute(self, sql, params, *ignored_wrapper_args):", "            if params is None:",
           ">               return self.cursor.execute(sql)",
           "E               psycopg2.errors.InsufficientPrivilege: permission denied to create database",
           ".heroku/python/lib/python3.6/site-packages/django/db/backends/utils.py:82: InsufficientPrivilege"]
    assert signature_and_line(log) == ("unknown", 7)


# ---- round 213's tuning logs -----------------------------------------------------------------------------------------

def test_concourse_on_a_resource_script_that_failed_is_read_at_its_stderr():
    log = ["checking failed", "resource script '/opt/resource/check []' failed: exit status 128", "", "stderr:",
           "Identity added: /tmp/git-resource-private-key (/tmp/git-resource-private-key)",
           "fatal: repository '/tmp/git-resource-repo-cache' does not exist"]
    assert signature_and_line(log) == ("unknown", 6)
    # (a Go tool's `exit status N` over its `STDERR:` block is still read there)
    helmfile = ["ERROR:", "  exit status 1", "", "EXIT STATUS", "  1", "", "STDERR:", "  Error: chart not found"]
    assert signature_and_line(helmfile)[1] in (7, 8)


# ---- round 214's misses, fixed after its measurement -----------------------------------------------------------------

def test_the_docker_daemons_log_of_a_refused_pull_is_no_refused_push():
    log = ["Step 15/22 : FROM dev_container_feature_content_temp as dev_containers_feature_content_source",
           'time="2022-06-27T15:37:56.879823879Z" level=error msg="Not continuing with pull after error: errors:\\n'
           'denied: requested access to the resource is denied\\nunauthorized: authentication required\\n"',
           'time="2022-06-27T15:37:56.879973550Z" level=info msg="Ignoring extra error returned from registry: '
           'unauthorized: authentication required"',
           "[981072 ms] pull access denied for dev_container_feature_content_temp, repository does not exist or may "
           "require 'docker login': denied: requested access to the resource is denied", "[981078 ms] Exit code 1"]
    assert signature_and_line(log)[0] == "unknown"
    assert signature_and_line(["The push refers to repository [docker.io/acme/app]",
                               "denied: requested access to the resource is denied"])[0] == "push-permission-denied"


@pytest.mark.parametrize("code, expected", [("502", "container-start-failed"), ("404", "unknown")])
def test_zappas_status_check_with_a_server_error_is_a_function_that_did_not_start(code, expected):
    log = ["Waiting for stack flask-restapi-dev to create (this can take a bit)..", "Deploying API Gateway..",
           f"Error: Warning! Status check on the deployed lambda failed. A GET request to '/' yielded a {code} "
           "response code."]
    assert signature_and_line(log)[0] == expected


def test_istioctls_mark_on_a_component_it_could_not_install_names_an_error():
    log = ["Processing resources for component Pilot...", "✘ Component Pilot installation had errors: ",
           "Timeout: request did not complete within requested timeout 30s", "",
           "Error: failed to apply manifests: errors occurred during operation"]
    assert signature_and_line(log) == ("unknown", 2)
    assert names_error("✘ Component Pilot installation had errors:") and not names_error("✘")


@pytest.mark.parametrize("line, fails", [
    ("[20:08:03]: the server responded with status 400", True),
    ("upload: the registry responded with 403 Forbidden", True),
    ("2021-03-30T17:02:19Z A downloaded software component is corrupted and will not be used.", True),
    ("the server responded with status 200", False),
    ("Could not find @datadog/datadog-ci-plugin-synthetics. Installing...", True),   # (it names a failure ...)
])
def test_a_servers_error_status_and_a_corrupted_download_are_failures(line, fails):
    assert names_failure(line) is fails


def test_a_tool_that_installs_what_it_did_not_find_went_on_past_it():
    log = ["npm warn exec The following package was not found and will be installed: @datadog/datadog-ci@4.0.0",
           "Could not find @datadog/datadog-ci-plugin-synthetics. Installing...", "",
           "┏━ [Plugin not installed 🔌]", "┃ The datadog-ci synthetics run-tests command could not be found.",
           "┗━"]
    assert signature_and_line(log) == ("unknown", 5)


@pytest.mark.parametrize("kind", ["FAIL", "ERROR"])
def test_unittests_report_on_a_test_is_read_at_the_exception_that_ends_its_traceback(kind):
    log = ["=" * 70, f"{kind}: test_all (test_rules_new.PLNUnitTester)", "-" * 70,
           "Traceback (most recent call last):",
           '  File "/buildbot/build/tests/test_rules_new.py", line 232, in verify_result',
           "    self.assertTrue(allPredictedItemsExist and allItemsWerePredicted)",
           "AssertionError: False is not true"]
    assert signature_and_line(log) == ("unknown", 7)


def test_a_yaml_parsers_report_is_read_at_its_problem_under_circlecis_config_processing_error():
    log = ["Config Processing Error", "", "$ #!/bin/sh -eo pipefail", "  # Unable to parse YAML",
           "  # while constructing a mapping", "  #  in 'string', line 64, column 11:",
           '  #               key: \\"android_sdk\\"', "  #               ^", "  # found duplicate key key",
           "  #  in 'string', line 67, column 11:", "  false", "", "Exited with code 1"]
    assert signature_and_line(log) == ("unknown", 9)
    # PyYAML's report where a tool prints it alone
    alone = ["Error: yaml: while parsing a block mapping", "  in \"compose.yml\", line 3, column 5",
             "expected <block end>, but found '<block mapping start>'", '  in "compose.yml", line 9, column 7']
    assert signature_and_line(alone) == ("unknown", 3)


def test_maven_invokers_list_of_failed_builds_gives_way_to_the_failure_above_it():
    log = ["[INFO] Running post-build script: verify.groovy", "[INFO] ..FAILED (15.5 s)",
           "[INFO]   The post-build script did not succeed. startup failed:",
           "Script1.groovy: 36: unable to resolve class XmlParser", " @ line 36, column 15.", "", "1 error", "",
           "[INFO] Build Summary:", "[INFO]   Passed: 0, Failed: 1, Errors: 0, Skipped: 0",
           "[ERROR] The following builds failed:", "[ERROR] *  basics/pom.xml"]
    top = signature_and_line(log)
    assert top[0] == "unknown" and 2 <= top[1] <= 4


def test_a_refused_ref_is_read_above_gits_verdict_and_a_go_clis_bare_exit_status():
    log = ['Pushing to branch "gh-pages"', "To https://github.com/example/helm-charts",
           " ! [rejected]        HEAD -> gh-pages (non-fast-forward)",
           "error: failed to push some refs to 'https://github.com/example/helm-charts'",
           "hint: Updates were rejected because a pushed branch tip is behind its remote", "Error: exit status 1",
           "Usage:", "  cr upload [flags]"]
    assert signature_and_line(log) == ("unknown", 3)
    assert names_failure(" ! [rejected]        main -> main (fetch first)")
    # (a platform's verdict on a push whose build failed is no cause of its own)
    assert not names_failure(" ! [remote rejected] master -> master (pre-receive hook declined)")


def test_gradles_unresolved_dependency_is_read_at_the_resolvers_reason_at_the_end_of_its_chain():
    log = ["> Could not resolve all files for configuration ':detachedConfiguration1'.",
           "   > Could not resolve com.jetbrains.intellij.idea:ideaIC:2019.1.3.", "     Required by:",
           "         project :", "      > Could not resolve com.jetbrains.intellij.idea:ideaIC:2019.1.3.",
           "         > Could not get resource 'https://cache-redirector.jetbrains.com/x/ideaIC-2019.1.3.pom'.",
           "            > Could not GET 'https://dt9qhxywftqdz.cloudfront.net/x/ideaIC-2019.1.3.pom'.",
           "               > dt9qhxywftqdz.cloudfront.net: Name or service not known"]
    assert signature_and_line(log) == ("unknown", 8)


@pytest.mark.parametrize("rules_verdict", ["fakeroot debian/rules binary-arch gave error exit status 2",
                                           "debian/rules build subprocess returned exit status 2"])
def test_a_debian_package_build_is_read_at_the_helper_that_gave_up_not_dpkg_buildpackages_verdict(rules_verdict):
    log = ["   debian/rules override_dh_install", "make[1]: Entering directory `/«PKGBUILDDIR»'",
           "dh_install --list-missing",
           "dh_install: libfoo1 missing files (usr/lib/*/libFoo.so.1), aborting",
           "make[1]: *** [override_dh_install] Error 20", "make[1]: Leaving directory `/«PKGBUILDDIR»'",
           "make: *** [binary-arch] Error 2", f"dpkg-buildpackage: error: {rules_verdict}"]
    assert signature_and_line(log) == ("unknown", 4)
    assert names_failure("fakeroot: preload library `libfakeroot.so' not found, aborting.")
    assert not names_failure("Press Ctrl-C to stop the aborting-test fixture")


def test_a_node_tools_log_of_a_failed_command_is_read_at_the_commands_report_below_it():
    log = ["ERROR  Command failed: npm list --production --parseable --depth=99999 --loglevel=error", "",
           "npm ERR! code ELSPROBLEMS", "> vscode-ext@0.15.2 package",
           "npm ERR! invalid: @azure-tools/azcopy-win32@10.18.1 /home/runner/work/1/s/node_modules/x"]
    assert signature_and_line(log) == ("unknown", 5)


def test_pips_mark_on_the_first_line_of_a_builds_output_is_read_at_the_builds_own_error():
    log = ["ERROR: running bdist_wheel", "running build", "running build_py", "creating build",
           "running build_ext", "running build_rust", "error: Can not find Rust compiler"]
    assert signature_and_line(log) == ("unknown", 7)


def test_a_terraform_diagnostic_whose_summary_names_only_a_kind_of_error_is_read_at_its_detail():
    box = ["╷", "│ Error: Bootstrap run error", "│ ", "│   with flux_bootstrap_git.this,",
           '│   on main.tf line 14, in resource "flux_bootstrap_git" "this":',
           '│   14: resource "flux_bootstrap_git" "this" {', "│ ",
           "│ bootstrap failed with 1 health check failure(s)", "╵"]
    assert signature_and_line(box) == ("unknown", 8)
    # (outside a box, such an error is the whole message: the lines below it are its frames or a verdict)
    assert signature_and_line(["Error: Exec format error", "Process exited with status 126"]) == ("unknown", 1)


@pytest.mark.parametrize("prefix", ["", "14.02 "])
def test_cabals_solver_is_read_at_the_goal_it_could_not_meet(prefix):
    log = [f"{prefix}cabal: Could not resolve dependencies:", f"{prefix}[__0] trying: app-1.5.0.1 (user goal)",
           f"{prefix}[__1] rejecting: app:!test (constraint from config file, command line flag, or user target)",
           f"{prefix}[__1] trying: app:*test",
           f"{prefix}[__2] unknown package: app-prelude-test (dependency of app *test)",
           f"{prefix}[__2] fail (backjumping, conflict set: app, app-prelude-test, app:test)"]
    assert signature_and_line(log) == ("unknown", 5)


def test_opams_report_is_read_at_the_first_failure_in_the_commands_output():
    log = ["#=== ERROR while compiling sexplib.v0.10.0 ====================================#",
           "# command              ~/.opam/4.06/bin/jbuilder build -p sexplib -j 71", "# exit-code            1",
           "### output ###", "#           sh src/pre_sexp.pp.ml (exit 126)",
           "# (cd _build/default && /bin/sh -c '${PA_CPP} src/pre_sexp.ml') > _build/default/src/pre_sexp.pp.ml",
           "# /bin/sh: 1: src/pre_sexp.ml: Permission denied"]
    assert signature_and_line(log) == ("unknown", 7)


def test_a_json_log_records_level_is_passed_over_for_its_error_field():
    log = ["{", '    "level": "error",', '    "ts": "2021-11-16T11:36:55.004Z",',
           '    "msg": "Reconciliation failed after 25.715815ms, next try in 1m0s",',
           '    "name": "podinfo-deploy-apps-dir",',
           '    "error": "kustomization path not found: stat /tmp/apps/podinfo: no such file or directory"', "  },"]
    assert signature_and_line(log) == ("unknown", 6)


def test_a_traceback_whose_exception_is_a_verdict_on_a_script_is_read_at_the_scripts_output_above_it():
    log = ["Building webthings-gateway", ":: + craftctl default", ":: ++ npm --version",
           ":: /build/gateway/parts/gateway/run/build.sh: line 5: npm: command not found", ":: + NPM_VERSION=",
           ":: error:", ":: Traceback (most recent call last):",
           '::   File "/snap/snapcraft/current/lib/python3.10/site-packages/craft_parts/ctl.py", line 98, in _client',
           "::     raise RuntimeError(message)",
           ":: RuntimeError: Failed to run the build script for part 'gateway'.",
           "'override-build' in part 'gateway' failed with code 1."]
    assert signature_and_line(log) == ("unknown", 4)


def test_an_error_quoting_an_sql_statement_over_several_lines_is_read_at_the_databases_words():
    log = ["error: Error while running migrations: CREATE TABLE survey_response (",
           "[2019-07-11T10:07:31.978Z]   response_id UUID PRIMARY KEY,",
           "[2019-07-11T10:07:31.978Z]   created TIMESTAMP WITH TIMEZONE NOT NULL DEFAULT current_timestamp; ",
           "[2019-07-11T10:07:31.978Z] );",
           '[2019-07-11T10:07:31.978Z]  - syntax error at or near "WITH" error: syntax error at or near "WITH"',
           "[2019-07-11T10:07:31.978Z]     at Function.raw (/home/app/node_modules/knex/lib/util/make-knex.js:48:30)"]
    assert signature_and_line(log) == ("unknown", 5)
    # (a statement on one line carries the database's words on that line)
    one = ['error: insert into "users" ("email") values ($1) - duplicate key value violates unique constraint',
           "    at Parser.parseErrorMessage (/app/node_modules/pg-protocol/dist/parser.js:287:98)"]
    assert signature_and_line(one) == ("unknown", 1)


def test_a_tool_not_found_that_the_next_line_installs_is_no_lead():
    log = ["/bin/sh: 1: /home/runner/go/bin/setup-envtest: not found", "=> Installing Kubebuilder test tools...",
           "go: downloading sigs.k8s.io/controller-runtime/tools/setup-envtest v0.0.0-20240522175850-2e9781e9fc60",
           "=> Set environment variable KUBEBUILDER_ASSETS for tests.", '=> KUBEBUILDER_ASSETS=""',
           "unable to find a version that was supported for platform linux/amd64",
           'KUBEBUILDER_ASSETS="" CGO_ENABLED=1 gotestsum -- -v ./pkg/... -race']
    assert signature_and_line(log) == ("unknown", 6)
    # (with nothing installed below it, the missing tool is what to read)
    assert signature_and_line(log[:1] + log[2:]) == ("unknown", 1)


def test_a_rust_programs_crash_report_is_read_at_the_panics_own_message():
    log = ["  ✅ Build succeeded", "Oops! Turbo has crashed.", "", "Caused by ", '"name" = "turbo"',
           '"crate_version" = "2.7.5"', '"explanation" = """',
           "file '/w/crates/run-summary/src/execution.rs' at line 356", '"""', '"cause" = """',
           "panicked at /w/crates/run-summary/src/execution.rs:356:14:",
           'summary state thread finished: SendError { .. }"""', '"method" = "Panic"']
    assert signature_and_line(log) == ("unknown", 11)
    inline = ["Well, this is embarrassing.", "",
              "mytool had a problem and crashed. To help us diagnose the problem you can send us a crash report.",
              '"name" = "mytool"', '"cause" = "called `Option::unwrap()` on a `None` value"']
    assert signature_and_line(inline) == ("unknown", 5)


def test_super_linters_verdict_on_a_linter_is_read_at_the_linters_own_output():
    log = ["2022-12-15 17:23:51 [ERROR]   Found errors in [sqlfluff] linter!",
           "2022-12-15 17:23:51 [ERROR]   Error code: 2. Command output:", "------", "",
           "User Error: No dialect was specified. You must configure a dialect or specify one on the command line.",
           "ansi, athena, bigquery, clickhouse, databricks, db2, exasol, hive, mysql, oracle, postgres"]
    assert signature_and_line(log) == ("unknown", 5)


def test_rake_aborted_with_no_exception_below_it_is_read_at_the_error_its_task_printed_above():
    log = ["/home/travis/.rvm/gems/ruby-1.9.3/gems/metadata-json-lint-0.0.5/lib/version_range.rb:30:in `parse': "
           "undefined method `gsub' for nil:NilClass (NoMethodError)",
           "\tfrom /home/travis/.rvm/gems/ruby-1.9.3/gems/metadata-json-lint-0.0.5/lib/metadata_json_lint.rb:76:in "
           "`block in parse'",
           "\tfrom /home/travis/.rvm/gems/ruby-1.9.3/bin/metadata-json-lint:23:in `<main>'", "rake aborted!"]
    assert signature_and_line(log) == ("unknown", 1)


def test_a_powershell_error_record_with_dotnets_null_reference_is_read_at_its_message():
    log = ["========================== Starting Command Output ===========================",
           "Invoke-ScriptAnalyzer : Object reference not set to an instance of an object.",
           "At D:\\a\\1\\s\\.build\\CodeFormatter.ps1:122 char:24",
           "+ CategoryInfo          : InvalidOperation: (D:\\a\\1\\s\\x.ps1:String) [Invoke-ScriptAnalyzer], "
           "NullReferenceException",
           "+ FullyQualifiedErrorId : RULE_ERROR,Microsoft.Windows.PowerShell.ScriptAnalyzer.Commands.InvokeCommand",
           "##[error]PowerShell exited with code '1'.", "Finishing: Code Formatting Script"]
    assert signature_and_line(log) == ("unknown", 2)


def test_a_salesforce_deploys_apex_compile_failures_are_read_at_the_first():
    log = ["Failures:", "deploy/classes/LogHandler.cls(127,29):Illegal assignment from List to List",
           "deploy/classes/LogHandler.cls(134,52):Method does not exist or incorrect signature: void getValue()",
           "deploy/triggers/Log.trigger(6,5):Invalid type: LogHandler",
           "deploy/profiles/Admin.profile(Admin):In field: apexClass - no ApexClass named LogHandler found"]
    assert signature_and_line(log) == ("unknown", 2)
    assert not names_failure("force-app/main/default/classes/Foo.cls-meta.xml")


@pytest.mark.parametrize("line", ["Kernel: restarting (e2fbe48d-3f4e-4761-8b97-6431f738cc6c)",
                                  "[I 10:42:01 KernelRestarter] KernelRestarter: restarting kernel (1/5)",
                                  "RuntimeError: Kernel died while waiting for execute reply."])
def test_a_notebooks_kernel_dying_is_a_failure(line):
    assert names_failure(line)
    log = [line, "Connection lost, reconnecting in 0 seconds.",
           "Canceled future for execute_request message before replies were done"]
    assert signature_and_line(log) == ("unknown", 1)


def test_gradles_failed_task_and_kotlin_natives_linker_report_are_read_at_the_linkers_words():
    log = ["06:36:18 > Task :shared:linkDebugTestIosX64 FAILED",
           "06:36:18 e: /Applications/Xcode.app/Contents/Developer/usr/bin/ld invocation reported errors", "06:36:18 ",
           "06:36:18 The /Applications/Xcode.app/Contents/Developer/usr/bin/ld command returned non-zero exit code: 1.",
           "06:36:18 output:", "06:36:18 Undefined symbols for architecture x86_64:",
           '06:36:18   "_OBJC_CLASS_$_BugsnagHandledState", referenced from:',
           "06:36:18 ld: symbol(s) not found for architecture x86_64"]
    assert signature_and_line(log) == ("unknown", 6)


def test_eperm_in_its_own_words_is_a_failure():
    log = ["Successfully installed Pygments-2.9.0 httpie-1.0.3", "make: /bin/sh: Operation not permitted",
           "make: uname: Operation not permitted", "make: *** [Makefile:117: dependencies] Error 127"]
    assert signature_and_line(log) == ("unknown", 2)


def test_luarocks_verdict_on_a_dependency_is_read_at_what_git_said_above_it():
    log = ["Installing https://luarocks.org/pgmoon-1.10.0-1.rockspec", "Cloning into 'pgmoon'...",
           "fatal: unable to connect to github.com:", "github.com[0: 140.82.113.3]: errno=Operation timed out", "",
           "Error: Failed installing dependency: https://luarocks.org/pgmoon-1.10.0-1.rockspec  - Failed cloning git "
           "repo"]
    assert signature_and_line(log) == ("unknown", 3)


def test_eleventys_report_is_read_at_its_first_message_not_its_stack_or_require_stack():
    log = ["10:32:52 AM: > cross-env ELEVENTY_ENV=prod eleventy",
           "10:32:53 AM: [11ty] Problem writing Eleventy templates: (more in DEBUG output)",
           "10:32:53 AM: [11ty] Output conflict: multiple input files are writing to `dist/index.html`.",
           "10:32:53 AM: [11ty]   1. ./src/site/notes/a.md",
           "10:32:53 AM: [11ty]   2. ./src/site/index.njk (via DuplicatePermalinkOutputError)",
           "10:32:53 AM: [11ty]",
           "10:32:53 AM: [11ty] Original error stack trace: (Repeated output has been truncated…)"]
    assert signature_and_line(log) == ("unknown", 3)


def test_cypress_pointing_at_the_error_below_is_read_at_that_error():
    log = ["[FAILED] Cypress failed to start.", "[FAILED] ",
           "[FAILED] Please refer to the error below for more details.",
           "[FAILED] ----------",
           "[FAILED] /root/.cache/Cypress/12.17.4/Cypress/Cypress: error while loading shared libraries: libgbm.so.1: "
           "cannot open shared object file: No such file or directory", "[FAILED] ----------"]
    assert signature_and_line(log) == ("unknown", 5)


def test_playwrights_verdict_on_its_dependency_install_gives_way_to_apts_lines():
    log = ["E: Package 'libasound2' has no installation candidate", "E: Unable to locate package libffi7",
           "Failed to install browser dependencies", "Error: Installation process exited with code: 100"]
    assert signature_and_line(log)[1] in (1, 2)


def test_the_terraform_actions_verdict_printed_above_the_commands_output_is_read_at_terraforms_error():
    log = ["validate: info: validating Terraform configuration in .",
           "validate: error: failed to validate Terraform configuration in .", "",
           "Warning: The -var and -var-file flags are not used in validate. Setting them has no effect.", "",
           "Error: Missing required argument", "", 'The argument "region" is required, but was not set.', "",
           "##[error]Docker run failed with exit code 1"]
    assert signature_and_line(log) == ("unknown", 6)


def test_an_error_that_says_only_something_went_wrong_gives_way_to_the_exception_above_it():
    log = ["TypeError: script is not a function",
           "      at PuppeteerManager.invokePuppeteerScriptForUrl (/w/node_modules/@lhci/cli/src/collect/pm.js:108:7)",
           "      at processTicksAndRejections (internal/process/task_queues.js:93:5)",
           "  Error: LHCI 'collect' has encountered a problem.",
           "      at async run (/w/node_modules/@lhci/cli/src/cli.js:103:7)"]
    assert signature_and_line(log) == ("unknown", 1)


def test_azure_resource_managers_generic_answer_is_read_at_the_detail_it_nests():
    log = ["New-AzureRmResourceGroupDeployment : 21:22:09 - Resource",
           "Microsoft.Compute/virtualMachines/extensions 'adVM/CreateADForest' failed with message '{",
           '  "status": "Failed",', '  "error": {', '    "code": "ResourceDeploymentFailure",',
           '''    "message": "The resource operation completed with terminal provisioning state 'Failed'.",''',
           '    "details": [', "      {", '        "code": "VMExtensionProvisioningError",',
           '''        "message": "VM has reported a failure when processing extension 'CreateADForest'. Error ''',
           'message: \\"The DSC Extension received an incorrect input: Compilation errors occurred while ']
    assert signature_and_line(log) == ("unknown", 10)


def test_rusts_anyhow_chain_is_read_at_its_innermost_cause():
    log = ["Publishing @scope/storage@3.1.16-3 ...", "error: Failed to publish @scope/storage@3.1.16-3", "",
           "Caused by:", "    0: Failed to publish @scope/storage at 3.1.16-3",
           "    1: The actor that this request was authenticated for is not authorized as a scope member for this "
           "scope. (actorNotScopeMember)"]
    assert signature_and_line(log) == ("unknown", 6)
    # (numbered lines with no `Caused by:` above them are no chain)
    assert signature_and_line(log[:3] + log[4:5]) == ("unknown", 2)


def test_rlang_chain_in_r_is_read_at_its_innermost_cause_under_pkgdowns_heading():
    log = ["-- Building articles -----------------------------------------------------------",
           "Reading 'vignettes/get_started.Rmd'",
           "-- RMarkdown error -------------------------------------------------------------", "",
           "Quitting from lines 123-124 [unnamed-chunk-1] (get_started.Rmd)",
           "--------------------------------------------------------------------------------",
           "Error in `map()`:", "ℹ In index: 2.", "Caused by error in `render_rmarkdown()`:",
           "! Failed to render RMarkdown", "Caused by error:", "! in callr subprocess.", "Caused by error:",
           "! can't find metabolism parameters GPP.daily, ER.daily"]
    assert signature_and_line(log) == ("unknown", 14)
    # (a message's own bullets end no chain; a `! ...` line with no `Caused by error` above it is no cause)
    assert signature_and_line(log[:10]) == ("unknown", 10)
    assert signature_and_line(log[:8] + ["! the index was out of range"]) == ("unknown", 7)


def test_no_errors_and_zero_errors_name_no_error():
    assert not names_error("[OK] No errors") and not names_failure("[OK] No errors")
    assert not names_failure("  0 free  1 open  1 done  0 failed")
    assert names_failure("1 failed, 0 errors.") and names_error("Error: no such host")
    log = ["$ php artisan code:analyse", " 78/78 [▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓] 100%", "", " [OK] No errors", "", "",
           "ERROR: Job failed: exit code 1"]
    assert signature_and_line(log) == ("unknown", 7)


def test_markdownlint_findings_and_composer_audits_advisories_are_failures():
    assert names_failure("./.github/CONTRIBUTING.md:42: MD013 Line length")
    assert names_failure("README.md:12:81 MD013/line-length Line length [Expected: 80; Actual: 97]")
    assert not names_failure("see docs/RULES.md:12 for MD013")
    log = ["$ ./.ci/validation.sh markdownlint", "", "./README.md:46: MD013 Line length",
           "./README.md:88: MD013 Line length", "./docs/GRAMMAR.md:26: MD013 Line length"]
    assert signature_and_line(log) == ("unknown", 3)
    assert names_failure("  Found 1 security vulnerability advisory affecting 1 package:")
    assert names_failure("Found 3 security vulnerability advisories affecting 2 packages:")
    assert not names_failure("found 0 vulnerabilities")


def test_super_linters_v6_verdict_is_read_at_the_linters_output_under_it():
    log = ["2024-11-02 01:51:51 [INFO]   Linting NATURAL_LANGUAGE items...",
           "2024-11-02 01:51:56 [ERROR]   Found errors when linting NATURAL_LANGUAGE. Exit code: 1.",
           "2024-11-02 01:51:56 [INFO]   Command output for NATURAL_LANGUAGE:", "------", "",
           "/github/workspace/README.md",
           "  34:73  ✓ error  Incorrect term: “git”, use “Git” instead  terminology"]
    assert signature_and_line(log) == ("unknown", 7)


def test_r_cmd_checks_failed_check_is_read_at_what_it_found():
    check = ["* checking for file ‘pkg/DESCRIPTION’ ... OK", "* checking package dependencies ... ERROR",
             "Packages required but not available:", "  ‘reshape2’ ‘plyr’", "", "* DONE", "Status: 1 ERROR"]
    assert signature_and_line(check) == ("unknown", 3)
    rhub = ["-- visae 0.1.0: ERROR", "", "  Build ID:   visae_0.1.0.tar.gz-72a6", "  Platform:   Windows Server",
            "", "> checking package dependencies ... ERROR", "  Packages required but not available:",
            "    'dplyr', 'ggplot2'", "", "1 error x | 0 warnings √ | 1 note x"]
    assert signature_and_line(rhub) == ("unknown", 7)


def test_xbps_spack_and_cmd_failures_are_named():
    assert names_failure("libuuid-2.33.2_1 (update) breaks installed pkg `util-linux-2.33.1_2'")
    assert names_failure("==>   libcap/2qvjiq6 (in stack e4s-oneapi) was reported broken here: https://x/jobs/1")
    assert names_failure("The syntax of the command is incorrect.")
    log = ["Package 'shadow' is up to date.", "libuuid-2.33.2_1 (update) breaks installed pkg `libfdisk-2.33.1_2'",
           "libblkid-2.33.2_1 (update) breaks installed pkg `util-linux-2.33.1_2'",
           "Transaction aborted due to unresolved dependencies."]
    assert signature_and_line(log) == ("unknown", 2)


def test_gitlabs_kubernetes_executor_verdict_gives_way_to_the_jobs_own_words():
    log = ["==>   libcap/2qvjiq6 (in stack e4s-oneapi) was reported broken here: https://x/jobs/1", "",
           "Cleaning up project directory and file based variables", "",
           "ERROR: Job failed: command terminated with exit code 1"]
    assert signature_and_line(log) == ("unknown", 1)


def test_nx_verdict_over_many_projects_is_read_at_the_first_failed_task():
    log = ["  qualifications: [vite:dts] Declaration files built in 8961ms.", "",
           "    >  NX   Running target build for 3 projects and 8 tasks they depend on failed",
           "    Tasks not run because their dependencies failed or --nx-bail=true:", "",
           "    - orchestrator:build:production", "", "    Failed tasks:", "",
           "    - qualification-project:build:production", "  ERROR: Job failed: exit code 1"]
    assert signature_and_line(log) == ("unknown", 10)
    # (its verdict on one target names the task)
    one = ['>  NX   ERROR  Running target "check-in:build" failed', "", "Failed tasks:", "",
           "- check-in:build:production"]
    assert signature_and_line(one) == ("unknown", 1)


def test_apks_unable_to_select_packages_is_read_at_the_package_at_fault():
    log = [">>> rtx: Analyzing dependencies...", "ERROR: unable to select packages:",
           "  .makedepends-rtx-20230601.070511:", "    masked in: cache",
           "    satisfies: world[.makedepends-rtx=20230601.070511]", "  cargo-auditable (no such package):",
           "    required by: .makedepends-rtx-20230601.070511[cargo-auditable]", ">>> ERROR: rtx: builddeps failed"]
    assert signature_and_line(log) == ("unknown", 6)
    breaks = ["ERROR: unable to select packages:", "  libexpat-2.7.4-r0:", "    breaks: world[libexpat=2.7.5-r0]"]
    assert signature_and_line(breaks) == ("unknown", 3)


def test_gos_executable_file_not_found_is_a_failure():
    log = ["! 'kvm2' driver reported an issue: exec: \"virsh\": executable file not found in $PATH",
           "* Suggestion: Install libvirt", "* Documentation: https://minikube.sigs.k8s.io/docs/drivers/kvm2/", "",
           "X kvm2 does not appear to be installed"]
    assert signature_and_line(log) == ("unknown", 1)


def test_gons_error_notarizing_is_read_past_multierrors_headings():
    log = ["13:27:01     Error notarizing", "13:27:01 ", "13:27:01 ❗️ Error notarizing:", "13:27:01 ",
           "13:27:01 1 error occurred:", "13:27:01 \t* 1 error occurred:",
           "13:27:01 \t* You must first sign the relevant contracts online. (1048) (1048)"]
    assert signature_and_line(log) == ("unknown", 7)


def test_commons_execs_process_exit_is_read_at_the_exception_above_it():
    log = ['16:37:10 Exception in thread "main" ru.yandex.qatools.allure.data.ReportGenerationException: Could not '
           'find any allure results',
           "16:37:10 \tat ru.yandex.qatools.allure.data.AllureReportGenerator.generate(AllureReportGenerator.java:58)",
           "16:37:10 Command aborted due to exception {}.",
           "16:37:10 org.apache.commons.exec.ExecuteException: Process exited with an error: 1 (Exit value: 1)",
           "16:37:10 \tat org.apache.commons.exec.DefaultExecutor.executeInternal(DefaultExecutor.java:404)"]
    assert signature_and_line(log) == ("unknown", 1)


def test_an_image_manifest_not_found_is_a_failure_under_powershells_error_record():
    assert names_failure("manifest for microsoft/windowsservercore:latest not found")
    assert names_failure("Error response from daemon: manifest unknown: manifest unknown")
    log = ["docker build -t docker-cli-builder .", "Step 1/16 : FROM microsoft/windowsservercore",
           "docker : manifest for microsoft/windowsservercore:latest not found", "At line:1 char:1",
           "+ docker build -t docker-cli-builder .", "+ ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~",
           "    + CategoryInfo          : NotSpecified: (manifest for mi...atest not found:String) [], RemoteException",
           "    + FullyQualifiedErrorId : NativeCommandError", " ",
           "Command executed with exception: manifest for microsoft/windowsservercore:latest not found"]
    assert signature_and_line(log) == ("unknown", 3)


def test_rustfmts_diff_is_a_failure():
    assert names_failure("Diff in /home/travis/build/gnzlbg/ctest/src/lib.rs at line 721:")
    assert names_failure("Diff in /src/lib.rs:721:")
    assert not names_failure("Diff in behaviour at line 3: see the notes")
    log = ["Diff in /home/travis/build/x/src/lib.rs at line 721:", "             should_test: false,",
           "-        .generate(\"src/t1.rs\", \"t1gen.rs\");", "+        }).generate(\"src/t1.rs\", \"t1gen.rs\");",
           "     ctest::TestGenerator::new()"]
    assert signature_and_line(log) == ("unknown", 1)


def test_a_github_run_line_showing_a_comment_is_no_output():
    log = ["Run # If you encounter an error with any of the commands below", "Fetching index",
           "Verifying the Minimum Supported Rust Version (MSRV) for toolchain x86_64-unknown-linux-gnu",
           "Using check command cargo check", "   Failed check command cargo check didn't succeed",
           "Crate source was found to be incompatible with its MSRV '1.76.0', as defined in 'Cargo.toml'",
           "Error: Process completed with exit code 1."]
    assert signature_and_line(log) == ("unknown", 5)
    # (a `Run` line that is the tool's own words, ACR's, still is)
    assert signature_and_line(["Step 1/2 : FROM x", "Run ID: ca6 failed after 1m9s. Error: failed during run"])[1] == 2


def test_pip_audits_finding_and_a_maven_goals_message_below_it():
    assert names_failure("Found 1 known vulnerability, ignored 8 in 1 package")
    assert names_failure("Found 2 known vulnerabilities in 1 package")
    assert not names_failure("No known vulnerabilities found")
    goal = ["Error:  Failed to execute goal org.owasp:dependency-check-maven:6.1.1:check (check) on project x: ",
            "Error:  ", "Error:  One or more dependencies were identified with vulnerabilities: ", "Error:  ",
            "Error:  java-cfenv-boot-2.3.0.jar: CVE-2020-5421, CVE-2018-1272", "Error:  ",
            "Error:  See the dependency-check report for more details.", "Error:  -> [Help 1]"]
    assert signature_and_line(goal)[1] in (3, 4, 5, 6)
    assert signature_and_line(goal)[1] != 1


def test_openwrts_package_verdict_is_read_at_the_download_whose_hash_did_not_match():
    # (OpenWrt's buildroot closes a package whose make failed with `ERROR: package/... failed to build.`, naming no
    # cause; a digest that is not the expected one is a failure in any tool's words)
    log = ["Packing checkout...",
           "Hash mismatch for file fw-2025.05.01~e4726900.tar.zst: expected 3ec87f22, got 881cbf75",
           "make[2]: *** [Makefile:167: /build/dl/fw-2025.05.01~e4726900.tar.zst] Error 1",
           "make[2]: Leaving directory '/build/feeds/nss_packages/firmware/fw'",
           "time: package/feeds/nss_packages/fw/download#2.73#0.44#7.28",
           "    ERROR: package/feeds/nss_packages/fw failed to build.",
           "make[1]: *** [package/Makefile:183: package/feeds/nss_packages/fw/download] Error 1"]
    assert signature_and_line(log) == ("unknown", 2)
    for wording in ("error: hash mismatch in fixed-output derivation '/nix/store/abc-x.drv':",
                    "go: verifying example.com/m@v1.0.8: checksum mismatch",
                    "E: Failed to fetch http://archive.ubuntu.com/x/Packages  Hash Sum mismatch"):
        assert names_failure(wording), wording


def test_fastlanes_closing_verdict_gives_way_to_the_shell_command_that_failed():
    log = ["[19:11:20]: --- Step: upload_app ---", "[19:11:29]: Shell command exited with exit status 1 instead of 0.",
           "", "+------+-------------------+-------------+", "|            fastlane summary            |",
           "| 💥   | upload_app        | 39          |", "+------+-------------------+-------------+", "",
           "[19:11:29]: fastlane finished with errors"]
    assert signature_and_line(log) == ("unknown", 2)
    assert names_failure("fastlane: [!] Exit status of command 'npm run build' was 1 instead of 0.")


def test_a_failure_foretold_is_none_and_chromiums_error_level_log_is_no_cause():
    # (Unity's editor: its licensing module says what will fail, and the browser it embeds logs at its error level
    # whatever happens; the licence activation's own refusal below says why the build stopped)
    log = ["DisplayProgressbar: Unity license",
           "[Licensing::Module] License is not active (com.unity.editor.ui). HasEntitlements will fail.", "",
           "[0520/184644:ERROR:browser_main_loop.cc(161)] Running without the SUID sandbox! See https://example.org",
           "[0520/184644:ERROR:sandbox_linux.cc(308)] InitializeSandbox() called with multiple threads in process gpu",
           "Cancelling DisplayDialog: Failed to activate/update license Missing or bad username or password.",
           "This should not be called in batch mode."]
    assert signature_and_line(log) == ("unknown", 6)
    assert not names_failure("HasEntitlements will fail.") and names_failure("HasEntitlements failed.")
    # (Chromium's FATAL lines are still read: `No usable sandbox!`)
    fatal = ["Error: Failed to launch the browser process!",
             "[3954:3954:0715/001216.732101:FATAL:zygote_host_impl_linux.cc(127)] No usable sandbox!",
             "[0715/001216.741087:ERROR:file_io_posix.cc(144)] open /sys/devices/system/cpu/cpu0: No such file"]
    assert signature_and_line(fatal)[1] in (1, 2)


def test_a_clients_status_code_of_an_error_is_a_failure():
    assert names_failure("*** status code 401, auth issue.") and names_failure("Request failed, status code: 503")
    assert not names_failure("status code 200, uploaded") and not names_failure("status code 4010 is not HTTP")


def test_an_exception_that_is_only_its_class_name_is_a_failure():
    # (the BigQuery Node client's insert that some rows failed: no message, only frames and the failed rows' errors)
    log = ["PartialFailureError",
           "    at Table._insert (/app/node_modules/@google-cloud/bigquery/build/src/table.js:1619:19)",
           "    at processTicksAndRejections (internal/process/task_queues.js:95:5) {", "  errors: [",
           "    { errors: [Array], row: [Object] },", "  ],", "}"]
    assert signature_and_line(log) == ("unknown", 1)
    assert names_failure("  PartialFailureError") and not names_failure("see PartialFailureError in the docs")


def test_chefs_report_on_a_run_list_it_could_not_resolve_is_read_at_the_missing_cookbook():
    log = ["resolving cookbooks for run list: [\"end_to_end\"]", "", "=" * 80,
           "Error Resolving Cookbooks for Run List:", "=" * 80, "", "Missing Cookbooks:", "-" * 18,
           "No such cookbook: logrotate", "", "Expanded Run List:", "-" * 18, "* end_to_end"]
    assert signature_and_line(log) == ("unknown", 9)


def test_openshifts_pods_that_never_became_ready_are_a_start_that_failed():
    deployer = ["--> Scaling web-1 to 1", "--> Waiting up to 10m0s for pods in deployment web-1 to become ready",
                'error: update acceptor rejected web-1: pods for deployment "web-1" took longer than 600 seconds to '
                "become ready"]
    assert signature_and_line(deployer) == ("container-start-failed", 3)
    gear = ["remote: Starting application 'api' ...", "remote: *** Starting application using: npm start -d",
            "remote: Application 'api' failed to start 1", "remote: Deployment completed with status: success"]
    assert signature_and_line(gear) == ("container-start-failed", 3)


def test_what_does_not_exist_is_a_failure():
    # (htmltest's report names each page and, under it, each target that does not exist; nothing else names a failure)
    log = ["api/index.html", "  target does not exist --- api/index.html --> ./favicon-32x32.png",
           "community/index.html", "  alt text empty --- community/index.html --> https://example.org/logo.jpg"]
    assert signature_and_line(log) == ("unknown", 2)
    assert names_failure("Error: bucket gs://x does not exist") and not names_failure("creating it as it did not exist")


def test_sagemakers_and_hugging_face_spaces_containers_that_would_not_start():
    sagemaker = ['"ResourceStatus": "CREATE_FAILED",',
                 '"ResourceStatusReason": "CannotStartContainerError. Please ensure the model container for variant '
                 "v1 starts correctly when invoked with 'docker run <image> serve'\","]
    assert signature_and_line(sagemaker) == ("container-start-failed", 2)
    space = ["runtime error", "Exit code: 1. Reason: for_status", "    response.raise_for_status()",
             "requests.exceptions.HTTPError: 403 Client Error: Forbidden for url: https://huggingface.co/api/x"]
    assert signature_and_line(space) == ("container-start-failed", 2)


def test_dependabots_error_table_is_read_at_the_errors_type_whatever_it_is_called():
    log = ["updater | 2025/01/02 21:21:17 INFO Results:",
           "Dependabot encountered '1' error(s) during execution, please check the logs for more details.",
           "+----------------------+", "|        Errors        |", "+----------------------+",
           "| unresolvable_version |", "+----------------------+"]
    assert signature_and_line(log) == ("unknown", 6)
