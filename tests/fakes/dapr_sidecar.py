"""A fake Dapr sidecar speaking Dapr's own gRPC API (``dapr.proto.runtime.v1``, the stubs the
official SDK ships) plus the HTTP health endpoints the SDK waits on.

It mirrors daprd where the app depends on it:

* state: ETags are version numbers (like the Redis store). With an ETag, a save or delete
  succeeds only if it matches, else gRPC ``ABORTED`` "possible etag mismatch" (daprd maps
  ``state.ETagMismatch`` to Aborted); a non-numeric ETag is ``INVALID_ARGUMENT``
  (``state.ETagInvalid``). A first-write save without an ETag over an existing key fails:
  ``ABORTED`` like the Postgres/Cosmos/DynamoDB stores, or ``INTERNAL`` like Redis
  (``insert_conflict="internal"``). Last-write saves without an ETag always succeed.
* unknown components: ``INVALID_ARGUMENT`` "... is not found".
* pub/sub: events are recorded; ``application/cloudevents+json`` payloads pass through,
  others get wrapped in a CloudEvent as daprd does.

Run standalone: ``python -m tests.fakes.dapr_sidecar --grpc-port N --http-port M``.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import uuid
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from dapr.proto import api_service_v1, api_v1, common_v1
from google.protobuf import empty_pb2

FIRST_WRITE = common_v1.StateOptions.StateConcurrency.CONCURRENCY_FIRST_WRITE


@dataclass(frozen=True)
class HttpRequest:
    path: str
    user_agent: str
    api_token: str | None  # the dapr-api-token header; None: not sent


@dataclass
class PublishedEvent:
    """One event as the fake's pub/sub received it."""

    pubsub: str
    topic: str
    content_type: str
    cloudevent: dict[str, Any]


