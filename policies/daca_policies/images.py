"""Image policies: pinned references, pull policy, and the Dockerfiles images are built from."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .spec import (
    WORKLOAD_TYPES,
    Config,
    NotApplicable,
    PolicySpec,
    Resource,
    as_list,
    containers,
    get,
    is_unknown,
    require_pod_spec,
)

CONTAINER_APP = "azure-native:app:ContainerApp"
DOCKER_CONTAINER = "docker:index/container:Container"
DOCKER_REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
DOCKER_IMAGE = "docker:index/image:Image"
DOCKER_IMAGE = "docker:index/image:Image"
# policies/daca_policies/images.py -> the repository root, where build paths are relative to.
REPO_ROOT = Path(__file__).resolve().parents[2]


def split_image(ref: str) -> tuple[str, str | None, str | None]:
    """(repository, tag, digest) of an image reference; the registry port is not a tag."""
    name, _, digest = ref.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :], digest or None
    return name, None, digest or None


def image_problem(ref: str, config: Config) -> str | None:
    _repo, tag, digest = split_image(ref.strip())
    if digest:
        return None
    if config.get("requireDigest", False):
        return f"image {ref} is not pinned by digest (@sha256:...)"
    if tag is None:
        return f"image {ref} has no tag, so it resolves to :latest"
    if tag.lower() in {t.lower() for t in config.get("forbiddenTags", ["latest"])}:
        return f"image {ref} uses the mutable tag :{tag}"
    return None


def _image_refs(resource: Resource) -> Iterator[tuple[str, Any]]:
    if resource.type in WORKLOAD_TYPES:
        require_pod_spec(resource)
        for label, c in containers(resource):
            yield label, c.get("image")
    elif resource.type == CONTAINER_APP:
        template = get(resource.props, "template")
        if template is None:
            raise NotApplicable("template is not known (missing or unknown at preview)")
        for kind in ("containers", "initContainers"):
            for c in as_list(get(template, kind)):
                yield f"container '{get(c, 'name')}'", get(c, "image")
    elif resource.type == DOCKER_CONTAINER:
        yield "container", resource.props.get("image")
    elif resource.type == DOCKER_REMOTE_IMAGE:
        # the tag lives here; the Container that runs it only sees the pulled image's id
        yield "pulled image", resource.props.get("name")
    elif resource.type == DOCKER_IMAGE:
        yield "built image", resource.props.get("imageName")


def validate_tag_pinned(resource: Resource, config: Config) -> list[str]:
    out = []
    for label, image in _image_refs(resource):
        if is_unknown(image):
            continue  # built in the same update; the digest is known only then
        if not isinstance(image, str) or not image:
            out.append(f"{label} has no image")
            continue
        problem = image_problem(image, config)
        if problem:
            out.append(f"{label}: {problem}")
    return out


def validate_pull_policy(resource: Resource, config: Config) -> list[str]:
    require_pod_spec(resource)
    allowed = list(config.get("allowedPullPolicies", ["IfNotPresent", "Always"]))
    out = []
    for label, c in containers(resource):
        policy = c.get("imagePullPolicy")
        if policy is None or is_unknown(policy):
            continue  # the API defaults it from the tag
        if policy not in allowed:
            out.append(f"{label} uses imagePullPolicy {policy} (allowed: {', '.join(allowed)})")
    return out


# --- Dockerfile ----------------------------------------------------------------------

_FROM = re.compile(r"^FROM\s+(?:--\S+\s+)*(?P<image>\S+)(?:\s+AS\s+(?P<alias>\S+))?", re.I)
_ARG = re.compile(r"^ARG\s+(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:=(?P<value>.*))?$", re.I)
_USER = re.compile(r"^USER\s+(?P<user>\S+)", re.I)
_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}?")


def _instructions(text: str) -> list[str]:
    """Dockerfile instructions with continuations joined and comments dropped."""
    out, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        # Docker drops comment and empty lines inside a continued instruction too
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        out.append(current.strip())
        current = ""
    if current:
        out.append(current.strip())
    return out


def _expand(value: str, args: dict[str, str]) -> str:
    return _VAR.sub(lambda m: args.get(m.group(1)) or (m.group(2) or ""), value)


def _unquote(value: str) -> str:
    try:
        parts = shlex.split(value)
    except ValueError:
        return value
    return parts[0] if parts else ""


def parse_dockerfile(text: str) -> tuple[list[str], list[str | None]]:
    """Returns (base images of every stage, final USER of every stage)."""
    global_args: dict[str, str] = {}
    bases: list[str] = []
    users: list[str | None] = []
    aliases: set[str] = set()
    for ins in _instructions(text):
        if (m := _ARG.match(ins)) and not bases:
            global_args[m.group("name")] = _unquote(m.group("value") or "")
        elif m := _FROM.match(ins):
            image = _expand(m.group("image"), global_args)
            bases.append("" if image.lower() in aliases or image == "scratch" else image)
            users.append(None)
            if m.group("alias"):
                aliases.add(m.group("alias").lower())
        elif (m := _USER.match(ins)) and users:
            users[-1] = _expand(m.group("user"), global_args)
    return bases, users


def _dockerfile_path(resource: Resource, config: Config) -> Path:
    build = resource.props.get("build")
    if is_unknown(build) or (build is not None and not isinstance(build, dict)):
        raise NotApplicable("build settings are unknown at preview")
    root = Path(str(config.get("repoRoot") or REPO_ROOT))
    dockerfile, context = get(build, "dockerfile"), get(build, "context")
    if dockerfile is None and context is None:
        raise NotApplicable("the image has no build (it is pulled, not built)")
    candidates = []
    if isinstance(dockerfile, str):
        candidates += [root / dockerfile]
        if isinstance(context, str):
            candidates.append(root / context / dockerfile)
    elif isinstance(context, str):
        candidates.append(root / context / "Dockerfile")
    for path in candidates:
        if path.is_file():
            return path
    raise NotApplicable(f"Dockerfile not found at {candidates[0]}")


ROOT_USERS = {"root", "0"}


def validate_dockerfile_user(resource: Resource, config: Config) -> list[str]:
    path = _dockerfile_path(resource, config)
    bases, users = parse_dockerfile(path.read_text(encoding="utf-8"))
    if not bases:
        return [f"{path.name} has no FROM instruction"]
    user = users[-1]
    if user is None:
        return [f"{path.name}: the final stage has no USER, so the container runs as root"]
    if user.split(":", 1)[0].lower() in ROOT_USERS:
        return [f"{path.name}: the final stage runs as USER {user}"]
    return []


def validate_dockerfile_base(resource: Resource, config: Config) -> list[str]:
    path = _dockerfile_path(resource, config)
    bases, _ = parse_dockerfile(path.read_text(encoding="utf-8"))
    out = []
    for base in bases:
        if base and (problem := image_problem(base, config)):
            out.append(f"{path.name}: base {problem}")
    return out


_PIN_SCHEMA = {
    "requireDigest": {
        "type": "boolean",
        "default": False,
        "description": "Require @sha256 digests rather than fixed tags.",
    },
    "forbiddenTags": {
        "type": "array",
        "items": {"type": "string"},
        "default": ["latest"],
        "description": "Mutable tags that never count as pinned.",
    },
}
_DOCKERFILE_SCHEMA = {
    "repoRoot": {
        "type": "string",
        "default": "",
        "description": "Directory build paths are relative to (default: the repository root).",
    }
}

POLICIES: list[PolicySpec] = [
    PolicySpec(
        name="images-container-tag-pinned",
        description="Container images must be pinned: a fixed tag or a digest, never :latest "
        "or no tag.",
        severity="high",
        enforcement="mandatory",
        remediation="Reference images by digest (repo@sha256:...) or an immutable version tag.",
        config_schema=_PIN_SCHEMA,
        resource_types=(
            *WORKLOAD_TYPES,
            CONTAINER_APP,
            DOCKER_CONTAINER,
            DOCKER_REMOTE_IMAGE,
            DOCKER_IMAGE,
        ),
        validate_resource=validate_tag_pinned,
    ),
    PolicySpec(
        name="images-container-pull-policy",
        description="Containers must use an allowed imagePullPolicy.",
        severity="low",
        enforcement="advisory",
        remediation="Use IfNotPresent with pinned images; 'Never' only where images are "
        "side-loaded (kind), allowed through the stack's config.",
        config_schema={
            "allowedPullPolicies": {
                "type": "array",
                "items": {"enum": ["Always", "IfNotPresent", "Never"]},
                "default": ["IfNotPresent", "Always"],
                "description": "imagePullPolicy values this stack may use.",
            }
        },
        resource_types=WORKLOAD_TYPES,
        validate_resource=validate_pull_policy,
    ),
    PolicySpec(
        name="images-dockerfile-nonroot-user",
        description="Images built by the stack must end with a non-root USER.",
        severity="high",
        enforcement="mandatory",
        remediation="Add `USER <uid>` (non-zero) to the final stage of the Dockerfile.",
        config_schema=_DOCKERFILE_SCHEMA,
        resource_types=(DOCKER_IMAGE,),
        validate_resource=validate_dockerfile_user,
    ),
    PolicySpec(
        name="images-dockerfile-base-pinned",
        description="Dockerfile base images must be pinned by tag or digest.",
        severity="high",
        enforcement="mandatory",
        remediation="Pin every FROM to a fixed version tag, ideally with @sha256 digest.",
        config_schema={**_PIN_SCHEMA, **_DOCKERFILE_SCHEMA},
        resource_types=(DOCKER_IMAGE,),
        validate_resource=validate_dockerfile_base,
    ),
]
