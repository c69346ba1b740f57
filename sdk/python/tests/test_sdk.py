"""The SDK against the protocol, in process: framing, dispatch, values,
errors and cancellation, driven through pipes as orchc drives a plugin."""

import io
import json
import os
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import orch_provider  # noqa: E402
from orch_provider import (  # noqa: E402
    UNKNOWN,
    Context,
    Field,
    Provider,
    ProviderError,
    Resource,
    Secret,
    decode,
    encode,
    read_message,
    write_message,
)


def frame(message):
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def request(id, method, params=None):
    return {"jsonrpc": "2.0", "id": id, "method": method, "params": params or {}}


class Box(Resource):
    kind = "box"
    doc = "A box."
    fields = {
        "name": Field("string", required=True, replace=True),
        "token": Field("string", sensitive=True),
        "id": Field("string", output=True),
    }

    def __init__(self):
        self.seen = []

    def create(self, planned, ctx):
        self.seen.append(planned)
        if planned["name"] == "fail":
            raise ProviderError("no room", transient=True, partial={"name": "fail"})
        if planned["name"] == "slow":
            ctx.wait(10)
        return {**planned, "id": "box-" + planned["name"], "token": Secret("t0ken")}

    def read(self, prior, ctx):
        return None if prior["name"] == "gone" else prior


def run(messages, provider=None):
    provider = provider or Provider("acme", config={"url": Field("string", required=True)}, resources=[Box()])
    out = io.BytesIO()
    status = orch_provider.serve(provider, input=io.BytesIO(b"".join(frame(m) for m in messages)), output=out)
    out.seek(0)
    answers = {}
    while True:
        message = read_message(out)
        if message is None:
            break
        answers[message["id"]] = message
    return status, answers


def test_values_round_trip():
    wire = {"a": {"$secret": "x"}, "b": {"$unknown": True}, "c": [1, "30s"]}
    value = decode(wire)
    assert value["a"] == Secret("x") and value["b"] is UNKNOWN
    assert "x" not in repr(value["a"])
    assert encode(value) == wire


def test_framing_rejects_garbage():
    with pytest.raises(ValueError):
        read_message(io.BytesIO(b"hello\n"))
    with pytest.raises(ValueError):
        read_message(io.BytesIO(b"Content-Length: 9\r\n\r\n{}"))
    assert read_message(io.BytesIO(b"")) is None
    out = io.BytesIO()
    write_message(out, {"a": 1})
    out.seek(0)
    assert read_message(out) == {"a": 1}


def test_initialize_sends_the_schema():
    status, answers = run([request(1, "initialize", {"protocol": 1, "orch_version": "0"}), request(2, "shutdown")])
    assert status == 0
    result = answers[1]["result"]
    assert result["protocol"] == 1 and result["name"] == "acme"
    fields = result["schema"]["resources"]["box"]["fields"]
    assert fields["name"] == {"type": "string", "doc": "", "required": True, "output": False, "replace": True, "sensitive": False}
    assert result["schema"]["provider"]["fields"]["url"]["required"] is True
    assert answers[2]["result"] == {}


def test_dispatch_values_and_errors():
    box = Box()
    provider = Provider("acme", resources=[box])
    _, answers = run(
        [
            request(1, "configure", {"config": {"url": "x"}}),
            request(2, "create", {"kind": "acme.box", "planned": {"name": "a", "token": {"$secret": "s"}}}),
            request(3, "create", {"kind": "acme.box", "planned": {"name": "fail"}}),
            request(4, "read", {"kind": "acme.box", "prior": {"name": "gone"}}),
            request(5, "plan", {"kind": "acme.box", "config": {"name": "a"}}),
            request(6, "frobnicate", {}),
            request(7, "create", {"kind": "acme.nothing", "planned": {}}),
            request(8, "shutdown"),
        ],
        provider,
    )
    assert provider.config == {"url": "x"}
    assert answers[2]["result"]["object"] == {"name": "a", "token": {"$secret": "t0ken"}, "id": "box-a"}
    assert box.seen[0]["token"] == Secret("s")
    error = answers[3]["error"]
    assert error["message"] == "no room" and error["data"] == {"transient": True, "partial": {"name": "fail"}}
    assert answers[4]["result"] == {"object": None}
    assert answers[5]["error"]["code"] == -32601, "no plan: orchc's default plan"
    assert answers[6]["error"]["code"] == -32601
    assert "no resource kind" in answers[7]["error"]["message"]


def test_requests_run_concurrently_and_cancel():
    """Through a real process: a slow create is cancelled while another
    request is answered."""
    script = (
        "import sys; sys.path.insert(0, %r)\n" % os.path.join(os.path.dirname(__file__), "..")
        + "import sdk_plugin_main\n"
    )
    env = dict(os.environ, PYTHONPATH=os.path.dirname(__file__))
    child = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    try:
        child.stdin.write(frame(request(1, "create", {"kind": "acme.box", "planned": {"name": "slow"}})))
        child.stdin.write(frame(request(2, "create", {"kind": "acme.box", "planned": {"name": "quick"}})))
        child.stdin.flush()
        first = read_message(child.stdout)
        assert first["id"] == 2, "the quick request is not held up by the slow one"
        started = time.monotonic()
        child.stdin.write(frame({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": 1}}))
        child.stdin.flush()
        second = read_message(child.stdout)
        assert second["id"] == 1 and second["error"]["code"] == -32800
        assert time.monotonic() - started < 5
        child.stdin.write(frame(request(3, "shutdown")))
        child.stdin.flush()
        assert read_message(child.stdout)["id"] == 3
        assert child.wait(timeout=10) == 0
    finally:
        if child.poll() is None:
            child.kill()


def test_context_wait_raises_when_cancelled():
    ctx = Context("create", 1)
    threading.Timer(0.05, ctx._cancelled.set).start()
    with pytest.raises(orch_provider.Cancelled):
        ctx.wait(5)
