"""classify_log on the producers' own message text: every user-facing wording of a catalogue cause found in
the source of the tools that print it (Google Cloud's buildpacks, the buildpacks lifecycle and pack, pip,
docker's classic builder and CLI, BuildKit, kaniko, buildah, gcloud, Cloud Build's fetcher; for a container
that would not start, the Functions Frameworks for Node.js, Python, Go, Java, .NET, Ruby and PHP, Knative
Serving and the kubelet, gunicorn, uvicorn, and App Engine Java's runtime and Jetty; for a refused push
go-containerregistry (crane, gcrane), ko, Jib, containers/image (podman, buildah, skopeo), containerd,
distribution's error codes, Bazel's rules_docker (and google/containerregistry's Python pushers) and rules_oci,
and Artifact Registry's and Container Registry's answers as clients quote them; for the buildpacks ids also
Heroku's classic buildpacks (python, nodejs, go, ruby, php, jvm-common), Paketo's packit and libpak, and Cloud
Foundry's libbuildpack with its nodejs and python buildpacks; for an app's own build failing inside a buildpacks or
managed build, npm, yarn (classic and berry), pnpm, bun, Go's compiler and go command, Maven and its compiler plugin,
Gradle, javac, kotlinc, NuGet, Roslyn, F#, MSBuild, bundler and RubyGems, composer, Dart's pub and front end, and App
Hosting's buildpack errors; for a failed Python install, uv, poetry (quoting pypa/build), pipenv, pip-tools, conda
and its libmamba solver, mamba, setuptools and distutils, and the Python buildpack's pip, uv and poetry wrappers),
across the versions Cloud Build and its users have run, with realistic values filled into the format verbs.

Each row cites the producer, the commit or tag where the wording appears (a short hash is that repository's
commit that introduced or last held it) and the source path. Each message is classified alone and as a Cloud
Build log frames it (a step's prefix; the FETCHSOURCE phase for Cloud Build's own source fetch), and must give
the expected top signature with the message's own line as the evidence. Near misses (a refused pull, a pip
warning, a retry, a poll that gave up) must not give the signature they resemble.

Shaped only on producer source, never on the held-out real logs (tests/fixtures/logs/real/).
"""
from __future__ import annotations

from typing import NamedTuple

import pytest

from runbook_lib.diagnose import MAX_EVIDENCE_CHARS, classify_log, load_catalogue

STEP = 'Step #1 - "build": '
# Cloud Functions' deploy quoting its build's failure, and the step of the build `gcloud run deploy --source` runs
GCF_BUILD_FAILED = "ERROR: (gcloud.functions.deploy) OperationError: code=3, message=Build failed: "
BUILDPACK_STEP = 'Step #0 - "Buildpack": '


class Wording(NamedTuple):
    producer: str   # repository (or service) that prints it
    version: str    # tag, or commit (short hash) where the wording appears
    path: str       # source file that holds it
    message: str    # as printed, with realistic values
    framed: str = "step"   # "step": a build step prints it; "fetch": Cloud Build's FETCHSOURCE; "": printed alone;
    #                        "buildpacks" / "dockerfile": a tool's words inside that builder's build (see framings)


BP = "GoogleCloudPlatform/buildpacks"
LIFECYCLE = "buildpacks/lifecycle"
PIP = "pypa/pip"
MOBY = "moby/moby"
CLI = "docker/cli"
BUILDKIT = "moby/buildkit"
KANIKO = "GoogleContainerTools/kaniko"
BUILDAH = "containers/buildah"
GCLOUD = "google-cloud-sdk-unofficial/google-cloud-sdk"   # a mirror of the released gcloud's source
BUILDERS = "GoogleCloudPlatform/cloud-builders"
FF_NODE = "GoogleCloudPlatform/functions-framework-nodejs"
FF_PY = "GoogleCloudPlatform/functions-framework-python"
FF_GO = "GoogleCloudPlatform/functions-framework-go"
FF_JAVA = "GoogleCloudPlatform/functions-framework-java"
FF_DOTNET = "GoogleCloudPlatform/functions-framework-dotnet"
FF_RUBY = "GoogleCloudPlatform/functions-framework-ruby"
FF_PHP = "GoogleCloudPlatform/functions-framework-php"
KNATIVE = "knative/serving"
KUBELET = "kubernetes/kubernetes (the kubelet; knative/serving's revision takes its message over)"
GUNICORN = "benoitc/gunicorn"
UVICORN = "encode/uvicorn"
GAE_JAVA = "GoogleCloudPlatform/appengine-java-standard"
GGCR = "google/go-containerregistry"   # crane, gcrane, and the registry client of ko, kaniko, lifecycle, rules_oci
KO = "ko-build/ko"
JIB = "GoogleContainerTools/jib"
CIMAGE = "containers/image"   # the registry client of podman, buildah, skopeo
CONTAINERD = "containerd/containerd"   # the registry client of nerdctl, ctr, BuildKit
DISTRIBUTION = "distribution/distribution"   # the registry API's error codes and their default messages
RULES_DOCKER = "bazelbuild/rules_docker"
PY_CONTAINERREGISTRY = "google/containerregistry"   # the Python pushers rules_docker ran before 2019
RULES_OCI = "bazel-contrib/rules_oci"

