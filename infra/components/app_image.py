"""The agent image, built from `app/Dockerfile` and pushed to a registry."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_docker as docker

from infra.components.options import child_options


def source_digest(root: Path, paths: Sequence[str]) -> str:
    """A digest of the files the image is built from: same sources, same tag."""
    digest = hashlib.sha256()
    missing = [relative for relative in paths if not (root / relative).exists()]
    if missing:
        raise FileNotFoundError(f"image build sources missing under {root}: {', '.join(missing)}")
    for relative in paths:
        target = root / relative
        files = sorted(p for p in target.rglob("*") if p.is_file()) if target.is_dir() else [target]
        for file in files:
            if "__pycache__" in file.parts:
                continue
            digest.update(str(file.relative_to(root)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


#: what goes into the image; their digest is its immutable tag
IMAGE_SOURCES = ("app", "pyproject.toml", "uv.lock", "app/Dockerfile")


def image_tag(context: Path, sources: Sequence[str] = IMAGE_SOURCES) -> str:
    """The immutable tag of the image built from `sources` under `context`."""
    return source_digest(context, sources)[:16]


def registry_fingerprint(registry_id: str) -> str:
    """A short, tag-safe stand-in for a registry instance's identity."""
    return hashlib.sha256(registry_id.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class RegistryLogin:
    """Credentials for a private registry: docker pushes with them, the cluster pulls."""

    server: str
    username: pulumi.Input[str]
    #: a secret
    password: pulumi.Input[str]


@dataclass(frozen=True)
class AppImageArgs:
    #: where to push, without tag: e.g. `localhost:5017/daca-agent`
    repository: pulumi.Input[str]
    #: the build context (the repository root: the image needs pyproject.toml and uv.lock)
    context: Path
    #: the Dockerfile, relative to the context
    dockerfile: str = "app/Dockerfile"
    #: what goes into the image; their digest is the immutable tag
    sources: tuple[str, ...] = IMAGE_SOURCES
    #: target platform; None builds for the machine's own, which is what kind's nodes run
    platform: str | None = None
    #: push credentials; None uses docker's own login (or a registry that needs none)
    registry: RegistryLogin | None = None
    #: the identity of the registry instance pushed to (a local registry's container id),
    #: for a registry whose content goes with it: a new one is empty, so its fingerprint
    #: joins the tag and the image is pushed again. None: the registry keeps its content
    registry_id: pulumi.Input[str] | None = None


class AppImage(pulumi.ComponentResource):
    """Builds and pushes the image; `ref` pins it by digest (`repo@sha256:...`)."""

    ref: pulumi.Output[str]

    def __init__(
        self, name: str, args: AppImageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("daca:image:AppImage", name, None, opts)
        sources_tag = image_tag(args.context, args.sources)
        tag: pulumi.Input[str] = sources_tag
        if args.registry_id is not None:
            # any change of docker.Image's inputs builds (from cache) and pushes again
            tag = pulumi.Output.from_input(args.registry_id).apply(
                lambda registry_id: f"{sources_tag}-{registry_fingerprint(registry_id)}"
            )
        image = docker.Image(
            f"{name}-image",
            image_name=pulumi.Output.concat(args.repository, ":", tag),
            build=docker.DockerBuildArgs(
                context=str(args.context),
                dockerfile=str(args.context / args.dockerfile),
                platform=args.platform,
            ),
            skip_push=False,
            registry=(
                docker.RegistryArgs(
                    server=args.registry.server,
                    username=args.registry.username,
                    password=args.registry.password,
                )
                if args.registry is not None
                else None
            ),
            opts=child_options(self, opts),
        )
        self.ref = image.repo_digest
        self.register_outputs({"ref": self.ref})
