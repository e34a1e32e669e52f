"""The words that say a line of a log names an error or a failure: a declarative table, one wording (or one form with
its own boundaries) per entry with the tool it stands for, compiled into the two regexes lines.py, lead.py and the
catalogue ask of single lines. A new tool's way of saying it failed is one more entry here.

Below them, the words that say a run went on past a failure (it tries again, the errors do not matter, it carried on),
which lead.py reads around a failure line before it takes it as the lead.
"""
from __future__ import annotations

import re

# (what the words of ERROR_WORD and FAILURE_WORD may not follow: the stream's name, `standard `, a count of none, and a
# failure foretold, `will `: Unity's `License is not active (...). HasEntitlements will fail.`, above the real refusal)
_NAMES_NONE = r"(?<!standard )(?<!\bno )(?<!\b0 )(?<!\bwill )"

# the word error, in any case, not inside a longer word (IOError, stderr, ftl_error) nor a hyphenated name (apk's
# `libgpg-error`, curl's `--show-error`), nor the stream's name (Read the Docs' `Standard Error` heading over a
# command's stderr), nor a count of none (PHPStan's `[OK] No errors`, `0 errors`, koji's `0 failed`), as the words of
# FAILURE_WORD
# (and TeX's own form of an error with -file-line-error, `/texmf-dist/tex/latex/biblatex/biblatex.sty:2175: Text line
# contains an invalid character.`, which latexmk and the LaTeX actions turn on)
# (and the mark electron-builder, goreleaser and Next.js print at the level of an error, `⨯ 403 Forbidden`, istioctl's
# on a component it could not install, `✘ Component Pilot installation had errors:`, and the one
# Chromatic's CLI prints under a step it failed, `    → ✖ Found only one commit`; and curl's own error, `curl: (52) Empty
# reply from server`); and logrus' levels of an error in its text format, `ERRO[0000] ...`, `FATA[0034] apply
# failed: ...`, which Go tools from docker's CLI to Hasura's print)
ERROR_WORD = re.compile(r"(?<![^\W\d]|[-_])(?<!\{\")" + _NAMES_NONE + r"error(?![\w-])|(?:^|(?<=\s))[⨯✘](?= \S)|"
                        r"(?:^|(?<=\s))→ ✖(?= \S)|(?:^|(?<=\s))(?-i:curl: \(\d+\)) (?=\S)|"
                        r"(?:^|(?<=\n))(?-i:[^\s:]+\.(?:tex|sty|cls|dtx|ltx|def|bbx|cbx)):\d+: (?=\S)|"
                        r"(?:^|(?<=\s))(?-i:ERRO|FATA|PANI)\[\d+\] (?=\S)", re.IGNORECASE)
