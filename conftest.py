# Real servers for integration tests (env → testcontainers → embedded): pingan_stack/testing.py; how the tests are
# spread over the xdist workers and which are `slow`: pingan_stack/test_schedule.py. A real Chromium for the console's
# browser tests (`browser`, `page`; screenshots of failures): pingan_stack/browser_testing.py.
pytest_plugins = ["pingan_stack.testing", "pingan_stack.test_schedule", "pingan_stack.browser_testing"]
