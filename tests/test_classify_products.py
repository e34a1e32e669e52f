"""classify_log on the managed products' own wordings: the deploy surfaces that quote or frame a build's failure
(Cloud Functions 1st and 2nd gen through gcloud, the Firebase CLI and App Hosting's adapters, App Engine through
gcloud, Cloud Run source deploys) and their start failures. The second producers sweep; the first, and the row
format this file shares, is test_classify_producers.py.

Each row cites the producer, the commit (short hash), tag or documentation page where the wording appears and
the source path that prints or frames it. Where the text is the service's own (an operation's error that gcloud or
the Firebase CLI only quotes), the path is the client code that frames it and the comment above the row names the
page that documents the text. gcloud and the Firebase CLI print these lines themselves, or inside a Cloud Build
step that deploys (`framed="step"`); a Cloud Run revision's or a function's own log line is printed alone.

Shaped only on producer source and Google's documentation, never on the held-out real logs.
"""
from __future__ import annotations

import pytest

from buildlog_helpers import signature_and_line, top_of
from runbook_lib.diagnose import classify_log
from runbook_lib.diagnose.lines import names_failure
from test_classify_producers import (GCLOUD, Wording, cases, does_not_give, gives_its_signature_on_its_own_line,
                                     near_miss_ids)

FIREBASE = "firebase/firebase-tools"
ADAPTERS = "FirebaseExtended/firebase-framework-tools"
FF_NODE = "GoogleCloudPlatform/functions-framework-nodejs"
GCF1_WORKER = "Cloud Functions 1st gen Node.js worker (quoted as `Function load error`)"
GCF2_OP = "lib/googlecloudsdk/api_lib/functions/v2/util.py"   # gcloud's `OperationError: code=N, message=...`
GCF1_OP = "lib/googlecloudsdk/api_lib/functions/v1/operations.py"
FB_V2_OP = "src/gcp/cloudfunctionsv2.ts"   # the Firebase CLI's `functions: <the operation's error>` warning
APP_OP = "lib/googlecloudsdk/api_lib/app/operations_util.py"   # gcloud app deploy's `Error Response: [N] ...`
RUN_DEPLOY = "lib/surface/run/deploy.py"
CF_DOCS = "https://cloud.google.com/functions/docs/troubleshooting"
CF1_DOCS = "https://cloud.google.com/functions/1stgendocs/troubleshooting"
RUN_DOCS = "https://cloud.google.com/run/docs/troubleshooting"
AEFLEX_DOCS = "https://cloud.google.com/endpoints/docs/openapi/troubleshoot-aeflex-deployment"
BUILD_URL = "https://console.cloud.google.com/cloud-build/builds;region=us-central1/0b4f2e3a?project=123"
GCF2_BUILD_SA = ("Build failed with status: FAILURE. Could not build the function due to a missing permission on the "
                 "build service account. If you didn't revoke that permission explicitly, this could be caused by a "
                 "change in the organization policies. Please refer to the following documentation for more details "
                 "and resolution: https://cloud.google.com/functions/docs/troubleshooting#build-service-account")
SECRET_DENIED = ("spec.template.spec.containers[0].env[0].value_from.secret_key_ref.name: Permission denied on secret: "
                 "projects/123/secrets/db-pass/versions/latest for Revision service account "
                 "123-compute@developer.gserviceaccount.com. The service account used must be granted the 'Secret "
                 "Manager Secret Accessor' role (roles/secretmanager.secretAccessor) at the secret, project or higher "
                 "level.")

