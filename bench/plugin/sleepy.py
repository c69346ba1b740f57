"""A benchmark plugin (bench/plugin): one kind whose create and delete take 50 ms."""
import sys
import orch_provider
from orch_provider import Field, Provider, Resource

class Item(Resource):
    kind = "item"
    doc = "An item whose create and delete take 50 ms."
    fields = {"name": Field("string", "Its name.", required=True, replace=True)}

    def create(self, planned, ctx):
        ctx.wait(0.05)
        return planned

    def read(self, prior, ctx):
        return prior

    def delete(self, prior, ctx):
        ctx.wait(0.05)

class Sleepy(Provider):
    def configure(self, config):
        pass

if __name__ == "__main__":
    orch_provider.main(Sleepy("sleepy", config={}, resources=[Item()]))
