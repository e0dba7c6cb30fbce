"""The composition root: every domain's tables, routes and jobs, named one by one.

The platform modules know no domain; this file is where the two meet. Adding a domain means
adding its lines here, and nothing is picked up by a registry that swallows a missing
module: a typo fails at import.
"""

from __future__ import annotations

from aiohttp import web

from server.assessments import jobs as assessment_jobs
from server.assessments import routes as assessment_routes
from server.assessments import tables as assessment_tables
from server.auth import tables as auth_tables
from server.console import jobs as console_jobs
from server.console import routes as console_routes
from server.console import tables as console_tables
from server.daycare import jobs as daycare_jobs
from server.daycare import routes as daycare_routes
from server.daycare import tables as daycare_tables
from server.hotline import jobs as hotline_jobs
from server.hotline import routes as hotline_routes
from server.hotline import tables as hotline_tables
from server.incidents import jobs as incident_jobs
from server.incidents import routes as incident_routes
from server.incidents import tables as incident_tables
from server.jobs import register_prune
from server.planning import jobs as planning_jobs
from server.planning import routes as planning_routes
from server.planning import tables as planning_tables
from server.platform import Platform
from server.providers import jobs as providers_jobs
from server.providers import routes as providers_routes
from server.providers import tables as providers_tables
from server.registry import jobs as registry_jobs
from server.registry import routes as registry_routes
from server.registry import tables as registry_tables
from server.reports import jobs as reports_jobs
from server.reports import routes as reports_routes
from server.reports import tables as reports_tables
from server.services import jobs as services_jobs
from server.services import routes as services_routes
from server.services import tables as services_tables
from server.tasks import jobs as task_jobs
from server.tasks import routes as task_routes
from server.tasks import tables as task_tables
from server.volunteers import jobs as volunteer_jobs
from server.volunteers import routes as volunteer_routes
from server.volunteers import tables as volunteer_tables
from server.welfare import jobs as welfare_jobs
from server.welfare import routes as welfare_routes
from server.welfare import tables as welfare_tables

# Imported for their tables on ``server.store.meta.metadata`` (migrations, create_all).
TABLES = (
    auth_tables,
    providers_tables,
    registry_tables,
    incident_tables,
    task_tables,
    hotline_tables,
    planning_tables,
    services_tables,
    welfare_tables,
    daycare_tables,
    assessment_tables,
    volunteer_tables,
    console_tables,
    reports_tables,
)


def register_jobs(platform: Platform) -> None:
    """Every domain's outbox consumers and timer handlers, in one table."""
    register_prune(platform)
    registry_jobs.register(platform)
    incident_jobs.register(platform)
    task_jobs.register(platform)
    planning_jobs.register(platform)
    hotline_jobs.register(platform)
    welfare_jobs.register(platform)
    services_jobs.register(platform)
    daycare_jobs.register(platform)
    assessment_jobs.register(platform)
    volunteer_jobs.register(platform)
    console_jobs.register(platform)
    providers_jobs.register(platform)
    reports_jobs.register(platform)


def domain_routes() -> list[web.RouteDef]:
    """Every domain's URL table (the platform's own routes are in ``server.routes``)."""
    return [
        *registry_routes.routes(),
        *incident_routes.routes(),
        *task_routes.routes(),
        *planning_routes.routes(),
        *hotline_routes.routes(),
        *welfare_routes.routes(),
        *services_routes.routes(),
        *daycare_routes.routes(),
        *assessment_routes.routes(),
        *volunteer_routes.routes(),
        *console_routes.routes(),
        *providers_routes.routes(),
        *reports_routes.routes(),
    ]