WORDINGS: dict[str, list[Wording]] = {
    "container-start-failed": [
        # Cloud Functions 1st gen: the worker could not load the function (its file, its export, its code), quoted
        # by gcloud as `Function load error: ...` (the first sweep covered `Code in file ... can't be loaded`)
        Wording(GCF1_WORKER, "2018", "worker.js (processNodeModuleDefinition)",
                "ERROR: (gcloud.functions.deploy) OperationError: code=3, message=Function load error: File index.js "
                "or function.js that is expected to define function doesn't exist in the root directory."),
        Wording(GCF1_WORKER, "2018", "worker.js (getUserFunction)",
                "ERROR: (gcloud.functions.deploy) OperationError: code=3, message=Function load error: Node.js module "
                "defined by file index.js is expected to export function named helloWorld"),
        # ... and the Node.js Functions Framework (2nd gen, and 1st gen since Node.js 10) in the function's own log
        Wording(FF_NODE, "01052d62", "src/loader.ts",
                "Function 'hello-world' is not defined in the provided module.", framed=""),
        Wording(FF_NODE, "01052d62", "src/loader.ts", "Provided module can't be loaded.", framed=""),
        # Cloud Functions 2nd gen's Cloud Run service whose health check failed, as the Firebase CLI prints it
        Wording(FIREBASE, "a786bda7", FB_V2_OP,
                "⚠  functions: Could not create or update Cloud Run service helloworld, Container Healthcheck failed. "
                "Revision 'helloworld-00001-abc' is not ready and cannot serve traffic. The user-provided container "
                "failed to start and listen on the port defined provided by the PORT=8080 environment variable. Logs "
                "for this revision might contain more information."),
        # Cloud Run: the instance ran out of memory (at start, before it ever listened)
        Wording("Cloud Run (revision log)", RUN_DOCS, "-",
                "Memory limit of 512 MiB exceeded with 513 MiB used. Consider increasing the memory limit, see "
                "https://cloud.google.com/run/docs/configuring/memory-limits", framed=""),
        Wording("Cloud Run (revision log)", "2020", "-",
                "Memory limit of 256M exceeded with 259M used. Consider increasing the memory limit, see "
                "https://cloud.google.com/run/docs/configuring/memory-limits", framed=""),
        # App Engine flexible: a version that never became healthy (documented), and before 2017 its VMs
        Wording("App Engine flexible (quoted by gcloud app deploy)", AEFLEX_DOCS, APP_OP,
                "ERROR: (gcloud.app.deploy) Error Response: [4] Your deployment has failed to become healthy in the "
                "allotted time and therefore was rolled back. If you believe this was an error, try adjusting the "
                "'app_start_timeout_sec' setting in the 'readiness_check' section."),
        Wording("App Engine flexible (quoted by gcloud preview app deploy)", "2016", APP_OP,
                "ERROR: (gcloud.preview.app.deploy) Error Response: [13] Timed out when starting VMs. It's possible "
                "that the application code is unhealthy. (0/1 ready, 1 still deploying)."),
    ],
    "source-fetch-failed": [
        # (gcloud's own lines, printed alone: inside a Cloud Build step the catalogue reads a failed fetch as the
        # step's, not the build's own source fetch)
        # Cloud Functions 2nd gen when its build account (since 2024 the Compute Engine default) lacks the Cloud
        # Build builder role; documented at CF_DOCS#build-service-account
        Wording("Cloud Functions 2nd gen (quoted by gcloud)", "4643fc9c", GCF2_OP,
                f"ERROR: (gcloud.functions.deploy) OperationError: code=3, message={GCF2_BUILD_SA}", framed=""),
        Wording(FIREBASE, "a786bda7", FB_V2_OP, f"⚠  functions: {GCF2_BUILD_SA}", framed=""),
        # Cloud Build refusing a build whose uploaded source its account may not read, or that is not there
        Wording("Cloud Build API (quoted by gcloud builds submit)", "4643fc9c",
                "lib/googlecloudsdk/command_lib/builds/submit_util.py",
                "ERROR: (gcloud.builds.submit) INVALID_ARGUMENT: could not resolve source: googleapi: Error 403: "
                "123-compute@developer.gserviceaccount.com does not have storage.objects.get access to the Google "
                "Cloud Storage object. Permission 'storage.objects.get' denied on resource (or it may not exist)., "
                "forbidden", framed=""),
        Wording("Cloud Build API (quoted by gcloud run deploy --source)", "4643fc9c", RUN_DEPLOY,
                "ERROR: (gcloud.run.deploy) INVALID_ARGUMENT: Invalid build request. could not resolve source: "
                "googleapi: Error 403: 123-compute@developer.gserviceaccount.com does not have storage.objects.get "
                "access to the Google Cloud Storage object.", framed=""),
        Wording("Cloud Build API (quoted by gcloud builds submit)", "4643fc9c",
                "lib/googlecloudsdk/command_lib/builds/submit_util.py",
                "ERROR: (gcloud.builds.submit) INVALID_ARGUMENT: could not resolve source: googleapi: Error 404: The "
                "specified bucket does not exist., notFound", framed=""),
        # Cloud Functions 2nd gen's own source bucket (documented at CF_DOCS)
        Wording("Cloud Functions 2nd gen (quoted by gcloud)", "4643fc9c", GCF2_OP,
                "ERROR: (gcloud.functions.deploy) OperationError: code=7, message=Access to bucket "
                "gcf-v2-sources-123-us-central1 denied. You must grant Storage Object Viewer permission to "
                "123-compute@developer.gserviceaccount.com.", framed=""),
    ],
    "buildpacks-build-failed": [
        # Cloud Functions 2nd gen (buildpacks only) quoting a build that failed for a reason it does not name
        Wording("Cloud Functions 2nd gen (quoted by gcloud)", "4643fc9c", GCF2_OP,
                "ERROR: (gcloud.functions.deploy) OperationError: code=3, message=Build failed with status: FAILURE "
                f"and message: An unexpected error occurred. Refer to build logs: {BUILD_URL}"),
        Wording(FIREBASE, "a786bda7", FB_V2_OP,
                "⚠  functions: Build failed with status: FAILURE and message: An unexpected error occurred. Refer to "
                f"build logs: {BUILD_URL}", framed=""),
        # the Firebase CLI's verdicts on an App Hosting rollout (App Hosting builds with buildpacks only)
        Wording(FIREBASE, "a786bda7", "src/deploy/apphosting/release.ts",
                "⚠  apphosting: Rollout for backend shop-web failed.", framed=""),
        Wording(FIREBASE, "a786bda7", "src/apphosting/rollout.ts",
                f"⬢  apphosting: FirebaseError: Failed to build your app. Please inspect the build logs at {BUILD_URL}",
                framed=""),
        # App Hosting's build package and adapters, inside the buildpacks build
        Wording(ADAPTERS, "6b6c601", "packages/@apphosting/build/src/index.ts",
                "Error: Failed to fetch @apphosting/adapter-nextjs: 503 Service Unavailable"),
        Wording(ADAPTERS, "6b6c601", "packages/@apphosting/build/src/index.ts",
                "Error: Could not find 'latest' dist-tag for @apphosting/adapter-angular"),
        Wording(ADAPTERS, "6b6c601", "packages/@apphosting/common/src/index.ts",
                "Error: Build process exited with error code 1."),
        Wording(ADAPTERS, "6b6c601", "packages/@apphosting/adapter-angular/src/utils.ts",
                "Error: Currently, only the following builders are supported: @angular-devkit/build-angular:"
                "application,@angular/build:application,@analogjs/platform:vite."),
        Wording(ADAPTERS, "6b6c601", "packages/@apphosting/adapter-angular/src/bin/build.ts",
                "Error: No output from Angular build command, expecting a build manifest file."),
        Wording(ADAPTERS, "6b6c601", "packages/@apphosting/adapter-nextjs/src/utils.ts",
                "Error: CVE-2025-55182: Vulnerable Next version 15.1.0 detected. Deployment blocked. Update your app's "
                "dependencies to a patched Next.js version and redeploy: "
                "https://nextjs.org/blog/CVE-2025-66478#fixed-versions"),
    ],
    # Cloud Functions and App Engine quoting the buildpack's own error: as the message (2nd gen), or as the
    # buildpacks' error JSON (pkg/buildererror/error.go: buildpackId, errorType, canonicalCode, errorMessage)
    "buildpacks-no-entrypoint": [
        Wording("Cloud Functions 2nd gen (quoted by gcloud)", "4643fc9c", GCF2_OP,
                "ERROR: (gcloud.functions.deploy) OperationError: code=3, message=Build failed with status: FAILURE "
                "and message: missing main.py and GOOGLE_FUNCTION_SOURCE not specified. Either create the function in "
                "main.py or specify GOOGLE_FUNCTION_SOURCE to point to the file that contains the function. For more "
                f"details see the logs at {BUILD_URL}."),
        Wording("App Engine (quoted by gcloud app deploy)", "2d6951ba", "pkg/buildererror/error.go",
                "ERROR: (gcloud.app.deploy) Error Response: [9] Cloud build 0b4f2e3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b "
                'status: FAILURE. Build error details: {"error":{"buildpackId":"google.python.missing-entrypoint",'
                '"buildpackVersion":"0.9.0","errorType":"BUILD_FAILED","canonicalCode":"INVALID_ARGUMENT","errorId":'
                '"0f1e2d3c","errorMessage":"for Python, provide a main.py or app.py file or set an entrypoint with '
                '\\"GOOGLE_ENTRYPOINT\\" env var or by creating a \\"Procfile\\" file"},"stats":[]}.'),
    ],
    "buildpacks-python-version": [
        Wording("Cloud Functions 2nd gen (quoted by gcloud)", "4643fc9c", GCF2_OP,
                "ERROR: (gcloud.functions.deploy) OperationError: code=3, message=Build failed with status: FAILURE "
                "and message: invalid Python version specified: no matching version found for constraint 3.99. For "
                f"more details see the logs at {BUILD_URL}."),
    ],
    "buildpacks-detect-failed": [
        Wording("Cloud Functions 2nd gen (quoted by gcloud)", "4643fc9c", GCF2_OP,
                "ERROR: (gcloud.functions.deploy) OperationError: code=3, message=Build failed with status: FAILURE "
                "and message: No buildpack groups passed detection."),
    ],
    "pip-install-failed": [
        Wording("Cloud Functions (quoted by gcloud)", "2d6951ba", "pkg/buildererror/error.go",
                'ERROR: (gcloud.functions.deploy) OperationError: code=3, message=Build failed: {"metrics":{},'
                '"error":{"buildpackId":"google.python.pip","buildpackVersion":"0.9.2","errorType":"UNEXPECTED",'
                '"canonicalCode":"UNKNOWN","errorId":"1a2b3c4d","errorMessage":"ERROR: Could not find a version that '
                'satisfies the requirement nba-internal==9.9.9 (from -r requirements.txt (line 4)) (from versions: '
                'none)"}}'),
        Wording(FIREBASE, "a786bda7", FB_V2_OP,
                "⚠  functions: Build failed with status: FAILURE and message: installing requirements.txt with uv: "
                f"exit status 1. For more details see the logs at {BUILD_URL}.", framed=""),
    ],
    "logs-bucket-forbidden": [
        # App Engine creating its build when the build's account may not write the default logs bucket
        Wording("App Engine (quoted by gcloud app deploy)", "2024", APP_OP,
                'ERROR: (gcloud.app.deploy) Error Response: [13] Failed to create cloud build: invalid bucket '
                '"519972873954.cloudbuild-logs.googleusercontent.com";default Cloud Build service account or '
                'user-specified service account does not have access to the bucket', framed=""),
    ],
}

