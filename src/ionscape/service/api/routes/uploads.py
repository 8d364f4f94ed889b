"""Resumable uploads of dataset files.

1. ``POST /uploads`` declares the files (name, size, SHA-256);
2. ``PUT /uploads/{id}/files/{name}?offset=N`` sends a chunk (raw body) that starts at byte N, which
   must be the number of bytes received so far; ``GET /uploads/{id}`` tells that number after a
   dropped connection, so the client resumes from there;
3. ``POST /uploads/{id}/commit`` checks every file's size and checksum.

Chunks stream to storage; no file is ever held in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from starlette.requests import ClientDisconnect

from ionscape.service.api.deps import CurrentUser, SessionDep, SettingsDep, StorageDep
from ionscape.service.models import Upload, new_id, utcnow
from ionscape.service.schemas import Message, UploadCreate, UploadFileOut, UploadOut
from ionscape.service.storage import OffsetMismatch, Storage, TooLarge
from ionscape.service.submissions import SubmissionError, check_dataset_files

router = APIRouter(prefix="/uploads", tags=["uploads"])


def upload_out(upload: Upload, storage: Storage) -> UploadOut:
    """An upload with the number of bytes received of each file."""
    files = [
        UploadFileOut(name=f["name"], size=f["size"], sha256=f["sha256"], received=storage.size(f["key"]))
        for f in upload.files
    ]
    return UploadOut(
        id=upload.id, files=files, committed=upload.committed_at is not None, created_at=upload.created_at
    )


def own_upload(upload_id: str, user: CurrentUser, session: SessionDep) -> Upload:
    """The user's upload; 404 for anyone else's."""
    upload = session.get(Upload, upload_id)
    if upload is None or upload.owner_id != user.id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"upload {upload_id} not found")
    return upload


OwnUpload = Annotated[Upload, Depends(own_upload)]


@router.post("", status_code=status.HTTP_201_CREATED)
def create_upload(
    body: UploadCreate, user: CurrentUser, session: SessionDep, settings: SettingsDep, storage: StorageDep
) -> UploadOut:
    """Declare the files of a dataset: one ``.imzML`` and one ``.ibd``, with sizes and SHA-256."""
    try:
        check_dataset_files(body.files, settings.max_upload_bytes)
    except SubmissionError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    upload_id = new_id()
    files = [
        {**spec.model_dump(), "sha256": spec.sha256.lower(), "key": f"uploads/{upload_id}/file-{i}"}
        for i, spec in enumerate(body.files)
    ]
    upload = Upload(id=upload_id, owner_id=user.id, files=files)
    session.add(upload)
    session.commit()
    return upload_out(upload, storage)


@router.get("/{upload_id}")
def get_upload(upload: OwnUpload, storage: StorageDep) -> UploadOut:
    """Bytes received so far per file: where to resume."""
    return upload_out(upload, storage)


@router.put("/{upload_id}/files/{file_name}")
async def put_chunk(
    file_name: str,
    request: Request,
    upload: OwnUpload,
    settings: SettingsDep,
    storage: StorageDep,
    offset: Annotated[int, Query(ge=0, description="byte position of this chunk in the file")],
) -> UploadFileOut:
    """Append the request body to the file at ``offset``."""
    if upload.committed_at is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, "the upload is committed; no more chunks")
    spec = next((f for f in upload.files if f["name"] == file_name), None)
    if spec is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{file_name!r} is not a file of this upload")
    declared = request.headers.get("Content-Length")
    if declared is not None and int(declared) > settings.max_chunk_bytes:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE, f"chunks are limited to {settings.max_chunk_bytes} bytes"
        )
    try:
        received = await storage.append(
            spec["key"], offset, _limited(request.stream(), settings.max_chunk_bytes), spec["size"]
        )
    except OffsetMismatch as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, f"{exc}; resume at offset {exc.expected}") from None
    except TooLarge:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE,
            f"{file_name} would grow beyond its declared {spec['size']} bytes",
        ) from None
    except ClientDisconnect:
        received = storage.size(spec["key"])
    return UploadFileOut(name=spec["name"], size=spec["size"], sha256=spec["sha256"], received=received)


async def _limited(chunks: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"chunks are limited to {limit} bytes")
        yield chunk


@router.post("/{upload_id}/commit")
def commit_upload(upload: OwnUpload, session: SessionDep, storage: StorageDep) -> UploadOut:
    """Check that every file is complete and matches its SHA-256; a file that does not is discarded."""
    if upload.committed_at is None:
        for spec in upload.files:
            received = storage.size(spec["key"])
            if received != spec["size"]:
                raise HTTPException(
                    status.HTTP_409_CONFLICT,
                    f"{spec['name']} is incomplete: {received} of {spec['size']} bytes received; "
                    f"resume at offset {received}",
                )
            if storage.sha256(spec["key"]) != spec["sha256"]:
                storage.delete(spec["key"])
                raise HTTPException(
                    status.HTTP_422_UNPROCESSABLE_CONTENT,
                    f"{spec['name']}: SHA-256 checksum mismatch; the file was discarded, upload it again",
                )
        upload.committed_at = utcnow()
        session.commit()
    return upload_out(upload, storage)


@router.delete("/{upload_id}")
def delete_upload(upload: OwnUpload, session: SessionDep, storage: StorageDep) -> Message:
    """Abandon an upload and its files."""
    session.delete(upload)
    session.commit()
    storage.delete(f"uploads/{upload.id}")
    return Message(detail="upload deleted")