WORDINGS: dict[str, list[Wording]] = {
    "buildpacks-no-entrypoint": [
        Wording(BP, "bde51bc9", "cmd/python/missing_entrypoint/main.go",
                'for Python, an entrypoint must be manually set, either with "GOOGLE_ENTRYPOINT" env var or by '
                'creating a "Procfile" file'),
        Wording(BP, "290c2239", "cmd/python/missing_entrypoint/main.go",
                'for Python, provide a main.py file or set an entrypoint with "GOOGLE_ENTRYPOINT" env var or by '
                'creating a "Procfile" file'),
        Wording(BP, "21f28de8", "cmd/python/missing_entrypoint/lib/lib.go",
                'for Python, provide a main.py or app.py file or set an entrypoint with "GOOGLE_ENTRYPOINT" env var '
                'or by creating a "Procfile" file'),
        Wording(BP, "21f28de8", "cmd/python/missing_entrypoint/lib/lib.go",
                'for Python with pyproject.toml, provide a main.py or app.py file or a script command in '
                'pyproject.toml or set an entrypoint with "GOOGLE_ENTRYPOINT" env var or by creating a "Procfile" '
                'file'),
        Wording(BP, "21f28de8", "cmd/ruby/missing_entrypoint/lib/lib.go",
                'for Ruby, an entrypoint must be manually set, either with "GOOGLE_ENTRYPOINT" env var or by '
                'creating a "Procfile" file'),
        Wording(BP, "f4102109", "pkg/java/java.go", "could not find a jar with a Main-Class manifest entry"),
        Wording(BP, "f4102109", "pkg/java/java.go", "found more than 1 jar with a Main-Class manifest entry"),
        Wording(BP, "85c1007d", "pkg/java/java.go",
                "found more than one jar with a Main-Class manifest entry: [/workspace/target/app.jar "
                "/workspace/target/app-plain.jar], please specify an entrypoint"),
        Wording(BP, "21f28de8", "pkg/java/java.go",
                "found more than one jar with a Main-Class manifest entry in [build libs]: "
                "[/workspace/build/libs/app.jar /workspace/build/libs/app-all.jar], please specify an entrypoint"),
        Wording(BP, "21f28de8", "pkg/java/java.go", "did not find any jar files with a Main-Class manifest entry"),
        Wording(BP, "21f28de8", "pkg/dotnet/dotnet.go",
                "expected to find exactly one project file in directory /workspace, found "
                "[/workspace/Api.csproj /workspace/Api.Tests.csproj]"),
        Wording(BP, "21f28de8", "cmd/dotnet/appengine/lib/lib.go",
                "expected entrypoint from app.yaml or root project file, found nothing"),
        Wording(BP, "0dacf569", "cmd/config/entrypoint/main.go",
                "could not find web process in Procfile: [worker: python worker.py]"),
        Wording(BP, "1e9df5d1", "cmd/config/entrypoint/lib/lib.go",
                'web process not found in Procfile: [][]string{[]string{"worker: python worker.py", "worker"}}'),
        Wording(BP, "21f28de8", "cmd/config/entrypoint/lib/lib.go",
                "web process not found in Procfile, found processes: [worker release]"),
        Wording(BP, "21f28de8", "pkg/entrypoint/procfile.go", "did not find any processes in Procfile"),
        Wording(BP, "21f28de8", "pkg/appyaml/appyaml.go",
                "Couldn't find entrypoint from app.yaml: entrypoint field is empty"),
        Wording(BP, "21f28de8", "pkg/ruby/entrypoint.go",
                "unable to infer entrypoint, please set the `entrypoint` field in app.yaml: "
                "https://cloud.google.com/appengine/docs/standard/ruby/runtime#application_startup"),
        Wording(BP, "21f28de8", "cmd/python/functions_framework/lib/lib.go",
                "missing main.py and GOOGLE_FUNCTION_SOURCE not specified. Either create the function in main.py or "
                "specify GOOGLE_FUNCTION_SOURCE to point to the file that contains the function"),
        Wording(BP, "c39cfb86", "cmd/python/functions_framework/main.go",
                "GOOGLE_FUNCTION_SOURCE specified file 'app/handler.py' but it does not exist"),
        Wording(BP, "21f28de8", "cmd/python/functions_framework/lib/lib.go",
                'GOOGLE_FUNCTION_SOURCE specified file "app/handler.py" but it does not exist'),
        Wording(BP, "21f28de8", "cmd/ruby/functions_framework/lib/lib.go",
                'expected source file "./app.rb" does not exist'),
        Wording(BP, "21f28de8", "cmd/java/functions_framework/lib/lib.go",
                "function has neither pom.xml nor already-built jar file; directory /workspace has no pom.xml "
                "or build.gradle file"),
        # the Node.js functions buildpack when package.json's "main" (default index.js) is missing
        Wording(BP, "21f28de8", "cmd/nodejs/functions_framework/lib/lib.go", "index.js does not exist"),
        Wording(BP, "21f28de8", "cmd/nodejs/functions_framework/lib/lib.go", "dist/index.js does not exist"),
        # --- the producer sweep of the three buildpacks ids: more of Google's buildpacks' words for nothing to start ---
        Wording(BP, "f3855511", "pkg/java/java.go",
                "no Main-Class manifest entry found in /workspace/META-INF/MANIFEST.MF"),
        Wording(BP, "21f28de8", "pkg/java/java.go", "no Main-Class manifest entry found in the manifest:"),
        # (the Java functions buildpack's `function has no pom.xml and more than one jar file: ...` and the Go functions
        # converter's `unable to find Go package in ...` are left out: a pattern for either cost a labelled real log,
        # which reads them as buildpacks-build-failed)
        Wording(BP, "21f28de8", "pkg/dotnet/dotnet.go",
                "unable to find executable produced from /workspace/Api.csproj, try setting the AssemblyName property"),
    ],
    "buildpacks-python-version": [
        Wording(BP, "9d300648", "pkg/runtime/install.go",
                "Runtime version 3.99.1 does not exist at https://storage.googleapis.com/gcp-buildpacks/python/"
                "python-3.99.1.tar.gz (status 404). You can specify the version with GOOGLE_RUNTIME_VERSION."),
        Wording(BP, "cb3bfd8d", "cmd/java/runtime/main.go",
                "Java feature version 19 does not exist at https://api.adoptopenjdk.net/v3/assets/feature_releases/"
                "19/ga (status 404). You can specify the feature version with GOOGLE_RUNTIME_VERSION. See available "
                "feature runtime versions at https://api.adoptopenjdk.net/v3/info/available_releases"),
        Wording(BP, "976a13de", "pkg/runtime/install.go",
                "Ruby version 2.4.10 does not exist at https://dl.google.com/runtimes/ubuntu1804/ruby/"
                "ruby-2.4.10.tar.gz (HTTP status: 404). You can specify the version by setting the "
                "GOOGLE_RUNTIME_VERSION environment variable."),
        Wording(BP, "e40715fe", "pkg/runtime/install.go",
                "invalid Python version specified: no matching version found for constraint 3.99"),
        Wording(BP, "13afe29f", "pkg/runtime/install.go",
                "invalid Node.js version specified: no matching version found for constraint 30.x. You may need to "
                "use a different builder. Please check if the language version specified is supported by the os: "
                "ubuntu2204. You can refer to https://cloud.google.com/docs/buildpacks/builders for a list of "
                "compatible runtime languages per builder"),
        Wording(BP, "13afe29f", "pkg/runtime/install.go",
                "invalid Ruby Runtime version specified: no matching version found for constraint 2.5.9. You may "
                "need to use a different builder."),
        Wording(BP, "13afe29f", "pkg/runtime/install.go",
                "invalid PHP Runtime version specified: no matching version found for constraint 7.1.*. You may "
                "need to use a different builder."),
        Wording(BP, "13afe29f", "pkg/runtime/install.go",
                "invalid .NET SDK version specified: no matching version found for constraint 4.0.100. You may need "
                "to use a different builder."),
        Wording(BP, "36023e07", "pkg/runtime/install.go",
                'invalid Python version specified: failed to resolve version matching: 3.99 . Version constraint '
                '"3.99" not satisfied by any available versions in Artifact Registry. You may need to use a '
                'different builder.'),
        Wording(BP, "8dda0772", "pkg/golang/golang.go",
                "invalid Go version specified: https://go.dev/dl/?mode=json, You can refer to failed to resolve "
                "version matching: 1.99 for a list of stable Go releases."),
        Wording(BP, "2a1285c3", "pkg/python/python.go", ".python-version exists but does not specify a version"),
        Wording(BP, "36023e07", "pkg/runtime/install.go",
                "Failed to resolve version 3.99 for Python from region us: no matching version"),
        Wording(BP, "4b221899", "pkg/nodejs/nodejs.go",
                'failed to detect valid Node.js version 99: Improper constraint: 99'),
        Wording(BP, "21f28de8", "pkg/python/python.go",
                'invalid stack for Python runtime: "google.gae.18". Please use a supported stack'),
        Wording(BP, "21f28de8", "pkg/runtime/install.go",
                "flex version 3.7 is less than the minimum version 3.8 allowed"),
        Wording(BP, "21f28de8", "pkg/fetch/fetch.go",
                "fetching https://dl.google.com/runtimes/ubuntu2204/python/python-3.99.0.tar.gz returned HTTP "
                "status: 404"),
        # --- the producer sweep of the three buildpacks ids: every language's refused version, by every vendor ---
        # Google's install helper: its warning before the download error, each runtime's display name
        Wording(BP, "43c9a574", "pkg/runtime/install.go",
                "WARNING: Failed to download Python version 3.99.0 os ubuntu1804. You can specify the verison by "
                "setting the GOOGLE_RUNTIME_VERSION environment variable"),
        Wording(BP, "13afe29f", "pkg/runtime/install.go",
                "WARNING: Failed to download Ruby Runtime version 2.5.99 osName ubuntu2204 from lorry. You can specify "
                "the version by setting the GOOGLE_RUNTIME_VERSION environment variable"),
        Wording(BP, "fc307ac7", "pkg/runtime/install.go",
                "WARNING: Failed to download .NET SDK version 9.0.999 osName ubuntu2204 from lorry. You can specify the "
                "version by setting the GOOGLE_RUNTIME_VERSION environment variable. To use Artifact Registry instead, "
                "set the GOOGLE_RUNTIME_IMAGE_REGION environment variable (e.g., 'us')."),
        Wording(BP, "c8f4ae6f", "pkg/runtime/install.go",
                "WARNING: Failed to download PHP Runtime version 8.9.0 osName ubuntu2404 from artifact registry. You can "
                "specify the version by setting the GOOGLE_RUNTIME_VERSION environment variable"),
        Wording(BP, "13afe29f", "pkg/runtime/install.go",
                "WARNING: Failed to download Node.js version 99.0.0 osName ubuntu2204 from lorry. You can specify the "
                "version by setting the GOOGLE_RUNTIME_VERSION environment variable"),
        Wording(BP, "32f77f4c", "pkg/runtime/install.go",
                "WARNING: Failed to download Dart SDK from https://storage.googleapis.com/dart-archive/channels/stable/"
                "release/9.9.9/sdk/dartsdk-linux-x64-release.zip. You can specify the verison by setting the "
                "GOOGLE_RUNTIME_VERSION environment variable"),
        Wording(BP, "e1c77679", "pkg/runtime/install.go",
                "WARNING: Failed to download Flutter SDK from https://storage.googleapis.com/flutter_infra_release/"
                "releases/stable/linux/flutter_linux_9.9.9-stable.tar.xz. You can specify the verison by setting the "
                "GOOGLE_RUNTIME_VERSION environment variable"),
        # ... the download helper's error for Go, whose tarballs are not under /runtimes/
        Wording(BP, "ce3a5022", "pkg/fetch/fetch.go",
                "fetching https://dl.google.com/go/go1.99.0.linux-amd64.tar.gz returned HTTP status: 404"),
        # ... the 2020 runtime buildpacks, each checking its download URL first
        Wording(BP, "9d300648", "cmd/go/runtime/main.go",
                "Runtime version 1.99 does not exist at https://dl.google.com/go/go1.99.linux-amd64.tar.gz (status 404). "
                "You can specify the version with GOOGLE_RUNTIME_VERSION."),
        Wording(BP, "9d300648", "cmd/nodejs/runtime/main.go",
                "Runtime version 99.0.0 does not exist at https://nodejs.org/dist/v99.0.0/node-v99.0.0-linux-x64.tar.xz "
                "(status 404). You can specify the version with GOOGLE_RUNTIME_VERSION."),
        Wording(BP, "9d300648", "cmd/dotnet/runtime/main.go",
                "Runtime version 9.0.999 does not exist at https://dotnetcli.azureedge.net/dotnet/Sdk/9.0.999/"
                "dotnet-sdk-9.0.999-linux-x64.tar.gz (status 404). You can specify the version with "
                "GOOGLE_RUNTIME_VERSION."),
        Wording(BP, "e6f15ccf", "pkg/runtime/install.go",
                "invalid Python version specified: no matching version found for constraint 3.99, , You may need to use "
                "a different builder. Please check if the language version specified is supported by the os: "
                "ubuntu1804."),
        Wording(BP, "21f28de8", "builders/dotnet/acceptance (the .NET install's error)",
                'invalid .NET SDK version specified: improper constraint: "BAD_NEWS_BEARS"'),
        # ... App Engine's Ruby check of the Gemfile's `ruby` line, and the Ruby buildpack reading Gemfile.lock
        Wording(BP, "9d300648", "cmd/ruby/appengine_validation/scripts/check_gemfile_version.rb",
                "Your Gemfile cannot restrict the Ruby version to \"2.6.0\" because this runtime uses Ruby 2.7.8. "
                "Consider instead:  ruby '~> 2.7.0'"),
        Wording(BP, "9d300648", "cmd/ruby/appengine_validation/scripts/check_gemfile_version.rb",
                "Your gems.rb cannot restrict the Ruby version to \"= 2.7.1\" because App Engine may upgrade the Ruby "
                "patchlevel from 2.7.8. Consider instead:  ruby '~> 2.7.0'"),
        Wording(BP, "89a9ba6a", "pkg/ruby/ruby.go", 'Invalid ruby version in Gemfile.lock: "   jruby 9.4.3.0"'),
        # Heroku's Python buildpack (its warnings ` !     ` before 2024, then `Error:` headings)
        Wording("heroku/heroku-buildpack-python", "f3ef1526", "bin/steps/python",
                " !     Requested runtime (python-3.4.99) is not available for this stack (heroku-18)."),
        Wording("heroku/heroku-buildpack-python", "aeb7aea6", "bin/steps/python",
                " !     Requested runtime 'python-3.10.99' is not available for this stack (heroku-22)."),
        Wording("heroku/heroku-buildpack-python", "6697fd5f", "bin/steps/python",
                " !     Error: Requested runtime 'python-3.12.99' is not available for this stack (heroku-24)."),
        Wording("heroku/heroku-buildpack-python", "42499ff4", "bin/steps/python",
                " !     Error: Python 3.12.99 is not available for this stack (heroku-24)."),
        Wording("heroku/heroku-buildpack-python", "d9bdeabd", "bin/steps/python",
                " !     Error: Python 3.12.99 isn't available for this stack (heroku-24)."),
        Wording("heroku/heroku-buildpack-python", "4e8ae51d", "lib/python.sh",
                " !     Error: The requested Python version isn't available."),
        Wording("heroku/heroku-buildpack-python", "d9bdeabd", "lib/python_version.sh",
                " !     Error: Invalid Python version in runtime.txt."),
        Wording("heroku/heroku-buildpack-python", "b4e7e721", "lib/python_version.sh",
                " !     Error: Invalid Python version in .python-version."),
        Wording("heroku/heroku-buildpack-python", "d9bdeabd", "lib/python_version.sh",
                " !     Error: Invalid Python version in Pipfile / Pipfile.lock."),
        Wording("heroku/heroku-buildpack-python", "b4e7e721", "lib/python_version.sh",
                " !     Error: No Python version found in .python-version."),
        Wording("heroku/heroku-buildpack-python", "42499ff4", "lib/python_version.sh",
                " !     Error: The requested Python version is not recognised."),
        Wording("heroku/heroku-buildpack-python", "d9bdeabd", "lib/python_version.sh",
                " !     Error: The requested Python version isn't recognised."),
        Wording("heroku/heroku-buildpack-python", "d9bdeabd", "lib/python_version.sh",
                " !     Error: The cached Python version isn't recognised."),
        Wording("heroku/heroku-buildpack-python", "42499ff4", "lib/python_version.sh",
                " !     Error: The requested Python version has reached end-of-life."),
        Wording("heroku/heroku-buildpack-python", "42499ff4", "lib/python_version.sh",
                " !     Error: The cached Python version has reached end-of-life."),
        # Heroku's Node.js buildpack: the resolver's words, the failure it then explains, and the 2026 rewrite
        Wording("heroku/heroku-buildpack-nodejs", "dafd3cd1", "lib/failure.sh",
                "Could not find Node version corresponding to version requirement: 99.x"),
        Wording("heroku/heroku-buildpack-nodejs", "dafd3cd1", "lib/failure.sh",
                " !     No matching version found for Node: 99.x"),
        Wording("heroku/heroku-buildpack-nodejs", "e5d11e58", "lib/runtimes/nodejs.sh",
                " !     Error: No published Node.js version matches the requested range."),
        Wording("heroku/heroku-buildpack-nodejs", "e5d11e58", "lib/runtimes/nodejs.sh",
                " !     Error: Invalid Node.js version requirement."),
        Wording("heroku/heroku-buildpack-nodejs", "3824a334", "lib/runtimes/nodejs.sh",
                " !     Error: io.js is no longer supported."),
        # ... and before the rewrite, a requirement that is no semver: the resolver's error and the failure the
        # buildpack then explains
        Wording("heroku/heroku-buildpack-nodejs", "cf0d0026", "lib/_failures.sh",
                '       Error: Invalid semantic version "stable"'),
        Wording("heroku/heroku-buildpack-nodejs", "cf0d0026", "lib/_failures.sh", " !     Invalid semver requirement"),
        # Heroku's Go buildpack: a Go version it has no checksum for is a file it does not know
        Wording("heroku/heroku-buildpack-go", "8fe96a09", "lib/common.sh",
                " !!    The requested file (go1.99.linux-amd64.tar.gz) is unknown to the buildpack!"),
        Wording("heroku/heroku-buildpack-go", "1bc788f", "lib/common.sh",
                " !     Error: The requested file (go1.99.1.linux-amd64.tar.gz) is unknown to the buildpack!"),
        # Heroku's Ruby buildpack
        Wording("heroku/heroku-buildpack-ruby", "8ea7b7ad", "lib/language_pack/ruby.rb",
                " !     An error occurred while installing ruby-2.4.99"),
        Wording("heroku/heroku-buildpack-ruby", "8ea7b7ad", "lib/language_pack/ruby.rb",
                " !     This version of Ruby is not available on Heroku-18. The minimum supported version"),
        Wording("heroku/heroku-buildpack-ruby", "b2d3f760", "lib/language_pack/ruby.rb",
                " !     The Ruby version you are trying to install does not exist: ruby-2.4.99"),
        Wording("heroku/heroku-buildpack-ruby", "b2d3f760", "lib/language_pack/ruby.rb",
                " !     The Ruby version you are trying to install does not exist on this stack."),
        # Heroku's JVM buildpack (system.properties' java.runtime.version)
        Wording("heroku/heroku-buildpack-jvm-common", "546787a", "bin/java",
                " !     ERROR: Unsupported Java version: 1.7.0_999"),
        Wording("heroku/heroku-buildpack-jvm-common", "1d2512e", "bin/java",
                " !     Error: Unsupported Java version: 99"),
        Wording("heroku/heroku-buildpack-jvm-common", "0888473", "bin/java",
                " !     Error: Unsupported Java distribution: corretto"),
        # Paketo: packit's dependency resolution (node-engine, cpython, go-dist ...) and libpak's (the Java buildpacks)
        Wording("paketo-buildpacks/packit", "8090431", "postal/service.go",
                'failed to satisfy "node" dependency version constraint "~99": no compatible versions'),
        Wording("paketo-buildpacks/packit", "837f1ba", "postal/service.go",
                'failed to satisfy "cpython" dependency version constraint "3.99.*": no compatible versions on '
                '"io.buildpacks.stacks.jammy" stack. Supported versions are: [3.10.14, 3.11.9, 3.12.4]'),
        Wording("paketo-buildpacks/libpak", "8e25ce1", "buildmodule.go",
                "no valid dependencies for jdk, 99.*, and io.buildpacks.stacks.jammy in [(jdk, 17.0.12, [*]) "
                "(jdk, 21.0.4, [*])]"),
        # Cloud Foundry's buildpacks (libbuildpack's version matching and manifest, each language's supply step)
        Wording("cloudfoundry/nodejs-buildpack (libbuildpack's versions.go)", "477b0cff", "src/nodejs/supply/supply.go",
                "       **ERROR** Unable to install node: no match found for 99.x in [18.20.4 20.17.0 22.8.0]"),
        Wording("cloudfoundry/python-buildpack (libbuildpack's versions.go)", "b694c193", "src/python/supply/supply.go",
                "       **ERROR** Could not install python: no match found for 3.99.x in [3.10.14 3.11.9 3.12.4]"),
        Wording("cloudfoundry/python-buildpack (libbuildpack's manifest.go)", "b694c193", "src/python/supply/supply.go",
                "       **ERROR** Could not install python: dependency python 3.99.0 not found"),
        Wording("cloudfoundry/libbuildpack", "70e599b", "error_messages.go",
                "       **ERROR** DEPENDENCY MISSING IN MANIFEST:"),
        Wording("cloudfoundry/libbuildpack", "70e599b", "error_messages.go",
                "Version 3.99.0 of dependency python is not supported by this buildpack."),
    ],
    "buildpacks-detect-failed": [
        Wording(LIFECYCLE, "3b426cb4", "detector.go", "No buildpack groups passed detection."),
        Wording(LIFECYCLE, "b40e82fd", "cmd/lifecycle/detector.go", "ERROR: No buildpack groups passed detection."),
        Wording(LIFECYCLE, "b51c5f9e", "cmd/lifecycle/detector.go",
                "ERROR: failed to detect: no buildpacks participating"),
        Wording(LIFECYCLE, "168dfaa3", "cmd/detector/main.go",
                "None of the provided buildpack groups passed detection for this repository."),
        # (lifecycle's `no buildpacks participating: detect failed with errors` and pack's `failed with status
        # code: 20`/`21` are left out: a buildpack's detect that errored, or only an exit code, is not "no
        # buildpack recognised the source")
        # --- the producer sweep of the three buildpacks ids: the lifecycle's other wordings, other vendors' detect ---
        Wording(LIFECYCLE, "v0.2.0", "cmd/cmd.go (cmd/detector/main.go's failure)", "Error: failed to detect"),
        Wording(LIFECYCLE, "v0.4.0", "cmd/cmd.go (detector.go's ErrFail)", "Error: failed to detect: detection failed"),
        Wording(LIFECYCLE, "e95b1f13", "cmd/detector/main.go",
                "ERROR: Please check that you are running against the correct path."),
        Wording("heroku/heroku-buildpack-python", "b4998133", "bin/detect",
                " !     Error: Your app is configured to use the Python buildpack,"),
        Wording("heroku/heroku-buildpack-go", "1bc788f", "bin/detect",
                " !     Error: Your app is configured to use the Go buildpack,"),
        Wording("heroku/heroku-buildpack-ruby", "0c80c93d", "bin/detect",
                " !     Error: Your app is configured to use the Ruby buildpack,"),
        Wording("heroku/heroku-buildpack-nodejs", "4f394e95", "bin/detect",
                " !     ERROR: Application not supported by 'heroku/nodejs' buildpack"),
        Wording("heroku/heroku-buildpack-nodejs", "4f394e95", "bin/detect",
                " !     ERROR: 'package.json' listed in '.gitignore' file"),
        Wording("heroku/heroku-buildpack-php", "ff95c90e", "bin/detect",
                " !     ERROR: Application not supported by this buildpack!"),
    ],
    "dockerfile-not-in-upload": [
        # Azure Pipelines' Docker task (v0, and v2 through its container-common helper), its Dockerfile pattern
        # matching no file on the agent
        Wording("microsoft/azure-pipelines-tasks", "2017", "Tasks/DockerV0/containerbuild.ts",
                "Unhandled: No Docker file matching /opt/vsts/work/1/s/**/Dockerfile was found."),
        Wording("microsoft/azure-pipelines-tasks", "2019", "common-npm-packages/docker-common/fileutils.ts",
                "No Docker file matching '/home/vsts/work/1/s/app/Dockerfile' was found."),
        Wording(CLI, "28f75608", "cli/command/image/build/context.go",
                "unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat "
                "/workspace/Dockerfile: no such file or directory"),
        Wording(MOBY, "b985e231", "builder/remotecontext/detect.go",
                "Error response from daemon: Cannot locate specified Dockerfile: docker/Dockerfile.prod"),
        Wording(BUILDKIT, "73ed6825", "frontend/dockerui/config.go",
                "ERROR: failed to solve: failed to read dockerfile: open Dockerfile: no such file or directory"),
        Wording(BUILDKIT, "73ed6825", "frontend/dockerui/config.go",
                "failed to solve with frontend dockerfile.v0: failed to read dockerfile: open "
                "/var/lib/docker/tmp/buildkit-mount123/Dockerfile.api: no such file or directory"),
        Wording(KANIKO, "236ba569", "cmd/executor/cmd/root.go",
                "error resolving dockerfile path: please provide a valid path to a Dockerfile within the build "
                "context with --dockerfile"),
        Wording(BUILDAH, "ce384684c", "imagebuildah/build.go",
                "Error: cannot find Containerfile or Dockerfile in context directory: stat /tmp/ctx/Dockerfile: "
                "no such file or directory"),
        Wording(BUILDAH, "5b1b18ee", "imagebuildah/build.go",
                'Error: reading info about "/tmp/ctx/Containerfile.prod": stat /tmp/ctx/Containerfile.prod: '
                "no such file or directory"),
        Wording(BUILDAH, "52d797d63", "imagebuildah/build.go",
                'error reading info about "/workspace/Containerfile": stat /workspace/Containerfile: '
                "no such file or directory"),
        Wording(GCLOUD, "4643fc9c", "lib/surface/builds/submit.py",
                "ERROR: (gcloud.builds.submit) Dockerfile required when specifying --tag"),
    ],
    "docker-copy-source-missing": [
        # skaffold listing the files a COPY names, for the docker context it sends or the artifact's hash
        Wording("GoogleContainerTools/skaffold", "v0.x-v2", "pkg/skaffold/docker/dependencies.go",
                'level=fatal msg="build step: building [app]: running build: docker build: creating docker context: '
                'getting relative tar paths: file pattern [build/libs/*.jar] must match at least one file"'),
        Wording("GoogleContainerTools/skaffold", "v2", "pkg/skaffold/docker/dependencies.go",
                "getting hash for artifact: file pattern [app/target/*.jar] must match at least one file"),
        Wording(MOBY, "213ed02e", "builder/dockerfile/copy.go",
                "COPY failed: stat /var/lib/docker/tmp/docker-builder123456/app.py: no such file or directory"),
        Wording(MOBY, "010adeec", "builder/dockerfile/copy.go",
                "COPY failed: file not found in build context or excluded by .dockerignore: stat requirements.txt: "
                "file does not exist"),
        Wording(MOBY, "010adeec", "builder/dockerfile/copy.go",
                "ADD failed: file not found in build context or excluded by .dockerignore: stat vendor.tar.gz: "
                "file does not exist"),
        Wording(MOBY, "213ed02e", "builder/dockerfile/copy.go", "COPY failed: no source files were specified"),
        Wording(MOBY, "d6c0bbc3", "builder/dockerfile/internals.go",
                "COPY failed: Forbidden path outside the build context: ../shared/config.yaml ()"),
        Wording(BUILDKIT, "73ed6825", "solver/edge.go",
                'failed to solve with frontend dockerfile.v0: failed to create LLB definition: failed to compute '
                'cache key: "/requirements.txt" not found: not found'),
        Wording(BUILDKIT, "d73e62f8", "solver/llbsolver/ops/opsutils/contenthash.go",
                'ERROR: failed to solve: failed to compute cache key: failed to calculate checksum of ref '
                'moby::x1ab2c3: "/app": not found'),
        Wording(BUILDKIT, "73ed6825", "cache/contenthash/checksum.go",
                "ERROR: failed to solve: failed to compute cache key: failed to calculate checksum of ref "
                "moby::x1ab2c3: failed to walk /var/lib/docker/tmp/buildkit-mount1/app: lstat "
                "/var/lib/docker/tmp/buildkit-mount1/app: no such file or directory"),
        Wording(KANIKO, "236ba569", "pkg/executor/build.go",
                "error building image: error building stage: failed to get files used from context: failed to get "
                "fileinfo for /workspace/requirements.txt: lstat /workspace/requirements.txt: no such file or "
                "directory"),
        Wording(KANIKO, "236ba569", "pkg/util/command_util.go",
                "error building image: error building stage: failed to optimize instructions: failed to get files "
                "used from context: copy failed: no source files specified"),
        Wording(BUILDAH, "5b1b18ee", "add.go",
                'Error: building at STEP "COPY app.py /app/": checking on sources under "/tmp/ctx": copier: stat: '
                '"/app.py": no such file or directory'),
        Wording(BUILDAH, "5b1b18ee", "add.go",
                'Error: error building at STEP "COPY *.whl /wheels/": checking on sources under "/tmp/ctx": no '
                'items matching glob "/tmp/ctx/*.whl" copied (1 filtered out): no such file or directory'),
    ],
    "pip-install-failed": [
        # pip on Windows refusing to replace itself while it runs (a requirements file that upgrades pip)
        Wording(PIP, "20.0", "src/pip/_internal/utils/misc.py",
                "ERROR: To modify pip, please run the following command:"),
        Wording(PIP, "9.0.3", "pip/index.py",
                "Could not find a version that satisfies the requirement nba-internal==9.9.9 (from -r "
                "requirements.txt (line 4)) (from versions: )"),
        Wording(PIP, "9.0.3", "pip/index.py", "No matching distribution found for nba-internal==9.9.9"),
        Wording(PIP, "9.0.3", "pip/utils/__init__.py",
                'Command "python setup.py egg_info" failed with error code 1 in /tmp/pip-build-k2x9/psycopg2/'),
        Wording(PIP, "10.0.1", "src/pip/_internal/utils/misc.py",
                'Command "/usr/local/bin/python -u -c "import setuptools, tokenize;__file__=\'/tmp/pip-install-'
                'a1b2/psycopg2/setup.py\';exec(compile(f.read(), __file__, \'exec\'))" install --record '
                '/tmp/pip-record-x/install-record.txt --single-version-externally-managed --compile" failed with '
                'error code 1 in /tmp/pip-install-a1b2/psycopg2/'),
        Wording(PIP, "20.2.4", "src/pip/_internal/utils/subprocess.py",
                "ERROR: Command errored out with exit status 1: /usr/local/bin/python -u -c 'import sys, setuptools' "
                "install --record /tmp/pip-record-x/install-record.txt Check the logs for full command output."),
        Wording(PIP, "9.0.3", "pip/req/req_file.py",
                "Could not open requirements file: [Errno 2] No such file or directory: 'requirements.txt'"),
        Wording(PIP, "21.3.1", "src/pip/_internal/req/req_file.py",
                "ERROR: Could not open requirements file: [Errno 2] No such file or directory: 'requirements.txt'"),
        Wording(PIP, "20.2.4", "src/pip/_internal/wheel_builder.py",
                "ERROR: Could not build wheels for pyarrow which use PEP 517 and cannot be installed directly"),
        Wording(PIP, "21.3.1", "src/pip/_internal/commands/install.py",
                "ERROR: Could not build wheels for psycopg2, which is required to install pyproject.toml-based "
                "projects"),
        Wording(PIP, "20.3.4", "src/pip/_internal/resolution/resolvelib/factory.py",
                "ERROR: Cannot install pandas==1.0.0 and numpy==2.0.0 because these package versions have "
                "conflicting dependencies."),
        Wording(PIP, "20.2.4", "src/pip/_internal/resolution/resolvelib/resolver.py",
                "ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/user_guide/"
                "#fixing-conflicting-dependencies"),
        Wording(PIP, "22.3.1", "src/pip/_internal/exceptions.py", "error: subprocess-exited-with-error"),
        Wording(PIP, "22.3.1", "src/pip/_internal/exceptions.py", "error: metadata-generation-failed"),
        Wording(PIP, "23.0", "src/pip/_internal/exceptions.py", "error: legacy-install-failure"),
        Wording(PIP, "24.3.1", "src/pip/_internal/exceptions.py", "error: resolution-too-deep"),
        Wording(PIP, "22.3.1", "src/pip/_internal/utils/subprocess.py",
                "× Getting requirements to build wheel did not run successfully."),
        Wording(PIP, "22.3.1", "src/pip/_internal/utils/subprocess.py",
                "× python setup.py egg_info did not run successfully."),
        Wording(PIP, "21.3.1", "src/pip/_internal/req/req_install.py",
                "ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE. If you have updated the "
                "package versions, please update the hashes. Otherwise, examine the package contents carefully; "
                "someone may have tampered with them."),
        Wording(PIP, "20.2.4", "src/pip/_internal/exceptions.py",
                "ERROR: Hashes are required in --require-hashes mode, but they are missing from some requirements."),
        Wording(PIP, "23.0", "src/pip/_internal/operations/prepare.py",
                "ERROR: Could not install requirement nba-internal==1.2.0 from https://europe-python.pkg.dev/p/"
                "pypi/nba-internal/nba_internal-1.2.0.tar.gz because of HTTP error 403 Client Error: Forbidden for "
                "url: https://europe-python.pkg.dev/p/pypi/nba-internal/nba_internal-1.2.0.tar.gz for URL "
                "https://europe-python.pkg.dev/p/pypi/nba-internal/nba_internal-1.2.0.tar.gz"),
        Wording(PIP, "21.3.1", "src/pip/_internal/commands/install.py",
                "ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device"),
        Wording(PIP, "10.0.1", "src/pip/_internal/commands/install.py",
                "Could not install packages due to an EnvironmentError: [Errno 13] Permission denied: "
                "'/usr/local/lib/python3.6/site-packages/six.py'"),
        Wording(BP, "21f28de8", "cmd/python/uv/lib/lib.go",
                "installing requirements.txt with uv: exit status 1"),
        Wording(BP, "21f28de8", "pkg/python/python.go",
                'found incompatible dependencies: "pandas 2.2.0 has requirement numpy>=1.26.0, but you have '
                'numpy 1.24.0."'),
        # --- the producer sweep of Python installs (2018-2026): pip's gaps, uv, poetry, pipenv, pip-tools,
        # conda and mamba, setuptools (easy_install, distutils), and Google's Python buildpack's wrappers ---
        # pip: a package that needs another Python (9, then 19.2 on)
        Wording(PIP, "9.0.3", "pip/utils/packaging.py",
                "pandas requires Python '>=3.9' but the running Python is 3.8.10"),
        Wording(PIP, "20.2.4", "src/pip/_internal/resolution/legacy/resolver.py",
                "ERROR: Package 'pandas' requires a different Python: 3.8.10 not in '>=3.9'"),
        Wording(PIP, "26.0", "src/pip/_internal/resolution/resolvelib/factory.py",
                "ERROR: Could not find a final version that satisfies the requirement pandas==3.0.0rc1 (from "
                "versions: 2.2.2, 2.2.3)"),
        # ... a wheel for another platform, a requirement given twice (before 20.3), a directory with no project
        Wording(PIP, "20.2.4", "src/pip/_internal/req/req_set.py",
                "ERROR: numpy-2.0.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl is not a supported "
                "wheel on this platform."),
        Wording(PIP, "20.2.4", "src/pip/_internal/req/req_set.py",
                "ERROR: Double requirement given: flask==2.0.0 (from -r requirements.txt (line 5)) (already in "
                "flask==1.1.2 (from -r requirements.txt (line 1)), name='flask')"),
        Wording(PIP, "21.3.1", "src/pip/_internal/req/constructors.py",
                "ERROR: Directory '.' is not installable. Neither 'setup.py' nor 'pyproject.toml' found."),
        Wording(PIP, "9.0.3", "pip/req/req_install.py",
                "Directory '.' is not installable. File 'setup.py' not found."),
        Wording(PIP, "21.3.1", "src/pip/_internal/commands/install.py",
                "ERROR: Can not perform a '--user' install. User site-packages are not visible in this virtualenv."),
        Wording(PIP, "21.3.1", "src/pip/_internal/exceptions.py",
                "ERROR: In --require-hashes mode, all requirements must have their versions pinned with ==. These "
                "do not:"),
        # ... a package it may not uninstall to replace it (10 on; 24.1 on as a diagnostic)
        Wording(PIP, "10.0.1", "src/pip/_internal/req/req_uninstall.py",
                "Cannot uninstall 'PyYAML'. It is a distutils installed project and thus we cannot accurately "
                "determine which files belong to it which would lead to only a partial uninstall."),
        Wording(PIP, "21.3.1", "src/pip/_internal/req/req_uninstall.py",
                "ERROR: Cannot uninstall blinker 1.4, RECORD file not found. Hint: The package was installed by "
                "debian."),
        Wording(PIP, "24.2", "src/pip/_internal/exceptions.py", "× Cannot uninstall blinker 1.4"),
        Wording(PIP, "24.2", "src/pip/_internal/exceptions.py",
                "╰─> The package's contents are unknown: no RECORD file was found for blinker."),
        # ... its later build verdicts (24.1-25.2, 25.3 on) and codes; the phases it names in `× ... did not run`
        Wording(PIP, "24.2", "src/pip/_internal/commands/install.py",
                "ERROR: Failed to build installable wheels for some pyproject.toml based projects (psycopg2)"),
        Wording(PIP, "25.3", "src/pip/_internal/exceptions.py",
                "ERROR: Failed to build 'psycopg2' when getting requirements to build wheel"),
        Wording(PIP, "25.2", "src/pip/_internal/exceptions.py", "error: failed-wheel-build-for-install"),
        Wording(PIP, "26.0", "src/pip/_internal/exceptions.py", "error: failed-build-dependency-install"),
        Wording(PIP, "22.3.1", "src/pip/_internal/exceptions.py", "error: missing-pyproject-build-system-requires"),
        Wording(PIP, "22.3.1", "src/pip/_internal/operations/install/legacy.py",
                "× Running setup.py install for psycopg2 did not run successfully."),
        Wording(PIP, "22.3.1", "src/pip/_internal/operations/build/metadata_editable.py",
                "× Preparing editable metadata (pyproject.toml) did not run successfully."),
        Wording(PIP, "22.3.1", "src/pip/_internal/build_env.py",
                "× pip subprocess to install backend dependencies did not run successfully."),
        # ... and the network: a download cut short (25.1 on), the 26.2 diagnostics, a traceback's last line before
        Wording(PIP, "25.1", "src/pip/_internal/exceptions.py",
                "× Download failed after 6 attempts because not enough bytes were received (12.3 MB/45.6 MB)"),
        Wording(PIP, "26.2", "src/pip/_internal/exceptions.py", "× Unable to fetch https://pypi.org/simple/flask/"),
        Wording(PIP, "26.2", "src/pip/_internal/exceptions.py",
                "× Failed to establish a secure connection to pypi.org while fetching https://pypi.org/simple/flask/"),
        Wording(PIP, "26.2", "src/pip/_internal/exceptions.py",
                "× Failed to connect to pypi.org while fetching https://pypi.org/simple/flask/"),
        Wording(PIP, "21.3.1", "src/pip/_vendor/urllib3/exceptions.py",
                "pip._vendor.urllib3.exceptions.ReadTimeoutError: HTTPSConnectionPool(host='files.pythonhosted.org', "
                "port=443): Read timed out."),
        # uv: the resolver (0.1 on; a lock's split, 0.5 on; a named context, 0.3 on), the report's verdict
        Wording("astral-sh/uv", "0.5.0", "crates/uv-resolver/src/error.rs",
                "  × No solution found when resolving dependencies for split (python_full_version >= '3.12'):"),
        Wording("astral-sh/uv", "0.3.0", "crates/uv/src/commands/pip/operations.rs",
                "  × No solution found when resolving `--with` dependencies:"),
        Wording("astral-sh/uv", "0.8.0", "crates/uv-resolver/src/pubgrub/report.rs",
                "  ╰─▶ Because nba-internal was not found in the package registry and you require nba-internal, we "
                "can conclude that your requirements are unsatisfiable."),
        Wording("astral-sh/uv", "0.8.2", "crates/uv/src/commands/diagnostics.rs",
                "  × Failed to resolve dependencies for `app` (v0.1.0)"),
        # ... a distribution it could not download or build: 0.1 (`error:`, `Caused by:`), 0.2-0.4 (backticks), 0.5 on
        # (miette's tree, the build backend's hook named)
        Wording("astral-sh/uv", "0.1.24", "crates/uv-resolver/src/error.rs",
                "error: Failed to download and build: psycopg2==2.9.9"),
        Wording("astral-sh/uv", "0.1.24", "crates/uv-distribution/src/error.rs",
                "  Caused by: Failed to build: psycopg2==2.9.9"),
        Wording("astral-sh/uv", "0.1.24", "crates/uv-build/src/lib.rs",
                "  Caused by: Build backend failed to determine metadata through `prepare_metadata_for_build_wheel` "
                "with exit status: 1"),
        Wording("astral-sh/uv", "0.2.37", "crates/uv-requirements/src/lookahead.rs",
                "error: Failed to download and build: `psycopg2==2.9.9`"),
        Wording("astral-sh/uv", "0.2.37", "crates/uv-build/src/lib.rs",
                "  Caused by: Build backend failed to determine extra requires with `build_wheel()` with exit code: 1"),
        Wording("astral-sh/uv", "0.4.0", "crates/uv/src/commands/pip/operations.rs", "error: Failed to prepare distributions"),
        Wording("astral-sh/uv", "0.4.0", "crates/uv-installer/src/preparer.rs",
                "  Caused by: Failed to fetch wheel: psycopg2==2.9.9"),
        Wording("astral-sh/uv", "0.4.30", "crates/uv-build-frontend/src/lib.rs",
                "  Caused by: Build backend failed to build wheel through `build_wheel` (exit status: 1)"),
        Wording("astral-sh/uv", "0.6.0", "crates/uv-distribution-types/src/dist_error.rs",
                "  × Failed to build `psycopg2==2.9.9`"),
        Wording("astral-sh/uv", "0.6.0", "crates/uv-distribution-types/src/dist_error.rs",
                "  × Failed to download and build `psycopg2==2.9.9`"),
        Wording("astral-sh/uv", "0.6.0", "crates/uv-build-frontend/src/error.rs",
                "  ├─▶ The build backend returned an error"),
        Wording("astral-sh/uv", "0.6.0", "crates/uv-build-frontend/src/lib.rs",
                "  ╰─▶ Call to `setuptools.build_meta:__legacy__.build_wheel` failed (exit status: 1)"),
        Wording("astral-sh/uv", "0.6.0", "crates/uv-distribution-types/src/dist_error.rs",
                "  × Failed to download `numpy==2.0.0`"),
        Wording("astral-sh/uv", "0.6.0", "crates/uv-distribution/src/error.rs",
                "  ╰─▶ Hash mismatch for `numpy==2.0.0`"),
        Wording("astral-sh/uv", "0.1.37", "crates/uv-distribution/src/error.rs",
                "error: Hash-checking is enabled, but no hashes were provided for: `numpy==2.0.0`"),
        # ... the network (0.1.14 on; retries counted, 0.7.14 on)
        Wording("astral-sh/uv", "0.5.0", "crates/uv-client/src/error.rs",
                "error: Failed to fetch: `https://pypi.org/simple/flask/`"),
        Wording("astral-sh/uv", "0.5.0", "crates/uv-client/src/error.rs",
                "  ├─▶ Failed to fetch: `https://files.pythonhosted.org/packages/4f/ab/numpy-2.0.0-cp312-cp312-"
                "manylinux_2_17_x86_64.manylinux2014_x86_64.whl`"),
        Wording("astral-sh/uv", "0.7.14", "crates/uv-client/src/error.rs",
                "  ├─▶ Request failed after 3 retries"),
        Wording("astral-sh/uv", "0.1.14", "crates/uv-client/src/error.rs",
                "  Caused by: Could not connect, are you offline?"),
        Wording("astral-sh/uv", "0.1.24", "crates/uv-client/src/registry_client.rs",
                "  Caused by: Failed to download distribution due to network timeout. Try increasing UV_HTTP_TIMEOUT "
                "(current value: 30s)."),
        # ... the environment it would install into (0.1, 0.2-0.4.7, 0.4.8 on), an externally managed interpreter
        Wording("astral-sh/uv", "0.1.24", "crates/uv-interpreter/src/lib.rs",
                "error: Failed to locate a virtualenv or Conda environment (checked: `VIRTUAL_ENV`, `CONDA_PREFIX`, "
                "and `.venv`). Run `uv venv` to create a virtualenv."),
        Wording("astral-sh/uv", "0.3.0", "crates/uv-python/src/environment.rs", "error: No virtual environment found"),
        Wording("astral-sh/uv", "0.4.8", "crates/uv-python/src/environment.rs",
                "error: No virtual environment found; run `uv venv` to create an environment, or pass `--system` to "
                "install into a non-virtual environment"),
        Wording("astral-sh/uv", "0.1.24", "crates/uv/src/commands/pip_install.rs",
                "error: The interpreter at /usr is externally managed, and indicates the following:"),
        # ... the lockfile a locked or frozen sync needs (0.2.24 on), a requirements file missing or unparsable
        Wording("astral-sh/uv", "0.3.0", "crates/uv/src/commands/project/mod.rs",
                "error: The lockfile at `uv.lock` needs to be updated, but `--locked` was provided. To update the "
                "lockfile, run `uv lock`."),
        Wording("astral-sh/uv", "0.3.0", "crates/uv/src/commands/project/mod.rs",
                "error: Unable to find lockfile at `uv.lock`. To create a lockfile, run `uv lock` or `uv sync`."),
        Wording("astral-sh/uv", "0.10.0", "crates/uv/src/commands/project/mod.rs",
                "error: Unable to find lockfile at `uv.lock`, but `--frozen` was provided. To create a lockfile, run "
                "`uv lock` or `uv sync` without the flag."),
        Wording("astral-sh/uv", "0.2.8", "crates/uv/src/commands/project/mod.rs",
                "error: The current Python version (3.11.9) is not compatible with the locked Python requirement: "
                "`>=3.12`"),
        Wording("astral-sh/uv", "0.3.0", "crates/uv-requirements/src/specification.rs",
                "error: File not found: `requirements.txt`"),
        Wording("astral-sh/uv", "0.4.0", "crates/requirements-txt/src/lib.rs",
                "error: Couldn't parse requirement in `requirements.txt` at position 0"),
        # poetry: the solver (0.12 on; its chains end on `..., version solving failed.`), the project's Python range
        Wording("python-poetry/poetry", "1.8.0", "src/poetry/mixology/failure.py",
                " and app depends on nba-internal (^9.9), version solving failed."),
        Wording("python-poetry/poetry", "1.8.0", "src/poetry/puzzle/solver.py",
                "The current project's supported Python range (>=3.8,<4.0) is not compatible with some of the "
                "required packages Python requirement:"),
        Wording("python-poetry/poetry", "1.1.0", "poetry/installation/chooser.py",
                "Unable to find installation candidates for torch (2.0.0+cpu)"),
        # ... a package that would not build (1.0-1.3 through pip, 1.4-1.8 ChefBuildError quoting pypa/build, 2.0 on)
        Wording("python-poetry/poetry", "1.1.0", "poetry/utils/env.py",
                "Command ['/root/.cache/pypoetry/virtualenvs/app-py3.8/bin/pip', 'install', '--no-deps', "
                "'psycopg2==2.8.6'] errored with the following return code 1, and output: "),
        Wording("python-poetry/poetry", "1.4.0", "src/poetry/installation/chef.py", "  ChefBuildError"),
        Wording("python-poetry/poetry (quoting pypa/build)", "0.10.0", "src/build/__init__.py",
                "  Backend subprocess exited when trying to invoke build_wheel"),
        Wording("python-poetry/poetry", "2.0.0", "src/poetry/utils/isolated_build.py",
                "PEP517 build of a dependency failed"),
        Wording("python-poetry/poetry", "1.5.0", "src/poetry/installation/executor.py",
                "Cannot resolve build-system.requires for psycopg2."),
        Wording("python-poetry/poetry", "1.7.0", "src/poetry/installation/executor.py",
                "Cannot install build-system.requires for psycopg2."),
        Wording("python-poetry/poetry", "1.7.0", "src/poetry/installation/executor.py", "Cannot install psycopg2."),
        # ... a lock file out of step with pyproject.toml (install 1.8 on; check and lock --check 1.2 on)
        Wording("python-poetry/poetry", "1.8.0", "src/poetry/installation/installer.py",
                "pyproject.toml changed significantly since poetry.lock was last generated. Run `poetry lock "
                "[--no-update]` to fix the lock file."),
        Wording("python-poetry/poetry", "1.7.0", "src/poetry/console/commands/lock.py",
                "Error: poetry.lock is not consistent with pyproject.toml. Run `poetry lock [--no-update]` to fix it."),
        # pipenv: an install that failed (2018-2026), a lock it could not resolve, a lock out of date for --deploy
        Wording("pypa/pipenv", "v2022.1.8", "pipenv/exceptions.py", "ERROR: Couldn't install package: psycopg2"),
        Wording("pypa/pipenv", "v2025.1.3", "pipenv/exceptions.py", "ERROR: Couldn't install package(s): psycopg2"),
        Wording("pypa/pipenv", "v2018.11.26", "pipenv/core.py", "✘ Installation Failed"),
        Wording("pypa/pipenv", "v2022.1.8", "pipenv/exceptions.py",
                "[pipenv.exceptions.ResolutionFailure]: Warning: Your dependencies could not be resolved. You likely "
                "have a mismatch in your sub-dependencies."),
        Wording("pypa/pipenv", "v2025.1.3", "pipenv/utils/resolver.py", "✘ Locking Failed!"),
        Wording("pypa/pipenv", "v2020.11.15", "pipenv/exceptions.py",
                "The operation failed... A dependency conflict was detected and could not be resolved."),
        Wording("pypa/pipenv", "v2023.10.3", "pipenv/routines/install.py",
                "Your Pipfile.lock (a1b2c3) is out of date.  Expected: (d4e5f6)."),
        Wording("pypa/pipenv", "v2022.1.8", "pipenv/exceptions.py", "ERROR:: Aborting deploy"),
        # pip-tools (pip-compile, pip-sync): no version, incompatible pins (4.0 on), conflicting requirements
        Wording("jazzband/pip-tools", "6.0.0", "piptools/exceptions.py",
                "Could not find a version that matches nba-internal==9.9.9 (from -r requirements.in (line 3))"),
        Wording("jazzband/pip-tools", "6.0.0", "piptools/exceptions.py",
                "There are incompatible versions in the resolved dependencies:"),
        Wording("jazzband/pip-tools", "6.0.0", "piptools/exceptions.py",
                "Incompatible requirements found: flask==2.0.0 (from -r requirements.txt (line 1)) and flask==1.1.2 "
                "(from -r requirements.txt (line 4))"),
        # conda (4.3-26) and mamba/micromamba (0.7 on): a package no channel has, specs that conflict, an env's pip
        Wording("conda/conda", "4.8.3", "conda/exceptions.py",
                "PackagesNotFoundError: The following packages are not available from current channels:"),
        Wording("conda/conda", "4.8.3", "conda/exceptions.py",
                "UnsatisfiableError: The following specifications were found to be incompatible with each other:"),
        Wording("conda/conda", "4.3.22", "conda/resolve.py",
                "UnsatisfiableError: The following specifications were found to be in conflict:"),
        Wording("conda/conda", "4.5.11", "conda/exceptions.py", "ResolvePackageNotFound: "),
        Wording("conda/conda", "4.8.3", "conda_env/pip_util.py", "CondaEnvException: Pip failed"),
        Wording("conda/conda", "4.8.3", "conda/exceptions.py",
                "CondaHTTPError: HTTP 000 CONNECTION FAILED for url <https://repo.anaconda.com/pkgs/main/linux-64/"
                "current_repodata.json>"),
        Wording("conda/conda-libmamba-solver", "8c546d13", "conda_libmamba_solver/exceptions.py",
                "LibMambaUnsatisfiableError: Encountered problems while solving:"),
        Wording("mamba-org/mamba", "0.8.0", "src/micromamba/install.cpp",
                "critical libmamba Could not solve for environment specs"),
        Wording("mamba-org/mamba", "2.0.6", "libmamba/src/solver/problems_graph.cpp",
                "    └─ nba-internal ==9.9.9 does not exist (perhaps a typo or a missing channel)."),
        # setuptools: easy_install finding nothing (setup_requires, `setup.py install`), distutils' compiler failing
        Wording("pypa/setuptools", "v44.0.0", "setuptools/command/easy_install.py",
                "error: Could not find suitable distribution for Requirement.parse('nba-internal==9.9.9')"),
        Wording("pypa/setuptools", "v44.0.0", "setuptools/package_index.py",
                "No local packages or working download links found for nba-internal==9.9.9"),
        Wording("pypa/setuptools", "v44.0.0", "setuptools/command/easy_install.py",
                "error: Setup script exited with error: command 'gcc' failed with exit status 1"),
        Wording("python/cpython (distutils, Python <= 3.9)", "v3.9.18", "Lib/distutils/spawn.py",
                "error: command 'gcc' failed with exit status 1"),
        Wording("pypa/setuptools", "v65.0.0", "setuptools/_distutils/spawn.py",
                "error: command '/usr/bin/gcc' failed with exit code 1"),
        # Google's Python buildpack: its wrappers over a failed install (2023-08 on, with `failed to build: `)
        Wording(BP, "57d85ba3", "cmd/python/pip/main.go",
                "failed to build: installing dependencies: (error ID: 7d1a9c2e):"),
        Wording(BP, "15440c44", "cmd/python/pip/lib/lib.go",
                "failed to build: installing dependencies from requirements.txt: (error ID: 3b6e0f41):"),
        Wording(BP, "21f28de8", "cmd/python/pip/lib/lib.go",
                "failed to build: installing dependencies from requirements.txt and validating them: (error ID: "
                "9c04d2aa):"),
        Wording(BP, "21f28de8", "cmd/python/pip/lib/lib.go",
                "installing dependencies from pyproject.toml: (error ID: 52e8b7c3):"),
        Wording(BP, "21f28de8", "cmd/python/uv/lib/lib.go",
                "failed to build: installing dependencies with uv: failed to sync dependencies with uv: (error ID: "
                "e1a47f90):"),
        Wording(BP, "560c4485", "pkg/python/requirements.go",
                "failed to build: failed to install requirements.txt with uv: (error ID: 0b9d6c15):"),
        Wording(BP, "21f28de8", "pkg/python/requirements.go",
                "failed to build: failed to install dependencies from requirements.txt with uv: (error ID: 4f2a9c1b):"),
        Wording(BP, "21f28de8", "cmd/python/poetry/lib/lib.go",
                "failed to build: installing dependencies and configuring env: running poetry install: (error ID: "
                "6d3c8e27):"),
        Wording(BP, "21f28de8", "pkg/python/pyproject.go",
                "poetry install failed with exit code 1: Installing dependencies from lock file"),
        Wording(BP, "f6313773", "cmd/python/pip/main.go",
                'incompatible dependencies installed: "pandas 2.2.0 has requirement numpy>=1.26.0, but you have '
                'numpy 1.24.0.\\n"'),
        Wording(BP, "21f28de8", "pkg/python/python.go",
                'found incompatible dependencies: "Checked 42 packages in 3ms\\nFound 1 incompatibility\\nThe package '
                '`pandas` requires `numpy>=1.26.0`, but `1.24.0` is installed\\n"'),
    ],
    "push-permission-denied": [
        Wording(LIFECYCLE, "2fc20058", "exporter.go",
                "ERROR: failed to export: failed to write image to the following tags: [us-central1-docker.pkg.dev/"
                "p/cloud-run-source-deploy/svc:latest: POST https://us-central1-docker.pkg.dev/v2/p/"
                "cloud-run-source-deploy/svc/blobs/uploads/: DENIED: Permission \"artifactregistry.repositories."
                "uploadArtifacts\" denied on resource \"projects/p/locations/us-central1/repositories/"
                "cloud-run-source-deploy\" (or it may not exist)]"),
        Wording(LIFECYCLE, "2fc20058", "exporter.go",
                "ERROR: failed to export: failed to write image to the following tags: [gcr.io/p/svc:latest: HEAD "
                "https://gcr.io/v2/p/svc/manifests/latest: unexpected status code 403 Forbidden (HEAD responses have "
                "no body, use GET for details)]"),
        Wording(LIFECYCLE, "4bd4b13e", "image/registry_handler.go",
                "ERROR: failed to initialize analyzer: validating registry write access: failed to ensure registry "
                "read/write access to us-central1-docker.pkg.dev/p/cloud-run-source-deploy/svc"),
        Wording(LIFECYCLE, "b3590cab", "cmd/lifecycle/analyzer.go",
                "ERROR: failed to : ensure registry read/write access to gcr.io/p/svc"),
        Wording("docker push (Artifact Registry's answer)", "2026", "-",
                'denied: Permission "artifactregistry.repositories.uploadArtifacts" denied on resource '
                '"projects/p/locations/us/repositories/r" (or it may not exist)'),
        Wording("docker push (Container Registry's answer)", "2018", "-",
                "unauthorized: You don't have the needed permissions to perform this operation, and you may have "
                "invalid credentials. To authenticate your request, follow the steps in: "
                "https://cloud.google.com/container-registry/docs/advanced-authentication"),
        Wording("docker push (Container Registry's answer)", "2019", "-",
                "denied: Token exchange failed for project 'p'. Caller does not have permission "
                "'storage.buckets.create'. To configure permissions, follow instructions at: "
                "https://cloud.google.com/container-registry/docs/access-control"),
        Wording("docker push (Artifact Registry's answer)", "2024", "-",
                'name unknown: Repository "phase-images" not found'),
        Wording(KANIKO, "236ba569", "pkg/executor/push.go",
                'error checking push permissions -- make sure you entered the correct tag name, and that you are '
                'authenticated correctly, and try again: checking push permission for "gcr.io/p/svc": POST '
                'https://gcr.io/v2/p/svc/blobs/uploads/: UNAUTHORIZED: You don\'t have the needed permissions to '
                'perform this operation, and you may have invalid credentials.'),
        Wording(KANIKO, "236ba569", "pkg/executor/push.go",
                "error pushing image: failed to push to destination us-docker.pkg.dev/p/r/svc:latest: PUT "
                "https://us-docker.pkg.dev/v2/p/r/svc/manifests/latest: DENIED: Permission \"artifactregistry."
                "repositories.uploadArtifacts\" denied on resource \"projects/p/locations/us/repositories/r\""),
        Wording(BUILDKIT, "73ed6825", "util/push/push.go",
                "ERROR: failed to solve: failed to push us-docker.pkg.dev/p/r/svc:latest: unexpected status from "
                "PUT request to https://us-docker.pkg.dev/v2/p/r/svc/manifests/latest: 403 Forbidden"),
        Wording("crane / ko (go-containerregistry)", "7997b55e", "pkg/v1/remote/transport/error.go",
                "Error: POST https://us-docker.pkg.dev/v2/p/r/svc/blobs/uploads/: DENIED: Permission "
                "\"artifactregistry.repositories.uploadArtifacts\" denied on resource "
                "\"projects/p/locations/us/repositories/r\" (or it may not exist)"),
        Wording("jib-maven-plugin", "755df833",
                "jib-plugins-common/src/main/java/com/google/cloud/tools/jib/plugins/common/HelpfulSuggestions.java",
                "[ERROR] Failed to execute goal com.google.cloud.tools:jib-maven-plugin:3.4.0:build (default-cli) "
                "on project app: Build image failed, perhaps you should make sure your credentials for "
                "'gcr.io/p/app' are set up correctly."),
        # --- the producer sweep of push refusals (2018-2026) ---
        # go-containerregistry (crane, gcrane, ko, and every Go tool built on it): a refused manifest PUT, with a
        # body that is no registry JSON (2020-11 on), and in the form before (2020-01 to 2020-11)
        Wording(GGCR, "dd33eb2c", "pkg/v1/remote/transport/error.go",
                "Error: PUT https://registry.example.com/v2/team/app/manifests/v1.2.0: unexpected status code 403 "
                "Forbidden: <html><head><title>403 Forbidden</title></head></html>"),
        Wording(GGCR, "5f6b2bfb", "pkg/v1/remote/transport/error.go",
                "Error: PUT https://gcr.io/v2/p/app/manifests/latest: unsupported status code 401; body: "
                "Unauthorized"),
        # ... a push to a repository that does not exist, or with a name the registry does not accept
        Wording(GGCR, "3f4ff3ca", "pkg/v1/remote/transport/error.go",
                'Error: POST https://us-docker.pkg.dev/v2/p/missing/app/blobs/uploads/: NAME_UNKNOWN: Repository '
                '"missing" not found'),
        Wording(GGCR, "3f4ff3ca", "pkg/v1/remote/transport/error.go",
                "Error: POST https://registry.example.com/v2/Team/App/blobs/uploads/: NAME_INVALID: invalid "
                "repository name"),
        Wording(GGCR, "3f4ff3ca", "pkg/v1/remote/transport/error.go",
                'Error: PUT https://us-docker.pkg.dev/v2/p/r/app/manifests/latest: multiple errors returned: DENIED: '
                'Permission "artifactregistry.repositories.uploadArtifacts" denied on resource '
                '"projects/p/locations/us/repositories/r" (or it may not exist); UNAUTHORIZED: authentication '
                'required'),
        Wording(GGCR, "2ceebaaf", "cmd/crane/cmd/append.go",
                "Error: pushing image gcr.io/p/app:latest: PUT https://gcr.io/v2/p/app/manifests/latest: "
                "unexpected status code 404 Not Found"),
        # ko: the same refusals in its own frame, and a ko with no repository to push to
        Wording(KO, "42978711", "pkg/commands/publisher.go",
                "Error: failed to publish images: error publishing ko://example.com/app/cmd/app: POST "
                "https://index.docker.io/v2/acme/app/blobs/uploads/: UNAUTHORIZED: authentication required; "
                "[map[Action:push Class: Name:acme/app Type:repository] map[Action:pull Class: Name:acme/app "
                "Type:repository]]"),
        Wording(KO, "42978711", "pkg/commands/publisher.go",
                "Error: failed to publish images: error publishing ko://example.com/app/cmd/app: PUT "
                'https://us-docker.pkg.dev/v2/p/r/app/manifests/latest: NAME_UNKNOWN: Repository "r" not found'),
        Wording(KO, "42978711", "pkg/commands/resolver.go",
                "Error: error creating publisher: KO_DOCKER_REPO environment variable is unset"),
        Wording(KO, "42978711", "pkg/commands/resolver.go",
                'Error: error creating publisher: failed to parse "gcr.io/p/My-App" as repository: repository can '
                'only contain the characters `abcdefghijklmnopqrstuvwxyz0123456789_-./`: p/My-App'),
        # Jib's plugins: a 403 (2018-2019, then with a pointer to its FAQ), and no credentials configured for the
        # target image (2018-2019; Maven's and Gradle's configuration names)
        Wording(JIB, "5bc07f6e9",
                "jib-plugins-common/src/main/java/com/google/cloud/tools/jib/plugins/common/HelpfulSuggestions.java",
                "[ERROR] Failed to execute goal com.google.cloud.tools:jib-maven-plugin:0.9.13:build (default-cli) "
                "on project app: Build image failed, perhaps you should make sure you have permissions for "
                "gcr.io/p/app -> [Help 1]"),
        Wording(JIB, "fc9fce849",
                "jib-plugins-common/src/main/java/com/google/cloud/tools/jib/plugins/common/HelpfulSuggestions.java",
                "[ERROR] Failed to execute goal com.google.cloud.tools:jib-maven-plugin:3.4.4:build (default-cli) "
                "on project app: Build image failed, perhaps you should make sure you have permissions for "
                "us-docker.pkg.dev/p/r/app and set correct credentials. See https://github.com/GoogleContainerTools/"
                "jib/blob/master/docs/faq.md#what-should-i-do-when-the-registry-responds-with-forbidden-or-denied "
                "for help: Unauthorized for us-docker.pkg.dev/p/r/app: 403 Forbidden"),
        Wording(JIB, "fc9fce849",
                "jib-plugins-common/src/main/java/com/google/cloud/tools/jib/plugins/common/HelpfulSuggestions.java",
                "Build image failed, perhaps you should make sure you have permissions for gcr.io/p/app and set "
                "correct credentials. See https://github.com/GoogleContainerTools/jib/blob/master/docs/faq.md"
                "#what-should-i-do-when-the-registry-responds-with-forbidden-or-denied for help"),
        Wording(JIB, "81639cc51",
                "jib-maven-plugin/src/main/java/com/google/cloud/tools/jib/maven/MavenHelpfulSuggestionsBuilder.java",
                "[ERROR] Failed to execute goal com.google.cloud.tools:jib-maven-plugin:0.9.9:build (default-cli) on "
                "project app: Build image failed, perhaps you should set a credential helper name with the "
                "configuration '<to><credHelper>' or set credentials for 'gcr.io' in your Maven settings -> [Help 1]"),
        Wording(JIB, "5bc07f6e9",
                "jib-gradle-plugin/src/main/java/com/google/cloud/tools/jib/gradle/GradleHelpfulSuggestionsBuilder.java",
                "Build image failed, perhaps you should set a credential helper name with the configuration "
                "'to.credHelper' or to.auth"),
        Wording(JIB, "81639cc51",
                "jib-plugins-common/src/main/java/com/google/cloud/tools/jib/plugins/common/HelpfulSuggestions.java",
                "Build image failed, perhaps you should make sure your credentials for 'gcr.io' are set up correctly"),
        # ... and jib-core's registry client when the registry answers a push with NAME_UNKNOWN or NAME_INVALID
        Wording(JIB, "fb949e267",
                "jib-core/src/main/java/com/google/cloud/tools/jib/registry/RegistryErrorExceptionBuilder.java",
                "[ERROR] Failed to execute goal com.google.cloud.tools:jib-maven-plugin:3.4.4:build (default-cli) "
                "on project app: Tried to push BLOB for us-docker.pkg.dev/p/missing/app with digest sha256:"
                "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef but failed because: other: "
                'Repository "missing" not found'),
        Wording(JIB, "fb949e267",
                "jib-core/src/main/java/com/google/cloud/tools/jib/registry/RegistryErrorExceptionBuilder.java",
                "[ERROR] Failed to execute goal com.google.cloud.tools:jib-maven-plugin:3.4.4:build (default-cli) "
                "on project app: Tried to push image manifest for registry.example.com/Team/App:latest but failed "
                "because: other: invalid repository name"),
        Wording(JIB, "fb949e267",
                "jib-core/src/main/java/com/google/cloud/tools/jib/registry/RegistryErrorExceptionBuilder.java",
                "Tried to push BLOB for registry.example.com/team/app with digest sha256:5f70bf18a086007016e948b04aed"
                "3b82103a36bea41755b6cddfaf10ace3c6ef but failed because: other: repository name not known to "
                "registry"),
        # containers/image (podman push, buildah push, skopeo copy): the layer upload, the check for a blob already
        # at the destination, the manifest upload; 2022 on, and the `Error ...` forms before
        Wording(CIMAGE, "df7e80d2", "docker/docker_image_dest.go",
                'Error: writing blob: initiating layer upload to /v2/p/r/app/blobs/uploads/ in us-docker.pkg.dev: '
                'denied: Permission "artifactregistry.repositories.uploadArtifacts" denied on resource '
                '"projects/p/locations/us/repositories/r" (or it may not exist)'),
        Wording(CIMAGE, "df7e80d2", "docker/docker_image_dest.go",
                "Error: trying to reuse blob sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef "
                "at destination: checking whether a blob sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cdd"
                "faf10ace3c6ef exists in quay.io/acme/app: authentication required"),
        Wording(CIMAGE, "df7e80d2", "docker/docker_image_dest.go",
                "Error: writing manifest: uploading manifest latest to quay.io/acme/app: unauthorized: access to the "
                "requested resource is not authorized"),
        Wording(CIMAGE, "df7e80d2", "docker/docker_image_dest.go",
                "Error: writing manifest: uploading manifest latest to registry.example.com/team/app: repository "
                "name not known to registry"),
        Wording(CIMAGE, "df7e80d2", "docker/docker_image_dest.go",
                "Error: writing blob: initiating layer upload to /v2/Team/App/blobs/uploads/ in registry.example.com: "
                "invalid repository name"),
        Wording(CIMAGE, "df7e80d2", "docker/errors.go",
                "Error: trying to reuse blob sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef "
                "at destination: checking whether a blob sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cdd"
                "faf10ace3c6ef exists in quay.io/acme/app: unable to retrieve auth token: invalid username/password: "
                "unauthorized: access to the requested resource is not authorized"),
        Wording(CIMAGE, "df7e80d2", "docker/errors.go",
                'Error: writing blob: initiating layer upload to /v2/acme/app/blobs/uploads/ in quay.io: '
                'StatusCode: 403, "<html><head><title>403 Forbidden</title></head></html>"'),
        Wording(CIMAGE, "bca1df80", "docker/docker_image_dest.go",
                "Error: copying image to the remote destination: Error writing blob: Error initiating layer upload "
                "to /v2/acme/app/blobs/uploads/ in quay.io: unauthorized: access to the requested resource is not "
                "authorized"),
        Wording(CIMAGE, "bca1df80", "docker/docker_image_dest.go",
                'error pushing image "registry.example.com/team/app:latest" to "docker://registry.example.com/team/'
                'app:latest": error copying layers and metadata from "containers-storage:[overlay@/var/lib/'
                'containers/storage]registry.example.com/team/app:latest" to "docker://registry.example.com/team/'
                'app:latest": Error trying to reuse blob sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddf'
                'af10ace3c6ef at destination: failed to read from destination repository team/app: 403 (Forbidden)'),
        Wording(CIMAGE, "bca1df80", "docker/docker_image_dest.go",
                "Error: Error writing manifest: Error uploading manifest latest to registry.example.com/team/app: "
                "name unknown: repository name not known to registry"),
        # containerd's pusher and authorizer (nerdctl, ctr, and BuildKit's push under its own frame)
        Wording(CONTAINERD, "301026e58", "core/remotes/docker/pusher.go",
                'time="2024-05-01T10:00:00Z" level=fatal msg="push access denied, repository does not exist or may '
                'require authorization: server message: insufficient_scope: authorization failed"'),
        Wording(CONTAINERD, "301026e58", "core/remotes/docker/pusher.go",
                "ctr: push access denied, repository does not exist or may require authorization: authorization "
                "failed: no basic auth credentials"),
        Wording(CONTAINERD, "301026e58", "core/remotes/errors/errors.go",
                "ctr: unexpected status from PUT request to https://registry.example.com/v2/team/app/manifests/"
                "latest: 401 Unauthorized"),
        Wording(CONTAINERD, "301026e58", "core/remotes/errors/errors.go",
                "ctr: unexpected status from POST request to https://us-docker.pkg.dev/v2/p/missing/app/blobs/"
                "uploads/: 404 Not Found"),
        Wording(CONTAINERD, "301026e58", "core/remotes/docker/auth/fetch.go",
                "ctr: failed to authorize: failed to fetch anonymous token: unexpected status from GET request to "
                "https://auth.docker.io/token?scope=repository%3Aacme%2Fapp%3Apull%2Cpush&service=registry.docker.io"
                ": 401 Unauthorized"),
        # the registry API's codes in their text form, as docker push prints the registry's answer (distribution's
        # default messages)
        Wording(DISTRIBUTION, "0d6b721dc", "registry/api/errcode/register.go", "unauthorized: authentication required"),
        Wording(DISTRIBUTION, "0d6b721dc", "registry/api/errcode/register.go",
                "denied: requested access to the resource is denied"),
        Wording(DISTRIBUTION, "0d6b721dc", "registry/api/errcode/register.go",
                "name unknown: repository name not known to registry"),
        Wording(DISTRIBUTION, "0d6b721dc", "registry/api/errcode/register.go", "name invalid: invalid repository name"),
        # Artifact Registry's and Container Registry's own answers, as docker push (or any client) quotes them
        Wording("docker push (Artifact Registry's answer)", "2024", "-",
                'denied: Unauthenticated request. Unauthenticated requests do not have permission '
                '"artifactregistry.repositories.uploadArtifacts" on resource '
                '"projects/p/locations/us-central1/repositories/r" (or it may not exist)'),
        Wording("docker push (Artifact Registry's answer for gcr.io)", "2024", "-",
                "denied: gcr.io repo does not exist. Creating on push requires the "
                "artifactregistry.repositories.createOnPush permission"),
        Wording("docker push (Container Registry's answer)", "2019", "-",
                "denied: Token exchange failed for project 'p'. Please enable or contact project owners to enable "
                "the Google Container Registry API in Cloud Console at https://console.cloud.google.com/apis/api/"
                "containerregistry.googleapis.com/overview?project=p before performing this operation."),
        Wording("docker push (Container Registry's answer)", "2019", "-", "denied: Access denied."),
        Wording("docker push (Container Registry's answer)", "2018", "-", "unauthorized: Not Authorized."),
        Wording("docker push (Container Registry's answer)", "2018", "-",
                'denied: Permission denied for "latest" from request "/v2/p/app/manifests/latest".'),
        Wording("docker push (Container Registry's answer)", "2018", "-",
                "name unknown: Project 'project:p' not found or deleted."),
        # kaniko: its push with go-containerregistry's answers of 2019 (quoted JSON, `unsupported status code`)
        # and later, and its push-permission check refused at the token
        Wording(KANIKO, "v0.10.0", "pkg/executor/push.go",
                'error pushing image: failed to push to destination gcr.io/p/app:latest: DENIED: "Access denied."'),
        Wording(KANIKO, "v0.14.0", "pkg/executor/push.go",
                "error pushing image: failed to push to destination gcr.io/p/app:latest: unsupported status code "
                "401; body: Unauthorized"),
        Wording(KANIKO, "236ba569", "pkg/executor/push.go",
                "error pushing image: failed to push to destination registry.example.com/team/app:latest: PUT "
                "https://registry.example.com/v2/team/app/manifests/latest: unexpected status code 403 Forbidden: "
                "<html><head><title>403 Forbidden</title></head></html>"),
        Wording(KANIKO, "236ba569", "pkg/executor/push.go",
                "error pushing image: failed to push to destination us-docker.pkg.dev/p/missing/app:latest: POST "
                'https://us-docker.pkg.dev/v2/p/missing/app/blobs/uploads/: NAME_UNKNOWN: Repository "missing" not '
                'found'),
        Wording(KANIKO, "236ba569", "cmd/executor/cmd/root.go",
                'error checking push permissions -- make sure you entered the correct tag name, and that you are '
                'authenticated correctly, and try again: checking push permission for "gcr.io/p/app:latest": '
                'creating push check transport for gcr.io failed: GET https://gcr.io/v2/token?scope=repository%3Ap%2F'
                'app%3Apush%2Cpull&service=gcr.io: UNAUTHORIZED: You don\'t have the needed permissions to perform '
                'this operation, and you may have invalid credentials.'),
        # the buildpacks lifecycle's export to a repository that does not exist, and with go-containerregistry's
        # answer of 2020
        Wording(LIFECYCLE, "4bd4b13e", "phase/exporter.go",
                "ERROR: failed to export: failed to write image to the following tags: [us-docker.pkg.dev/p/missing/"
                "app:latest: POST https://us-docker.pkg.dev/v2/p/missing/app/blobs/uploads/: NAME_UNKNOWN: "
                'Repository "missing" not found]'),
        Wording(LIFECYCLE, "4bd4b13e", "phase/exporter.go",
                "ERROR: failed to export: failed to write image to the following tags: [gcr.io/p/app:latest: PUT "
                "https://gcr.io/v2/p/app/manifests/latest: unsupported status code 403; body: ]"),
        # Bazel: rules_docker's Go pusher (2019 on) and google/containerregistry's Python pushers it ran before;
        # rules_oci's push (crane's answers, above) run without a repository
        Wording(RULES_DOCKER, "c0422ec9", "container/go/cmd/pusher/pusher.go",
                "2024/05/01 10:00:00 Error pushing image to gcr.io/p/app:latest: unable to push image to "
                "gcr.io/p/app:latest: PUT https://gcr.io/v2/p/app/manifests/latest: UNAUTHORIZED: You don't have "
                "the needed permissions to perform this operation, and you may have invalid credentials."),
        Wording(RULES_DOCKER, "f1f8f136", "container/go/cmd/pusher/pusher.go",
                "2019/07/25 10:00:00 Error pushing image to gcr.io/p/app:latest: unable to push image to "
                "gcr.io/p/app:latest: unsupported status code 401; body: Unauthorized"),
        Wording(PY_CONTAINERREGISTRY, "8a11dc8", "tools/fast_pusher_.py",
                "F0725 10:00:00.000000 12345 fast_pusher_.py:194] Error publishing gcr.io/p/app:latest: Bad status "
                "during token exchange: 401"),
        Wording(PY_CONTAINERREGISTRY, "8a11dc8", "client/v2_2/docker_http_.py",
                "F0725 10:00:00.000000 12345 fast_pusher_.py:194] Error publishing gcr.io/p/app:latest: response: "
                "{'status': '403', 'content-length': '127', 'content-type': 'application/json'}"),
        Wording(RULES_OCI, "75ff282", "oci/private/push.sh.tpl",
                "ERROR: repository not set. Please pass --repository flag."),
    ],
    "build-timeout": [
        # a CI service stopping a job at its time limit
        Wording("Azure Pipelines (its job's time limit)", "2020", "-",
                "The job exceeded the maximum allowed time of 01:00:00 and was stopped.", framed=""),
        Wording("Azure Pipelines (its job's time limit, before 2020)", "2018", "-",
                "The job running on agent Hosted Agent ran longer than the maximum time of 60 minutes.", framed=""),
        Wording("GitHub Actions (its job's time limit)", "2023", "-",
                "The job running on runner GitHub Actions 12 has exceeded the maximum execution time of 360 minutes.",
                framed=""),
        Wording("gitlab-org/gitlab-runner", "v16", "common/build.go",
                "ERROR: Job failed: execution took longer than 1h0m0s seconds", framed=""),
        Wording(GCLOUD, "4643fc9c", "lib/googlecloudsdk/command_lib/builds/submit_util.py",
                'ERROR: (gcloud.builds.submit) build 0b4f2e3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b completed with status '
                '"TIMEOUT"', framed=""),
        Wording(GCLOUD, "7a3e6754", "lib/googlecloudsdk/command_lib/builds/submit_util.py",
                "Your build timed out. Use the [--timeout=DURATION] flag to change the timeout threshold.",
                framed=""),
        Wording(GCLOUD, "104a7c95", "lib/surface/builds/deploy/configure_gke.py",
                "Your build and deploy timed out. Use the [--timeout=DURATION] flag to change the timeout "
                "threshold.", framed=""),
        Wording(GCLOUD, "66a036a0", "lib/googlecloudsdk/api_lib/app/cloud_build.py",
                "ERROR: (gcloud.app.deploy) Cloud build timed out. Check logs at https://console.cloud.google.com/"
                "cloud-build/builds/0b4f2e3a?project=p", framed=""),
        Wording(GCLOUD, "4643fc9c", "lib/googlecloudsdk/command_lib/builds/submit_util.py",
                'ERROR: (gcloud.builds.submit) build 0b4f2e3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b completed with status '
                '"EXPIRED"', framed=""),
    ],
    "source-fetch-failed": [
        Wording(BUILDERS, "b70cb2af", "gcs-fetcher/pkg/fetcher/fetcher.go",
                "Access to bucket p_cloudbuild denied. You must grant Storage Object Viewer permission to "
                "123456789@cloudbuild.gserviceaccount.com. If you are using VPC Service Controls, you must also "
                "grant it access to your service perimeter.", framed="fetch"),
        Wording(BUILDERS, "b70cb2af", "gcs-fetcher/cmd/gcs-fetcher/main.go",
                "failed to Fetch: failed to download archive gs://p_cloudbuild/source/1700000000.12-ab.tgz#1700000000"
                "123456: storage: object doesn't exist", framed="fetch"),
        Wording(BUILDERS, "b70cb2af", "gcs-fetcher/pkg/fetcher/fetcher.go",
                "Failed to fetch gs://p_cloudbuild/source/1700000000.12-ab.tgz#1700000000123456, will no longer "
                "retry: storage: object doesn't exist", framed="fetch"),
        Wording("gsutil (Cloud Build's older fetch)", "4.x", "gslib/cloud_api.py",
                "AccessDeniedException: 403 123456789@cloudbuild.gserviceaccount.com does not have "
                "storage.objects.get access to p_cloudbuild/source/1700000000.12-ab.tgz.", framed="fetch"),
    ],
    "logs-bucket-forbidden": [
        Wording(GCLOUD, "e0cc92f2", "lib/googlecloudsdk/api_lib/cloudbuild/logs.py",
                "The build is running, and logs are being written to the default logs bucket.", framed=""),
        Wording(GCLOUD, "e0cc92f2", "lib/googlecloudsdk/api_lib/cloudbuild/logs.py",
                "This tool can only stream logs if you are Viewer/Owner of the project and, if applicable, allowed "
                "by your VPC-SC security policy.", framed=""),
        Wording(GCLOUD, "e0cc92f2", "lib/googlecloudsdk/api_lib/cloudbuild/logs.py",
                "The default logs bucket is always outside any VPC-SC security perimeter.", framed=""),
        Wording(GCLOUD, "66a036a0", "lib/googlecloudsdk/api_lib/cloudbuild/logs.py",
                "ERROR: (gcloud.builds.submit) HTTPError 403: <?xml version='1.0' encoding='UTF-8'?><Error><Code>"
                "AccessDenied</Code><Message>Access denied.</Message><Details>dev@example.com does not have "
                "storage.objects.get access to 123456789.cloudbuild-logs.googleusercontent.com/"
                "log-0b4f2e3a-1c2d-4e5f-8a9b-0c1d2e3f4a5b.txt.</Details></Error>", framed=""),
    ],
    "container-start-failed": [
        # the kubelet's event on a container that keeps crashing, as a deploy tool relays the pod's events (Garden)
        Wording("kubernetes/kubernetes (the kubelet's BackOff event)", "v1.20", "pkg/kubelet/kuberuntime",
                "Error deploying api: BackOff - Back-off restarting failed container", framed=""),
        Wording("Cloud Run API (quoted by gcloud run deploy)", "2021", "-",
                "ERROR: (gcloud.run.deploy) Revision 'svc-00002-abc' is not ready and cannot serve traffic. The "
                "user-provided container failed to start and listen on the port defined provided by the PORT=8080 "
                "environment variable. Logs for this revision might contain more information."),
        Wording("Cloud Run API (quoted by gcloud run deploy)", "2019", "-",
                "ERROR: (gcloud.run.deploy) Cloud Run error: Container failed to start. Failed to start and then "
                "listen on the port defined by the PORT environment variable. Logs for this revision might contain "
                "more information."),
        Wording("Cloud Run API (quoted by gcloud run deploy)", "2023", "-",
                "ERROR: (gcloud.run.deploy) Revision 'svc-00003-xyz' is not ready and cannot serve traffic. The "
                "user-provided container failed the configured startup probe checks."),
        Wording("Cloud Run (revision log)", "2023", "-",
                'Default STARTUP TCP probe failed 1 time consecutively for container "svc-1" on port 8080. The '
                'instance was not started.'),
        # a startup probe the service configures itself (no `Default`), any protocol
        Wording("Cloud Run (revision log)", "2024", "-",
                'STARTUP HTTP probe failed 3 times consecutively for container "svc-1" on port 8080 path '
                '"/healthz". The instance was not started.'),
        Wording("Cloud Run (revision log)", "2024", "-",
                'STARTUP GRPC probe failed 5 times consecutively for container "svc-1" on port 8080. The instance '
                'was not started.'),
        Wording("Cloud Run API", "2022", "-",
                "Ready condition status changed to False for Revision svc-00002-abc with message: Container called "
                "exit(1)."),
        Wording("Cloud Run API", "2024", "-",
                "Application failed to start: failed to load /app/server: exec format error"),
        Wording("Cloud Functions (2nd gen)", "2023", "-",
                "ERROR: (gcloud.functions.deploy) OperationError: code=3, message=Could not create or update Cloud "
                "Run service fn, Container Healthcheck failed. Revision 'fn-00001-abc' is not ready and cannot serve "
                "traffic."),
        Wording("Cloud Functions (1st gen)", "2020", "-",
                "ERROR: (gcloud.functions.deploy) OperationError: code=3, message=Function failed on loading user "
                "code. This is likely due to a bug in the user code."),
        Wording("knative/serving", "v1.x", "pkg/reconciler/autoscaling/kpa/kpa.go",
                'Revision "svc-00001" failed with message: Initial scale was never achieved.'),
        # --- the Functions Frameworks' start-time errors (the function's own container log) ---
        # Node.js: the signature type refused, the module not found or not loadable, the target not a function
        Wording(FF_NODE, "v1.0.0", "src/index.ts", "FUNCTION_SIGNATURE_TYPE must be one of 'http' or 'event'."),
        Wording(FF_NODE, "v1.3.1", "src/index.ts", "Function signature type must be one of 'http' or 'event'."),
        Wording(FF_NODE, "v1.8.0", "src/index.ts", "Function signature type must be one of: http, event, cloudevent."),
        Wording(FF_NODE, "f39924d", "src/options.ts",
                "Function signature type must be one of: http, event, cloudevent, typed."),
        Wording(FF_NODE, "v1.0.0", "src/invoker.ts", "Provided code is not a loadable module."),
        Wording(FF_NODE, "f39924d", "src/loader.ts",
                "Provided code location '/workspace/dist' is not a loadable module."),
        Wording(FF_NODE, "f39924d", "src/loader.ts",
                "Cannot load ES Module on Node.js v12.16.1. Please upgrade to Node.js v13.2.0 and up."),
        Wording(FF_NODE, "f39924d", "src/loader.ts", "Function 'helloHttp' is not defined in the provided module."),
        Wording(FF_NODE, "f39924d", "src/loader.ts", "'helloHttp' needs to be of type function. Got: object"),
        Wording(FF_NODE, "f39924d", "src/loader.ts", "Provided module can't be loaded."),
        Wording(FF_NODE, "f39924d", "src/main.ts", "Could not load the function, shutting down."),
        # Python: the exception that ends the traceback of a failed start
        Wording(FF_PY, "v1.0.0", "src/functions_framework/__init__.py",
                "functions_framework.exceptions.MissingTargetException: File /workspace/main.py is expected to "
                "contain a function named hello_http"),
        Wording(FF_PY, "d13d9aa", "src/functions_framework/_function_registry.py",
                "functions_framework.exceptions.MissingTargetException: File /workspace/main.py is expected to "
                "contain a function named 'hello_http'. Found: 'helper', 'main' instead"),
        Wording(FF_PY, "d13d9aa", "src/functions_framework/__init__.py",
                "functions_framework.exceptions.MissingSourceException: File /workspace/main.py that is expected "
                "to define function doesn't exist"),
        Wording(FF_PY, "d13d9aa", "src/functions_framework/_function_registry.py",
                "functions_framework.exceptions.InvalidConfigurationException: Target is not specified "
                "(FUNCTION_TARGET environment variable not set)"),
        Wording(FF_PY, "d13d9aa", "src/functions_framework/_function_registry.py",
                "functions_framework.exceptions.InvalidTargetTypeException: The function defined in file "
                "/workspace/main.py as 'app' needs to be of type function. Got: invalid type <class "
                "'flask.app.Flask'>"),
        Wording(FF_PY, "d13d9aa", "src/functions_framework/__init__.py",
                "functions_framework.exceptions.FunctionsFrameworkException: Invalid signature type: pubsub"),
        Wording(FF_PY, "d13d9aa", "src/functions_framework/aio/__init__.py",
                "functions_framework.exceptions.FunctionsFrameworkException: ASGI server does not support legacy "
                "background events (signature type: 'event'). Use 'cloudevent' signature type instead."),
        Wording(FF_PY, "d13d9aa", "src/functions_framework/_typed_event.py",
                "functions_framework.exceptions.FunctionsFrameworkException: Function signature is missing an "
                "input parameter.The function should be defined as 'def your_fn(in: inputType)'"),
        # Go: the main that Google Cloud's Go functions buildpack generates around the framework
        Wording(BP, "9d300648", "cmd/go/functions_framework/template.go",
                '2024/05/01 12:00:00 Function failed to start: no matching function found with name: "HelloHTTP"'),
        Wording(BP, "cf26d53e", "cmd/go/functions_framework/lib/template_v1_1.go",
                "2024/05/01 12:00:00 Function failed to register: expected function to have two parameters, found 1"),
        Wording(FF_GO, "eb35318", "functions/functions.go",
                "2024/05/01 12:00:00 failure to register function: function name already registered: \"HelloHTTP\""),
        Wording(FF_GO, "v1.0.0", "funcframework/framework.go",
                "panic: expected function to have two parameters, found 1"),
        # Java: the invoker's exception (`Exception in thread "main" java.lang.RuntimeException: ...`)
        Wording(FF_JAVA, "66d088c", "invoker/core/src/main/java/com/google/cloud/functions/invoker/runner/Invoker.java",
                'Exception in thread "main" java.lang.RuntimeException: Could not determine function signature type '
                'from target com.example.Hello. Either this should be a class implementing one of the interfaces '
                'in com.google.cloud.functions, or the environment variable FUNCTION_SIGNATURE_TYPE should be set '
                'to "http" or "event".'),
        Wording(FF_JAVA, "java-function-invoker-parent-1.0.0",
                "invoker/core/src/main/java/com/google/cloud/functions/invoker/runner/Invoker.java",
                'Exception in thread "main" java.lang.RuntimeException: Function signature type pubsub is unknown; '
                'should be "http" or "event"'),
        Wording(FF_JAVA, "66d088c", "invoker/core/src/main/java/com/google/cloud/functions/invoker/runner/Invoker.java",
                'Exception in thread "main" java.lang.RuntimeException: Function signature type pubsub is unknown; '
                'should be "http", "event", or "cloudevent"'),
        Wording(FF_JAVA, "66d088c",
                "invoker/core/src/main/java/com/google/cloud/functions/invoker/HttpFunctionExecutor.java",
                'Exception in thread "main" java.lang.RuntimeException: Class com.example.Hello does not implement '
                'com.google.cloud.functions.HttpFunction'),
        Wording(FF_JAVA, "66d088c",
                "invoker/core/src/main/java/com/google/cloud/functions/invoker/BackgroundFunctionExecutor.java",
                'Exception in thread "main" java.lang.RuntimeException: Class com.example.Hello must implement one '
                'of these interfaces: com.google.cloud.functions.RawBackgroundFunction, '
                'com.google.cloud.functions.BackgroundFunction, com.google.cloud.functions.CloudEventsFunction'),
        Wording(FF_JAVA, "66d088c",
                "invoker/core/src/main/java/com/google/cloud/functions/invoker/HttpFunctionExecutor.java",
                'Exception in thread "main" java.lang.RuntimeException: Could not construct an instance of '
                'com.example.Hello: java.lang.NoSuchMethodException: com.example.Hello.<init>()'),
        Wording(FF_JAVA, "66d088c",
                "invoker/core/src/main/java/com/google/cloud/functions/invoker/BackgroundFunctionExecutor.java",
                'Exception in thread "main" java.lang.RuntimeException: Could not determine the payload type for '
                'BackgroundFunction of type com.example.Hello; must implement BackgroundFunction<T> for some T'),
        Wording(FF_JAVA, "66d088c",
                "invoker/core/src/main/java/com/google/cloud/functions/invoker/TypedFunctionExecutor.java",
                'Exception in thread "main" java.lang.RuntimeException: Class com.example.Hello must declare a valid '
                'default constructor to be usable as a strongly typed function. Could not use constructor: '
                'java.lang.NoSuchMethodException: com.example.Hello.<init>()'),
        Wording(FF_JAVA, "66d088c", "invoker/core/src/main/java/com/google/cloud/functions/invoker/runner/Invoker.java",
                "\tat com.google.cloud.functions.invoker.runner.Invoker.loadFunctionClass(Invoker.java:371)"),
        # .NET: the hosting's exception (`Unhandled exception. System.InvalidOperationException: ...`)
        Wording(FF_DOTNET, "111aa88", "src/Google.Cloud.Functions.Hosting/HostingInternals.cs",
                "Unhandled exception. System.InvalidOperationException: Can't load specified function type "
                "'HelloFunctions.Functon'"),
        Wording(FF_DOTNET, "111aa88", "src/Google.Cloud.Functions.Hosting/HostingInternals.cs",
                "Unhandled exception. System.ArgumentException: No valid Cloud Function types found."),
        Wording(FF_DOTNET, "111aa88", "src/Google.Cloud.Functions.Hosting/HostingInternals.cs",
                "Unhandled exception. System.ArgumentException: Multiple Cloud Function types found. Please specify "
                "the function to run via the command line or the FUNCTION_TARGET environment variable."),
        Wording(FF_DOTNET, "111aa88", "src/Google.Cloud.Functions.Hosting/HostingInternals.cs",
                "Unhandled exception. System.InvalidOperationException: Function type 'HelloFunctions.Startup' "
                "doesn't support any known function interfaces."),
        # Ruby: the CLI's message on a failed start (printed alone)
        Wording(FF_RUBY, "15e2d88", "lib/functions_framework/cli.rb", 'Undefined function: "hello_http"'),
        Wording(FF_RUBY, "v0.4.0", "lib/functions_framework/cli.rb",
                'Function "hello_http" does not match type cloudevent'),
        # PHP: the router's uncaught exception when the target, the source or the signature is wrong
        Wording(FF_PHP, "fbaa808", "src/Invoker.php",
                'PHP Fatal error:  Uncaught InvalidArgumentException: Function target is not callable: "helloHttp" '
                'in /workspace/vendor/google/cloud-functions-framework/src/Invoker.php:48'),
        Wording(FF_PHP, "fbaa808", "src/ProjectContext.php",
                'PHP Fatal error:  Uncaught RuntimeException: Unable to load function from "src/index.php" in '
                '/workspace/vendor/google/cloud-functions-framework/src/ProjectContext.php:62'),
        Wording(FF_PHP, "fbaa808", "router.php",
                "PHP Fatal error:  Uncaught RuntimeException: FUNCTION_TARGET is not set in "
                "/workspace/vendor/google/cloud-functions-framework/router.php:57"),
        Wording(FF_PHP, "v0.1", "router.php",
                "PHP Fatal error:  Uncaught RuntimeException: FUNCTION_SIGNATURE_TYPE is not set in "
                "/workspace/vendor/google/cloud-functions-framework/router.php:57"),
        Wording(FF_PHP, "fbaa808", "src/Invoker.php",
                'PHP Fatal error:  Uncaught InvalidArgumentException: Invalid signature type: "pubsub" in '
                '/workspace/vendor/google/cloud-functions-framework/src/Invoker.php:63'),
        Wording(FF_PHP, "fbaa808", "src/HttpFunctionWrapper.php",
                'PHP Fatal error:  Uncaught LogicException: Your function must have '
                '"Psr\\Http\\Message\\ServerRequestInterface" as the typehint for the first argument in '
                '/workspace/vendor/google/cloud-functions-framework/src/HttpFunctionWrapper.php:42'),
        # --- Knative Serving's revision conditions (as `kn` and `kubectl` print a configuration's Ready) ---
        Wording(KNATIVE, "98e5ef90aa", "pkg/apis/serving/v1/revision_lifecycle.go",
                'Revision "hello-00001" failed with message: Container failed with: container exited with no '
                'error.'),
        Wording(KNATIVE, "98e5ef90aa", "pkg/apis/serving/v1/configuration_lifecycle.go",
                'Error: RevisionFailed: Revision "hello-00001" failed with message: Container failed with: '
                'Error: listen EACCES: permission denied 0.0.0.0:80.'),
        # ... and the kubelet's CrashLoopBackOff wait message, which the revision takes over once its deployment
        # has timed out (pkg/reconciler/revision/reconcile_resources.go)
        Wording(KUBELET, "000f2605", "pkg/kubelet/kuberuntime/kuberuntime_manager.go",
                'Revision "hello-00001" failed with message: back-off 40s restarting failed '
                'container=user-container pod=hello-00001-deployment-5d8f7c9b6-x7k2p_default('
                '3b1e2f4a-9c8d-4e7f-a6b5-c4d3e2f1a0b9).'),
        Wording(KUBELET, "v1.1x (glog era)", "pkg/kubelet/kuberuntime/kuberuntime_manager.go",
                'Revision "hello-00001" failed with message: Back-off 5m0s restarting failed '
                'container=user-container pod=hello-00001-deployment-5d8f7c9b6-x7k2p_default('
                '3b1e2f4a-9c8d-4e7f-a6b5-c4d3e2f1a0b9).'),
        # --- gunicorn: the arbiter halting on a worker that could not boot or load the app, the loader's
        # messages, the listener it could not bind ---
        Wording(GUNICORN, "21.2.0", "gunicorn/arbiter.py",
                "[2024-05-01 12:00:00 +0000] [1] [ERROR] Worker (pid:8) exited with code 3"),
        Wording(GUNICORN, "65ac1a3a", "gunicorn/arbiter.py",
                "[2024-05-01 12:00:00 +0000] [1] [ERROR] Worker (pid:8) exited with code 4."),
        Wording(GUNICORN, "65ac1a3a", "gunicorn/arbiter.py",
                "[2024-05-01 12:00:00 +0000] [1] [ERROR] Reason: Worker failed to boot."),
        Wording(GUNICORN, "65ac1a3a", "gunicorn/arbiter.py",
                "[2024-05-01 12:00:00 +0000] [1] [ERROR] Reason: App failed to load."),
        Wording(GUNICORN, "65ac1a3a", "gunicorn/util.py", "Failed to find attribute 'app' in 'main'."),
        Wording(GUNICORN, "19.9.0", "gunicorn/util.py", "Failed to find application object 'app' in 'main'"),
        Wording(GUNICORN, "65ac1a3a", "gunicorn/util.py", "Failed to find application object: 'create_app()'"),
        Wording(GUNICORN, "65ac1a3a", "gunicorn/util.py", "Application object must be callable."),
        Wording(GUNICORN, "65ac1a3a", "gunicorn/util.py",
                "Failed to parse 'create_app(' as an attribute name or function call."),
        Wording(GUNICORN, "65ac1a3a", "gunicorn/util.py",
                "ImportError: Failed to find application, did you mean 'main:app'?"),
        Wording(GUNICORN, "65ac1a3a", "gunicorn/app/wsgiapp.py", "Error: No application module specified."),
        Wording(GUNICORN, "65ac1a3a", "gunicorn/sock.py",
                "[2024-05-01 12:00:05 +0000] [1] [ERROR] Can't connect to ('0.0.0.0', 8080)"),
        # --- uvicorn: the app that would not import, the lifespan startup that raised ---
        Wording(UVICORN, "0.11.8", "uvicorn/importer.py",
                'ERROR:    Error loading ASGI app. Could not import module "main".'),
        Wording(UVICORN, "e6c7ce79", "uvicorn/importer.py",
                'ERROR:    Error loading ASGI app. Attribute "app" not found in module "main".'),
        Wording(UVICORN, "e6c7ce79", "uvicorn/importer.py",
                'ERROR:    Error loading ASGI app. Import string "main" must be in format "<module>:<attribute>".'),
        Wording(UVICORN, "e6c7ce79", "uvicorn/config.py",
                "ERROR:    Error loading ASGI app factory: create_app() missing 1 required positional argument: "
                "'settings'"),
        Wording(UVICORN, "e6c7ce79", "uvicorn/lifespan/on.py", "ERROR:    Application startup failed. Exiting."),
        # --- App Engine: the Java runtimes' Jetty, and flexible versions that never became healthy ---
        Wording(GAE_JAVA, "068aadc7",
                "runtime/runtime_impl_jetty9/src/main/java/com/google/apphosting/runtime/jetty9/"
                "AppVersionHandlerFactory.java",
                "javax.servlet.UnavailableException: Initialization failed."),
        Wording("eclipse/jetty.project (App Engine Java's Jetty)", "jetty-9.4.x",
                "jetty-webapp/src/main/java/org/eclipse/jetty/webapp/WebAppContext.java",
                "WARNING: Failed startup of context c.g.a.r.j.AppEngineWebAppContext@5a2e4553{/,file:///base/data/"
                "home/apps/s~p/20240501t120000.458/,UNAVAILABLE}{/base/data/home/apps/s~p/20240501t120000.458}"),
        Wording("App Engine flexible (docs: endpoints/docs/openapi/troubleshoot-aeflex-deployment)", "2024", "-",
                "ERROR: (gcloud.app.deploy) Error Response: [9] An internal error occurred while processing task "
                "/app-engine-flex/flex_await_healthy/flex_await_healthy>2024-05-01T12:00:00.000Z12345: Your "
                "deployment has failed to become healthy in the allotted time and therefore was rolled back. If you "
                "believe this was an error, try adjusting the 'app_start_timeout_sec' setting in the "
                "'readiness_check' section.", framed=""),
    ],
    "buildpacks-build-failed": [
        Wording("buildpacks/pack", "7640af99", "pkg/client/build.go",
                "ERROR: failed to build: executing lifecycle: failed with status code: 51"),
        Wording("buildpacks/pack", "v0.2x", "pkg/client/build.go",
                "ERROR: failed to build: executing lifecycle. This may be the result of using an untrusted builder: "
                "failed with status code: 51"),
        Wording(BP, "21f28de8", "pkg/gcpbuildpack/exit.go", "Sorry your project couldn't be built."),
        Wording(BP, "ea8a1bf0", "cmd/go/functions_framework/main.go",
                'Failure: (ID: 7f3a2b1c) vendored dependencies must include "github.com/GoogleCloudPlatform/functions-'
                'framework-go"; if your function does not depend on the module, please add a blank import: `_ '
                '"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"`'),
        Wording(BP, "ea8a1bf0", "cmd/go/functions_framework/main.go",
                "Failure: (ID: 0c4d9e2a) the module path in the function's go.mod must contain a dot in the first path "
                "element before a slash, e.g. example.com/module, found: myfunction"),
        Wording(BP, "ea8a1bf0", "cmd/java/functions_framework/main.go",
                "Failure: (ID: 5b8e1f3d) function has no pom.xml and more than one jar file: /workspace/app.jar, "
                "/workspace/lib.jar"),
        Wording(BP, "21f28de8", "cmd/ruby/bundle/lib/lib.go",
                "Could not find Gemfile.lock file in your app. Please make sure your bundle is up to date before "
                "deploying."),
        # App Hosting's buildpacks (pkg/firebase/faherror): the error is printed as JSON, its userFacingMessage says why
        Wording(BP, "21f28de8", "pkg/firebase/faherror/faherror.go",
                '{"reason":"Failed Framework Build","code":"fah/failed-framework-build","userFacingMessage":"Your '
                "application failed to run the framework build command 'npm run build' successfully. Please check the "
                'raw log to address the error and confirm that your application builds locally before redeploying.",'
                '"rawLog":"(error ID: 1a2b3c4d):\\nsh: 1: next: not found","isUserAttributed":true}'),
        Wording(BP, "21f28de8", "pkg/firebase/faherror/faherror.go",
                '{"reason":"Missing Lock File","code":"fah/missing-lock-file","userFacingMessage":"Missing dependency '
                "lock file at path '/workspace'. Please run your package manager's install command and redeploy.\","
                '"rawLog":"","isUserAttributed":true}'),
        Wording(BP, "21f28de8", "pkg/firebase/faherror/faherror.go",
                '{"reason":"Unsupported Framework Version","code":"fah/unsupported-framework-version",'
                '"userFacingMessage":"Unsupported version for framework version next@12.3.4. Please see '
                'https://firebase.google.com/docs/app-hosting/about-app-hosting#frameworks for more information about '
                'which versions are supported by App Hosting.","rawLog":"","isUserAttributed":true}'),
        # --- the app's own tools, as a buildpacks build prints them (framed="buildpacks": see framings below) ---
        # npm/cli: npm 6 (`npm ERR!`) and npm 10 (`npm error`)
        Wording("npm/cli", "v6.14.18", "lib/utils/error-message.js",
                "npm ERR! Failed at the app@1.0.0 build script.", framed="buildpacks"),
        Wording("npm/cli", "v6.14.18", "node_modules/libcipm/index.js",
                "npm ERR! cipm can only install packages when your package.json and package-lock.json or "
                "npm-shrinkwrap.json are in sync. Please update your lock file with `npm install` before continuing.",
                framed="buildpacks"),
        Wording("npm/cli", "780afc50", "lib/commands/ci.js",
                "npm error `npm ci` can only install packages when your package.json and package-lock.json or "
                "npm-shrinkwrap.json are in sync. Please update your lock file with `npm install` before continuing.",
                framed="buildpacks"),
        Wording("npm/cli", "780afc50", "lib/commands/ci.js",
                "npm error The `npm ci` command can only install with an existing package-lock.json or",
                framed="buildpacks"),
        Wording("npm/cli", "780afc50", "lib/utils/validate-lockfile.js",
                "npm error Missing: typescript@5.4.5 from lock file", framed="buildpacks"),
        Wording("npm/cli", "780afc50", "lib/utils/error-message.js",
                "npm ERR! ERESOLVE unable to resolve dependency tree", framed="buildpacks"),
        Wording("npm/cli", "780afc50", "lib/utils/error-message.js",
                "npm error 404 Not Found - GET https://registry.npmjs.org/@phase%2finternal - Not found",
                framed="buildpacks"),
        Wording("npm/cli", "780afc50", "lib/utils/error-message.js",
                "npm ERR! 404  '@phase/internal@^1.0.0' is not in this registry.", framed="buildpacks"),
        Wording("npm/cli", "780afc50", "lib/utils/error-message.js",
                "npm error notarget No matching version found for react@^99.0.0.", framed="buildpacks"),
        Wording("npm/cli", "780afc50", "lib/utils/error-message.js",
                'npm error JSON.parse Unexpected token "}" (0x7D) in JSON at position 301 while parsing near "...'
                'script\\": \\"^5.4.5\\",\\n  }\\n}"', framed="buildpacks"),
        Wording("npm/cli", "780afc50", "lib/utils/error-message.js",
                'npm error notsup Unsupported engine for app@1.0.0: wanted: {"node":">=22"} (current: '
                '{"node":"20.18.0","npm":"10.8.2"})', framed="buildpacks"),
        Wording("npm/cli", "780afc50", "lib/commands/run-script.js",
                "npm error Lifecycle script `build` failed with error:", framed="buildpacks"),
        # yarn classic (yarnpkg/yarn): its reporter prints `error ` and the message
        Wording("yarnpkg/yarn", "c2dda503", "src/reporters/lang/en.js",
                'error An unexpected error occurred: "https://registry.yarnpkg.com/@phase%2finternal: Not found".',
                framed="buildpacks"),
        Wording("yarnpkg/yarn", "c2dda503", "src/reporters/lang/en.js",
                'error Couldn\'t find package "@phase/internal@^1.0.0" required by "app@1.0.0" on the "npm" registry.',
                framed="buildpacks"),
        Wording("yarnpkg/yarn", "c2dda503", "src/reporters/lang/en.js",
                'error Couldn\'t find any versions for "react" that matches "^99.0.0"', framed="buildpacks"),
        Wording("yarnpkg/yarn", "c2dda503", "src/reporters/lang/en.js",
                'error app@1.0.0: The engine "node" is incompatible with this module. Expected version ">=22". Got '
                '"20.18.0"', framed="buildpacks"),
        Wording("yarnpkg/yarn", "c2dda503", "src/reporters/lang/en.js", "error Found incompatible module.",
                framed="buildpacks"),
        Wording("yarnpkg/yarn", "c2dda503", "src/reporters/lang/en.js",
                'error Package "shared" refers to a non-existing file \'"/workspace/packages/shared"\'.',
                framed="buildpacks"),
        Wording("yarnpkg/yarn", "c2dda503", "src/reporters/lang/en.js",
                'error Integrity check failed for "lodash" (computed integrity doesn\'t match our records, got '
                '"sha512-abc= sha1-def")', framed="buildpacks"),
        Wording("yarnpkg/yarn", "c2dda503", "src/reporters/lang/en.js",
                'error Error parsing JSON at "/workspace/package.json", Unexpected token } in JSON at position 301.',
                framed="buildpacks"),
        Wording("yarnpkg/yarn", "c2dda503", "src/reporters/lang/en.js",
                "error Your lockfile needs to be updated, but yarn was run with `--frozen-lockfile`.",
                framed="buildpacks"),
        Wording("yarnpkg/yarn", "c2dda503", "src/reporters/lang/en.js", "error Command failed with exit code 1.",
                framed="buildpacks"),
        # yarn berry (2-4): `➤ YN00NN: │ ...`, the codes of packages/yarnpkg-core/sources/MessageName.ts
        Wording("yarnpkg/berry", "d451336c", "packages/yarnpkg-core/sources/MessageName.ts",
                "➤ YN0001: │ Error: react@npm:^99.0.0: No candidates found", framed="buildpacks"),
        Wording("yarnpkg/berry", "d451336c", "packages/yarnpkg-core/sources/MessageName.ts",
                "➤ YN0009: │ sharp@npm:0.33.4 couldn't be built successfully (exit code 1, logs can be found here: "
                "/tmp/xfs-1a2b3c4d/build.log)", framed="buildpacks"),
        Wording("yarnpkg/berry", "d451336c", "packages/yarnpkg-core/sources/MessageName.ts",
                "➤ YN0028: │ The lockfile would have been modified by this install, which is explicitly forbidden.",
                framed="buildpacks"),
        Wording("yarnpkg/berry", "d451336c", "packages/yarnpkg-core/sources/MessageName.ts",
                "➤ YN0018: │ lodash@npm:4.17.21: The remote archive doesn't match the expected checksum",
                framed="buildpacks"),
        Wording("yarnpkg/berry (yarnpkg.com's MessageName reference, yarn 4)", "4.0.2", "-",
                "➤ YN0082: │ react@npm:^99.0.0: No candidates found", framed="buildpacks"),
        # pnpm: ` ERR_PNPM_<CODE>  message`, and its reporter on a failed script
        Wording("pnpm/pnpm", "36e5ae6a", "pnpm11/installing/deps-installer/src/install/index.ts",
                ' ERR_PNPM_OUTDATED_LOCKFILE  Cannot install with "frozen-lockfile" because pnpm-lock.yaml is not up '
                'to date with <ROOT>/package.json', framed="buildpacks"),
        Wording("pnpm/pnpm", "36e5ae6a", "pnpm11/installing/deps-installer/src/install/index.ts",
                ' ERR_PNPM_NO_LOCKFILE  Cannot install with "frozen-lockfile" because pnpm-lock.yaml is absent',
                framed="buildpacks"),
        Wording("pnpm/pnpm", "36e5ae6a", "pnpm11/resolving/npm-resolver/src/index.ts",
                " ERR_PNPM_NO_MATCHING_VERSION  No matching version found for react@^99.0.0 while fetching it from "
                "https://registry.npmjs.org/", framed="buildpacks"),
        Wording("pnpm/pnpm", "36e5ae6a", "pnpm11/core/error/src/index.ts",
                " ERR_PNPM_FETCH_404  GET https://registry.npmjs.org/@phase%2Finternal: Not Found - 404",
                framed="buildpacks"),
        Wording("pnpm/pnpm", "36e5ae6a", "pnpm11/cli/default-reporter/src/reportError.ts",
                " ELIFECYCLE  Command failed with exit code 1.", framed="buildpacks"),
        # bun (the Node.js buildpack runs `bun install --frozen-lockfile` when a bun.lock is there)
        Wording("oven-sh/bun", "bun-v1.1.0", "src/install/install.zig",
                "error: lockfile had changes, but lockfile is frozen", framed="buildpacks"),
        Wording("oven-sh/bun", "bun-v1.1.0", "src/install/install.zig",
                'error: No version matching "^99.0.0" found for specifier "react" (but package exists)',
                framed="buildpacks"),
        Wording("oven-sh/bun", "bun-v1.1.0", "src/install/install.zig",
                'error: package "@phase/internal" not found registry.npmjs.org/@phase%2finternal 404',
                framed="buildpacks"),
        Wording("oven-sh/bun", "bun-v1.1.0", "src/cli/run_command.zig",
                'error: script "build" exited with code 1', framed="buildpacks"),
        # Go: the compiler and the go command, as the Go buildpack's `go build` prints them
        # (the compiler's `./main.go:12:5: undefined: handler` is left out: in a Cloud Functions build it is mostly the
        # Functions Framework buildpack's generated main not finding the function, which the catalogue leaves unknown)
        Wording("golang/go", "go1.22.0", "src/cmd/compile/internal/types2/resolver.go",
                './main.go:4:2: "os" imported and not used', framed="buildpacks"),
        Wording("golang/go", "go1.22.0", "src/cmd/compile/internal/types2/stmt.go",
                "./main.go:9:2: declared and not used: port", framed="buildpacks"),
        Wording("golang/go", "go1.19", "src/cmd/compile/internal/types2/stmt.go",
                "./main.go:9:2: port declared but not used", framed="buildpacks"),
        Wording("golang/go", "go1.22.0", "src/cmd/compile/internal/syntax/parser.go",
                "./main.go:15:1: syntax error: non-declaration statement outside function body", framed="buildpacks"),
        Wording("golang/go", "go1.22.0", "src/cmd/compile/internal/types2/assignments.go",
                "./handler.go:20:9: cannot use s (variable of type string) as int value in return statement",
                framed="buildpacks"),
        Wording("golang/go", "d50cf9d1", "src/cmd/go/internal/modload/import.go",
                "main.go:6:2: no required module provides package github.com/phase/lib; to add it:",
                framed="buildpacks"),
        Wording("golang/go", "d50cf9d1", "src/cmd/go/internal/modload/import.go",
                "main.go:6:2: missing go.sum entry for module providing package github.com/gin-gonic/gin (imported by "
                "example.com/app); to add:", framed="buildpacks"),
        Wording("golang/go", "d50cf9d1", "src/cmd/go/internal/modload/import.go",
                "main.go:6:2: cannot find module providing package github.com/phase/lib: import lookup disabled by "
                "-mod=vendor", framed="buildpacks"),
        Wording("golang/go", "386d8115", "src/cmd/go/internal/modload/init.go",
                "go: updates to go.mod needed; to update it:", framed="buildpacks"),
        Wording("golang/go", "386d8115", "src/cmd/go/internal/modload/init.go",
                "go: go.mod file not found in current directory or any parent directory; see 'go help modules'",
                framed="buildpacks"),
        Wording("golang/go", "386d8115", "src/cmd/go/internal/modload/init.go",
                "go: cannot find main module, but found .git/config in /workspace", framed="buildpacks"),
        Wording("golang/go", "0ce4f1a5", "src/cmd/go/internal/modload/vendor.go",
                "go: inconsistent vendoring in /workspace:", framed="buildpacks"),
        Wording("golang/go", "d5cb3b8c", "src/cmd/go/internal/modload/modfile.go",
                "go: errors parsing go.mod:", framed="buildpacks"),
        Wording("golang/go", "go1.22.0", "src/cmd/go/internal/modfetch/coderepo.go",
                "go: github.com/phase/lib@v1.9.9: invalid version: unknown revision v1.9.9", framed="buildpacks"),
        Wording("golang/go", "go1.13", "src/cmd/go/internal/modfetch/coderepo.go",
                "go: github.com/phase/lib@v1.9.9: reading github.com/phase/lib/go.mod at revision v1.9.9: unknown "
                "revision v1.9.9", framed="buildpacks"),
        Wording("golang/go", "go1.22.0", "src/cmd/go/internal/modfetch/fetch.go",
                "verifying github.com/gin-gonic/gin@v1.9.1: checksum mismatch", framed="buildpacks"),
        # Maven (the model builder, the lifecycle, plugin resolution) and javac's errors as the compiler plugin quotes them
        Wording("apache/maven", "540897d3", "compat/maven-model-builder/src/main/java/org/apache/maven/model/building/"
                "DefaultModelBuilder.java",
                "[FATAL] Non-resolvable parent POM for com.example:app:1.0-SNAPSHOT: Could not find artifact "
                "org.springframework.boot:spring-boot-starter-parent:pom:9.9.9 in central "
                "(https://repo.maven.apache.org/maven2) and 'parent.relativePath' points at no local POM @ line 5, "
                "column 11", framed="buildpacks"),
        Wording("apache/maven", "540897d3", "compat/maven-model-builder/src/main/java/org/apache/maven/model/building/"
                "DefaultModelBuilder.java",
                "[FATAL] Non-parseable POM /workspace/pom.xml: end tag name </dependencies> must match start tag name "
                "<dependency> from line 40 (position: TEXT seen ...</dependencies>... @44:20)  @ line 44, column 20",
                framed="buildpacks"),
        Wording("apache/maven", "540897d3", "impl/maven-core/src/main/java/org/apache/maven/exception/"
                "DefaultExceptionHandler.java",
                "[ERROR] The build could not read 1 project -> [Help 1]", framed="buildpacks"),
        Wording("apache/maven", "540897d3", "impl/maven-core/src/main/java/org/apache/maven/plugin/"
                "PluginResolutionException.java",
                "[ERROR] Plugin org.apache.maven.plugins:maven-compiler-plugin:9.9 or one of its dependencies could not "
                "be resolved: Could not find artifact org.apache.maven.plugins:maven-compiler-plugin:jar:9.9 in "
                "central (https://repo.maven.apache.org/maven2) -> [Help 1]", framed="buildpacks"),
        Wording("apache/maven", "540897d3", "impl/maven-core/src/main/java/org/apache/maven/lifecycle/internal/"
                "DefaultLifecycleStarter.java",
                "[ERROR] No goals have been specified for this build. You must specify a valid lifecycle phase or a "
                "goal in the format <plugin-prefix>:<goal> or <plugin-group-id>:<plugin-artifact-id>[:<plugin-version>"
                "]:<goal>.", framed="buildpacks"),
        Wording("apache/maven", "540897d3", "impl/maven-core/src/main/java/org/apache/maven/lifecycle/internal/"
                "DefaultLifecycleExecutionPlanCalculator.java",
                '[ERROR] Unknown lifecycle phase "pakage". You must specify a valid lifecycle phase or a goal in the '
                'format <plugin-prefix>:<goal>.', framed="buildpacks"),
        Wording("apache/maven", "540897d3", "impl/maven-core/src/main/java/org/apache/maven/project/"
                "DefaultProjectDependenciesResolver.java",
                "[ERROR] Failed to execute goal on project app: Could not resolve dependencies for project "
                "com.example:app:jar:1.0-SNAPSHOT: Could not find artifact com.example:phase-lib:jar:9.9 in central "
                "(https://repo.maven.apache.org/maven2)", framed="buildpacks"),
        Wording("apache/maven-compiler-plugin (plexus-compiler's javac messages)", "3.11.0", "-",
                "[ERROR] /workspace/src/main/java/com/example/App.java:[12,8] cannot find symbol",
                framed="buildpacks"),
        # Gradle (its failure report's lines, quoted alone as App Engine and Cloud Functions do) and javac, kotlinc
        Wording("gradle/gradle", "45c4ab7c", "subprojects/core/src/main/groovy/org/gradle/api/artifacts/"
                "ResolveException.java",
                "Could not resolve all dependencies for configuration ':compile'.", framed="buildpacks"),
        Wording("gradle/gradle", "v7.6.0", "subprojects/dependency-management/src/main/java/org/gradle/api/internal/"
                "artifacts/ivyservice/DefaultLenientConfiguration.java",
                "> Could not resolve all files for configuration ':compileClasspath'.", framed="buildpacks"),
        Wording("gradle/gradle", "v7.6.0", "subprojects/plugin-use/src/main/java/org/gradle/plugin/use/internal/"
                "DefaultPluginRequestApplicator.java",
                "Plugin [id: 'org.springframework.boot', version: '9.9.9'] was not found in any of the following "
                "sources:", framed="buildpacks"),
        Wording("gradle/gradle", "v7.6.0", "subprojects/core/src/main/java/org/gradle/groovy/scripts/internal/"
                "DefaultScriptRunnerFactory.java",
                "A problem occurred evaluating root project 'app'.", framed="buildpacks"),
        Wording("gradle/gradle", "v7.6.0", "subprojects/core/src/main/java/org/gradle/configuration/project/"
                "LifecycleProjectEvaluator.java",
                "A problem occurred configuring root project 'app'.", framed="buildpacks"),
        Wording("gradle/gradle", "v7.6.0", "subprojects/language-java/src/main/java/org/gradle/api/internal/tasks/"
                "compile/CompilationFailedException.java",
                "> Compilation failed; see the compiler error output for details.", framed="buildpacks"),
        Wording("gradle/gradle", "v7.6.0", "subprojects/core/src/main/java/org/gradle/internal/buildevents/"
                "BuildExceptionReporter.java",
                "FAILURE: Build completed with 2 failures.", framed="buildpacks"),
        Wording("gradle/gradle", "v7.6.0", "subprojects/core/src/main/java/org/gradle/internal/buildevents/"
                "BuildExceptionReporter.java",
                "Execution failed for task ':compileJava'.", framed="buildpacks"),
        Wording("openjdk/jdk (javac)", "jdk-17+35", "src/jdk.compiler/share/classes/com/sun/tools/javac/util/"
                "BasicDiagnosticFormatter.java",
                "/workspace/src/main/java/com/example/App.java:12: error: cannot find symbol", framed="buildpacks"),
        Wording("JetBrains/kotlin (kotlinc before 1.9)", "v1.8.22", "-",
                "e: /workspace/src/main/kotlin/com/example/App.kt: (12, 5): Unresolved reference: handler",
                framed="buildpacks"),
        Wording("JetBrains/kotlin (kotlinc 1.9 on)", "v2.0.0", "-",
                "e: file:///workspace/src/main/kotlin/com/example/App.kt:12:5 Unresolved reference 'handler'.",
                framed="buildpacks"),
        # .NET: NuGet, the C# and F# compilers, MSBuild (coded errors, as dotnet publish prints them)
        Wording("NuGet/NuGet.Client", "fac35579", "src/NuGet.Core/NuGet.Commands/Strings.resx",
                "/workspace/app.csproj : error NU1101: Unable to find package Phase.Internal. No packages exist with "
                "this id in source(s): nuget.org", framed="buildpacks"),
        Wording("NuGet/NuGet.Client", "fac35579", "src/NuGet.Core/NuGet.Commands/Strings.resx",
                "/workspace/app.csproj : error NU1102: Unable to find package Newtonsoft.Json with version (>= 99.0.0)",
                framed="buildpacks"),
        Wording("NuGet/NuGet.Client", "fac35579", "src/NuGet.Core/NuGet.Commands/Strings.resx",
                "/workspace/app.csproj : error NU1605: Warning As Error: Detected package downgrade: "
                "Microsoft.Extensions.Logging from 8.0.0 to 6.0.0. Reference the package directly from the project "
                "to select a different version.", framed="buildpacks"),
        Wording("NuGet/NuGet.Client", "fac35579", "src/NuGet.Core/NuGet.Commands/Strings.resx",
                "/workspace/app.csproj : error NU1202: Package Phase.Tools 1.0.0 is not compatible with net8.0 "
                "(.NETCoreApp,Version=v8.0).", framed="buildpacks"),
        Wording("NuGet/NuGet.Client", "fac35579", "src/NuGet.Core/NuGet.Protocol/Strings.resx",
                "/workspace/app.csproj : error NU1301: Unable to load the service index for source "
                "https://pkgs.dev.azure.com/phase/_packaging/feed/nuget/v3/index.json.", framed="buildpacks"),
        Wording("dotnet/roslyn", "v4.8.0", "src/Compilers/CSharp/Portable/CSharpResources.resx",
                "/workspace/Program.cs(12,5): error CS0246: The type or namespace name 'Phase' could not be found (are "
                "you missing a using directive or an assembly reference?) [/workspace/app.csproj]",
                framed="buildpacks"),
        Wording("dotnet/roslyn", "v4.8.0", "src/Compilers/CSharp/Portable/CSharpResources.resx",
                "/workspace/Program.cs(8,34): error CS1002: ; expected [/workspace/app.csproj]", framed="buildpacks"),
        Wording("dotnet/fsharp", "v12.8.0", "src/Compiler/FSComp.txt",
                "/workspace/Program.fs(3,5): error FS0039: The value or constructor 'handler' is not defined. "
                "[/workspace/app.fsproj]", framed="buildpacks"),
        Wording("dotnet/msbuild", "v17.8.3", "src/MSBuild/Resources/Strings.resx",
                "MSBUILD : error MSB1003: Specify a project or solution file. The current working directory does not "
                "contain a project or solution file.", framed="buildpacks"),
        # bundler (rubygems/rubygems) and RubyGems' native extension builder
        Wording("rubygems/rubygems", "69ec4a3a", "bundler/lib/bundler/shared_helpers.rb", "Could not locate Gemfile",
                framed="buildpacks"),
        Wording("rubygems/rubygems", "69ec4a3a", "bundler/lib/bundler/resolver.rb",
                "Could not find gem 'rails (~> 9.0)' in rubygems repository https://rubygems.org/ or installed "
                "locally.", framed="buildpacks"),
        Wording("rubygems/rubygems", "69ec4a3a", "bundler/lib/bundler/definition.rb",
                "The gemspecs for path gems changed, but the lockfile can't be updated because frozen mode is set",
                framed="buildpacks"),
        Wording("rubygems/rubygems", "69ec4a3a", "bundler/lib/bundler/definition.rb",
                "Frozen mode is set, but there's no lockfile", framed="buildpacks"),
        Wording("rubygems/rubygems", "bundler-v1.17.3", "lib/bundler/definition.rb",
                "You are trying to install in deployment mode after changing", framed="buildpacks"),
        Wording("rubygems/rubygems", "69ec4a3a", "lib/rubygems/ext/builder.rb",
                "ERROR: Failed to build gem native extension.", framed="buildpacks"),
        Wording("rubygems/rubygems", "69ec4a3a", "bundler/lib/bundler/lockfile_parser.rb",
                "Your lockfile is unreadable. Run `rm /workspace/Gemfile.lock` and then `bundle install` to generate a "
                "new lockfile.", framed="buildpacks"),
        Wording("rubygems/rubygems", "69ec4a3a", "bundler/lib/bundler/fetcher/downloader.rb",
                "Could not reach host rubygems.org. Check your network connection and try again.",
                framed="buildpacks"),
        Wording("rubygems/rubygems", "69ec4a3a", "bundler/lib/bundler/installer/gem_installer.rb",
                "An error occurred while installing pg (1.5.6), and Bundler cannot continue.", framed="buildpacks"),
        # composer (composer/composer)
        Wording("composer/composer", "eba7baa5", "src/Composer/DependencyResolver/Problem.php",
                "  - Root composer.json requires phase/internal ^1.0, it could not be found in any version, there may "
                "be a typo in the package name.", framed="buildpacks"),
        Wording("composer/composer", "eba7baa5", "src/Composer/DependencyResolver/Problem.php",
                "  - Root composer.json requires laravel/framework ^99.0, found laravel/framework[v10.0.0, ..., "
                "v11.9.2] but it does not match the constraint.", framed="buildpacks"),
        Wording("composer/composer", "eba7baa5", "src/Composer/Package/Locker.php",
                '- Required package "monolog/monolog" is not present in the lock file.', framed="buildpacks"),
        Wording("composer/composer", "eba7baa5", "src/Composer/EventDispatcher/EventDispatcher.php",
                "Script @php artisan package:discover --ansi handling the post-autoload-dump event returned with error "
                "code 1", framed="buildpacks"),
        Wording("composer/composer", "eba7baa5", "src/Composer/Json/JsonFile.php",
                '"./composer.json" does not contain valid JSON', framed="buildpacks"),
        Wording("composer/composer", "eba7baa5", "src/Composer/Installer.php",
                "Your lock file does not contain a compatible set of packages. Please run composer update.",
                framed="buildpacks"),
        # Dart's pub and its compiler (the Dart buildpack)
        # (pub's `Because app depends on http >=99.0.0 which doesn't match any versions, version solving failed.` is
        # left out: it is poetry's wording too, which pip-install-failed names)
        Wording("dart-lang/pub", "ec276d10", "lib/src/source/hosted.dart",
                "Could not find package phase_internal at https://pub.dev.", framed="buildpacks"),
        Wording("dart-lang/pub", "ec276d10", "lib/src/pubspec.dart",
                'Could not find a file named "pubspec.yaml" in "/workspace".', framed="buildpacks"),
        Wording("dart-lang/sdk (the front end's messages)", "3.4.0", "pkg/front_end/messages.yaml",
                "lib/main.dart:12:5: Error: Undefined name 'handler'.", framed="buildpacks"),
    ],
}