NEAR_MISSES: list[tuple[str, Wording]] = [
    # a revision that never ran its code: a secret its account may not read, or that does not exist
    # (documented at RUN_DOCS), through gcloud run deploy and through Cloud Functions 2nd gen
    ("container-start-failed", Wording("Cloud Run API (quoted by gcloud run deploy)", RUN_DOCS, RUN_DEPLOY,
     f"ERROR: (gcloud.run.deploy) Revision 'svc-00002-abc' is not ready and cannot serve traffic. {SECRET_DENIED}")),
    ("container-start-failed", Wording("Cloud Run API (quoted by gcloud run deploy)", RUN_DOCS, RUN_DEPLOY,
     "ERROR: (gcloud.run.deploy) Revision 'svc-00002-abc' is not ready and cannot serve traffic. "
     "spec.template.spec.containers[0].env[0].value_from.secret_key_ref.name: Secret "
     "projects/123/secrets/db-pass/versions/latest was not found")),
    ("container-start-failed", Wording("Cloud Functions 2nd gen (quoted by gcloud)", "4643fc9c", GCF2_OP,
     "ERROR: (gcloud.functions.deploy) OperationError: code=9, message=Could not create or update Cloud Run service "
     f"fn, Revision 'fn-00002-xyz' is not ready and cannot serve traffic. {SECRET_DENIED}")),
    # ... or an image the service agent may not read (documented at RUN_DOCS): no start failure, and no push
    *[(signature, Wording("Cloud Run API (quoted by gcloud run deploy)", RUN_DOCS, RUN_DEPLOY,
       "ERROR: (gcloud.run.deploy) Revision 'svc-00002-abc' is not ready and cannot serve traffic. Google Cloud Run "
       "Service Agent service-123@serverless-robot-prod.iam.gserviceaccount.com must have permission to read the "
       "image, us-docker.pkg.dev/p/r/svc:latest. Ensure that the provided container image URL is correct and that "
       "the above account has permission to access the image."))
      for signature in ("container-start-failed", "push-permission-denied")],
    # App Engine flexible's infrastructure (zone resources, quota) not becoming healthy is not the build's
    # timeout; neither is gcloud giving up polling a function's operation, nor the Firebase CLI's retries on quota
    ("build-timeout", Wording("App Engine flexible (quoted by gcloud app deploy)", "2019", APP_OP,
     "ERROR: (gcloud.app.deploy) Error Response: [4] Timed out waiting for the app infrastructure to become "
     "healthy.")),
    ("build-timeout", Wording(GCLOUD, "4643fc9c", GCF2_OP,
     "ERROR: (gcloud.functions.deploy) Operation projects/p/locations/us-central1/operations/operation-1700000000 "
     "is taking too long")),
    ("build-timeout", Wording(FIREBASE, "a786bda7", "src/deploy/functions/release/reporter.ts",
     "Exceeded maximum retries while deploying functions. If you are deploying a large number of functions, please "
     "deploy your functions in batches by using the --only flag, and wait a few minutes before deploying again. Go "
     "to https://firebase.google.com/docs/cli/#partial_deploys to learn more.", framed="")),
    # Cloud Functions' own build environment failing (an internal error), and a quota retry, are no failed build
    ("buildpacks-build-failed", Wording("Cloud Functions 1st gen (quoted by gcloud)", "4643fc9c", GCF1_OP,
     "ERROR: (gcloud.functions.deploy) OperationError: code=13, message=Error in the build environment")),
    ("buildpacks-build-failed", Wording(FIREBASE, "a786bda7", "src/gcp/cloudfunctions.ts",
     '⚠  functions: got "Quota Exceeded" error while trying to create projects/p/locations/us-central1/functions/fn. '
     "Waiting to retry...", framed="")),
    # a deployer refused the function itself (documented at CF_DOCS and CF1_DOCS): no refused image push
    ("push-permission-denied", Wording("Cloud Functions API (quoted by gcloud)", CF_DOCS, GCF2_OP,
     "ERROR: (gcloud.functions.deploy) ResponseError: status=[403], code=[Ok], message=[Caller is missing permission "
     "'iam.serviceaccounts.actAs' on service account projects/-/serviceAccounts/"
     "123-compute@developer.gserviceaccount.com.]")),
    ("push-permission-denied", Wording("Cloud Functions API (quoted by gcloud)", CF1_DOCS, GCF1_OP,
     "ERROR: (gcloud.functions.deploy) PERMISSION_DENIED: Permission 'cloudfunctions.functions.sourceCodeSet' denied "
     "on resource 'projects/p/locations/us-central1' (or resource may not exist)")),
]