# Words that say something went wrong, whole (in any case, unless marked `(?-i:...)`, and not inside a longer word or a
# hyphenated name), each with the wording it stands for.
_FAILURE_WORDS = [
    r"errors?|err!|fail|failed|failure|fatal|crash|crashed|cannot|can't|could not|couldn't",
    r"(?:rake|rails) aborted!|name or service not known|unable to|denied|exception|traceback",
    r"http (?:status|error):? [45]\d\d",
    r"status code:? [45]\d\d(?!\d)",   # a client's on a server's answer (altool's `*** status code 401, auth issue.`)
    r"command not found",
    # ... and Windows' (cmd's `'x' is not recognized as an internal or external command,`, PowerShell's `The term 'x' is
    # not recognized as the name of a cmdlet, function, ...`)
    r"is not recognized as (?:an internal or external command|the name of a cmdlet)",
    r"the syntax of the command is incorrect",   # ... and cmd's on a line of a batch file it could not parse
    # ... and the docker CLI refusing how it was called (`"docker build" requires exactly 1 argument.`)
    r'"[\w -]+" requires (?:exactly|at least|at most) \d+ arguments?',
    r"sh: (?:\d+: )?\S+: not found",   # dash's command not found (`sh: 1: tsc: not found`; `sh: npm: not found`)
    r"no such file or directory",
    # what a tool needed and did not find (docker pushing a tag never built: `tag does not exist: gcr.io/p/app`; buf on
    # an import: `a.proto:4:8:gogoproto/gogo.proto: does not exist`; htmltest's `target does not exist --- x.html -->
    # ./favicon.png`; an API's `APIProxy named x does not exist in organization y`), not a note that it goes on to make
    # it (`Release "x" does not exist. Installing it now.`) nor a condition (`skip if the bucket does not exist yet`)
    r"does not exist(?![^\n]*\b(?:[Ii]nstalling|[Cc]reating|yet)\b)",
    r"executable file not found in \$PATH",   # Go's os/exec on a program it could not find (`exec: "virsh": ...`)
    # git's status of a ref a push could not update (` ! [rejected]  main -> main (fetch first)`; not `[remote
    # rejected] ... (pre-receive hook declined)`, a platform's verdict on a push whose build failed)
    r"! \[rejected\]",
    # a package manager refusing an update that breaks what is installed (xbps: `libuuid-2.33.2_1 (update) breaks
    # installed pkg `util-linux-2.33.1_2'`, then `Transaction aborted due to unresolved dependencies.`)
    r"breaks installed pkg",
    # Spack's CI on a package another job of the pipeline failed to build (`==>   libcap/2qvjiq6 (in stack e4s-oneapi)
    # was reported broken here: https://gitlab.spack.io/...`)
    r"was reported broken",
    # a download or an archive found broken (Transporter's `A downloaded software component is corrupted and ...`)
    r"is corrupt(?:ed)?",
    # a download whose digest is not the one expected (OpenWrt's `Hash mismatch for file x.tar.zst: expected ...`,
    # Nix's `hash mismatch in fixed-output derivation`, go's `checksum mismatch`, apt's `Hash Sum mismatch`)
    r"(?:hash|checksum)(?: sum)? mismatch",
    # fastlane on a shell command of a lane (`Shell command exited with exit status 1 instead of 0.`, `[!] Exit status
    # of command 'npm run build' was 1 instead of 0.`)
    r"(?:exited with exit status|exit status of command .+ was) \d+ instead of 0",
    r"no such host",   # Go's resolver (`dial tcp: lookup goproxy.example.net on 10.233.0.10:53: no such host`)
    # Gradle's validation of a task's inputs and outputs (`Some problems were found with the configuration of task
    # ':compileJava'`, `- Gradle detected a problem with the following location: '...'`, its `Reason:` below)
    r"some problems were found with the configuration of task", r"gradle detected a problem with",
    # a Rust crate's build script finding no system library it needs through pkg-config (system-deps: `The system
    # library `javascriptcoregtk-4.1` required by crate `javascriptcore-rs-sys` was not found.`)
    r"the system library `[^`\s]+` required by crate",
    r"invalid reference format",   # docker refusing an image name
    r"timed out",
    r"timeout exceeded",   # Go's HTTP client giving up (`request canceled (Client.Timeout exceeded while ...)`)
    r"signal: killed",   # a compiler out of memory
    r"out of memory|heap space is exhausted|gc overhead limit exceeded",   # a JVM or Node process out of memory
    r"(?:was|were|is|are) not met|not met:",   # a gate's threshold or a requirement unmet (Jest's coverage threshold)
    r"hook\(s\) made changes|files were modified by this hook",   # pre-commit failing a run whose hooks changed files
    r"misspelled words?:",   # a spelling check's report (pyspelling's `Misspelled words:` over each file's)
    r"daemon has disappeared",   # a Gradle daemon killed under the build (out of memory, most often)
    r"segmentation fault",   # a program that crashed (an emulated one under QEMU: `Segmentation fault (core dumped)`)
    r"segmentation violation",   # ... a Go program's runtime on one (`SIGSEGV: segmentation violation`, TinyGo's LLVM)
    r"illegal instruction",   # ... or ran an instruction the CPU lacks (`Illegal instruction (core dumped)`)
    # a tool giving up (debhelper's `dh_install: libfoo1 missing files (usr/lib/*/libfoo.so.1), aborting`, git's
    # `Aborting`)
    r"aborting",
    # .NET's NullReferenceException in its own words, where a tool prints the message without the class (PowerShell's
    # error record: `Invoke-ScriptAnalyzer : Object reference not set to an instance of an object.`)
    r"object reference not set to an instance of an object",
    # a Jupyter kernel that died under a notebook being executed (mystmd's `Kernel: restarting (...)`, jupyter_client's
    # `KernelRestarter: restarting kernel (1/5)`, nbclient's `Kernel died while waiting for execute reply.`)
    r"kernel(?:restarter)?: (?:auto)?restarting|kernel died",
    r"operation not permitted",   # EPERM in its own words (`make: /bin/sh: Operation not permitted`)
    # Eleventy's heading over a build's errors (`[11ty] Problem writing Eleventy templates: (more in DEBUG output)`)
    r"\(more in debug output\)",
    r"refusing to",   # a tool declining to go on (Nix's `is not supported on 'x86_64-darwin', refusing to evaluate.`)
    r"no executable",   # a tool missing
    r"executable (?:doesn't|does not) exist",   # ... or its binary (Playwright's browser: `Executable doesn't exist`)
    r"unknown (?:shorthand )?flag:",   # a cobra CLI's usage error without its `Error: ` (docker buildx)
    # a tool refusing the runtime it was started on (`The Angular CLI requires a minimum Node.js version of v18.13.`)
    r"requires a minimum [\w.]+ version of",
    # ... or finding too old a runtime (`python3 found but version Python 3.7.4 is less than the minimum required
    # version.`)
    r"(?:less|lower|older) than the minimum(?: required| supported)?(?: version)?",
    # ... or pulling an image that has none for its platform (`no matching manifest for windows/amd64 10.0.17763`)
    r"no matching manifest for",
    # ... or one that has no such tag or digest (`manifest for microsoft/windowsservercore:latest not found`, the
    # registry's `manifest unknown`)
    r"manifest for \S+ not found", r"manifest unknown",
    # yum's and dnf's refusal to install packages from a repository whose keys it lacks (`However, you do not have any
    # GPG public keys installed. You need to download`, then its advice and `Problem repository: [...]`)
    r"you do not have any gpg public keys installed",
    r"not in gzip format|child returned status \d+",   # gzip and tar refusing a download that is no archive
    r"push rejected",
    r"(?:was|were) rejected",   # a service refusing what it was sent (`Credentials were rejected, please try again.`)
    r"(?:was|were) not \w+ successfully",   # (`The virtual environment was not created successfully because ...`)
    r"invalid value",   # an API refusing a setting's value
    # a platform refusing an upload, a function or a file for its size (Netlify's `The function "x" is larger than the
    # 50MB limit.`, Heroku's `Compiled slug size: 826.7M is too large (max is 500M).`)
    r"is (?:larger|bigger) than the [\d.]+ ?[kmgt]i?b limit", r"is too large",
    r"is no longer supported",   # a platform refusing a runtime it retired (AWS Lambda's `nodejs6.10`)
    # the go command refusing a module that needs a newer Go than it is (`go: go.mod requires go >= 1.22.8 (running go
    # 1.22.5; GOTOOLCHAIN=local)`)
    r"requires go >= \S+ \(running go",
    r"(?<=: )line \d+:",   # a shell's own error form (`compile: line 68: test: too many arguments`)
    # in capitals only: the level of java.util.logging's and Dart's build_runner's errors, the Google APIs' error codes
    # (`INVALID_ARGUMENT` in an audit log entry's status), Node.js's module error and the errno names it ends its
    # system errors with (`spawn composer ENOENT`)
    r"(?-i:SEVERE|INVALID_ARGUMENT|FAILED_PRECONDITION|PERMISSION_DENIED|RESOURCE_EXHAUSTED|UNAUTHENTICATED|"
    r"DEADLINE_EXCEEDED|MODULE_NOT_FOUND|ENOENT|EACCES|EPERM|ENOSPC|EMFILE|ECONNREFUSED|ECONNRESET|ETIMEDOUT|"
    r"ESOCKETTIMEDOUT|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ENOTFOUND)",
    # CloudFormation's status of a resource it could not create, update or delete (`| CREATE_FAILED | AWS::SageMaker::
    # Endpoint | ...` in the CDK's and SAM's event lists, above the stack's `failed to deploy` verdict)
    r"(?-i:(?:CREATE|UPDATE|DELETE|IMPORT)_FAILED)",
    r"(?-i:SQLSTATE)(?=\[)",   # a database's error through PHP's PDO (`SQLSTATE[HY000] [2002] Connection refused`)
    # Ruby's NoMethodError and NameError in their own words, where a tool prints the message without the class
    # (Heroku's Ruby buildpack's error box: `!     undefined method `version' for nil:NilClass`)
    r"undefined (?:local variable or )?method [`'][^`'\s]+' for",
    # the .NET host unable to start a program whose framework is missing (`dotnet ef` inside a build, an app's start)
    r"you must install or update \.net to run this application",
]
# ... and the forms that carry their own boundaries
_FAILURE_FORMS = [
    # an exception's or error's name ending a longer word when its message follows (gsutil's `AccessDeniedException:
    # 403 ...`, node's `ReferenceError: require is not defined ...`, and with its code `TypeError [ERR_X]: ...`)
    # (a Java exception's nested class too: `com.typesafe.config.ConfigException$Parse: ...`)
    # (and xUnit's, its class and message apart: `---- System.ArgumentException : Docker is either not running ...`)
    r"(?<=[a-z])(?:exception|error)(?=(?:\$\w+)?: | \[[\w-]+\]: | : )",
    # an exception's name alone, indented, at the end of its line (Laravel's console's `InvalidArgumentException`
    # above its message)
    r"(?<=\s\s)[a-z][\w\\]*exception(?=[ \t]*(?:\r?\n|$))",
    # ... and a fully qualified exception's name alone on its line, unindented (.NET's and Octopus's Calamari's
    # `System.Net.Http.HttpRequestException` below its message, a Java exception thrown without one)
    r"(?:^|(?<=\n))(?:[A-Za-z_]\w*\.)+(?-i:[A-Z])\w*(?-i:Exception)(?=[ \t]*(?:\r?\n|$))",
    # ... and an unqualified error's or exception's name alone on its line (Node's for an error thrown with no message:
    # the BigQuery client's `PartialFailureError` above its frames, its rows' `errors: [...]` below)
    r"(?:^|(?<=\n))[ \t]*(?-i:[A-Z][A-Za-z]*(?:Error|Exception))(?=[ \t]*(?:\r?\n|$))",
    r"(?<=\S): \d+: (?:\S+: )?[^\s:]+: not found(?![\w-])",   # dash in a script (`./x.sh: 3: python: not found`)
    r"(?<![\w-])(?-i:E: )(?=\S)",   # apt's, in capitals
    # coreutils' usage error on a command given no argument (`basename: missing operand`, a script's empty variable)
    r"(?<=: )missing (?:file |destination file )?operand\b",
    # nginx's three levels above `[error]` (`nginx: [emerg] unknown directive ...`, a config it refused to start with)
    r"(?<=nginx: )\[(?:emerg|alert|crit)\]",
    # bundler's `which is incompatible with the current version`, which it wraps after `the`
    r"(?<![\w-])incompatible with the(?: current version|(?=[ \t]*(?:\r?\n|$)))",
    # an Apex class's or trigger's compile problem as a Salesforce deploy lists it under `Failures:`
    # (`deploy/classes/LogHandler.cls(127,29):Illegal assignment from List to List`)
    r"(?-i:\.(?:cls|trigger)\(\d+,\d+\):)(?=\s*\S)",
    # an exception's class in brackets ending a line (Ruby's uncaught `base.rb:65:in 'build': must subclass
    # (RuntimeError)`, and its system call errors: `shell_helpers.rb:38:in 'read': Is a directory - /tmp/env/..data
    # (Errno::EISDIR)`)
    r"(?-i:\((?:[A-Z]\w*::)*(?:[A-Z]\w*(?:Error|Exception)|Errno::E[A-Z0-9]+)\))(?=[ \t]*(?:\r?\n|$))",
    # Elixir's raised exception (`** (MatchError) no match of ...`) and Mix's own (`** (Mix) Could not compile ...`)
    r"(?:^|(?<=\s))\*\* \((?-i:[A-Z][\w.]*)\)(?= \S)",
    r"(?:^|(?<=\n))(?:remote:)?[ \t]*!(?-i:(?=[ \t][A-Z][a-z]))",   # Heroku's `!`, then a space or a tab
    # a CLI's failure mark starting a line (`✖ Vercel build environment ...`; uno-check's and Spectre.Console's
    # `× android (...) not installed.`, pip's `× Getting requirements to build wheel did not run successfully.`; `✗`,
    # `✕`)
    r"(?:^|(?<=\n))[ \t]*[✖×✗✕](?=[ \t]+\S)",
    # Symfony Console's heading over an exception it reports (`In PackageManifest.php line 177:`: Composer, Laravel's
    # artisan, Drupal's drush), its message below
    r"(?-i:(?<![\w.])In [\w.]+\.php line \d+:)(?=[ \t]*(?:\r?\n|$))",
    # Config Sync's error codes (`[1] KNV1021: No CustomResourceDefinition is defined for the type ...`), each an error
    r"(?<![\w-])(?-i:KNV\d{4})(?=: )",
    # a Go program's panic (`panic: unknown time zone "Europe/Berlin"`, its goroutines' frames below) and a Rust
    # thread's (`thread 'main' panicked at src/main.rs:4:5:`)
    r"(?:^|(?<=\s))(?-i:panic): (?=\S)", r"(?<![\w-])panicked at ",
    # a Python exception raised from a module of exceptions, whatever its class is called (`google.api_core.exceptions.
    # NotFound: 404 Not found: Table ...`, `google.auth.exceptions.RefreshError: ...`)
    r"(?:^|(?<=\s))(?:[a-z_]\w*\.)+(?-i:exceptions|errors)\.(?-i:[A-Z])\w*: (?=\S)",
    # ... and a Go type assertion that failed, as a recovered panic prints it (`interface conversion: interface {} is
    # nil, not map[string]interface {}` above `goroutine 1 [running]:`)
    r"(?<![\w-])(?-i:interface conversion): (?=\S)",
    # composer's resolver numbering the conflicts it found (`  Problem 1`, alone on its line, the requirements below)
    r"(?:^|(?<=\s))(?-i:Problem \d+)(?=[ \t]*(?:\r?\n|$))",
    # the dynamic loader refusing a library older than the program was linked against (`/usr/lib/R/bin/exec/R:
    # /lib/x86_64-linux-gnu/libm.so.6: version `GLIBC_2.23' not found (required by ...)`)
    r"(?<![\w-])version [`'][\w.@-]+' not found \(required by ",
    # a formatter's check refusing a file it would rewrite (black's and ruff's `would reformat src/app.py`)
    r"(?:^|(?<=\s))(?-i:would reformat) (?=\S)",
    # ... and rustfmt's (`cargo fmt --check`: `Diff in /src/lib.rs at line 721:`, since 1.5 `Diff in /src/lib.rs:721:`)
    r"(?:^|(?<=\n))[ \t]*(?-i:Diff in) \S+(?: at line \d+|:\d+):(?=[ \t]*(?:\r?\n|$))",
    # macOS's dynamic loader unable to start a program (`dyld[7460]: Symbol not found: ...`, `dyld: Library not loaded:`)
    r"(?<![\w-])(?-i:dyld)(?:\[\d+\])?: (?-i:Symbol not found|Library not loaded)",
    # the Scala.js linker on what a program refers to but no class defines (`Referring to non-existent class x.Y$`)
    r"(?:^|(?<=\s))(?-i:Referring to non-existent) (?=(?:class|method|field) )",
    # a tool refusing an argument in a message of its own (ghcup's `Not a valid version`; not a hedge inside a sentence,
    # Heroku's `This can mean your app.json's project is not a valid Heroku application.`)
    r"(?:^|(?<=\n))[ \t]*(?-i:Not a valid) (?=\w)",
    # Haskell's stack on a process that failed (`Process exited with code: ExitFailure (-9) (THIS MAY INDICATE OUT OF
    # MEMORY)`, `ExitFailure 1`)
    r"(?<![\w-])(?-i:ExitFailure) (?=[-(\d])",
    # an HTTP error page a proxy answered with, in a log that printed its HTML (`<head><title>413 Request Entity Too
    # Large</title></head>`, nginx's and Cloudflare's pages)
    r"(?-i:<(?:title|h1)>)[45]\d\d (?=[A-Z])",
    # the Elm compiler's report heading, padded to 80 columns with a rule (`-- TYPE MISMATCH ------- src/Main.elm`,
    # `-- CORRUPT DEPENDENCY ------`): it reports nothing else
    r"(?:^|(?<=\n))[ \t]*(?-i:-- [A-Z][A-Z ]*[A-Z] -{4,})",
    # a compiler's or checker's diagnostic in the `file:line[:column]: message` form, at the start of its line, when
    # it says no level of its own (Go's compiler and vet: `./main.go:10:2: undefined: foo`, `x_test.go:36: ...
    # composite literal uses unkeyed fields`); a level below an error's is no failure
    r"(?:^|(?<=\n))[ \t]*(?:\.{1,2}/)?(?:[\w.@+-]+/)*[\w+-][\w.+-]*"
    r"\.(?:go|c|cc|cpp|h|hpp|rs|py|rb|java|kt|swift|cs|ts|tsx|js|jsx)"
    r":\d+(?::\d+)?: (?!(?:note|info|hint|notice)\b|\w*warning\b)(?=[^\s\d])",
    # an audit's count of the vulnerabilities that fail it: composer audit's (`Found 1 security vulnerability advisory
    # affecting 1 package:`, a table of each below) and pip-audit's (`Found 1 known vulnerability, ignored 8 in 1
    # package`); not npm's `found 0 vulnerabilities` after any install
    r"(?<![\w-])(?-i:Found) [1-9]\d* "
    r"(?:security vulnerability advisor(?:y|ies) affecting |known vulnerabilit(?:y|ies)\b)",
    # markdownlint's findings, one to a line, which name no error (mdl's `./README.md:191: MD013 Line length`,
    # markdownlint-cli's `README.md:12:81 MD013/line-length Line length [Expected: 80; Actual: 97]`)
    r"(?:^|(?<=\n))[ \t]*\S*\.(?:md|markdown):\d+(?::\d+)?:? (?-i:MD\d{3})(?=[/ ])",
    r"(?:^|(?<=\n))[ \t]*[45]\d\d (?:Bad Request|Unauthorized|Forbidden|Not Found|Conflict|"
    r"Internal Server Error|Service Unavailable)(?=[ \t]*(?:\r?\n|$))",   # an HTTP status line
    # ... and a server's answer with an error's status, as a client reports it (fastlane's Firebase App Distribution:
    # `the server responded with status 400`; `responded with 403 Forbidden`)
    r"(?<![\w-])(?:responded|answered|replied) with (?:(?:HTTP )?status(?: code)?:? )?[45]\d\d(?!\d)",
]
# (the words, whole, and not after `standard ` nor a count of none, as in ERROR_WORD)
FAILURE_WORD = re.compile(r"(?<![\w-])" + _NAMES_NONE + "(?:" + "|".join(_FAILURE_WORDS) + r")(?![\w-])|"
                          + "|".join(_FAILURE_FORMS), re.IGNORECASE)


