"""inspection: 211 cycles, sealed findings, rectification, revisits and accountability.

Where an event enters, which rule decides and which row changes, by file: ``api/`` (HTTP), ``consumers.py`` and
``timers.py`` call the use cases (``cycles``, ``findings``, ``release``, ``rectification``, ``hazards`` …), which
ask ``domain/`` (pure rules) and write through ``store/`` (all SQL); ``bootstrap.py`` wires them."""