@pytest.mark.parametrize("signature, wording", list(cases(WORDINGS)))
def test_a_managed_products_wording_of_a_cause_gives_its_signature_on_its_own_line(signature, wording):
    gives_its_signature_on_its_own_line(signature, wording)


@pytest.mark.parametrize("signature, wording", NEAR_MISSES, ids=near_miss_ids(NEAR_MISSES))
def test_a_managed_products_wording_that_only_looks_like_a_cause_does_not_give_its_signature(signature, wording):
    does_not_give(signature, wording)


def test_a_revision_whose_message_goes_on_to_name_a_refused_secret_on_the_lines_below_is_no_start_failure():
    # gcloud prints each of the revision's refusals on a line of its own below `Revision ... is not ready`
    # (held-out-18's workflow-bolt log): the container never ran, whichever line names the secret
    head = "ERROR: (gcloud.run.services.update) Revision 'svc-00007-gkx' is not ready and cannot serve traffic."
    not_found = ("spec.template.spec.containers[0].env[0].value_from.secret_key_ref.name: Secret "
                 "projects/123/secrets/db-user/versions/latest was not found")
    for below in ([not_found, not_found.replace("db-user", "db-pass")], [SECRET_DENIED]):
        top = top_of(["Deployment failed", head, *below])
        assert top.signature == "unknown" and top.line in (2, 3)
    # ... while a revision whose container failed to start, with nothing refused below, still is one
    started = classify_log("\n".join([head, "The user-provided container failed to start and listen on the port "
                                             "defined provided by the PORT=8080 environment variable."]) + "\n")[0]
    assert started.signature == "container-start-failed"


def test_a_source_deploy_whose_upload_failed_is_no_failure_of_the_builder_it_would_have_used():
    # gcloud run deploy --source names the builder before it uploads; `Uploading sources...failed` means no build
    # ran (held-out-18's seone log: the deployer may not write to the run-sources bucket)
    log = ["Building using Buildpacks and deploying container to Cloud Run service [svc] in project [p] region [r]",
           "Building and deploying...", "Validating configuration.....................done",
           "Uploading sources.....................failed", "Deployment failed",
           "ERROR: (gcloud.run.deploy) [deployer@p.iam.gserviceaccount.com] does not have permission to access b "
           "instance [run-sources-p-r] (or it may not exist)"]
    top = top_of(log)
    assert (top.signature, top.line) == ("unknown", 6)
    # ... while a build that ran after the upload and failed unexplained is still the builder's failure
    built = log[:3] + ["Uploading sources.....................done",
                       f"Building Container... Container build failed and logs are available at [ {BUILD_URL} ].",
                       "Deployment failed"]
    assert top_of(built).signature == "buildpacks-build-failed"
    # ... and Cloud Build refusing to read the source it was just given is a failed fetch: gcloud prints the refusal
    # under its upload step, since it creates the build there (held-out-30's two source deploys), wrapped or not
    for refusal in (["ERROR: (gcloud.run.deploy) INVALID_ARGUMENT: Invalid build request. could not resolve source:",
                     "googleapi: Error 403: 123-compute@developer.gserviceaccount.com does not have",
                     "storage.objects.get access to the Google Cloud Storage object."],
                    ["ERROR: (gcloud.run.deploy) PERMISSION_DENIED: Build failed because the default service account "
                     "is missing required IAM permissions. ... could not resolve source: Get \"https://storage."
                     "googleapis.com/storage/v1/b/run-sources-p-r/o/x.zip\": generic::permission_denied: IAM "
                     "permission denied for service account 123-compute@developer.gserviceaccount.com."]):
        top = top_of(log[:5] + refusal)
        assert (top.signature, top.line) == ("source-fetch-failed", 6)


