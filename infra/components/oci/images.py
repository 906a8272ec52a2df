"""Finding the node image: Canonical's aarch64 platform image for A1, never a Minimal one."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_oci as oci

from infra.config.oci import A1_SHAPE, OciImageConfig


def image_name_pattern(version: str) -> str:
    """Display names of the full images, e.g. `Canonical-Ubuntu-24.04-aarch64-2026.09.18-0`.

    Minimal (`…-24.04-Minimal-aarch64-…`) and GPU variants carry more words and do not
    match: Go's regexp (the provider's) has no look-ahead, so the pattern is anchored.
    """
    return rf"^Canonical-Ubuntu-{re.escape(version)}-aarch64-\d{{4}}\.\d{{2}}\.\d{{2}}-\d+$"


def newest_image_id(images: Sequence[Any], version: str) -> str:
    """The id of the first image (the provider sorts newest first); a clear error if none."""
    if not images:
        raise ValueError(
            f"no Canonical Ubuntu {version} aarch64 image for {A1_SHAPE} in this region and "
            "compartment; set daca:oci.image.id to an image OCID "
            "(`oci compute image list --shape VM.Standard.A1.Flex`)"
        )
    first = images[0]
    return str(first["id"] if isinstance(first, dict) else first.id)


def node_image_id(
    compartment_id: pulumi.Input[str], config: OciImageConfig, opts: pulumi.InvokeOutputOptions
) -> pulumi.Output[str]:
    """The pinned image, or the newest matching platform image for the A1 shape."""
    if config.id is not None:
        return pulumi.Output.from_input(config.id)
    found = oci.core.get_images_output(
        compartment_id=compartment_id,
        operating_system=config.operating_system,
        operating_system_version=config.operating_system_version,
        shape=A1_SHAPE,
        sort_by="TIMECREATED",
        sort_order="DESC",
        filters=[
            {
                "name": "display_name",
                "values": [image_name_pattern(config.operating_system_version)],
                "regex": True,
            }
        ],
        opts=opts,
    )
    return found.images.apply(
        lambda images: newest_image_id(images, config.operating_system_version)
    )
