"""Hooks between sibling apps that may not import each other (the layers in pyproject.toml).

``care_needed`` — something noticed that a resident may need a visit (the sensors: an elderly person living alone
used no water for 24 hours). Sent inside the sender's transaction with ``resident_id``, ``reason`` and ``ref`` (a
string naming the sender's row, e.g. ``"sensors.caresignal:12"``). A receiver that takes it on (the care app plans
a visit due today and tells the grid worker) returns a true value; the sender then need not notify anyone itself.

``care_visit_done`` — the visit planned for such a ``ref`` was recorded: sent inside the recording transaction with
``ref``, ``note`` (what was found) and ``actor``, so the sender can close its row.
"""

from django.dispatch import Signal

care_needed = Signal()
care_visit_done = Signal()
