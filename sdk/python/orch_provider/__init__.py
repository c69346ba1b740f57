"""Write Orch plugin providers in Python.

A plugin is a program that ``orchc`` starts and talks to over its standard
input and output (JSON-RPC 2.0 with ``Content-Length`` framing, the Orch
provider protocol, version 1). This package does the protocol: write one
class per kind, list them in a :class:`Provider`, and call :func:`serve`::

    from orch_provider import Field, Provider, Resource, serve

    class Bucket(Resource):
        kind = "bucket"
        doc = "A bucket."
        fields = {
            "name": Field("string", required=True, replace=True),
            "id": Field("string", output=True),
        }

        def create(self, planned, ctx):
            return {**planned, "id": make_bucket(planned["name"])}

        def read(self, prior, ctx):
            return prior if bucket_exists(prior["id"]) else None

        def delete(self, prior, ctx):
            remove_bucket(prior["id"])

    serve(Provider("acme", resources=[Bucket()]))

Values arrive as plain Python values, with :class:`Secret` for secrets
(``secret.value`` is the clear value: the plugin must use it, and must
never log it) and :data:`UNKNOWN` for values known only after apply;
durations arrive in their string form (``"30s"``). Return sensitive
outputs wrapped in :class:`Secret`. Raise :class:`ProviderError` for a
failure (``transient=True`` when it is worth retrying, ``partial=OBJECT``
when a create or update changed something before failing). Long
operations should call ``ctx.check_cancelled()`` now and then: ``orchc``
cancels requests on Ctrl-C and at ``@timeout``.

Requests run on a pool of threads, so several may be in flight at once:
handlers must be thread-safe. Only the standard library is used.
"""

from __future__ import annotations

import json
import sys
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

__all__ = [
    "PROTOCOL",
    "Cancelled",
    "Context",
    "DataSource",
    "Field",
    "Provider",
    "ProviderError",
    "Resource",
    "Secret",
    "UNKNOWN",
    "Unknown",
    "decode",
    "encode",
    "read_message",
    "serve",
    "write_message",
]

#: The protocol version this SDK speaks.
PROTOCOL = 1

METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
REQUEST_CANCELLED = -32800
#: The code of errors a handler raises (:class:`ProviderError`).
PROVIDER_FAILED = -32000


# ---------------------------------------------------------------- values


class Unknown:
    """A value known only after apply (``{"$unknown": true}``)."""

    _instance: Optional["Unknown"] = None

    def __new__(cls) -> "Unknown":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        return False


#: The one unknown value.
UNKNOWN = Unknown()


