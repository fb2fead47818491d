"""Keyless endpoints: config, consistency, migration (an administrator's, decisions.md D12),
static images (decisions.md C1.8)."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request, Response
from fastapi.responses import PlainTextResponse

from facegate import face_services
from facegate.admin import audit
from facegate.api import openapi as doc
from facegate.api import schemas
from facegate.api.admin.deps import Administrator
from facegate.api.deps import InferenceDep, SessionDep, SettingsDep
from facegate.api.faces import IMAGE_HEADERS
from facegate.collection import reads, reembed, store

router = APIRouter(tags=["utility"])


@router.get("/config", **doc.operation(schemas.ClientLimits))
def config(settings: SettingsDep) -> dict[str, int]:
    """Size limits the web UI checks before uploading."""
    return {
        "clientMaxFileSize": settings.max_file_size,
        "clientMaxBodySize": settings.max_request_size,
    }


@router.get("/consistence/status", **doc.operation(schemas.Consistency))
def consistence_status(
    session: SessionDep, inference: InferenceDep, settings: SettingsDep
) -> dict[str, object]:
    return {
        # facegate ships no demo collection (decisions.md D8), so it is never inconsistent.
        "demoFaceCollectionIsInconsistent": False,
        "dbIsInconsistent": reads.has_stale_embeddings(session, calculator=inference.calculator_id),
        "saveImagesToDB": settings.save_images_to_db,
        "status": "OK",
    }


@router.post(
    "/migrate",
    response_class=PlainTextResponse,
    responses=doc.responses(None, 200, doc.MIGRATION) | {200: doc.MIGRATION_STARTED},
)
def migrate(
    request: Request, inference: InferenceDep, tasks: BackgroundTasks, actor: Administrator
) -> str:
    """Re-embed, in the background, every stored image made by another calculator. Only an
    administrator may: it blocks every write of every service (decisions.md D12)."""
    sessions = request.app.state.sessions
    # Committed before answering, so every process refuses writes from now on.
    with sessions() as session, session.begin():
        reembed.start(session, calculator=inference.calculator_id)
        audit.record(
            session, audit.MIGRATION_STARTED, actor=actor, calculator=inference.calculator_id
        )
    tasks.add_task(reembed.migrate, sessions, inference.unqueued())
    return "Migration started"


@router.get(
    "/static/{api_key}/images/{image_id}",
    response_class=Response,
    responses=doc.responses(None, 200, ()) | {200: doc.IMAGE_FILE},
)
def static_image(api_key: str, image_id: str, session: SessionDep) -> Response:
    """The image of an example, for `<img src>`: the key is in the path, not a header."""
    service = face_services.service_by_key(session, api_key=api_key, type="recognition")
    data = (
        b""
        if service is None
        else store.example_image(session, service=service, example_id=image_id)
    )
    return Response(data, media_type="application/octet-stream", headers=IMAGE_HEADERS)