# Wordings that look like a signature's but state something else: they must not give that signature.
NEAR_MISSES: list[tuple[str, Wording]] = [
    # the app's tools' warnings and progress inside a buildpacks build, and their errors in a Dockerfile build, are
    # no buildpacks failure
    ("buildpacks-build-failed", Wording("npm/cli", "v6.14.18", "lib/install/deps.js",
     "npm WARN deprecated request@2.88.2: request has been deprecated, see https://github.com/request/request/issues/3142",
     framed="buildpacks")),
    ("buildpacks-build-failed", Wording("yarnpkg/yarn", "c2dda503", "src/reporters/lang/en.js",
     "warning react-scripts > eslint@7.32.0: This version is no longer supported.", framed="buildpacks")),
    ("buildpacks-build-failed", Wording("yarnpkg/berry", "d451336c", "packages/yarnpkg-core/sources/MessageName.ts",
     "➤ YN0002: │ app@workspace:. doesn't provide react (p1a2b3), requested by react-dom", framed="buildpacks")),
    ("buildpacks-build-failed", Wording("yarnpkg/berry", "d451336c", "packages/yarnpkg-core/sources/MessageName.ts",
     "➤ YN0060: │ react is listed by your project with version 18.2.0, which doesn't satisfy what react-dom requests "
     "(^17.0.0).", framed="buildpacks")),
    ("buildpacks-build-failed", Wording("golang/go", "go1.22.0", "src/cmd/go/internal/modfetch/fetch.go",
     "go: downloading github.com/gin-gonic/gin v1.9.1", framed="buildpacks")),
    ("buildpacks-build-failed", Wording("golang/go", "d50cf9d1", "src/cmd/go/internal/modload/import.go",
     "go: finding module for package github.com/phase/lib", framed="buildpacks")),
    # a compiler's warning in the `file:L:C:` form is no failure (cgo's C compiler; a line in that form with no level
    # of its own, in a buildpacks build, is Go's compiler refusing the build: the buildpacks run no go vet)
    ("buildpacks-build-failed", Wording("gcc-mirror/gcc", "releases/gcc-12.2.0", "gcc/c/c-decl.cc",
     "./hash.c:14:2: warning: implicit declaration of function 'xxhash' [-Wimplicit-function-declaration]",
     framed="buildpacks")),
    ("buildpacks-build-failed", Wording("apache/maven-compiler-plugin", "3.11.0", "-",
     "[WARNING] /workspace/src/main/java/com/example/App.java:[3,8] Some input files use unchecked or unsafe "
     "operations.", framed="buildpacks")),
    ("buildpacks-build-failed", Wording("JetBrains/kotlin (kotlinc 1.9 on)", "v2.0.0", "-",
     "w: file:///workspace/src/main/kotlin/com/example/App.kt:12:5 Parameter 'request' is never used.",
     framed="buildpacks")),
    ("buildpacks-build-failed", Wording("NuGet/NuGet.Client", "fac35579", "src/NuGet.Core/NuGet.Commands/Strings.resx",
     "/workspace/app.csproj : warning NU1603: Phase.Tools 1.0.0 depends on Newtonsoft.Json (>= 13.0.0) but "
     "Newtonsoft.Json 13.0.0 was not found. An approximate best match of Newtonsoft.Json 13.0.1 was resolved.",
     framed="buildpacks")),
    ("buildpacks-build-failed", Wording("dotnet/roslyn", "v4.8.0", "src/Compilers/CSharp/Portable/CSharpResources.resx",
     "/workspace/Program.cs(12,5): warning CS8618: Non-nullable property 'Name' must contain a non-null value when "
     "exiting constructor. [/workspace/app.csproj]", framed="buildpacks")),
    ("buildpacks-build-failed", Wording("composer/composer", "eba7baa5", "src/Composer/Installer.php",
     "Warning: The lock file is not up to date with the latest changes in composer.json. You may be getting outdated "
     "dependencies. It is recommended that you run `composer update` or `composer update <package name>`.",
     framed="buildpacks")),
    ("buildpacks-build-failed", Wording("pnpm/pnpm", "36e5ae6a", "pnpm11/cli/default-reporter/src/reportError.ts",
     " WARN  deprecated request@2.88.2: request has been deprecated", framed="buildpacks")),
    # the same tools failing in a Dockerfile's RUN step: the catalogue knows no buildpacks failure there
    ("buildpacks-build-failed", Wording("npm/cli", "780afc50", "lib/commands/ci.js",
     "npm error `npm ci` can only install packages when your package.json and package-lock.json or "
     "npm-shrinkwrap.json are in sync. Please update your lock file with `npm install` before continuing.",
     framed="dockerfile")),
    ("buildpacks-build-failed", Wording("golang/go", "go1.22.0", "src/cmd/compile/internal/types2/stmt.go",
     "./main.go:9:2: declared and not used: port", framed="dockerfile")),
    ("buildpacks-build-failed", Wording("golang/go", "386d8115", "src/cmd/go/internal/modload/init.go",
     "go: updates to go.mod needed; to update it:", framed="dockerfile")),
    ("buildpacks-build-failed", Wording("yarnpkg/yarn", "c2dda503", "src/reporters/lang/en.js",
     'error Couldn\'t find package "@phase/internal@^1.0.0" required by "app@1.0.0" on the "npm" registry.',
     framed="dockerfile")),
    ("buildpacks-build-failed", Wording("NuGet/NuGet.Client", "fac35579", "src/NuGet.Core/NuGet.Commands/Strings.resx",
     "/workspace/app.csproj : error NU1101: Unable to find package Phase.Internal. No packages exist with this id in "
     "source(s): nuget.org", framed="dockerfile")),
    ("buildpacks-build-failed", Wording("apache/maven", "540897d3", "compat/maven-model-builder/src/main/java/org/"
     "apache/maven/model/building/DefaultModelBuilder.java",
     "[FATAL] Non-resolvable parent POM for com.example:app:1.0-SNAPSHOT: Could not find artifact "
     "org.springframework.boot:spring-boot-starter-parent:pom:9.9.9 in central (https://repo.maven.apache.org/maven2)",
     framed="dockerfile")),
    # a refused PULL (a base image, a step's image) is not a refused push
    ("push-permission-denied", Wording(MOBY, "b985e231", "distribution/errors.go",
     "pull access denied for phase-base, repository does not exist or may require 'docker login': denied: "
     "requested access to the resource is denied")),
    ("push-permission-denied", Wording(BUILDKIT, "73ed6825", "util/resolver/authorizer.go",
     "ERROR: failed to solve: failed to resolve source metadata for docker.io/library/phase-base:latest: pull "
     "access denied, repository does not exist or may require authorization: server message: insufficient_scope: "
     "authorization failed")),
    ("push-permission-denied", Wording(KANIKO, "236ba569", "pkg/image/remote/remote.go",
     "error building image: GET https://gcr.io/v2/p/phase-base/manifests/latest: UNAUTHORIZED: You don't have the "
     "needed permissions to perform this operation, and you may have invalid credentials.")),
    # kaniko's check before a push that could not reach the registry at all: nothing refused the push
    ("push-permission-denied", Wording(KANIKO, "236ba569", "cmd/executor/cmd/root.go",
     'error checking push permissions -- make sure you entered the correct tag name, and that you are authenticated '
     'correctly, and try again: checking push permission for "127.0.0.1:5000/app:v1": creating push check transport '
     'for 127.0.0.1:5000 failed: Get "http://127.0.0.1:5000/v2/": EOF')),
    ("push-permission-denied", Wording(KANIKO, "236ba569", "cmd/executor/cmd/root.go",
     'error checking push permissions -- make sure you entered the correct tag name, and that you are authenticated '
     'correctly, and try again: checking push permission for "registry.internal/app:v1": creating push check '
     'transport for registry.internal failed: Get "https://registry.internal/v2/": dial tcp: lookup '
     'registry.internal on 10.0.0.10:53: no such host')),
    ("push-permission-denied", Wording(LIFECYCLE, "4bd4b13e", "image/registry_handler.go",
     "ERROR: failed to initialize analyzer: validating registry read access: failed to ensure registry read access "
     "to gcr.io/buildpacks/google-22/run:latest")),
    # jib:dockerBuild builds into the local daemon and pushes nothing: its 401 is a base image it may not pull
    ("push-permission-denied", Wording("jib-maven-plugin", "755df833",
     "jib-plugins-common/src/main/java/com/google/cloud/tools/jib/plugins/common/HelpfulSuggestions.java",
     "[ERROR] Failed to execute goal com.google.cloud.tools:jib-maven-plugin:3.4.2:dockerBuild (default-cli) on "
     "project cards: Build to Docker daemon failed, perhaps you should make sure your credentials for "
     "'registry-1.docker.io/library/eclipse-temurin' are set up correctly. See https://github.com/"
     "GoogleContainerTools/jib/blob/master/docs/faq.md#what-should-i-do-when-the-registry-responds-with-unauthorized "
     "for help: Unauthorized for registry-1.docker.io/library/eclipse-temurin: 401 Unauthorized")),
    # a push docker retries, and a registry's server error, are no refusal
    ("push-permission-denied", Wording(MOBY, "b985e231", "distribution/push_v2.go",
     "a1b2c3d4e5f6: Retrying in 5 seconds")),
    ("push-permission-denied", Wording(MOBY, "b985e231", "distribution/push_v2.go",
     "received unexpected HTTP status: 500 Internal Server Error")),
    # --- the producer sweep of push refusals: a retry, a pull, a push that failed for another reason ---
    # gcrane retries only a registry's temporary answers (429, 5xx), on a push as on anything
    ("push-permission-denied", Wording(GGCR, "3f4ff3ca", "pkg/gcrane/copy.go",
     "2024/05/01 10:00:00 Retrying PUT https://gcr.io/v2/p/app/manifests/latest: TOOMANYREQUESTS: Quota exceeded for "
     "quota metric 'Requests per project per minute'")),
    ("push-permission-denied", Wording(GGCR, "3f4ff3ca", "pkg/gcrane/copy.go",
     "2024/05/01 10:00:00 Retrying POST https://gcr.io/v2/p/app/blobs/uploads/: unexpected status code 503 Service "
     "Unavailable")),
    # ko reading its base image (a HEAD of a manifest is a pull)
    ("push-permission-denied", Wording(KO, "42978711", "pkg/commands/publisher.go",
     'Error: failed to publish images: error building "ko://example.com/app/cmd/app": HEAD https://gcr.io/v2/p/base/'
     "manifests/latest: unexpected status code 401 Unauthorized (HEAD responses have no body, use GET for details)")),
    # Jib: no credentials for the base image, a registry refusing the manifest's format, a pull, a daemon build
    ("push-permission-denied", Wording(JIB, "81639cc51",
     "jib-maven-plugin/src/main/java/com/google/cloud/tools/jib/maven/MavenHelpfulSuggestionsBuilder.java",
     "[ERROR] Failed to execute goal com.google.cloud.tools:jib-maven-plugin:0.9.9:build (default-cli) on project app: "
     "Build image failed, perhaps you should set a credential helper name with the configuration '<from><credHelper>' "
     "or set credentials for 'registry-1.docker.io' in your Maven settings -> [Help 1]")),
    ("push-permission-denied", Wording(JIB, "fb949e267",
     "jib-core/src/main/java/com/google/cloud/tools/jib/registry/ManifestPusher.java",
     "[ERROR] Failed to execute goal com.google.cloud.tools:jib-maven-plugin:3.4.4:build (default-cli) on project app: "
     "Tried to push image manifest for registry.example.com/team/app:latest but failed because: Registry may not "
     "support pushing OCI Manifest or Docker Image Manifest Version 2, Schema 2")),
    ("push-permission-denied", Wording(JIB, "fb949e267",
     "jib-core/src/main/java/com/google/cloud/tools/jib/registry/AbstractManifestPuller.java",
     "[ERROR] Failed to execute goal com.google.cloud.tools:jib-maven-plugin:3.4.4:build (default-cli) on project app: "
     "Tried to pull image manifest for registry.example.com/team/base:latest but failed because: other: repository "
     "name not known to registry")),
    ("push-permission-denied", Wording(JIB, "fc9fce849",
     "jib-plugins-common/src/main/java/com/google/cloud/tools/jib/plugins/common/HelpfulSuggestions.java",
     "[ERROR] Failed to execute goal com.google.cloud.tools:jib-maven-plugin:3.4.4:dockerBuild (default-cli) on "
     "project app: Build to Docker daemon failed, perhaps you should make sure you have permissions for "
     "registry.example.com/team/base and set correct credentials. See https://github.com/GoogleContainerTools/jib/"
     "blob/master/docs/faq.md#what-should-i-do-when-the-registry-responds-with-forbidden-or-denied for help")),
    # containers/image (podman, buildah, skopeo) reading a base image: the registry refuses a pull in a push's words
    ("push-permission-denied", Wording(CIMAGE, "df7e80d2", "docker/docker_client.go",
     "Error: initializing source docker://quay.io/acme/base:latest: reading manifest latest in quay.io/acme/base: "
     "unauthorized: access to the requested resource is not authorized")),
    ("push-permission-denied", Wording(CIMAGE, "df7e80d2", "docker/docker_client.go",
     "Error: creating build container: initializing source docker://registry.example.com/team/base:latest: reading "
     "manifest latest in registry.example.com/team/base: name unknown: repository name not known to registry")),
    ("push-permission-denied", Wording(CIMAGE, "df7e80d2", "docker/docker_client.go",
     "Error: initializing source docker://quay.io/acme/base:latest: reading manifest latest in quay.io/acme/base: "
     "requested access to the resource is denied")),
    # containerd resolving a base image, and a token for a pull scope refused
    ("push-permission-denied", Wording(CONTAINERD, "301026e58", "core/remotes/docker/resolver.go",
     'ctr: failed to resolve reference "docker.io/acme/base:latest": pull access denied, repository does not exist '
     "or may require authorization: server message: insufficient_scope: authorization failed")),
    ("push-permission-denied", Wording(CONTAINERD, "301026e58", "core/remotes/docker/auth/fetch.go",
     "ctr: failed to authorize: failed to fetch anonymous token: unexpected status from GET request to "
     "https://auth.docker.io/token?scope=repository%3Aacme%2Fbase%3Apull&service=registry.docker.io: 401 "
     "Unauthorized")),
    # docker push of an image that was never built or tagged; docker pull's words for the registry's codes
    ("push-permission-denied", Wording(MOBY, "b985e231", "daemon/internal/distribution/push.go",
     "An image does not exist locally with the tag: gcr.io/p/app")),
    ("push-permission-denied", Wording(MOBY, "b985e231", "daemon/internal/distribution/push_v2.go",
     "tag does not exist: gcr.io/p/app:v1")),
    ("push-permission-denied", Wording(MOBY, "b985e231", "daemon/internal/distribution/errors.go",
     "Error response from daemon: repository registry.example.com/team/base not found: name unknown: repository name "
     "not known to registry")),
    ("push-permission-denied", Wording(MOBY, "b985e231", "daemon/internal/distribution/errors.go",
     'Error response from daemon: manifest for gcr.io/p/base:latest not found: manifest unknown: Failed to fetch '
     '"latest" from request "/v2/p/base/manifests/latest".')),
    # rules_docker's check for an unchanged digest, which goes on to push; the Python puller's token refused
    ("push-permission-denied", Wording(RULES_DOCKER, "c0422ec9", "container/go/cmd/pusher/pusher.go",
     "2024/05/01 10:00:00 Error checking if digest already exists unable to get remote image: GET https://gcr.io/v2/"
     "p/app/manifests/sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef: UNAUTHORIZED: You "
     "don't have the needed permissions to perform this operation, and you may have invalid credentials.. Still "
     "pushing")),
    ("push-permission-denied", Wording(PY_CONTAINERREGISTRY, "8a11dc8", "tools/fast_puller_.py",
     "F0725 10:00:00.000000 12345 fast_puller_.py:142] Error pulling and saving image gcr.io/p/base:latest: Bad "
     "status during token exchange: 401")),
    # a revision that never got its image is no start failure
    ("container-start-failed", Wording("Cloud Run API (quoted by gcloud run deploy)", "2022", "-",
     "ERROR: (gcloud.run.deploy) Revision 'svc-00002-abc' is not ready and cannot serve traffic. Image "
     "'us-docker.pkg.dev/p/r/svc:latest' not found.")),
    # a Functions Framework's per-request failures (the function started; one request failed): an event the Python
    # framework could not convert, a request that ran out of time, a typed function that raised; the Node.js
    # framework's exception after a function finished, the Java invoker's failed execution, the PHP router's
    # refused response
    ("container-start-failed", Wording(FF_PY, "d13d9aa", "src/functions_framework/event_conversion.py",
     "functions_framework.exceptions.EventConversionException: Failed to convert Pub/Sub payload to event")),
    ("container-start-failed", Wording(FF_PY, "d13d9aa", "src/functions_framework/request_timeout.py",
     "functions_framework.exceptions.RequestTimeoutException")),
    ("container-start-failed", Wording(FF_PY, "v3.5.0", "src/functions_framework/__init__.py",
     "functions_framework.exceptions.FunctionsFrameworkException: Function execution failed with the error")),
    ("container-start-failed", Wording(FF_NODE, "f39924d", "src/function_wrappers.ts",
     "Exception from a finished function: Error: ECONNRESET")),
    ("container-start-failed", Wording(FF_JAVA, "66d088c",
     "invoker/core/src/main/java/com/google/cloud/functions/invoker/HttpFunctionExecutor.java",
     "SEVERE: Failed to execute com.example.Hello")),
    ("container-start-failed", Wording(FF_PHP, "fbaa808", "src/HttpFunctionWrapper.php",
     "PHP Fatal error:  Uncaught LogicException: Function response must be string or "
     "Psr\\Http\\Message\\ResponseInterface in /workspace/vendor/google/cloud-functions-framework/src/"
     "HttpFunctionWrapper.php:71")),
    # a revision that never got its image (Knative's ContainerMissing, the kubelet's ImagePullBackOff) never started
    ("container-start-failed", Wording(KNATIVE, "98e5ef90aa", "pkg/apis/serving/v1/revision_lifecycle.go",
     'Revision "hello-00001" failed with message: Unable to fetch image "gcr.io/p/hello:latest": failed to resolve '
     'image to digest: GET https://gcr.io/v2/p/hello/manifests/latest: MANIFEST_UNKNOWN: Failed to fetch '
     '"latest".')),
    ("container-start-failed", Wording(KUBELET, "cfce511e", "pkg/kubelet/images/image_manager.go",
     'Revision "hello-00001" failed with message: Back-off pulling image "gcr.io/p/hello:latest".')),
    # gunicorn and uvicorn on a server that started: a request that timed out, a worker killed, a worker that
    # exited after booting, a failed shutdown, a request's exception; App Engine Java's runtime on a request's
    ("container-start-failed", Wording(GUNICORN, "65ac1a3a", "gunicorn/arbiter.py",
     "[2024-05-01 12:00:00 +0000] [1] [CRITICAL] WORKER TIMEOUT (pid:8)")),
    ("container-start-failed", Wording(GUNICORN, "65ac1a3a", "gunicorn/arbiter.py",
     "[2024-05-01 12:00:00 +0000] [1] [ERROR] Worker (pid:8) was sent SIGKILL! Perhaps out of memory?")),
    ("container-start-failed", Wording(GUNICORN, "65ac1a3a", "gunicorn/arbiter.py",
     "[2024-05-01 12:00:00 +0000] [1] [ERROR] Worker (pid:8) exited with code 1.")),
    ("container-start-failed", Wording(UVICORN, "e6c7ce79", "uvicorn/lifespan/on.py",
     "ERROR:    Application shutdown failed. Exiting.")),
    ("container-start-failed", Wording(UVICORN, "e6c7ce79", "uvicorn/protocols/http/h11_impl.py",
     "ERROR:    Exception in ASGI application")),
    ("container-start-failed", Wording(GAE_JAVA, "068aadc7",
     "runtime/runtime_impl_jetty9/src/main/java/com/google/apphosting/runtime/jetty9/JettyHttpHandler.java",
     "WARNING: Uncaught exception from servlet")),
    # pip's warnings, a retry, and its resolver's report on an install that went on and succeeded
    ("pip-install-failed", Wording(PIP, "21.3.1", "src/pip/_internal/self_outdated_check.py",
     "WARNING: You are using pip version 21.2.4; however, version 21.3.1 is available.")),
    ("pip-install-failed", Wording(PIP, "21.3.1", "src/pip/_internal/network/session.py",
     "WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection "
     "broken by 'ReadTimeoutError(\"HTTPSConnectionPool(host='pypi.org', port=443): Read timed out.\")': "
     "/simple/pandas/")),
    ("pip-install-failed", Wording(PIP, "21.3.1", "src/pip/_internal/operations/check.py",
     "ERROR: pip's dependency resolver does not currently take into account all the packages that are installed. "
     "This behaviour is the source of the following dependency conflicts.")),
    ("pip-install-failed", Wording(PIP, "20.2.4", "src/pip/_internal/operations/check.py",
     "ERROR: google-cloud-bigquery 3.11.0 has requirement packaging>=20.0.0, but you'll have packaging 19.0 which "
     "is incompatible.")),
    # gcloud giving up polling an operation is not the build's timeout; a log read retried is not a refusal
    ("build-timeout", Wording(GCLOUD, "66a036a0", "lib/googlecloudsdk/api_lib/app/operations_util.py",
     "ERROR: (gcloud.app.deploy) Operation [apps/p/operations/1a2b] timed out. This operation may still be "
     "underway.")),
    ("logs-bucket-forbidden", Wording(GCLOUD, "4643fc9c", "lib/googlecloudsdk/api_lib/cloudbuild/logs.py",
     "WARNING: Reading GCS logfile: got 503, retrying")),
    # Cloud Build's fetcher retrying (it goes on to fetch the object; alone under FETCHSOURCE, any line naming a
    # failure is the fetch section's fallback, so it is checked alone)
    ("source-fetch-failed", Wording(BUILDERS, "b70cb2af", "gcs-fetcher/pkg/fetcher/fetcher.go",
     "Failed to fetch gs://p_cloudbuild/source/1700000000.12-ab.tgz#1700000000123456, will retry: net/http: "
     "timeout awaiting response headers", framed="")),
    # a COPY of a file that is named Dockerfile is a COPY source missing, not the Dockerfile missing
    ("dockerfile-not-in-upload", Wording(MOBY, "010adeec", "builder/dockerfile/copy.go",
     "COPY failed: file not found in build context or excluded by .dockerignore: stat docker/Dockerfile.base: "
     "file does not exist")),
    # --- the producer sweep of the three buildpacks ids: a retry, a warning, a buildpack opting out ---
    # Google's install helper retrying an older patch release (the error, if any, comes after)
    ("buildpacks-python-version", Wording(BP, "71493875", "pkg/runtime/install.go",
     "Failed to download Python v3.12.99, trying fallback 3.12.98.")),
    # Heroku's warnings on a version that still builds
    ("buildpacks-python-version", Wording("heroku/heroku-buildpack-python", "731876d6", "bin/steps/python",
     " !     The latest version of Python 3.7 is 3.7.17 (you are using 3.7.2, which is unsupported).")),
    ("buildpacks-python-version", Wording("heroku/heroku-buildpack-ruby", "5017ce0b", "lib/language_pack/ruby.rb",
     "This version does not exist on heroku-20. In order to upgrade your stack you will")),
    # Cloud Foundry's end-of-life and newer-version warnings
    ("buildpacks-python-version", Wording("cloudfoundry/libbuildpack", "70e599b", "error_messages.go",
     "       **WARNING** python 3.8.x will no longer be available in new buildpacks released after 2024-10-07.")),
    ("buildpacks-python-version", Wording("cloudfoundry/libbuildpack", "70e599b", "error_messages.go",
     "       **WARNING** A newer version of node is available in this buildpack. Please adjust your app to use version "
     "20.17.0 instead of version 20.11.0 as soon as possible.")),
    # a group that failed while another may pass, and a buildpack opting out of a build that goes on
    ("buildpacks-detect-failed", Wording(LIFECYCLE, "2e739d6d", "phase/detector.go",
     "fail: no viable buildpacks in group")),
    ("buildpacks-detect-failed", Wording(BP, "21f28de8", "pkg/gcpbuildpack/detect.go",
     "Opting out: no .py files found")),
    # Heroku's Node.js warning when nothing says how to start (the build goes on)
    ("buildpacks-no-entrypoint", Wording("heroku/heroku-buildpack-nodejs", "940c813d", "lib/failure.sh",
     " !     This app may not specify any way to start a node process")),
    # --- the producer sweep of Python installs: warnings, retries, progress notes and checks that go on ---
    # Google's Python buildpack on Python 3.7 only warns of what `pip check` found, and goes on
    ("pip-install-failed", Wording(BP, "5596b3f4", "pkg/python/python.go",
     'WARNING: Found incompatible dependencies: "pandas 2.2.0 has requirement numpy>=1.26.0, but you have numpy '
     '1.24.0.\\n"')),
    # pip resuming a download, taking long to resolve
    ("pip-install-failed", Wording(PIP, "25.1", "src/pip/_internal/network/download.py",
     "WARNING: Attempting to resume incomplete download (12.3 MB/45.6 MB, attempt 1)")),
    ("pip-install-failed", Wording(PIP, "21.3.1", "src/pip/_internal/resolution/resolvelib/reporter.py",
     "INFO: This is taking longer than usual. You might need to provide the dependency resolver with stricter "
     "constraints to reduce runtime. See https://pip.pypa.io/warnings/backtracking for guidance. If you want to "
     "abort this run, press Ctrl + C.")),
    # uv retrying a request (with -v), warning that it ignores a lockfile it could not read
    ("pip-install-failed", Wording("astral-sh/uv", "0.8.0", "crates/uv-client/src/base_client.rs",
     "DEBUG Transient request failure for https://pypi.org/simple/numpy/, retrying: error sending request for url "
     "(https://pypi.org/simple/numpy/)")),
    ("pip-install-failed", Wording("astral-sh/uv", "0.5.0", "crates/uv/src/commands/project/lock.rs",
     "warning: Failed to validate existing lockfile: Distribution not found at: file:///workspace/dist/app.whl")),
    ("pip-install-failed", Wording("astral-sh/uv", "0.4.0", "crates/uv/src/commands/pip/operations.rs",
     "warning: Failed to uninstall package at /usr/lib/python3/dist-packages/blinker-1.4.egg-info due to missing "
     "RECORD file. Installation may result in an incomplete environment.")),
    # poetry's warnings that the lock file is stale (it goes on installing from it)
    ("pip-install-failed", Wording("python-poetry/poetry", "1.1.0", "poetry/installation/installer.py",
     "Warning: The lock file is not up to date with the latest changes in pyproject.toml. You may be getting "
     "outdated dependencies. Run update to update them.")),
    ("pip-install-failed", Wording("python-poetry/poetry", "1.7.0", "src/poetry/installation/installer.py",
     "Warning: poetry.lock is not consistent with pyproject.toml. You may be getting improper dependencies. Run "
     "`poetry lock [--no-update]` to fix it.")),
    # pipenv relocking a stale Pipfile.lock, creating a missing one
    ("pip-install-failed", Wording("pypa/pipenv", "v2023.10.3", "pipenv/routines/install.py",
     "Pipfile.lock (a1b2c3) out of date, updating to (d4e5f6)...")),
    ("pip-install-failed", Wording("pypa/pipenv", "v2023.10.3", "pipenv/routines/install.py",
     "Pipfile.lock not found, creating...")),
    # conda retrying its solve, looking for the conflict, or removing a package that is not installed
    ("pip-install-failed", Wording("conda/conda", "4.8.3", "conda/core/solve.py",
     "Solving environment: failed with initial frozen solve. Retrying with flexible solve.")),
    ("pip-install-failed", Wording("conda/conda", "4.8.3", "conda/core/solve.py",
     "Solving environment: failed with repodata from current_repodata.json, will retry with next repodata "
     "source.")),
    ("pip-install-failed", Wording("conda/conda", "4.8.3", "conda/resolve.py",
     "Found conflicts! Looking for incompatible packages.")),
    ("pip-install-failed", Wording("conda/conda", "4.8.3", "conda/exceptions.py",
     "PackagesNotFoundError: The following packages are missing from the target environment:")),
    # easy_install (setuptools) warning of an index it could not read: it goes on to the next link
    ("pip-install-failed", Wording("pypa/setuptools", "v44.0.0", "setuptools/package_index.py",
     "Download error on https://pypi.org/simple/nba-internal/: [Errno -3] Temporary failure in name resolution -- "
     "Some packages may not be found!")),
    ("pip-install-failed", Wording("pypa/setuptools", "v44.0.0", "setuptools/package_index.py",
     "Couldn't find index page for 'nba-internal' (maybe misspelled?)")),
    # pip-compile's backtracking note
    ("pip-install-failed", Wording("jazzband/pip-tools", "7.0.0", "piptools/resolver.py",
     "Discarding flask==2.0.0 (from -r requirements.in (line 1)) to proceed the resolution")),
    # the app's own error at run time, after the install: a module missing is no failed install
    ("pip-install-failed", Wording("python/cpython", "v3.12.0", "Python/import.c",
     "ModuleNotFoundError: No module named 'flask'")),
]


