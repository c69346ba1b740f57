"""Answers `initialize` and `configure`, then writes garbage for `create`."""
import sys
import rawrpc

while True:
    message = rawrpc.read()
    if message is None:
        break
    method = message.get("method")
    if method == "initialize":
        rawrpc.initialize(message, "junk")
    elif method == "configure":
        rawrpc.answer(message, {})
    elif method == "create":
        sys.stdout.buffer.write(b"this is not JSON-RPC at all\r\n\r\n")
        sys.stdout.buffer.flush()
    elif method == "shutdown":
        rawrpc.answer(message, {})
        break
    elif "id" in message:
        rawrpc.send({"jsonrpc": "2.0", "id": message["id"], "error": {"code": -32601, "message": "no " + method}})
