"""Static checks of the image definition (no Docker engine here to build it)."""

from __future__ import annotations

import re
import shlex
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from app.healthcheck import check

ROOT = Path(__file__).resolve().parents[2]
BUILD_TOOLS = ("apt-get", "apk ", "gcc", "build-essential", "make ", "pip install", "uv ")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = (ROOT / "app" / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    parsed = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            parsed.append((keyword.upper(), rest.strip()))
    return parsed


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for instruction in instructions():
        if instruction[0] == "FROM":
            result.append([])
        result[-1].append(instruction)
    return result


def test_every_base_image_is_pinned_to_an_exact_version() -> None:
    images = [args.split()[0] for keyword, args in instructions() if keyword == "FROM"]
    assert images, "no FROM"
    for image in images:
        _name, _, tag = image.partition(":")
        assert tag, image
        assert tag != "latest", image
        assert re.match(r"^\d+\.\d+\.\d+", tag), f"{image}: tag is not an exact version"
    assert any(image.startswith("ghcr.io/astral-sh/uv:") for image in images)
    assert any(re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", image) for image in images)


def test_dependencies_come_from_the_lock_without_dev_or_infra_groups() -> None:
    runs = " ".join(args for keyword, args in instructions() if keyword == "RUN")
    sync = re.search(r"uv sync[^&;]*", runs)
    assert sync is not None
    for flag in ("--frozen", "--no-default-groups", "--no-install-project"):
        assert flag in sync.group(0)


def test_final_stage_is_non_root_read_only_friendly_and_tool_free() -> None:
    final = stages()[-1]
    keywords = [keyword for keyword, _ in final]
    assert "RUN" not in keywords, "the runtime stage must not run installers"
    text = " ".join(args for _, args in final)
    for tool in BUILD_TOOLS:
        assert tool not in text.replace("/usr/local/bin/uv", ""), tool
    user = [args for keyword, args in final if keyword == "USER"]
    assert user
    assert re.fullmatch(r"10001(:10001)?", user[-1])
    env = " ".join(args for keyword, args in final if keyword == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert "HOME=/tmp" in env
    assert "TMPDIR=/tmp" in env
    assert ("EXPOSE", "8000") in final
    healthcheck = [args for keyword, args in final if keyword == "HEALTHCHECK"]
    assert healthcheck
    assert '"python"' in healthcheck[0]
    assert "curl" not in healthcheck[0]
    cmd = [args for keyword, args in final if keyword == "CMD"]
    assert shlex.split(cmd[-1].replace(",", " ")) == ["[python", "-m", "app]"]


def test_build_context_keeps_the_venv_and_secrets_out() -> None:
    rules = (ROOT / ".dockerignore").read_text().splitlines()
    assert "*" in rules
    for needed in ("!pyproject.toml", "!uv.lock", "!app/"):
        assert needed in rules


@pytest.mark.timeout(20)
def test_healthcheck_module_reports_the_probe_result() -> None:
    class Healthz(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = HTTPServer(("127.0.0.1", 0), Healthz)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert check(server.server_address[1]) is True
    finally:
        server.shutdown()
        server.server_close()
    assert check(server.server_address[1], timeout=0.5) is False
