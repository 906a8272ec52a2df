"""The agent service's settings: one typed class, read once from the environment."""

from __future__ import annotations

import os
import re
from enum import StrEnum
from typing import Annotated, Any, Self
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "DACA_"

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}

#: comma-separated in the environment, a tuple of lower-case hex digests in the settings
KeyDigests = Annotated[tuple[str, ...], NoDecode]


def is_loopback_url(url: str) -> bool:
    """True for http(s) URLs whose host is this machine (a local identity provider)."""
    return (urlsplit(url).hostname or "") in _LOOPBACK_HOSTS


class ModelProviderName(StrEnum):
    """Which model backs the agent."""

    OFFLINE = "offline"
    OPENAI = "openai"
    OPENAI_COMPATIBLE = "openai-compatible"


class WorkflowEngineName(StrEnum):
    """Which adapter runs the durable workflows."""

    #: the app's own state machine on the state store (aca, laptops): works everywhere
    STATE_MACHINE = "state-machine"
    #: Dapr Workflows (daprd >= 1.18 with an actor state store)
    DAPR = "dapr"


class TimeoutAction(StrEnum):
    """What a moderation review does when nobody decides before its deadline."""

    REJECT = "reject"
    ESCALATE = "escalate"


class LogLevel(StrEnum):
    """Standard logging levels accepted by ``DACA_LOG_LEVEL``."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class SettingsError(Exception):
    """Raised at startup when a setting is invalid; the message names the variable."""


class Settings(BaseSettings):
    """Every knob of the agent service. Environment variables use the ``DACA_`` prefix,
    except the ones other systems own (``OPENAI_API_KEY``, ``DAPR_*``)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        case_sensitive=False,
        extra="ignore",
        frozen=True,
        validate_default=True,
    )

    host: str = Field(default="0.0.0.0", description="Interface `python -m app` binds.")  # noqa: S104 - a container must listen on all interfaces
    port: Annotated[int, Field(ge=1, le=65535)] = Field(
        default=8000, description="Port `python -m app` (the image's CMD) listens on."
    )
    log_level: LogLevel = Field(default=LogLevel.INFO, description="Log level of app and uvicorn.")

    model_provider: ModelProviderName | None = Field(
        default=None,
        description="`offline`, `openai` or `openai-compatible`; default: `openai` when "
        "OPENAI_API_KEY is set, else `offline`.",
    )
    model_name: str = Field(
        default="gpt-4.1-mini",
        min_length=1,
        description="Model name sent to the provider (ignored by `offline`).",
    )
    model_base_url: str | None = Field(
        default=None,
        description="Base URL of an OpenAI-compatible endpoint (required for "
        "`openai-compatible`), e.g. http://vllm:8000/v1.",
    )
    openai_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("OPENAI_API_KEY"),
        description="Model API key (env OPENAI_API_KEY, from a k8s secretKeyRef / ACA secretRef).",
    )
    openai_key_secret: str | None = Field(
        default=None,
        description="If set and OPENAI_API_KEY is empty, read the key from this secret in the "
        "Dapr secret store (only with a sidecar).",
    )
    openai_key_secret_field: str | None = Field(
        default=None,
        description="Field inside that secret; default: the secret's name.",
    )
    model_check_ttl_seconds: Annotated[float, Field(ge=1, le=3600)] = Field(
        default=5.0,
        description="How long /readyz reuses its last model reachability answer (not for "
        "the offline model).",
    )
    model_check_timeout_seconds: Annotated[float, Field(gt=0, le=30)] = Field(
        default=2.0,
        description="Deadline of one model reachability check (GET <base URL>/models).",
    )
    tracing: bool = Field(
        default=False,
        description="Export Agents SDK traces to OpenAI (only with the `openai` provider).",
    )

    statestore: str = Field(default="statestore", min_length=1, description="Dapr state store.")
    pubsub: str = Field(default="pubsub", min_length=1, description="Dapr pub/sub component.")
    pubsub_topic: str = Field(
        default="agent-events", min_length=1, description="Topic the app publishes events on."
    )
    review_topic: str = Field(
        default="agent-reviews",
        min_length=1,
        description="Topic the app subscribes to for review decisions.",
    )
    secretstore: str = Field(default="secretstore", min_length=1, description="Dapr secret store.")
    event_source: str = Field(
        default="daca-agent", min_length=1, description="CloudEvent `source` of published events."
    )

    max_body_bytes: Annotated[int, Field(ge=1024)] = Field(
        default=64 * 1024, description="Request bodies larger than this get 413."
    )
    max_input_chars: Annotated[int, Field(ge=1)] = Field(
        default=4000, description="The input guardrail rejects longer messages (422)."
    )
    history_window: Annotated[int, Field(ge=0)] = Field(
        default=20, description="How many past messages the agent sees."
    )
    review_confidence_threshold: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        default=0.5, description="Replies the agent rates below this confidence are held."
    )
    agent_max_turns: Annotated[int, Field(ge=1, le=50)] = Field(
        default=6, description="Upper bound on model calls per agent run."
    )

    state_max_retries: Annotated[int, Field(ge=0, le=100)] = Field(
        default=12, description="ETag conflicts retried per write before giving up (503)."
    )
    state_retry_base_ms: Annotated[float, Field(gt=0)] = Field(
        default=5.0, description="First back-off between conflict retries; doubles, with jitter."
    )
    state_retry_max_ms: Annotated[float, Field(gt=0)] = Field(
        default=250.0, description="Cap on one conflict back-off."
    )

    sidecar_wait_seconds: Annotated[float, Field(ge=0)] = Field(
        default=30.0,
        description="How long startup waits for the Dapr sidecar before serving (readyz stays "
        "503 until it answers).",
    )
    dapr_timeout_seconds: Annotated[float, Field(gt=0)] = Field(
        default=5.0, description="Deadline for one call to the sidecar."
    )
    retry_after_seconds: Annotated[int, Field(ge=1)] = Field(
        default=2, description="Retry-After sent with 503 answers."
    )

    dapr_grpc_port: Annotated[int, Field(ge=1, le=65535)] | None = Field(
        default=None,
        validation_alias=AliasChoices("DAPR_GRPC_PORT"),
        description="Set by the Dapr injector; with DAPR_HTTP_PORT it switches the app to Dapr.",
    )
    dapr_http_port: Annotated[int, Field(ge=1, le=65535)] | None = Field(
        default=None,
        validation_alias=AliasChoices("DAPR_HTTP_PORT"),
        description="Set by the Dapr injector; the sidecar health endpoint's port.",
    )
    dapr_host: str = Field(
        default="127.0.0.1",
        validation_alias=AliasChoices("DAPR_RUNTIME_HOST"),
        description="Sidecar host (the SDK's DAPR_RUNTIME_HOST).",
    )
    dapr_api_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("DAPR_API_TOKEN"),
        description="Sidecar API token, when Dapr API token auth is on.",
    )
    app_api_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("APP_API_TOKEN"),
        description="Token the sidecar sends in `dapr-api-token` on every call to the app "
        "(Dapr's dapr.io/app-token-secret); when set, /dapr/* requires it.",
    )

    api_keys: KeyDigests = Field(
        default=(),
        description="Comma-separated SHA-256 hex digests of the users' API keys.",
    )
    reviewer_keys: KeyDigests = Field(
        default=(),
        description="Comma-separated SHA-256 hex digests of the reviewers' API keys (a "
        "reviewer may also use the user routes).",
    )
    oidc_issuer: str | None = Field(
        default=None,
        description="OIDC issuer URL; with DACA_OIDC_AUDIENCE, bearer JWTs it signed are "
        "accepted (keys from its JWKS, found through /.well-known/openid-configuration).",
    )
    oidc_audience: str | None = Field(
        default=None, description="The `aud` an accepted JWT must carry."
    )
    oidc_reviewer_claim: str = Field(
        default="roles",
        min_length=1,
        description="Claim naming a token's roles; a dotted path reaches into objects "
        "(`realm_access.roles`). A list, or a space-separated string.",
    )
    oidc_reviewer_value: str = Field(
        default="reviewer",
        min_length=1,
        description="Value of that claim that makes the caller a reviewer.",
    )
    oidc_jwks_ttl_seconds: Annotated[float, Field(gt=0)] = Field(
        default=600.0, description="How long the issuer's signing keys are cached."
    )
    rate_limit_per_minute: Annotated[int, Field(ge=0)] = Field(
        default=120,
        description="Requests per minute per principal on /v1 (per replica); 0 disables.",
    )
    metrics_port: Annotated[int, Field(ge=1, le=65535)] | None = Field(
        default=None,
        description="When set, /metrics is served on this port by a separate listener and "
        "no longer on the main port.",
    )

    workflow_engine: WorkflowEngineName = Field(
        default=WorkflowEngineName.STATE_MACHINE,
        description="`state-machine` (the app's own, on the state store: every stage) or "
        "`dapr` (Dapr Workflows: needs a sidecar, daprd >= 1.18 and an actor state store).",
    )
    workflow_tick_seconds: Annotated[float, Field(ge=0)] = Field(
        default=1.0,
        description="state-machine engine: how often due timers are fired (0: only by the "
        "sweep and on events).",
    )
    workflow_lease_seconds: Annotated[float, Field(gt=0)] = Field(
        default=60.0,
        description="state-machine engine: how long a replica holds a running instance "
        "before another may take it over.",
    )
    moderation_review_threshold: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        default=0.5, description="Content whose aggregate risk reaches this waits for a human."
    )
    moderation_review_deadline_seconds: Annotated[float, Field(gt=0)] = Field(
        default=3600.0, description="How long a moderation review waits for a decision."
    )
    moderation_on_timeout: TimeoutAction = Field(
        default=TimeoutAction.REJECT,
        description="`reject` (status timed_out) or `escalate` (the review stays open for "
        "DACA_MODERATION_ESCALATION_SECONDS more, marked escalated, then times out).",
    )
    moderation_escalation_seconds: Annotated[float, Field(gt=0)] = Field(
        default=3600.0, description="Extra time an escalated moderation review gets."
    )
    moderation_retry_attempts: Annotated[int, Field(ge=1, le=20)] = Field(
        default=4, description="Attempts per specialist before the moderation fails."
    )
    moderation_retry_first_seconds: Annotated[float, Field(ge=0)] = Field(
        default=1.0, description="First back-off between specialist attempts; doubles."
    )
    monitor_interval_seconds: Annotated[float, Field(ge=0)] = Field(
        default=60.0,
        description="How often the monitor workflow checks the model and the sidecar "
        "(0: no monitor).",
    )
    review_deadline_seconds: Annotated[float, Field(ge=0)] = Field(
        default=7 * 24 * 3600.0,
        description="A conversation review still pending this long is closed by the sweep "
        "(the reply withheld); 0: never.",
    )
    session_retention_seconds: Annotated[float, Field(ge=0)] = Field(
        default=30 * 24 * 3600.0,
        description="The sweep deletes sessions idle this long; 0: keep forever.",
    )
    sweep_interval_seconds: Annotated[float, Field(gt=0)] = Field(
        default=300.0,
        description="The sweep binding's period: at most one sweep per period runs, "
        "whatever the number of replicas.",
    )

    @field_validator("api_keys", "reviewer_keys", mode="before")
    @classmethod
    def _parse_digests(cls, value: Any) -> tuple[str, ...]:
        entries = value.split(",") if isinstance(value, str) else list(value or ())
        digests: list[str] = []
        for position, entry in enumerate(entries, start=1):
            digest = str(entry).strip().lower()
            if not digest:
                continue
            if not _SHA256_HEX.match(digest):
                # the value is never echoed: someone may have pasted a key, not its digest
                raise ValueError(
                    f"entry {position} is not a SHA-256 hex digest (64 hex characters); list "
                    'the digests of the keys (`printf %s "$KEY" | sha256sum`), not the keys'
                )
            if digest not in digests:
                digests.append(digest)
        return tuple(digests)

    @field_validator("oidc_issuer", "oidc_audience", "app_api_token", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # infra may render an unset optional as an empty variable
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _check_auth(self) -> Self:
        if bool(self.oidc_issuer) != bool(self.oidc_audience):
            raise ValueError("DACA_OIDC_ISSUER and DACA_OIDC_AUDIENCE must be set together")
        if self.oidc_issuer is not None:
            scheme = urlsplit(self.oidc_issuer).scheme
            if not (scheme == "https" or (scheme == "http" and is_loopback_url(self.oidc_issuer))):
                raise ValueError(
                    f"DACA_OIDC_ISSUER must be an https:// URL (http:// only for localhost), "
                    f"got {self.oidc_issuer!r}"
                )
        digests = set(self.api_keys) | set(self.reviewer_keys)
        if len({digest[:12] for digest in digests}) != len(digests):
            raise ValueError(
                "two different keys in DACA_API_KEYS/DACA_REVIEWER_KEYS share their first 12 "
                "digest characters (the principal id); generate a new key"
            )
        return self

    @model_validator(mode="after")
    def _check_metrics_port(self) -> Self:
        if self.metrics_port is not None and self.metrics_port == self.port:
            raise ValueError("DACA_METRICS_PORT must differ from DACA_PORT")
        return self

    @model_validator(mode="after")
    def _check_provider(self) -> Self:
        provider = self.effective_provider
        if provider is ModelProviderName.OPENAI_COMPATIBLE and not self.model_base_url:
            raise ValueError(
                "DACA_MODEL_BASE_URL is required when DACA_MODEL_PROVIDER=openai-compatible"
            )
        if self.model_base_url and not self.model_base_url.startswith(("http://", "https://")):
            raise ValueError(
                f"DACA_MODEL_BASE_URL must start with http:// or https://, "
                f"got {self.model_base_url!r}"
            )
        if (
            provider is ModelProviderName.OPENAI
            and not self.has_api_key
            and not (self.openai_key_secret and self.sidecar_enabled)
        ):
            raise ValueError(
                "DACA_MODEL_PROVIDER=openai needs OPENAI_API_KEY (or DACA_OPENAI_KEY_SECRET "
                "with a Dapr sidecar)"
            )
        if self.workflow_engine is WorkflowEngineName.DAPR and not self.sidecar_enabled:
            raise ValueError(
                "DACA_WORKFLOW_ENGINE=dapr needs a Dapr sidecar (DAPR_GRPC_PORT/DAPR_HTTP_PORT); "
                "without one use state-machine"
            )
        if self.state_retry_max_ms < self.state_retry_base_ms:
            raise ValueError("DACA_STATE_RETRY_MAX_MS must be >= DACA_STATE_RETRY_BASE_MS")
        return self

    @property
    def effective_provider(self) -> ModelProviderName:
        """The provider in use: the explicit one, else `openai` with a key, else `offline`."""
        if self.model_provider is not None:
            return self.model_provider
        if self.has_api_key:
            return ModelProviderName.OPENAI
        return ModelProviderName.OFFLINE

    @property
    def has_api_key(self) -> bool:
        """True when OPENAI_API_KEY holds a non-empty value."""
        return self.openai_api_key is not None and bool(self.openai_api_key.get_secret_value())

    @property
    def oidc_enabled(self) -> bool:
        """True when bearer JWTs from DACA_OIDC_ISSUER are accepted."""
        return self.oidc_issuer is not None and self.oidc_audience is not None

    @property
    def credentials_configured(self) -> bool:
        """True when any way to authenticate is configured (keys or OIDC)."""
        return bool(self.api_keys or self.reviewer_keys) or self.oidc_enabled

    @property
    def sidecar_enabled(self) -> bool:
        """True when the Dapr injector announced a sidecar (DAPR_GRPC_PORT/DAPR_HTTP_PORT)."""
        return self.dapr_grpc_port is not None or self.dapr_http_port is not None

    @property
    def dapr_grpc_address(self) -> str:
        """host:port of the sidecar's gRPC API (the SDK's default port when unset)."""
        return f"{self.dapr_host}:{self.dapr_grpc_port or 50001}"

    @property
    def dapr_http_base(self) -> str:
        """Base URL of the sidecar's HTTP API (the SDK's default port when unset)."""
        return f"http://{self.dapr_host}:{self.dapr_http_port or 3500}"


def _env_name(loc: tuple[int | str, ...]) -> str | None:
    if not loc:
        return None
    field_name = str(loc[0])
    if field_name.isupper():  # errors on aliased fields are reported under the alias
        return field_name
    field = Settings.model_fields.get(field_name)
    if field is not None and isinstance(field.validation_alias, AliasChoices):
        return str(field.validation_alias.choices[0])
    return f"{ENV_PREFIX}{field_name.upper()}"


def load_settings(**overrides: Any) -> Settings:
    """Read the settings from the environment (``overrides`` win), or raise
    :class:`SettingsError` naming each bad variable and its value."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            message = str(error["msg"]).removeprefix("Value error, ")
            name = _env_name(tuple(error["loc"]))
            if name is None:  # a cross-field check: its message names the variables
                problems.append(message)
                continue
            value = os.environ.get(name)
            secret = "KEY" in name or "TOKEN" in name
            shown = "" if value is None or secret else f"={value!r}"
            problems.append(f"{name}{shown}: {message}")
        raise SettingsError("invalid settings: " + "; ".join(problems)) from None
