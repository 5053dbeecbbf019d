"""Container checks beyond probes, resources and security: image references and secrets in env."""

from __future__ import annotations

import re
from collections.abc import Iterator

from pytest_artemis.checks.manifests.context import CheckContext
from pytest_artemis.checks.manifests.model import ManifestObject
from pytest_artemis.checks.registry import check
from pytest_artemis.findings import Finding

__all__ = ["CREDENTIAL_URL", "SECRET_NAME", "image_tag"]

#: Environment variable names whose plain value is most likely a secret.
SECRET_NAME = re.compile(r"(^|_)(KEY|TOKEN|PASS|PASSWD)$|PASSWORD|SECRET|CREDENTIAL", re.IGNORECASE)
#: A URL with a user:password part (redis://:pw@host, postgres://user:pw@host/db).
CREDENTIAL_URL = re.compile(r"^[a-z][a-z0-9+.\-]*://[^/\s@:]*:[^/\s@]+@", re.IGNORECASE)


def image_tag(image: str) -> tuple[str | None, bool]:
    """(tag, pinned by digest) of an image reference; tag None when there is none."""
    if "@" in image:
        return None, True
    last = image.rsplit("/", 1)[-1]
    return (last.split(":", 1)[1] if ":" in last else None), False


@check("image-tag-mutable", area="manifests", target="workload", severity="critical",
       fix="use an immutable tag (a version such as 1.4.2) or pin the digest (image@sha256:...)",
       why="Kubernetes' configuration best practices advise against :latest in production: what a node pulls "
           "changes without a deploy, nodes end up running different builds, and rolling back to the same tag "
           "restores nothing. The API accepts any image reference.")
def image_tag_mutable(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """Container image has no tag or uses latest: what runs changes without a deploy."""
    for container in obj.containers():
        image = str(container.get("image", ""))
        if not image:
            continue
        tag, pinned = image_tag(image)
        if not pinned and tag in (None, "latest"):
            shown = "no tag (means latest)" if tag is None else "tag latest"
            yield obj.finding("image-tag-mutable", f"image {image} has {shown}: rollbacks and nodes can run "
                                                   "different builds", container=str(container.get("name", "")))


@check("image-pull-policy", area="manifests", target="workload", severity="warning",
       fix="set imagePullPolicy: IfNotPresent with an immutable tag or digest (Always only for mutable tags)",
       why="Unset, Kubernetes pulls Always for :latest or no tag and IfNotPresent otherwise; a mutable tag with "
           "IfNotPresent leaves each node on the build it pulled first, and Never starts only where the image "
           "was preloaded. An unset policy is only recorded (info).")
def image_pull_policy(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """imagePullPolicy Never, or a mutable tag not pulled Always (nodes keep stale builds); unset: info."""
    for container in obj.containers():
        image = str(container.get("image", ""))
        policy = container.get("imagePullPolicy")
        name = str(container.get("name", ""))
        tag, pinned = image_tag(image)
        mutable = not pinned and tag in (None, "latest")
        if policy == "Never":
            yield obj.finding("image-pull-policy", "imagePullPolicy Never: a node without the image cannot "
                                                   "start the pod", container=name)
        elif mutable and policy not in (None, "Always"):
            yield obj.finding("image-pull-policy", f"imagePullPolicy {policy} with a mutable tag: nodes keep "
                                                   "whatever build they pulled first", container=name)
        elif policy is None:
            yield obj.finding("image-pull-policy", "imagePullPolicy not set: the default depends on the tag",
                              container=name, severity="info")


@check("secret-in-env", area="manifests", target="workload", severity="critical",
       fix="move the value into a Secret and use env[].valueFrom.secretKeyRef",
       why="A plain env value is in the manifest, its Git history and every `kubectl get -o yaml` of the "
           "workload, readable by whoever may read the Deployment; a Secret behind secretKeyRef keeps it out of "
           "the spec and under its own RBAC (Polaris: sensitiveContainerEnvVar).")
def secret_in_env(obj: ManifestObject, ctx: CheckContext) -> Iterator[Finding]:
    """Plain env value that looks like a secret (*_KEY, *_TOKEN, *PASSWORD*, URL with credentials)."""
    for container in obj.containers():
        for env in container.get("env") or ():
            if not isinstance(env, dict) or not isinstance(env.get("value"), str) or not env["value"]:
                continue
            name, value = str(env.get("name", "")), env["value"]
            if value.startswith("$(") and value.endswith(")"):
                continue  # a reference to another variable, not a literal
            if CREDENTIAL_URL.match(value):
                yield obj.finding("secret-in-env", f"env {name} holds a URL with credentials in plain text",
                                  container=str(container.get("name", "")))
            elif SECRET_NAME.search(name):
                yield obj.finding("secret-in-env", f"env {name} has a plain value: it looks like a secret",
                                  container=str(container.get("name", "")))
