"""The console's rules, free of I/O: accounts and their scopes, passwords, sessions, the sign-in throttle, audit."""
