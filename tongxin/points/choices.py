"""Which ledger movements count for the points' leaderboards."""

from tongxin.ledger.choices import TransactionKind

# Kinds that count on the points leaderboards (earned, not moved around).
POINTS_EARNING_KINDS = frozenset({TransactionKind.WEIGH_IN, TransactionKind.AWARD, TransactionKind.EARN})
