"""Identity tokens for calling Cloud Run services on target=gcp: Application Default Credentials where they can
mint one (a service account key, Google's runtimes), else the gcloud CLI, which also impersonates a service
account. Every failure is one RunbookError saying what to do (HOW_TO_GET_A_TOKEN).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from ..errors import RunbookError
from ..formats import one_line

GCLOUD_TIMEOUT_S = 60.0
HOW_TO_GET_A_TOKEN = ("install the gcloud CLI and run `gcloud auth login`, set GOOGLE_APPLICATION_CREDENTIALS to a "
                      "service account key, or pass token=\"$(gcloud auth print-identity-token)\" yourself")


def _user_adc() -> bool:
    """Are Application Default Credentials a user's (`gcloud auth application-default login`)?"""
    if os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
        return False   # fetch_id_token reads that file itself and says what it holds
    try:
        from google.auth import _cloud_sdk

        path = Path(_cloud_sdk.get_application_default_credentials_path())
        return json.loads(path.read_text()).get("type") == "authorized_user"
    except (ImportError, AttributeError, OSError, ValueError):
        return False


def adc_id_token(audience: str) -> str:
    """An ID token from Application Default Credentials: works for a service account key or on Google's
    runtimes (metadata server); raises for user credentials (`gcloud auth application-default login`)."""
    import google.auth.transport.requests
    from google.oauth2 import id_token

    if _user_adc():
        # Known to fail: skip fetch_id_token's metadata-server probe, which can take seconds off Google Cloud.
        raise RunbookError("Application Default Credentials are user credentials, which cannot mint ID tokens.")
    return id_token.fetch_id_token(google.auth.transport.requests.Request(), audience)


def _gcloud(gcloud: str, *args: str, hint: str = HOW_TO_GET_A_TOKEN) -> str:
    """What `gcloud ARGS` prints. When it cannot run or fails: one RunbookError naming the command (and the
    account it impersonates), gcloud's last line on stderr (its own words say what was denied), then `hint`."""
    impersonating = [arg for arg in args if arg.startswith("--impersonate-service-account=")]
    command = " ".join(["gcloud", *args[:2], *impersonating])
    try:
        done = subprocess.run([gcloud, *args], capture_output=True, text=True, timeout=GCLOUD_TIMEOUT_S,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RunbookError(f"`{command}` could not run ({type(exc).__name__}); {hint}.") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise RunbookError(f"`{command}` failed: {one_line(lines[-1] if lines else '(no message)')}; {hint}.")
    return done.stdout.strip()


def gcloud_token(audience: str, email: str | None) -> str:
    """An ID token for `audience` (a Cloud Run service's URL) from the gcloud CLI. email=None: the caller's own
    account (with --audiences only for a service account: gcloud refuses it for a user, and Cloud Run takes a
    user's plain token); else that service account impersonated (Service Account Token Creator on it)."""
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        why = ("impersonating a service account needs the gcloud CLI" if email else
               "Application Default Credentials cannot mint one (user credentials never can)")
        # (not "token: why": masking takes the word after a token's name and a colon for the token)
        raise RunbookError(f"Could not mint an identity token, as {why} and gcloud is not on PATH; "
                           f"{HOW_TO_GET_A_TOKEN}.")
    if email:
        # What impersonating needs: Service Account Token Creator on the account, for whoever runs the kit.
        token = _gcloud(gcloud, "auth", "print-identity-token", f"--impersonate-service-account={email}",
                        f"--audiences={audience}", "--include-email",
                        hint=f"impersonating it needs roles/iam.serviceAccountTokenCreator on {email} for your "
                             f"account")
    else:
        args = ["auth", "print-identity-token"]
        if _gcloud(gcloud, "config", "get-value", "account").endswith(".gserviceaccount.com"):
            args.append(f"--audiences={audience}")
        token = _gcloud(gcloud, *args)
    if not token or any(c.isspace() for c in token):
        raise RunbookError(f"`gcloud auth print-identity-token` printed no token; {HOW_TO_GET_A_TOKEN}.")
    return token