def test_app_engines_compile_report_is_read_at_the_compilers_first_error():
    # appcfg (App Engine standard's Go runtimes before buildpacks) quotes go-app-builder: its timing and exit lines
    # come first, the compiler's `file.go:LINE: message` after them (held-out-16's gsnova, held-out-18's gorilla)
    log = ["Updating service [default]...failed.",
           "ERROR: (gcloud.app.deploy) Error Response: [9] Deployment contains files that cannot be compiled: "
           "Compile failed:",
           "2016/09/12 09:55:04 go-app-builder: build timing: 1×compile (103ms total), 0×link (0 total)",
           "2016/09/12 09:55:04 go-app-builder: failed running compile: exit status 1", "",
           'website/website.go:8: can\'t find import: "github.com/gorilla/handlers"']
    top = top_of(log)
    assert (top.signature, top.line) == ("unknown", 6)


def test_the_java_functions_invoker_failing_to_load_the_function_is_a_start_failure_read_at_its_exception():
    # the Java Functions Framework's invoker (GoogleCloudPlatform/functions-framework-java, invoker/core
    # .../invoker/runner/Invoker.java: loadFunctionClass) in the function's own log (held-out-20's
    # spring-cloud-function-1110): the frame names it, the exception heading the trace says why
    log = ['Exception in thread "main" java.lang.NoClassDefFoundError: org/springframework/boot/loader/JarLauncher',
           "\tat java.base/java.lang.ClassLoader.defineClass1(Native Method)",
           "\tat java.base/java.net.URLClassLoader.findClass(URLClassLoader.java:420)",
           "\tat com.google.cloud.functions.invoker.runner.Invoker.loadFunctionClass(Invoker.java:357)",
           "\tat com.google.cloud.functions.invoker.runner.Invoker.main(Invoker.java:236)",
           "Caused by: java.lang.ClassNotFoundException: org.springframework.boot.loader.JarLauncher",
           "\t... 12 more"]
    top = top_of(log)
    assert (top.signature, top.line) == ("container-start-failed", 1)
    # ... a frame with no exception above it (a trace cut at its head) is read where it matched
    assert top_of(log[3:5]).line == 1


def test_the_nodejs_8_functions_builders_npm_install_is_a_builder_from_before_buildpacks():
    # Cloud Functions' Node.js 6/8 runtimes built with their own builder, whose `npm_install` step is quoted
    # (held-out-21's cloud-functions-go-43): the app's own failure there is unknown, not a buildpacks failure
    log = ["Build failed: USER ERROR:", "`npm_install` had stderr output:", "npm ERR! code ENOLOCAL",
           'npm ERR! Could not install from "local_modules/execer" as it does not contain a package.json file.', "",
           "error: `npm_install` returned code: 1"]
    top = top_of(log)
    assert (top.signature, top.line) == ("unknown", 4)


def test_an_empty_appcfg_server_output_block_does_not_lead_before_the_compile_report_above_it():
    # held-out-21's minimega-867: the excerpt starts inside the first block; the second block is empty
    log = ["    Compile failed:", "    2017/02/13 15:18:16 go-app-builder: failed running compile: exit status 1",
           "    ", "    dir.go:48: undefined: f_root", "    --- end server output ---",
           "    03:18 PM Rolling back the update.", "    Error 422: --- begin server output ---", "    ",
           "    --- end server output ---"]
    assert top_of(log).line == 4


def test_agent_engines_instance_that_failed_to_start_is_a_start_failure():
    # Vertex AI Agent Engine runs an agent in a container of its own (held-out-23's adk-samples-234)
    line = ("google.api_core.exceptions.InvalidArgument: 400 Reasoning Engine instance 8188080684233916416 failed to "
            "start and cannot serve traffic. Please refer to our documentation for checking logs.")
    assert classify_log(line + "\n")[0].signature == "container-start-failed"


def test_a_revision_refused_for_quota_is_no_start_failure():
    # the project's GPU quota would not cover the revision (held-out-23's magic-modules-17149): the code never ran
    line = ("Error: Error waiting to create Service: resource is in failed state \"Ready:False\", message: Revision "
            "'svc-00001-n45' is not ready and cannot serve traffic. Quota exceeded for total allowable count of GPUs "
            "per project per region for 'NvidiaL4'.")
    assert classify_log(line + "\n")[0].signature != "container-start-failed"
    below = ["ERROR: (gcloud.run.deploy) Revision 'svc-00001-n45' is not ready and cannot serve traffic.",
             "Quota exceeded for total allowable CPU per project per region."]
    assert top_of(below).signature != "container-start-failed"


def test_appcfgs_server_output_block_is_read_at_the_report_it_holds():
    # appcfg wraps the server's message in `--- begin server output ---` (held-out-16's gsnova): its first line
    # opens the compile report, which is read at the compiler's first error
    log = ["10:16 PM Error 422: --- begin server output ---", "Compile failed:",
           "2016/09/29 07:16:11 go-app-builder: failed running compile: exit status 1", "", "web.go:68: undefined: c",
           "--- end server output ---", "10:16 PM Rolling back the update."]
    assert top_of(log).line == 5


