"""Seeds a fresh warren server for the OpenAPI fuzz run and prints the ids
the fuzzer's path parameters take, as shell assignments.

Usage: python3 .ci/seed.py http://127.0.0.1:PORT
"""

import io
import json
import pathlib
import sys
import tarfile
import time
import urllib.error
import urllib.request

BASE = sys.argv[1]
PASSWORD = "SomeSecurePassword!"
FIXTURE = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "docker"


def call(method, path, token=None, body=None, content_type="application/json"):
    data = None
    headers = {}
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["Content-Type"] = content_type
    if token:
        headers["Coder-Session-Token"] = token
    req = urllib.request.Request(BASE + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            text = resp.read()
    except urllib.error.HTTPError as e:
        raise SystemExit(f"seed: {method} {path}: {e.code} {e.read().decode()}")
    return json.loads(text) if text else None


def until(path, token, done):
    """Reads `path` until `done` holds of it (jobs run in the background)."""
    for _ in range(600):
        value = call("GET", path, token)
        if done(value):
            return value
        time.sleep(0.05)
    raise SystemExit(f"seed: {path} never settled")


def job_done(job):
    return job["status"] in ("succeeded", "failed", "canceled")


def main():
    first = call("POST", "/api/v2/users/first", body={
        "email": "admin@example.com", "username": "admin", "password": PASSWORD})
    org = first["organization_id"]
    token = call("POST", "/api/v2/users/login", body={
        "email": "admin@example.com", "password": PASSWORD})["session_token"]
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        for f in sorted(FIXTURE.iterdir()):
            tar.add(f, arcname=f.name)
    file_id = call("POST", "/api/v2/files", token, archive.getvalue(), "application/x-tar")["hash"]
    version = call("POST", f"/api/v2/organizations/{org}/templateversions", token, {
        "storage_method": "file", "file_id": file_id, "provisioner": "terraform"})
    version = until(f"/api/v2/templateversions/{version['id']}", token, lambda v: job_done(v["job"]))
    template = call("POST", f"/api/v2/organizations/{org}/templates", token, {
        "name": "tee", "template_version_id": version["id"]})
    member = call("POST", "/api/v2/users", token, {
        "email": "alice@example.com", "username": "alice", "password": PASSWORD,
        "organization_ids": [org]})
    workspace = call("POST", "/api/v2/users/me/workspaces", token, {
        "template_id": template["id"], "name": "dev", "ttl_ms": 3600000})
    workspace = until(f"/api/v2/workspaces/{workspace['id']}", token,
                      lambda w: job_done(w["latest_build"]["job"]))
    build = workspace["latest_build"]
    agent = next(a for r in build["resources"] for a in r.get("agents", []))
    agent_token = call("POST", f"/api/v2/workspaceagents/{agent['id']}/token", token, {})["agent_token"]
    # Issuing a token hands an agent over: the fuzzer does it to another one.
    spare_ws = call("POST", "/api/v2/users/me/workspaces", token, {
        "template_id": template["id"], "name": "spare"})
    spare_ws = until(f"/api/v2/workspaces/{spare_ws['id']}", token,
                     lambda w: job_done(w["latest_build"]["job"]))
    spare_agent = next(a for r in spare_ws["latest_build"]["resources"] for a in r.get("agents", []))
    group = call("POST", f"/api/v2/organizations/{org}/groups", token, {"name": "devs"})
    call("PATCH", f"/api/v2/groups/{group['id']}", token, {"add_users": [member["id"]]})
    spare = call("POST", "/api/v2/users/me/keys/tokens", token, {"token_name": "spare"})["key"]
    # A custom organization role, and a finished dry run of the version.
    role = call("POST", f"/api/v2/organizations/{org}/members/roles", token, {
        "name": "fuzzers", "display_name": "Fuzzers",
        "organization_permissions": [
            {"negate": False, "resource_type": "workspace", "action": "read"}]})
    dry_run = call("POST", f"/api/v2/templateversions/{version['id']}/dry-run", token, {
        "workspace_name": "dry"})
    until(f"/api/v2/templateversions/{version['id']}/dry-run/{dry_run['id']}", token, job_done)
    values = {
        "WARREN_TOKEN": token,
        "WARREN_AGENT_TOKEN": agent_token,
        "WARREN_ORG": org,
        "WARREN_TEMPLATE": template["id"],
        "WARREN_VERSION": version["id"],
        "WARREN_VERSION_NAME": version["name"],
        "WARREN_FILE": file_id,
        "WARREN_WORKSPACE": workspace["id"],
        "WARREN_BUILD": build["id"],
        "WARREN_AGENT": agent["id"],
        "WARREN_SPARE_AGENT": spare_agent["id"],
        "WARREN_GROUP": group["id"],
        "WARREN_SPARE_KEY": spare.split("-")[0],
        "WARREN_ROLE": role["name"],
        "WARREN_DRY_RUN": dry_run["id"],
    }
    for k, v in values.items():
        print(f"export {k}='{v}'")


main()