# ---- words that say the run went on past a failure -------------------------------------------------------------

# a tool saying it tries again after a failure (`INFO: Failed Image Copy, retrying after 5 seconds...`), not advice
# (`retrying may help`)
RETRYING = re.compile(r"\b(?:[Rr]etrying(?! may)|RETRYING|[Ww]ill retry|[Tt]rying again)\b")
# a tool saying the errors it is about to print do not matter (travis.debian.net's `I: Restoring Dockerfile to previous
# state (safe to ignore errors)`)
SAID_IGNORABLE = re.compile(r"\b(?:safe to ignore|can (?:safely )?be ignored|may (?:safely )?be ignored)\b",
                            re.IGNORECASE)
# a tool saying it carried on past a failure (`Will skip sending status report.`, `..., ignoring.`, `continuing anyway`)
CARRIED_ON = re.compile(r"\b(?:[Ww]ill skip|[Ss]kipping|[Ii]gnoring|[Cc]ontinuing anyway)\b")
_FETCHES = r"(?:Installing|Downloading|Fetching)"   # a tool going to get what it did not find
# ... or, on the error's own line, that it does without what failed (`There was an error reading historical timing
# data: file does not exist... Falling back to weighting by name.`; `falling back on a clean slate`), or that it
# fetches what it did not find (`Could not find @datadog/datadog-ci-plugin-synthetics. Installing...`)
FELL_BACK = re.compile(r"\b[Ff]alling back (?:to|on)\b|\.\s+" + _FETCHES + r"(?: it)?(?: now)?\.{3}\s*$")
# ... or, on the line below a tool's `not found` (a program or file it looked for), that it installs it (a Makefile's
# check for setup-envtest: `/bin/sh: 1: /home/runner/go/bin/setup-envtest: not found`, then `=> Installing Kubebuilder
# test tools...`)
NOT_FOUND = re.compile(r"\bnot found\b")
INSTALLS_IT = re.compile(r"^\W*" + _FETCHES + r"\b")
