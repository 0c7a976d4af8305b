"""Mediation's part of the access policy. Disputes are sensitive (family, labour, neighbours):

* the registry roles (subdistrict admin, community staff, grid worker) keep the dispute register of their scope
  — property staff and department liaisons do not see it;
* a mediator (the derived role ``mediator``: a user linked to an active mediator record — a member on the 矛盾调解
  post, a co-building unit's legal adviser) sees and works the disputes assigned to them;
* parties' phones are shown masked; revealing one is its own audited action, for the roles that may reveal a
  resident's phone in the registry.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from tongxin.core.policy import Rule, describe_roles, register, role_provider
from tongxin.regions.choices import REVEAL_PHONE_ROLES
from tongxin.regions.policy import MANAGERS, REGISTRY, CommunityIn, InScope, RevealScope
from tongxin.regions.scoping import scope_for

MEDIATOR = "mediator"


def mediator_ids(user: Any) -> tuple[int, ...]:
    if user is None or not getattr(user, "is_authenticated", False):
        return ()
    cached = getattr(user, "_tongxin_mediator_ids", None)
    if cached is None:
        from tongxin.mediation.models import Mediator

        cached = tuple(Mediator.objects.filter(user=user, active=True).values_list("pk", flat=True))
        user._tongxin_mediator_ids = cached
    return cached


@role_provider(provides={MEDIATOR})
def mediator_roles(user: Any) -> set[str]:
    """``mediator`` for an account registered as an active mediator. Registry staff are not asked: they hold every
    mediator action through their own roles already, and staff pages keep their query budget."""
    if scope_for(user).roles & REGISTRY:
        return set()
    return {MEDIATOR} if mediator_ids(user) else set()


describe_roles({MEDIATOR: _("调解员（矛盾调解岗、法律顾问）")})


class InScopeOrMediating:
    """Disputes in the user's registry scope, or assigned to the user as mediator."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.description = _("本人管辖范围内的纠纷，或由本人调解的纠纷")

    def filter(self, qs: QuerySet, user: Any) -> QuerySet:
        scope = scope_for(user).registry()
        q = Q(**{f"{self.prefix}mediator_id__in": list(mediator_ids(user))})
        if scope.has_role(*REGISTRY):
            q |= scope.q(self.prefix)
        return qs.filter(q)

    def test(self, user: Any, obj: Any) -> bool:
        for part in [p for p in self.prefix.split("__") if p]:
            obj = getattr(obj, part)
        if obj.mediator_id is not None and obj.mediator_id in mediator_ids(user):
            return True
        scope = scope_for(user).registry()
        return scope.has_role(*REGISTRY) and scope.covers(obj)


def _open(user: Any, dispute: Any) -> bool:
    from tongxin.mediation.choices import OPEN_STATES

    return dispute is None or dispute.state in OPEN_STATES


def _not_final(user: Any, dispute: Any) -> bool:
    return dispute is None or dispute.state not in ("closed", "returned")


WORKERS = REGISTRY | {MEDIATOR}

register(
    Rule("mediation.view", WORKERS, _("查看矛盾纠纷台账"), where=InScopeOrMediating()),
    Rule("mediation.register", REGISTRY, _("登记矛盾纠纷（排查、来访）")),
    Rule(
        "mediation.hand_over_case",
        REGISTRY,
        _("将诉求转为矛盾调解"),
        where=InScope(registry=True),
    ),
    Rule(
        "mediation.manage",
        REGISTRY,
        _("指定调解员、退回诉求办理"),
        where=InScope(registry=True),
        when=_not_final,
        condition=_("仅未结案的纠纷"),
        reason=_("该纠纷已结案或已退回"),
    ),
    Rule(
        "mediation.mediate",
        WORKERS,
        _("记录调解、协议、回访"),
        where=InScopeOrMediating(),
        when=_open,
        condition=_("仅未结案的纠纷"),
        reason=_("该纠纷已结案或已退回"),
    ),
    Rule("mediation.agreement_pdf", WORKERS, _("下载调解协议书（PDF）"), where=InScopeOrMediating()),
    Rule(
        "mediation.reveal_phone",
        frozenset(REVEAL_PHONE_ROLES),
        _("查看当事人电话明文（留痕）"),
        where=RevealScope("phone", "dispute__"),
    ),
    Rule("mediation.view_mediators", REGISTRY, _("查看调解员"), where=CommunityIn()),
    Rule("mediation.manage_mediators", MANAGERS, _("登记调解员"), where=CommunityIn()),
)
