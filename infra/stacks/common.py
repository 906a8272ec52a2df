"""What every stage derives the same way from the config."""

from __future__ import annotations

from infra.config import StackConfig
from infra.config.kubernetes import KubernetesStackConfig
from infra.dapr.spec import PUBSUB, SECRETSTORE, STATESTORE


def app_environment(config: StackConfig) -> dict[str, str]:
    """The app's plain settings (see app/README.md); the model key goes separately."""
    model = config.app.model
    env = {
        "DACA_STATESTORE": STATESTORE,
        "DACA_PUBSUB": PUBSUB,
        "DACA_PUBSUB_TOPIC": config.app.pubsub_topic,
        "DACA_SECRETSTORE": SECRETSTORE,
        # without a key the app runs its offline model, whatever the config says
        "DACA_MODEL_PROVIDER": model.provider if config.model_api_key else "offline",
        "DACA_MODEL_NAME": model.name,
        "DACA_WORKFLOW_ENGINE": config.app.workflow_engine,
    }
    if model.base_url:
        env["DACA_MODEL_BASE_URL"] = model.base_url
    if isinstance(config, KubernetesStackConfig) and config.llm.enabled:
        # the in-cluster server (daca:llm): no key needed, whatever daca:app.model says
        env["DACA_MODEL_PROVIDER"] = "openai-compatible"
        env["DACA_MODEL_NAME"] = config.llm.served_model
        env["DACA_MODEL_BASE_URL"] = config.llm.base_url
    return env
