"""Minimal framing for the misbehaving test plugins (no SDK, on purpose)."""
import json
import sys

SCHEMA = {
    "provider": {"fields": {}},
    "resources": {"item": {"doc": "An item.", "fields": {
        "name": {"type": "string", "required": True},
        "id": {"type": "string", "output": True},
    }}},
    "data": {},
}


def read():
    length = None
    while True:
        line = sys.stdin.buffer.readline()
        if not line:
            return None
        if line == b"\r\n":
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value.strip())
    return json.loads(sys.stdin.buffer.read(length))


def send(message):
    body = json.dumps(message).encode()
    sys.stdout.buffer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    sys.stdout.buffer.flush()


def answer(message, result):
    send({"jsonrpc": "2.0", "id": message["id"], "result": result})


def initialize(message, name):
    answer(message, {"protocol": 1, "name": name, "schema": SCHEMA})