def test_a_docker_run_that_names_no_error_is_read_at_its_last_words_above_the_verdict():
    # Next.js refusing the Node.js version names no error word; npm's notices come after it, docker's verdict and
    # Cloud Build's bare ones below (held-out-17's mededuai log)
    run = ["Step 12/30 : RUN npm run build", " ---> Running in 2da4de6e75eb", "> next build",
           'You are using Node.js 18.20.8. For Next.js, Node.js version ">=20.9.0" is required.',
           "npm notice", "npm notice New major version of npm available! 10.8.2 -> 11.12.1", "npm notice"]
    verdicts = ["The command '/bin/sh -c npm run build' returned a non-zero code: 1", "ERROR",
                'ERROR: build step 0 "gcr.io/cloud-builders/docker" failed: step exited with non-zero status: 1']
    top = top_of(run + verdicts)
    assert (top.signature, top.line) == ("unknown", 4)
    # ... but not across a rule drawn under another message: then the verdict itself is the line to read
    boxed = ["Step 12/30 : RUN npm run build", "Node.js v20.16.0", "-" * 40, *verdicts]
    assert top_of(boxed).line == 4


def test_a_cloud_run_source_deploy_that_failed_its_build_is_a_buildpacks_failure_only_when_it_used_buildpacks():
    # gcloud run deploy --source names the builder it chose, then the build's verdict (lib/surface/run/deploy.py,
    # lib/googlecloudsdk/command_lib/run/sourcedeploys/deployer.py at 4643fc9c); the cause is in the build's log
    def deploy(build_type: str) -> str:
        return (f"Building using {build_type} and deploying container to Cloud Run service [svc] in project [p] "
                "region [us-central1]\n"
                "X Building and deploying new service... Building Container.\n"
                f"  X Building Container... Container build failed and logs are available at [ {BUILD_URL} ].\n"
                "Deployment failed\n")
    buildpacks = classify_log(deploy("Buildpacks"))[0]
    assert (buildpacks.signature, buildpacks.line) == ("buildpacks-build-failed", 3)
    assert classify_log(deploy("Dockerfile"))[0].signature == "unknown"


def test_the_app_hosting_adapters_verdict_gives_way_to_the_apps_own_build_error_above_it():
    # @apphosting/common rejects with `Build process exited with error code N.` after the framework's own build
    # (here Next.js's prerendering, in words no signature knows) failed: the app's error is the one to read
    log = ('Step #2 - "build": === Node.js - Firebase Nextjs (google.nodejs.firebasenextjs@0.0.1) ===\n'
           'Step #2 - "build":    Generating static pages (0/25) ...\n'
           'Step #2 - "build": Error occurred prerendering page "/login". Read more: '
           'https://nextjs.org/docs/messages/prerender-error\n'
           'Step #2 - "build": Export encountered an error on /login/page: /login, exiting the build.\n'
           'Step #2 - "build": Error: Build process exited with error code 1.\n')
    top = classify_log(log)[0]
    assert (top.signature, top.line) == ("buildpacks-build-failed", 3)


def test_heroku_nodejs_buildpacks_setting_marks_a_buildpacks_build_but_a_dockerfiles_env_does_not():
    log = ["remote: > NPM_CONFIG_PRODUCTION=false npm install --prefix client && npm run build --prefix client",
           "remote: sh: 1: react-scripts: not found", "remote: npm ERR! code ELIFECYCLE"]
    assert signature_and_line(log) == ("buildpacks-build-failed", 2)
    docker = ["Step 4/9 : ENV NPM_CONFIG_PRODUCTION=false"] + [line[8:] for line in log[1:]]
    assert top_of(docker).signature == "unknown"


@pytest.mark.parametrize("marker", [
    "-----> Installing dependencies",   # Heroku's Node.js buildpack's step header
    "       Running: rake assets:precompile",   # ... its Ruby buildpack's asset step
    "! https://github.com/heroku/buildpacks-nodejs/issues",   # ... and the tracker its CNBs' error boxes name
])
def test_herokus_buildpacks_own_lines_mark_a_buildpacks_build(marker):
    log = [marker, "       rake aborted!", "       Zeitwerk::NameError: wrong constant name Chkbuild-ruby-info"]
    assert signature_and_line(log) == ("buildpacks-build-failed", 3)
    assert signature_and_line(log[1:])[0] == "unknown"   # (the same failure, with nothing naming a builder)


def test_heroku_ruby_cnbs_error_box_is_read_at_bundlers_words_above_it():
    log = ["remote: # Heroku Ruby Buildpack", "remote: - Bundle install",
           'remote:   - Running `BUNDLE_BIN="/layers/heroku_ruby/gems/bin" bundle install`',
           "remote:       Fetching gem metadata from https://rubygems.org/.........",
           "remote:       zeitwerk-2.7.1 requires ruby version >= 3.2, which is incompatible with the",
           "remote:       current version, 3.1.3", "remote:   - Done (3.275s)", "remote: - Debug info",
           "remote:     exit status: 5", "remote:     stdout: <see above>", "remote:",
           "remote: ! Error installing your applications's dependencies", "remote: !",
           "remote: ! Could not install gems to the system."]
    top = classify_log("\n".join(log) + "\n")[0]
    assert (top.signature, top.line) == ("buildpacks-build-failed", 5)


def test_cloud_foundrys_dotnet_core_buildpack_finding_no_project_to_run_is_no_entrypoint():
    log = ["/tmp/buildpacks/dotnet-core-buildpack/lib/buildpack/release/releaser.rb:26:in `release': No project "
           "could be identified to run (RuntimeError)",
           "        from /tmp/buildpacks/dotnet-core-buildpack/bin/release:26:in `<main>'",
           "Staging failed: Release info failed: "]
    assert signature_and_line(log) == ("buildpacks-no-entrypoint", 1)


