# Real servers for integration tests (env → testcontainers → embedded); see pingan_stack/testing.py.
pytest_plugins = ["pingan_stack.testing"]