def framings(w: Wording) -> list[tuple[str, int, str]]:
    """(log, line of the message, the message's line as given) for the message alone and framed.

    A tool's words that name a cause only inside some builds are never alone. framed="buildpacks": inside a
    buildpacks build (below a lifecycle phase, alone and in the pack step of a source deploy) and as Cloud Functions
    quotes it on its own line (a managed build has no fallback, so there only the pattern can name it);
    framed="dockerfile": in a Dockerfile build's RUN step (classic and BuildKit), where they are no buildpacks
    failure (near misses only)."""
    if w.framed == "buildpacks":
        return [("===> BUILDING\n" + w.message + "\n", 2, w.message),
                (BUILDPACK_STEP + "===> BUILDING\n" + BUILDPACK_STEP + w.message + "\n", 2, BUILDPACK_STEP + w.message),
                (GCF_BUILD_FAILED + w.message + "\n", 1, GCF_BUILD_FAILED + w.message)]
    if w.framed == "dockerfile":
        return [("Step 5/9 : RUN npm ci && go build ./... && mvn -B package\n" + w.message + "\n", 2, w.message),
                ("#9 [5/9] RUN npm ci\n#9 1.234 " + w.message + "\n", 2, "#9 1.234 " + w.message)]
    out = [(w.message + "\n", 1, w.message)]
    if w.framed == "step":
        out.append((STEP + w.message + "\n", 1, STEP + w.message))
    elif w.framed == "fetch":
        out.append(("FETCHSOURCE\n" + w.message + "\n", 2, w.message))
    return out


