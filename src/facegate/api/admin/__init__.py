"""The admin JSON API under `/admin` that the web UI uses (docs/admin-api.md)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from facegate.api.admin import apps, audit, auth, face_services, users
from facegate.api.admin.deps import csrf_guard

router = APIRouter(prefix="/admin", dependencies=[Depends(csrf_guard)])
for module in (auth, users, apps, face_services, audit):
    router.include_router(module.router)
