"""The `pingan` command: the one-machine embedded stack, dev tokens, event schemas; test fixtures."""
