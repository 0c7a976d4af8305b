"""The HTTP API at /api/v1: one NinjaAPI, a router per app, token or session authentication."""

from ninja import NinjaAPI

from tongxin.accounts.api import router as accounts_router
from tongxin.assembly.api import router as assembly_router
from tongxin.care.api import router as care_router
from tongxin.cases.api import router as cases_router
from tongxin.core.api import ApiAuth, install_error_handlers
from tongxin.doorstep.api import router as doorstep_router
from tongxin.mediation.api import router as mediation_router
from tongxin.notices.api import router as notices_router
from tongxin.party.api import router as party_router
from tongxin.people.api import router as people_router
from tongxin.points.api import router as points_router
from tongxin.regions.api import router as regions_router
from tongxin.sensors.api import router as sensors_router
from tongxin.volunteers.api import router as volunteers_router

api = NinjaAPI(
    title="Tongxin 同心 API",
    version="1",
    description="Registries, cases and participation. Every endpoint obeys the caller's scope and masking.",
    auth=ApiAuth(),
    urls_namespace="api",
)
# One error body for every router: {"code", "message", "field"} (tongxin.core.api.ErrorOut).
install_error_handlers(api)
api.add_router("/", accounts_router)
api.add_router("/regions/", regions_router)
api.add_router("/people/", people_router)
api.add_router("/party/", party_router)
api.add_router("/cases/", cases_router)
api.add_router("/volunteers/", volunteers_router)
api.add_router("/points/", points_router)
api.add_router("/sensors/", sensors_router)
api.add_router("/notices/", notices_router)
api.add_router("/care/", care_router)
api.add_router("/doorstep/", doorstep_router)
api.add_router("/assembly/", assembly_router)
api.add_router("/mediation/", mediation_router)
