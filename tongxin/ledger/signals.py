"""Hooks between the apps that book on the ledger, so that they never import each other.

The volunteers app (hours) and the points app (points) both build on the ledger and know nothing of each other.
When one's event should move the other's balance, the first sends a signal defined here and the second receives
it (connected in its ``AppConfig.ready``).
"""

from django.dispatch import Signal

# Sent (inside the database transaction) when a resident's service is verified and rewards points as well as
# hours — an activity with ``points`` > 0. Keyword arguments: ``resident``, ``points`` (a Decimal > 0), ``memo``,
# ``reference`` (unique per service: the points are credited once per reference, however often it is sent) and
# ``actor``. The points app credits the resident's household.
service_rewarded = Signal()
