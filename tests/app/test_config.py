"""Settings: defaults, the provider rule, and startup failures that name the variable."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app.config import ModelProviderName, SettingsError, load_settings


def test_defaults_are_the_documented_ones() -> None:
    settings = load_settings()
    assert settings.port == 8000
    assert settings.effective_provider is ModelProviderName.OFFLINE
    assert (settings.statestore, settings.pubsub, settings.secretstore) == (
        "statestore",
        "pubsub",
        "secretstore",
    )
    assert settings.pubsub_topic == "agent-events"
    assert settings.sidecar_enabled is False


def test_openai_is_the_default_when_a_key_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert load_settings().effective_provider is ModelProviderName.OPENAI
    monkeypatch.setenv("OPENAI_API_KEY", "")
    assert load_settings().effective_provider is ModelProviderName.OFFLINE


def test_sidecar_is_detected_from_the_injectors_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DAPR_GRPC_PORT", "50001")
    monkeypatch.setenv("DAPR_HTTP_PORT", "3500")
    settings = load_settings()
    assert settings.sidecar_enabled
    assert settings.dapr_grpc_address == "127.0.0.1:50001"


def test_auth_settings_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    digest = "AB" * 32
    monkeypatch.setenv("DACA_API_KEYS", f"{digest}, {'cd' * 32},")
    monkeypatch.setenv("DACA_REVIEWER_KEYS", "")
    monkeypatch.setenv("DACA_OIDC_ISSUER", "")
    monkeypatch.setenv("APP_API_TOKEN", "")
    monkeypatch.setenv("DACA_METRICS_PORT", "9464")
    settings = load_settings()
    assert settings.api_keys == ("ab" * 32, "cd" * 32)
    assert settings.reviewer_keys == ()
    assert settings.oidc_issuer is None
    assert settings.app_api_token is None
    assert settings.metrics_port == 9464
    assert settings.rate_limit_per_minute == 120
    assert (settings.oidc_reviewer_claim, settings.oidc_reviewer_value) == ("roles", "reviewer")
    assert settings.credentials_configured


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DACA_PORT": "eighty"}, "DACA_PORT='eighty'"),
        ({"DACA_PORT": "70000"}, "DACA_PORT='70000'"),
        ({"DACA_MODEL_PROVIDER": "anthropic"}, "DACA_MODEL_PROVIDER='anthropic'"),
        ({"DACA_MODEL_PROVIDER": "openai-compatible"}, "DACA_MODEL_BASE_URL is required"),
        (
            {"DACA_MODEL_PROVIDER": "openai-compatible", "DACA_MODEL_BASE_URL": "vllm:8000"},
            "DACA_MODEL_BASE_URL must start with http",
        ),
        ({"DACA_MODEL_PROVIDER": "openai"}, "needs OPENAI_API_KEY"),
        ({"DACA_MAX_BODY_BYTES": "10"}, "DACA_MAX_BODY_BYTES='10'"),
        ({"DAPR_GRPC_PORT": "x"}, "DAPR_GRPC_PORT='x'"),
        ({"DACA_LOG_LEVEL": "loud"}, "DACA_LOG_LEVEL='loud'"),
        ({"DACA_API_KEYS": "abc"}, "DACA_API_KEYS: entry 1 is not a SHA-256 hex digest"),
        ({"DACA_REVIEWER_KEYS": f"{'a' * 64},{'g' * 64}"}, "DACA_REVIEWER_KEYS: entry 2"),
        ({"DACA_OIDC_ISSUER": "https://idp.example"}, "must be set together"),
        ({"DACA_OIDC_AUDIENCE": "api"}, "must be set together"),
        (
            {"DACA_OIDC_ISSUER": "http://idp.example", "DACA_OIDC_AUDIENCE": "api"},
            "DACA_OIDC_ISSUER must be an https:// URL",
        ),
        ({"DACA_RATE_LIMIT_PER_MINUTE": "-1"}, "DACA_RATE_LIMIT_PER_MINUTE='-1'"),
        ({"DACA_METRICS_PORT": "8000"}, "DACA_METRICS_PORT must differ from DACA_PORT"),
        ({"DACA_METRICS_PORT": "0"}, "DACA_METRICS_PORT='0'"),
        (
            {"DACA_API_KEYS": "a" * 64, "DACA_REVIEWER_KEYS": "a" * 12 + "b" * 52},
            "share their first 12 digest characters",
        ),
    ],
)
def test_bad_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert expected in str(caught.value)


def test_secret_values_are_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAPR_API_TOKEN", "token-PLANTED")
    monkeypatch.setenv("APP_API_TOKEN", "token-PLANTED")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-PLANTED")
    monkeypatch.setenv("DACA_API_KEYS", "raw-key-PLANTED-instead-of-its-digest")
    monkeypatch.setenv("DAPR_GRPC_PORT", "not-a-port")  # makes loading fail
    monkeypatch.setenv("DACA_PORT", "nope")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "DACA_PORT" in message
    assert "DACA_API_KEYS" in message
    assert "PLANTED" not in message


@pytest.mark.timeout(60)
def test_container_entrypoint_exits_2_with_the_variable_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DACA_PORT", "not-a-port")
    result = subprocess.run(
        [sys.executable, "-m", "app"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "DACA_PORT='not-a-port'" in result.stderr
    assert "Traceback" not in result.stderr
