"""A plugin for test_sdk.py (imported, it serves)."""

import test_sdk  # noqa: F401  (the Box resource)
from orch_provider import Provider, serve

serve(Provider("acme", resources=[test_sdk.Box()]))