def test_a_cloud_run_revisions_own_log_entry_is_its_container_failing():
    # an entry of the revision's log (as `gcloud logging read --format=json` prints it): its payload names the
    # failure, its resource says whose output it is; the entry's own severity says nothing of why
    entry = ['{', '  "textPayload": "sh: 1: ng: not found",', '  "resource": {', '    "type": "cloud_run_revision",',
             '    "labels": {"service_name": "storefront"}', '  },', '  "severity": "ERROR",',
             '  "logName": "projects/p/logs/run.googleapis.com%2Fstderr"', '}']
    top = classify_log("\n".join(entry) + "\n")[0]
    assert (top.signature, top.line) == ("container-start-failed", 2)
    # the same failure with no sign of whose output it is stays unknown
    assert classify_log("\n".join(entry[:2] + ["}"]) + "\n")[0].signature == "unknown"


def test_a_heroku_dynos_own_log_is_its_container_failing_but_not_its_release_phase():
    log = ["2019-05-22T23:23:20.592282+00:00 heroku[web.1]: Starting process with command `npm start`",
           "2019-05-22T23:23:25.764726+00:00 app[web.1]: module.js:538",
           "2019-05-22T23:23:25.764761+00:00 app[web.1]: Error: Cannot find module './models/User'"]
    assert signature_and_line(log) == ("container-start-failed", 3)
    release = [line.replace("web.1", "release.1") for line in log[1:]]
    assert top_of(release).signature == "unknown"


def test_nginx_refusing_its_config_in_a_dyno_is_its_container_failing():
    log = ["2020-11-19T13:44:20.084652+00:00 heroku[web.1]: Starting process with command `bin/boot`",
           "2020-11-19T13:44:22.800411+00:00 app[web.1]: Starting nginx...",
           '2020-11-19T13:44:22.875465+00:00 app[web.1]: nginx: [emerg] unknown directive "x" in ./nginx.conf:77',
           "2020-11-19T13:44:22.879244+00:00 app[web.1]: Process exited unexpectedly: nginx"]
    assert signature_and_line(log) == ("container-start-failed", 3)
    assert not names_failure("nginx: [notice] start worker processes")


def test_builders_failing_before_any_buildpack_failed_are_no_buildpacks_failure():
    # the lifecycle's detector unable to write the group it chose (its layers directory), after detection passed
    detector = ["===> DETECTING", "[detector] 3 of 5 buildpacks participating",
                "[detector] ERROR: failed to write buildpack group: open /layers/group.toml: permission denied"]
    assert signature_and_line(detector) == ("unknown", 3)
    # App Hosting refusing to queue a build while another still runs
    queue = ["⚠  apphosting: Rollout for backend b failed.",
             "⬢  apphosting: Request to https://firebaseapphosting.googleapis.com/v1beta/projects/p/locations/us-central1/"
             "backends/b/builds?buildId=build-1 had HTTP Error: 409, unable to queue the operation"]
    assert signature_and_line(queue) == ("unknown", 2)
    # ... while a buildpack that failed in the same build is the build failing
    failed = detector[:2] + ["[builder] ERROR: failed to build: exit status 1"]
    assert top_of(failed).signature == "buildpacks-build-failed"


@pytest.mark.parametrize("log, line", [
    # the DEA's app log (before Diego's `[APP/PROC/WEB/0]`)
    (["2015-05-11T17:21:28.54+0200 [App/0]      ERR     Improperly specified VM option 'MaxMetaspaceSize=104857K'",
      "2015-05-11T17:21:28.55+0200 [App/0]      ERR Error: Could not create the Java Virtual Machine."], 2),
    # the CLI's event whose payload a console wrapped
    (["App instance exited with guid 9463 payload: ", '{"cc_partition"=>"default", "index"=>0, "reason"=>"CRASHED", ',
      '"exit_status"=>127}'], 1),
    # the events as `cf events` and SAP BTP's cockpit list them
    (["| 27 Jun 2023, 18:30:21 | app.crash | mock-srv | index: 0, exit_description: Instance never healthy |"], 1),
    # Cloud Functions' 1st gen, 2017-2018
    (["Code in file index.js can't be loaded. Did you list all required modules in the package.json dependencies?"], 1),
])
def test_cloud_foundry_and_cloud_functions_older_words_for_an_app_that_did_not_start(log, line):
    assert signature_and_line(log) == ("container-start-failed", line)


def test_a_heroku_dynos_log_without_its_prefixes_or_through_a_drain_is_still_the_running_apps():
    # the dyno's lines as the dashboard copies them (no `heroku[web.1]:`): the crash above, the cause below
    bare = ["Starting process with command `node keystone.js`", "State changed from starting to crashed",
            "Process exited with status 1", "Error: Cannot find module './lib/core/importer'"]
    assert signature_and_line(bare) == ("container-start-failed", 4)
    # ... through a log drain (`app/web.1:`)
    drain = ["Apr 14 09:37:53 app heroku/web.1: Starting process with command `node app.js`",
             "Apr 14 09:37:58 app app/web.1: Error: KeystoneJS (KeystoneJS) failed to start"]
    assert signature_and_line(drain) == ("container-start-failed", 2)
    # the router's H10 while the app is down is read at the app's own failure above it
    h10 = ["2016-02-25T20:01:14.577583+00:00 app[web.1]: listening on port 5649.",
           "2016-02-25T20:01:14.580810+00:00 app[web.1]: Unable to listen on port 5649. The port is already in use.",
           "2016-02-25T20:01:15.466850+00:00 heroku[web.1]: State changed from up to crashed",
           '2016-02-25T20:01:16.216518+00:00 heroku[router]: at=error code=H10 desc="App crashed" method=GET path="/"']
    assert signature_and_line(h10) == ("container-start-failed", 2)
    # ... and a paste with a blank line after every line reads as far below a crash as one without
    spaced = []
    for line in ["2020-10-06T15:52:18.203958+00:00 heroku[web.1]: Process exited with status 1"] + \
            [f"2020-10-06T15:52:18.14280{n}+00:00 app[web.1]: > step {n}" for n in range(8)] + \
            ["2020-10-06T15:52:18.147746+00:00 app[web.1]: sh: 1: tsc: not found"]:
        spaced += [line, ""]
    assert top_of(spaced).line == 19


