"""Who may call what: API keys and OIDC tokens on /v1, the sidecar alone on /dapr, and a
request budget per caller. See app/README.md, "Authentication"."""