def cases(wordings: dict[str, list[Wording]]):
    for signature, rows in wordings.items():
        for n, w in enumerate(rows):
            yield pytest.param(signature, w, id=f"{signature}-{n}")


def near_miss_ids(near_misses: list[tuple[str, Wording]]) -> list[str]:
    return [f"not-{s}-{n}" for n, (s, _) in enumerate(near_misses)]


def gives_its_signature_on_its_own_line(signature: str, wording: Wording) -> None:
    for log, line, text in framings(wording):
        top = classify_log(log)[0]
        assert (top.signature, top.line) == (signature, line), log
        assert top.evidence[0] == text[:MAX_EVIDENCE_CHARS]


def does_not_give(signature: str, wording: Wording) -> None:
    for log, _, _ in framings(wording):
        assert classify_log(log)[0].signature != signature, log


@pytest.mark.parametrize("signature, wording", list(cases(WORDINGS)))
def test_a_producers_wording_of_a_cause_gives_its_signature_on_its_own_line(signature, wording):
    gives_its_signature_on_its_own_line(signature, wording)


@pytest.mark.parametrize("signature, wording", NEAR_MISSES, ids=near_miss_ids(NEAR_MISSES))
def test_a_wording_that_only_looks_like_a_cause_does_not_give_its_signature(signature, wording):
    does_not_give(signature, wording)


def test_every_signature_but_unknown_has_producer_wordings():
    assert set(load_catalogue().ids()) - {"unknown"} == set(WORDINGS)