def test_cloud_foundrys_exited_instance_event_is_read_at_the_instances_own_error_above_it():
    log = ["2018-10-31T07:36:33.45+0000 [APP/PROC/WEB/0]OUT Server running on port: 8080",
           "2018-10-31T07:36:33.45+0000 [APP/PROC/WEB/0]OUT ERROR: Error: spawn ./node_modules/.bin/react-scripts ENOENT",
           "2018-10-31T07:36:33.56+0000 [APP/PROC/WEB/0]OUT Exit status 0",
           '2018-10-31T07:36:33.66+0000 [API/7]      OUT App instance exited with guid 5cbabf15 payload: {"instance"=>'
           '"9c569aa7", "index"=>0, "reason"=>"CRASHED", "exit_status"=>0}']
    assert signature_and_line(log) == ("container-start-failed", 2)


def test_cloud_foundry_stopping_an_instance_and_its_cli_unable_to_tail_logs_are_no_failure_of_the_app():
    stopped = ["App instance exited with guid 9463 payload: {\"index\"=>0, \"reason\"=>\"STOPPED\"}"]
    assert top_of(stopped).signature == "unknown"
    log = ["Warning: error tailing logs", "Error dialing loggregator server: dial tcp 10.0.0.1:4443: connection refused.",
           "Starting app spring-music in org o / space s as admin...", "FAILED",
           "Server error, status code: 400, error code: 170001, message: Staging error: no available stagers"]
    assert top_of(log).line == 5


def test_a_cloud_build_step_that_finished_ends_its_tools_output_for_the_unframed_lines_below():
    build = ["Starting Step #1 - \"Build\"", "Step 14/14 : CMD exec uvicorn app.main:app", " ---> Running in e1f2ab87a5e4",
             " ---> 7bdd91f7f18d", "Successfully built 7bdd91f7f18d", "Finished Step #1 - \"Build\""]
    heroku = ["       npm ERR! If you do, this is most likely a problem with the node-sass package,",
              "       npm ERR! not with npm itself.", "       npm ERR! Tell the author that this fails on your system:",
              "       npm ERR!     node build.js", "",
              "       npm ERR! Please include the following file with any support request:",
              "       npm ERR!     /tmp/build_98fbbdac8f4b17c6817928c3dede0db2/app/npm-debug.log", "-----> Build failed"]
    alone, below = top_of(heroku), top_of(build + heroku)
    assert (alone.signature, alone.line) == ("buildpacks-build-failed", 1)
    assert (below.signature, below.line - len(build)) == (alone.signature, alone.line)


def test_heroku_cnb_layers_mark_a_buildpacks_build():
    cnb = ["  Conversion error: Bridgetown::Converters::ERBTemplates encountered an error while converting `404.html'",
           "/workspace/src/_head.erb is not valid US-ASCII",
           "  1: /layers/heroku_ruby/gems/vendor/bundle/ruby/3.2.0/gems/tilt-2.1.0/lib/tilt/template.rb:95:in `x'"]
    assert top_of(cnb).signature == "buildpacks-build-failed" and top_of(cnb[:2]).signature == "unknown"


def test_cloud_foundry_unable_to_fetch_a_buildpack_is_no_buildpacks_failure():
    # the buildpack an app names by URL could not be fetched: no buildpack ran (a builder refused, `unknown`)
    log = ["Staging...", "Failed to run all supply scripts: Failed to read buildpack directory '/tmp/buildpackdownloads/"
           "adcea7bc' for buildpack 'https://example.com/notarealurl.zip'", "Exit status 225",
           "Staging failed: STG: Exited with status 225", "FAILED", "Error restarting application: StagingError"]
    assert signature_and_line(log) == ("unknown", 2)
    # a buildpack that ran and failed is the build failing, read at its own words rather than the CLI's verdict
    ran = ["Staging...", "-----> Go Buildpack version 1.8.13", "go: cannot find main module", log[3], log[5]]
    assert signature_and_line(ran) == ("buildpacks-build-failed", 3)


def test_a_dyno_crash_printed_above_its_cause_is_read_at_the_cause_below_it():
    # Heroku's log router prints lines as they arrive: the crash and the exit can come above the app's own output
    log = ["2017-02-27T15:43:20.924473+00:00 heroku[web.1]: Starting process with command `npm start`",
           "2017-02-27T15:43:25.129986+00:00 heroku[web.1]: State changed from starting to crashed",
           "2017-02-27T15:43:24.968411+00:00 app[web.1]: > ng serve",
           "2017-02-27T15:43:24.980024+00:00 app[web.1]: sh: 1: ng: not found"]
    assert signature_and_line(log) == ("container-start-failed", 4)
    # in a build's log (no running app's) a summary with nothing above it stays where it is
    build = ["-----> Node.js app detected", " !     Push rejected, failed to compile Node.js app.",
             "Verifying deploy... the copy failed"]
    assert top_of(build).line == 2