class FakeDaprSidecar(api_service_v1.DaprServicer):  # type: ignore[misc]
    """In-process fake daprd; start() on free ports, stop() to simulate an outage."""

    def __init__(
        self,
        *,
        app_id: str = "daca-agent",
        statestore: str = "statestore",
        pubsub: str = "pubsub",
        secretstore: str = "secretstore",
        secrets: dict[str, dict[str, str]] | None = None,
        insert_conflict: str = "aborted",
        workflows: Any = None,
    ) -> None:
        self.app_id = app_id
        self.statestore = statestore
        self.pubsub = pubsub
        self.secretstore = secretstore
        self.secrets = secrets or {}
        self.insert_conflict = insert_conflict
        #: a FakeTaskHub (tests/fakes/workflow_sidecar.py) served on the same port, as daprd
        #: serves its workflow engine; None: no workflows (like ACA's managed Dapr)
        self.workflows = workflows
        self.state: dict[str, tuple[bytes, int]] = {}
        self.published: list[PublishedEvent] = []
        self.store_down = False
        #: state operations ("get", "save", "delete") failing as with the store down
        self.failing: set[str] = set()
        #: PublishEvent fails as daprd does when the broker is unreachable
        self.pubsub_down = False
        #: component names GetMetadata leaves out, as daprd does for a component that
        #: failed to initialise (it logs the error and keeps running without it)
        self.unloaded: set[str] = set()
        self.calls: dict[str, int] = {}
        #: every HTTP request to the sidecar's API port, as received
        self.http_requests: list[HttpRequest] = []
        #: (operation, concurrency, consistency) of every state write and delete, as sent
        self.state_options: list[tuple[str, int, int]] = []
        # Test hook: runs (outside the lock) before each SaveState, e.g. to inject a race.
        self.before_save: Callable[[str], None] | None = None
        # Test hook: runs (outside the lock) before each GetState, e.g. to stall it.
        self.before_get: Callable[[str], None] | None = None
        # Test hook: runs (outside the lock) before each DeleteState.
        self.before_delete: Callable[[str], None] | None = None
        self._lock = threading.Lock()
        self._grpc: grpc.Server | None = None
        self._http: ThreadingHTTPServer | None = None
        self.grpc_port = 0
        self.http_port = 0

    # -- lifecycle -----------------------------------------------------------------------

    def start(self, grpc_port: int = 0, http_port: int = 0) -> tuple[int, int]:
        """Serve on 127.0.0.1 (0: pick free ports); returns the bound (grpc, http) ports."""
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        api_service_v1.add_DaprServicer_to_server(self, server)
        if self.workflows is not None:
            from dapr.ext.workflow._durabletask.internal import (
                orchestrator_service_pb2_grpc as task_hub,
            )

            task_hub.add_TaskHubSidecarServiceServicer_to_server(self.workflows, server)
        self.grpc_port = server.add_insecure_port(f"127.0.0.1:{grpc_port}")
        server.start()
        self._grpc = server
        sidecar = self

        class Health(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                sidecar.http_requests.append(
                    HttpRequest(
                        self.path,
                        self.headers.get("user-agent", ""),
                        self.headers.get("dapr-api-token"),
                    )
                )
                if self.path in ("/v1.0/healthz", "/v1.0/healthz/outbound"):
                    self.send_response(204)
                    self.end_headers()
                elif self.path == "/v1.0/metadata":
                    body = json.dumps({"id": sidecar.app_id}).encode()
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    self.send_response(404)
                    self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        ThreadingHTTPServer.allow_reuse_address = True
        self._http = ThreadingHTTPServer(("127.0.0.1", http_port), Health)
        self._http.daemon_threads = True
        self.http_port = self._http.server_address[1]
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        return self.grpc_port, self.http_port

    def stop(self) -> None:
        """Stop both servers; state survives, so start() on the same ports 'restarts'."""
        if self._grpc is not None:
            self._grpc.stop(grace=None).wait()
            self._grpc = None
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None

    # -- helpers -------------------------------------------------------------------------

    def _count(self, name: str) -> None:
        with self._lock:
            self.calls[name] = self.calls.get(name, 0) + 1

    def _record_options(self, operation: str, options: Any) -> None:
        with self._lock:
            self.state_options.append((operation, options.concurrency, options.consistency))

    def _check_store(
        self, name: str, context: grpc.ServicerContext, operation: str = "get", key: str = ""
    ) -> None:
        if name != self.statestore:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"state store {name} is not found")
        if self.store_down or operation in self.failing:
            reason = "redis store: error connecting to redis: connection refused"
            failed = {
                "get": f"failed getting state from state store {name}",
                "save": f"failed saving state in state store {name}",
                "delete": f"failed deleting state with key {key}",
            }
            context.abort(grpc.StatusCode.INTERNAL, f"{failed[operation]}: {reason}")

    def value(self, key: str) -> Any:
        """The stored JSON document under ``key`` (for assertions), or None."""
        with self._lock:
            entry = self.state.get(key)
        return None if entry is None else json.loads(entry[0])

    def put(self, key: str, document: Any) -> None:
        """Write behind the app's back, bumping the ETag (simulates another replica)."""
        with self._lock:
            _, version = self.state.get(key, (b"", 0))
            self.state[key] = (json.dumps(document).encode(), version + 1)

    # -- Dapr gRPC API -------------------------------------------------------------------

    def GetState(
        self, request: api_v1.GetStateRequest, context: grpc.ServicerContext
    ) -> api_v1.GetStateResponse:
        self._count("GetState")
        self._check_store(request.store_name, context)
        if self.before_get is not None:
            self.before_get(request.key)
        with self._lock:
            entry = self.state.get(request.key)
        if entry is None:
            return api_v1.GetStateResponse()
        return api_v1.GetStateResponse(data=entry[0], etag=str(entry[1]))

    def SaveState(
        self, request: api_v1.SaveStateRequest, context: grpc.ServicerContext
    ) -> empty_pb2.Empty:
        self._count("SaveState")
        self._check_store(request.store_name, context, "save")
        prefix = f"failed saving state in state store {request.store_name}"
        for item in request.states:
            self._record_options("save", item.options)
            if self.before_save is not None:
                self.before_save(item.key)
            with self._lock:
                current = self.state.get(item.key)
                has_etag = item.HasField("etag") and item.etag.value != ""
                first_write = item.options.concurrency == FIRST_WRITE
                if has_etag:
                    if not item.etag.value.isdigit():
                        context.abort(
                            grpc.StatusCode.INVALID_ARGUMENT,
                            f"{prefix}: invalid etag value: strconv.Atoi: parsing "
                            f'"{item.etag.value}": invalid syntax',
                        )
                    if current is None or str(current[1]) != item.etag.value:
                        context.abort(
                            grpc.StatusCode.ABORTED,
                            f"{prefix}: possible etag mismatch. error from state store: "
                            f"failed to set key {self.app_id}||{item.key}",
                        )
                elif first_write and current is not None:
                    if self.insert_conflict == "internal":
                        context.abort(
                            grpc.StatusCode.INTERNAL,
                            f"{prefix}: failed to set key {self.app_id}||{item.key}: "
                            f"ERR Error running script: failed to set key",
                        )
                    context.abort(
                        grpc.StatusCode.ABORTED,
                        f"{prefix}: possible etag mismatch. error from state store: "
                        f"key {self.app_id}||{item.key} already exists",
                    )
                version = 0 if current is None else current[1]
                self.state[item.key] = (bytes(item.value), version + 1)
        return empty_pb2.Empty()

    def DeleteState(
        self, request: api_v1.DeleteStateRequest, context: grpc.ServicerContext
    ) -> empty_pb2.Empty:
        self._count("DeleteState")
        self._check_store(request.store_name, context, "delete", request.key)
        self._record_options("delete", request.options)
        if self.before_delete is not None:
            self.before_delete(request.key)
        with self._lock:
            current = self.state.get(request.key)
            has_etag = request.HasField("etag") and request.etag.value != ""
            if has_etag and (current is None or str(current[1]) != request.etag.value):
                context.abort(
                    grpc.StatusCode.ABORTED,
                    f"failed deleting state with key {request.key}: possible etag "
                    "mismatch. error from state store: failed to delete",
                )
            self.state.pop(request.key, None)
        return empty_pb2.Empty()

    def PublishEvent(
        self, request: api_v1.PublishEventRequest, context: grpc.ServicerContext
    ) -> empty_pb2.Empty:
        self._count("PublishEvent")
        if request.pubsub_name != self.pubsub:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"pubsub {request.pubsub_name} is not found"
            )
        if self.pubsub_down:
            context.abort(
                grpc.StatusCode.INTERNAL,
                f"error when publish to topic {request.topic} in pubsub {request.pubsub_name}: "
                "dial tcp: connection refused",
            )
        content_type = request.data_content_type or "application/json"
        if content_type == "application/cloudevents+json":
            envelope = json.loads(request.data)
        else:
            try:
                data: Any = json.loads(request.data)
            except ValueError:
                data = request.data.decode("utf-8", "replace")
            envelope = {
                "specversion": "1.0",
                "id": str(uuid.uuid4()),
                "source": self.app_id,
                "type": "com.dapr.event.sent",
                "datacontenttype": content_type,
                "data": data,
            }
        envelope.setdefault("pubsubname", request.pubsub_name)
        envelope.setdefault("topic", request.topic)
        with self._lock:
            self.published.append(
                PublishedEvent(request.pubsub_name, request.topic, content_type, envelope)
            )
        return empty_pb2.Empty()

    def GetSecret(
        self, request: api_v1.GetSecretRequest, context: grpc.ServicerContext
    ) -> api_v1.GetSecretResponse:
        self._count("GetSecret")
        if request.store_name != self.secretstore:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"failed finding secret store with key {request.store_name}",
            )
        secret = self.secrets.get(request.key)
        if secret is None:
            context.abort(
                grpc.StatusCode.INTERNAL,
                f"failed getting secret with key {request.key} from secret store "
                f"{request.store_name}: secret {request.key} not found",
            )
        return api_v1.GetSecretResponse(data=secret)

    def GetMetadata(
        self, request: Any, context: grpc.ServicerContext
    ) -> api_v1.GetMetadataResponse:
        self._count("GetMetadata")
        components = [
            api_v1.RegisteredComponents(
                name=self.statestore,
                type="state.redis",
                version="v1",
                capabilities=["ETAG", "TRANSACTIONAL", "TTL"],
            ),
            api_v1.RegisteredComponents(name=self.pubsub, type="pubsub.redis", version="v1"),
            api_v1.RegisteredComponents(
                name=self.secretstore, type="secretstores.kubernetes", version="v1"
            ),
        ]
        loaded = [c for c in components if c.name not in self.unloaded]
        return api_v1.GetMetadataResponse(id=self.app_id, registered_components=loaded)


def _parse_secret(spec: str) -> tuple[str, str, str]:
    name, field, value = spec.split("=", 2)
    return name, field, value


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grpc-port", type=int, default=50001)
    parser.add_argument("--http-port", type=int, default=3500)
    parser.add_argument("--app-id", default="daca-agent")
    parser.add_argument(
        "--secret", action="append", default=[], metavar="NAME=FIELD=VALUE", type=_parse_secret
    )
    parser.add_argument("--insert-conflict", choices=["aborted", "internal"], default="aborted")
    args = parser.parse_args(argv)
    secrets: dict[str, dict[str, str]] = {}
    for name, field, value in args.secret:
        secrets.setdefault(name, {})[field] = value
    sidecar = FakeDaprSidecar(
        app_id=args.app_id, secrets=secrets, insert_conflict=args.insert_conflict
    )
    grpc_port, http_port = sidecar.start(args.grpc_port, args.http_port)
    print(f"fake dapr sidecar: grpc=127.0.0.1:{grpc_port} http=127.0.0.1:{http_port}", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    stopped.wait()
    sidecar.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
