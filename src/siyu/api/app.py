"""The FastAPI application: REST API under /api/v1, OpenAPI at /api/docs, the console at /."""

from __future__ import annotations

from fastapi import FastAPI

from siyu import __version__
from siyu.analytics.api import router as analytics_router
from siyu.analytics.clv.api import router as clv_router
from siyu.api import problems
from siyu.audit.api import router as audit_router
from siyu.console.app import mount as mount_console
from siyu.contacts.api import router as contacts_router
from siyu.engage.api import router as engage_router
from siyu.engage.journeys.api import router as journeys_router
from siyu.engage.public import router as engage_public_router
from siyu.engage.suppressions_api import router as suppressions_router
from siyu.events.api import admin_router as sources_router
from siyu.events.api import event_writer
from siyu.events.api import router as events_router
from siyu.events.web import router as tracking_router
from siyu.exports.api import router as exports_router
from siyu.growth.coupons.api import router as coupons_router
from siyu.ingest.api import router as ingest_router
from siyu.ingest.inbound.links_api import router as links_router
from siyu.ingest.inbound.public import router as inbound_public_router
from siyu.segments.api import router as segments_router
from siyu.staff.api import router as staff_router


def create_app() -> FastAPI:
    app = FastAPI(
        title="Siyu",
        version=__version__,
        description=(
            "The merchant's own customer pool. Authenticate with `Authorization: Bearer <API key>`."
        ),
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
        # /v1 requests are stored by a writer thread that shutdown lets finish what it holds.
        lifespan=event_writer,
    )
    problems.install(app)
    for router in (
        contacts_router,
        ingest_router,
        staff_router,
        analytics_router,
        clv_router,
        audit_router,
        segments_router,
        engage_router,
        suppressions_router,
        journeys_router,
        exports_router,
        coupons_router,
    ):
        app.include_router(router, prefix="/api/v1")
    app.include_router(sources_router, prefix="/api/v1")
    app.include_router(links_router, prefix="/api/v1")
    # Segment's paths, so analytics SDKs need only their host changed.
    app.include_router(events_router)
    app.include_router(tracking_router)  # /t.js
    app.include_router(inbound_public_router)  # /p/{slug} landing pages, /c/{code} scans
    app.include_router(engage_public_router)  # /u/{token} unsubscribe, /hooks/ for providers

    @app.get("/api/v1/health", tags=["meta"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    # After the API's error handlers: the console's wrap them and keep them for /api paths.
    mount_console(app)
    return app
