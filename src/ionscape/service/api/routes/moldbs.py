"""Molecular databases: the bundled ones, and custom CSV/TSV databases validated line by line."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, UploadFile, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ionscape.errors import DatabaseError
from ionscape.service.api.deps import CurrentUser, OptionalUser, SessionDep, SettingsDep, StorageDep
from ionscape.service.models import MolDB, new_id
from ionscape.service.schemas import Message, MolDBOut

router = APIRouter(prefix="/moldbs", tags=["molecular databases"])

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")
_SUFFIXES = (".csv", ".tsv", ".tab")
COPY_BYTES = 2**20


def _bundled() -> list[MolDBOut]:
    from ionscape.chem.moldb import bundled_databases

    return [
        MolDBOut(
            id=db["name"],
            name=db["name"],
            bundled=True,
            n_molecules=db["molecules"],
            n_formulas=db["formulas"],
            description=db["description"],
        )
        for db in bundled_databases()
    ]


def _custom(moldb: MolDB) -> MolDBOut:
    return MolDBOut(
        id=moldb.id,
        name=moldb.name,
        bundled=False,
        n_molecules=moldb.n_molecules,
        n_formulas=moldb.n_formulas,
        targeted=moldb.targeted,
    )


@router.get("")
def list_moldbs(user: OptionalUser, session: SessionDep) -> list[MolDBOut]:
    """The bundled databases and the user's own."""
    own = session.scalars(select(MolDB).where(MolDB.owner_id == user.id).order_by(MolDB.name)) if user else []
    return _bundled() + [_custom(m) for m in own]


@router.post("", status_code=status.HTTP_201_CREATED)
def upload_moldb(
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    file: Annotated[UploadFile, File(description="CSV/TSV with id, name, formula columns")],
    name: Annotated[str, Form(description="letters, digits, '_', '-', '.'")],
    targeted: Annotated[bool, Form(description="report every ion without FDR filtering")] = False,
) -> MolDBOut:
    """Upload a custom database; every line is checked and the first bad one is reported."""
    from ionscape.chem.moldb import load_moldb

    if not _NAME.match(name):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"invalid database name {name!r}")
    suffix = (file.filename or "").rsplit(".", 1)[-1].lower()
    if f".{suffix}" not in _SUFFIXES:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "upload a .csv, .tsv or .tab file")
    moldb_id = new_id()
    key = f"moldbs/{moldb_id}/{name}.{suffix}"
    path = storage.local_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with path.open("wb") as out:
        while chunk := file.file.read(COPY_BYTES):
            size += len(chunk)
            if size > settings.max_moldb_bytes:
                storage.delete(f"moldbs/{moldb_id}")
                raise HTTPException(
                    status.HTTP_413_CONTENT_TOO_LARGE,
                    f"molecular databases are limited to {settings.max_moldb_bytes} bytes",
                )
            out.write(chunk)
    try:
        db = load_moldb(path, name=name, targeted=targeted)
    except DatabaseError as exc:
        storage.delete(f"moldbs/{moldb_id}")
        message = str(exc).replace(str(path), file.filename or name)
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, message) from None
    moldb = MolDB(
        id=moldb_id,
        owner_id=user.id,
        name=name,
        storage_key=key,
        n_molecules=len(db.molecules),
        n_formulas=len(db.formulas),
        targeted=targeted,
    )
    session.add(moldb)
    try:
        session.commit()
    except IntegrityError:
        storage.delete(f"moldbs/{moldb_id}")
        raise HTTPException(status.HTTP_409_CONFLICT, f"you already have a database named {name!r}") from None
    return _custom(moldb)


def _own_moldb(session: SessionDep, moldb_id: str, user_id: str) -> MolDB:
    moldb = session.scalar(select(MolDB).where(MolDB.id == moldb_id, MolDB.owner_id == user_id))
    if moldb is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"molecular database {moldb_id} not found")
    return moldb


@router.get("/{moldb_id}")
def get_moldb(moldb_id: str, user: CurrentUser, session: SessionDep) -> MolDBOut:
    """One of the user's databases."""
    return _custom(_own_moldb(session, moldb_id, user.id))


@router.delete("/{moldb_id}")
def delete_moldb(moldb_id: str, user: CurrentUser, session: SessionDep, storage: StorageDep) -> Message:
    """Delete one of the user's databases (datasets annotated with it keep their results)."""
    moldb = _own_moldb(session, moldb_id, user.id)
    session.delete(moldb)
    session.commit()
    storage.delete(f"moldbs/{moldb_id}")
    return Message(detail="molecular database deleted")
