"""Real servers the tests start on 127.0.0.1 (one module per server, each a pytest plugin with
session fixtures; tests/conftest.py registers every module of this folder)."""
