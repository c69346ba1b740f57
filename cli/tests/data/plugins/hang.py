"""Answers everything but `create`, which it never answers; records the
`$/cancelRequest` notifications it gets in `cancelled.log`."""
import rawrpc

while True:
    message = rawrpc.read()
    if message is None:
        break
    method = message.get("method")
    if method == "initialize":
        rawrpc.initialize(message, "stuck")
    elif method == "$/cancelRequest":
        with open("cancelled.log", "a") as log:
            log.write("%s\n" % message["params"]["id"])
    elif method in ("configure", "shutdown"):
        rawrpc.answer(message, {})
        if method == "shutdown":
            break
    elif method == "create":
        pass  # never answered
    elif "id" in message:
        rawrpc.send({"jsonrpc": "2.0", "id": message["id"], "error": {"code": -32601, "message": "no " + method}})
