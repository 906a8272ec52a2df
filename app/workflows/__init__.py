"""Durable workflows: one port (``port.py``), written against by the workflow code, and two
adapters that run it — Dapr Workflows (``dapr_engine.py``) and the app's own state machine on
the ETag-guarded state store (``state_machine.py``, for ``aca`` and laptops)."""