class Secret:
    """A secret value (``{"$secret": VALUE}``). ``value`` is in the clear;
    its ``repr`` and ``str`` never show it."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "Secret(...)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.value == self.value

    def __hash__(self) -> int:
        return hash(("secret", json.dumps(encode(self.value), sort_keys=True)))


def decode(value: Any) -> Any:
    """A value from ``orchc`` as Python: ``Secret`` and ``UNKNOWN`` for the
    wrappers, recursively."""
    if isinstance(value, dict):
        if len(value) == 1 and "$secret" in value:
            return Secret(decode(value["$secret"]))
        if len(value) == 1 and value.get("$unknown") is True:
            return UNKNOWN
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def encode(value: Any) -> Any:
    """A Python value as ``orchc`` reads it (the inverse of :func:`decode`)."""
    if isinstance(value, Secret):
        return {"$secret": encode(value.value)}
    if isinstance(value, Unknown):
        return {"$unknown": True}
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    return value


def reveal(value: Any) -> Any:
    """``value`` with every :class:`Secret` unwrapped."""
    if isinstance(value, Secret):
        return reveal(value.value)
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


# ---------------------------------------------------------------- errors


class ProviderError(Exception):
    """A failed operation. ``transient``: worth retrying (``@retry``).
    ``partial``: the object as far as a failed create or update got; without
    it, a failed create guarantees that nothing was created."""

    def __init__(
        self, message: str, *, transient: bool = False, partial: Optional[Mapping[str, Any]] = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient
        self.partial = partial


class Cancelled(Exception):
    """Raised by :meth:`Context.check_cancelled` once ``orchc`` cancelled
    the request; answered with error -32800."""


class MethodNotFound(Exception):
    """The plugin does not implement a method (answered -32601)."""


# ---------------------------------------------------------------- schema


@dataclass
class Field:
    """One field of a kind or of the provider's configuration. ``type`` is
    a type in Orch syntax (``"string"``, ``"map<int>"``,
    ``"{ a: string, b?: int }"``, ``'"gzip" | "none"'``)."""

    type: str
    doc: str = ""
    required: bool = False
    default: Any = None
    output: bool = False
    replace: bool = False
    sensitive: bool = False

    def to_json(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {
            "type": self.type,
            "doc": self.doc,
            "required": self.required,
            "output": self.output,
            "replace": self.replace,
            "sensitive": self.sensitive,
        }
        if self.default is not None:
            out["default"] = encode(self.default)
        return out


class Context:
    """What a handler knows about its request."""

    def __init__(self, method: str, request_id: Any) -> None:
        self.method = method
        self.request_id = request_id
        self._cancelled = threading.Event()

    @property
    def cancelled(self) -> bool:
        """Whether ``orchc`` cancelled the request."""
        return self._cancelled.is_set()

    def check_cancelled(self) -> None:
        """Raises :class:`Cancelled` once the request is cancelled."""
        if self._cancelled.is_set():
            raise Cancelled()

    def wait(self, seconds: float) -> None:
        """Sleeps up to ``seconds``, raising :class:`Cancelled` as soon as
        the request is cancelled."""
        if self._cancelled.wait(seconds):
            raise Cancelled()


class Resource:
    """A managed kind. Set ``kind`` (the name after the provider's: ``bucket``
    for ``acme.bucket``), ``doc`` and ``fields``; implement ``create``,
    ``read``, ``update`` and ``delete`` (objects are dicts of the kind's
    input and output fields), and optionally ``import_``, ``plan`` and
    ``validate``."""

    kind: str = ""
    doc: str = ""
    fields: Dict[str, Field] = {}

    def validate(self, config: Dict[str, Any]) -> Sequence[Tuple[Optional[str], str]]:
        """Problems with a configuration the type checker cannot see, as
        ``(field or None, message)`` pairs."""
        return []

    def plan(
        self, prior: Optional[Dict[str, Any]], config: Dict[str, Any], ctx: Context
    ) -> Tuple[Dict[str, Any], List[str]]:
        """The planned object and the fields that force a replacement. Not
        overriding it leaves planning to ``orchc`` (its default plan)."""
        raise MethodNotFound()

    def create(self, planned: Dict[str, Any], ctx: Context) -> Dict[str, Any]:
        raise ProviderError(f"{self.kind} objects cannot be created")

    def read(self, prior: Dict[str, Any], ctx: Context) -> Optional[Dict[str, Any]]:
        """The object as it is now, or ``None`` when it is gone."""
        return prior

    def update(self, prior: Dict[str, Any], planned: Dict[str, Any], ctx: Context) -> Dict[str, Any]:
        raise ProviderError(f"{self.kind} objects cannot be updated in place")

    def delete(self, prior: Dict[str, Any], ctx: Context) -> None:
        raise ProviderError(f"{self.kind} objects cannot be deleted")

    def import_(self, id: str, ctx: Context) -> Optional[Dict[str, Any]]:
        raise ProviderError(f"{self.kind} objects cannot be imported")

    def schema(self) -> Dict[str, Any]:
        return {"doc": self.doc, "fields": {n: f.to_json() for n, f in self.fields.items()}}


class DataSource:
    """A data kind: a read-only look-up. Implement ``read_data``."""

    kind: str = ""
    doc: str = ""
    fields: Dict[str, Field] = {}

    def validate(self, config: Dict[str, Any]) -> Sequence[Tuple[Optional[str], str]]:
        return []

    def read_data(self, config: Dict[str, Any], ctx: Context) -> Dict[str, Any]:
        raise NotImplementedError

    def schema(self) -> Dict[str, Any]:
        return {"doc": self.doc, "fields": {n: f.to_json() for n, f in self.fields.items()}}


class Provider:
    """A plugin provider: its name (the prefix of its kinds), the fields of
    its ``provider`` block, and its kinds. Override :meth:`configure` to
    take the configuration (the default keeps it in ``self.config``)."""

    def __init__(
        self,
        name: str,
        *,
        config: Optional[Dict[str, Field]] = None,
        resources: Sequence[Resource] = (),
        data: Sequence[DataSource] = (),
    ) -> None:
        self.name = name
        self.config_fields = dict(config or {})
        self.resources: Dict[str, Resource] = {r.kind: r for r in resources}
        self.data: Dict[str, DataSource] = {d.kind: d for d in data}
        self.config: Dict[str, Any] = {}

    def configure(self, config: Dict[str, Any]) -> None:
        self.config = config

    def schema(self) -> Dict[str, Any]:
        return {
            "provider": {"fields": {n: f.to_json() for n, f in self.config_fields.items()}},
            "resources": {k: r.schema() for k, r in self.resources.items()},
            "data": {k: d.schema() for k, d in self.data.items()},
        }

    def _short(self, kind: Any) -> str:
        if not isinstance(kind, str):
            raise ProviderError("`kind` must be a string")
        prefix = self.name + "."
        return kind[len(prefix):] if kind.startswith(prefix) else kind

    def resource(self, kind: Any) -> Resource:
        found = self.resources.get(self._short(kind))
        if found is None:
            raise ProviderError(f"{self.name} has no resource kind `{kind}`")
        return found

    def data_source(self, kind: Any) -> DataSource:
        found = self.data.get(self._short(kind))
        if found is None:
            raise ProviderError(f"{self.name} has no data kind `{kind}`")
        return found

    def any_kind(self, kind: Any) -> Any:
        short = self._short(kind)
        if short in self.resources:
            return self.resources[short]
        if short in self.data:
            return self.data[short]
        raise ProviderError(f"{self.name} has no kind `{kind}`")


# ---------------------------------------------------------------- framing


def read_message(stream: IO[bytes]) -> Optional[Any]:
    """Reads one framed message; ``None`` at the end of the input. Raises
    ``ValueError`` for anything that is not a framed JSON message."""
    length: Optional[int] = None
    first = True
    while True:
        line = stream.readline()
        if not line:
            if first:
                return None
            raise ValueError("the input ended inside a header")
        first = False
        if not line.endswith(b"\r\n"):
            raise ValueError(f"a header line not ended by CRLF: {line[:60]!r}")
        line = line[:-2]
        if not line:
            break
        name, sep, value = line.partition(b":")
        if not sep:
            raise ValueError(f"not a header: {line[:60]!r}")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length is None:
        raise ValueError("a message without Content-Length")
    body = stream.read(length)
    if len(body) != length:
        raise ValueError("the input ended inside a message")
    return json.loads(body.decode("utf-8"))


def write_message(stream: IO[bytes], message: Any) -> None:
    """Writes one framed message and flushes."""
    body = json.dumps(message, separators=(",", ":")).encode("utf-8")
    stream.write(b"Content-Length: %d\r\n\r\n" % len(body))
    stream.write(body)
    stream.flush()


# ---------------------------------------------------------------- serving


@dataclass
class _Server:
    provider: Provider
    output: IO[bytes]
    workers: int = 16
    lock: threading.Lock = field(default_factory=threading.Lock)
    running: Dict[Any, Context] = field(default_factory=dict)

    def send(self, message: Dict[str, Any]) -> None:
        with self.lock:
            write_message(self.output, message)

    def answer(self, request_id: Any, result: Any) -> None:
        self.send({"jsonrpc": "2.0", "id": request_id, "result": result})

    def fail(self, request_id: Any, code: int, message: str, data: Any = None) -> None:
        error: Dict[str, Any] = {"code": code, "message": message}
        if data is not None:
            error["data"] = data
        self.send({"jsonrpc": "2.0", "id": request_id, "error": error})

    def handle(self, method: str, params: Dict[str, Any], ctx: Context) -> Any:
        p = self.provider
        kind = params.get("kind")
        if method == "configure":
            p.configure(decode(params.get("config") or {}))
            return {}
        if method == "validate":
            problems = p.any_kind(kind).validate(decode(params.get("config") or {}))
            return {"errors": [{"field": f, "message": m} if f else {"message": m} for f, m in problems]}
        if method == "plan":
            prior = params.get("prior")
            planned, replace = p.resource(kind).plan(
                decode(prior) if prior is not None else None, decode(params.get("config") or {}), ctx
            )
            return {"planned": encode(planned), "requires_replace": list(replace)}
        if method == "create":
            return {"object": encode(p.resource(kind).create(decode(params["planned"]), ctx))}
        if method == "update":
            obj = p.resource(kind).update(decode(params["prior"]), decode(params["planned"]), ctx)
            return {"object": encode(obj)}
        if method == "delete":
            p.resource(kind).delete(decode(params["prior"]), ctx)
            return {}
        if method == "read":
            obj = p.resource(kind).read(decode(params["prior"]), ctx)
            return {"object": encode(obj) if obj is not None else None}
        if method == "import":
            obj = p.resource(kind).import_(str(params["id"]), ctx)
            return {"object": encode(obj) if obj is not None else None}
        if method == "read_data":
            return {"object": encode(p.data_source(kind).read_data(decode(params.get("config") or {}), ctx))}
        raise MethodNotFound()

    def run(self, request_id: Any, method: str, params: Dict[str, Any], ctx: Context) -> None:
        try:
            result = self.handle(method, params, ctx)
        except Cancelled:
            self.fail(request_id, REQUEST_CANCELLED, "cancelled")
        except MethodNotFound:
            self.fail(request_id, METHOD_NOT_FOUND, f"no method `{method}`")
        except ProviderError as error:
            data: Dict[str, Any] = {}
            if error.transient:
                data["transient"] = True
            if error.partial is not None:
                data["partial"] = encode(error.partial)
            self.fail(request_id, PROVIDER_FAILED, error.message, data or None)
        except (KeyError, TypeError) as error:
            self.fail(request_id, INVALID_PARAMS, f"bad parameters for `{method}`: {error!r}")
        except Exception as error:  # a bug in the plugin: say so, keep serving
            traceback.print_exc(file=sys.stderr)
            self.fail(request_id, INTERNAL_ERROR, f"{type(error).__name__}: {error}")
        else:
            self.answer(request_id, result)
        finally:
            with self.lock:
                self.running.pop(request_id, None)

    def serve(self, stream: IO[bytes]) -> int:
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="orch-provider")
        try:
            while True:
                try:
                    message = read_message(stream)
                except ValueError as error:
                    print(f"orch-provider: bad input: {error}", file=sys.stderr)
                    return 1
                if message is None:
                    return 0
                if not isinstance(message, dict):
                    continue
                method = message.get("method")
                request_id = message.get("id")
                params = message.get("params") or {}
                if method == "$/cancelRequest":
                    with self.lock:
                        ctx = self.running.get(params.get("id"))
                    if ctx is not None:
                        ctx._cancelled.set()
                    continue
                if request_id is None or not isinstance(method, str):
                    continue  # a notification, or an answer: nothing to do
                if method == "initialize":
                    if params.get("protocol") != PROTOCOL:
                        self.fail(request_id, INVALID_PARAMS, f"this plugin speaks protocol {PROTOCOL}")
                        continue
                    self.answer(
                        request_id,
                        {"protocol": PROTOCOL, "name": self.provider.name, "schema": self.provider.schema()},
                    )
                    continue
                if method == "shutdown":
                    pool.shutdown(wait=True)
                    self.answer(request_id, {})
                    return 0
                ctx = Context(method, request_id)
                with self.lock:
                    self.running[request_id] = ctx
                if method == "configure":
                    # Before anything else: run it in order.
                    self.run(request_id, method, params, ctx)
                else:
                    pool.submit(self.run, request_id, method, params, ctx)
        finally:
            pool.shutdown(wait=False)


def serve(
    provider: Provider,
    *,
    input: Optional[IO[bytes]] = None,
    output: Optional[IO[bytes]] = None,
    workers: int = 16,
) -> int:
    """Serves ``provider`` on standard input and output (or the given binary
    streams) until ``shutdown`` or the end of the input; returns the exit
    status. Logs go to standard error, which ``orchc`` keeps in its log."""
    stream_in = input if input is not None else sys.stdin.buffer
    stream_out = output if output is not None else sys.stdout.buffer
    return _Server(provider, stream_out, workers).serve(stream_in)


def main(provider: Provider) -> None:
    """``serve`` and exit with its status: the last line of a plugin."""
    sys.exit(serve(provider))
