"""An SDK plugin whose creates take a while (`slow.item`), writing its
process id to `plugin.pid` when it starts; `fast` in the folder makes them
quick. Objects are files under `items/`."""
import os
import sys
import time

sys.path.insert(0, os.environ["ORCH_SDK_PATH"])
from orch_provider import Field, Provider, Resource, main  # noqa: E402


class Item(Resource):
    kind = "item"
    fields = {
        "name": Field("string", required=True, replace=True),
        "id": Field("string", output=True),
    }

    def create(self, planned, ctx):
        if not os.path.exists("fast"):
            ctx.wait(30)
        os.makedirs("items", exist_ok=True)
        with open(os.path.join("items", planned["name"]), "w") as f:
            f.write("x")
        return {"name": planned["name"], "id": "item-" + planned["name"]}

    def read(self, prior, ctx):
        return prior if os.path.exists(os.path.join("items", prior["name"])) else None

    def delete(self, prior, ctx):
        os.remove(os.path.join("items", prior["name"]))


with open("plugin.pid", "w") as f:
    f.write(str(os.getpid()))
main(Provider("slow", resources=[Item()]))
