"""The JSON shapes of the HTTP API (pydantic v2)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

T = TypeVar("T")
Visibility = Literal["private", "group", "public"]
Role = Literal["admin", "member"]
Email = Annotated[
    str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=320), AfterValidator(str.lower)
]


class Schema(BaseModel):
    """Base of the response models: read from ORM objects by attribute."""

    model_config = ConfigDict(from_attributes=True)


class Page(Schema, Generic[T]):
    """One page of a list: ``items`` from ``offset``, ``total`` matching overall."""

    items: list[T]
    total: int
    limit: int
    offset: int


class Message(Schema):
    """A plain confirmation."""

    detail: str


# --- users and credentials ---


class SignUp(BaseModel):
    email: Email
    name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=8, max_length=1000)


class LogIn(BaseModel):
    email: Email
    password: str = Field(max_length=1000)


class UserOut(Schema):
    id: str
    email: str
    name: str
    created_at: datetime


class UserRef(Schema):
    id: str
    name: str


class SessionOut(Schema):
    """A new browser session: send ``csrf_token`` as the ``X-CSRF-Token`` header with every write."""

    user: UserOut
    csrf_token: str


class ApiKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class ApiKeyOut(Schema):
    id: str
    name: str
    created_at: datetime


class ApiKeyCreated(ApiKeyOut):
    """The key itself is shown only once, here."""

    key: str


# --- groups ---


class GroupCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class MemberAdd(BaseModel):
    email: Email
    role: Role = "member"


class MemberOut(Schema):
    user: UserRef
    role: Role


class GroupOut(Schema):
    id: str
    name: str
    created_at: datetime
    members: list[MemberOut] = Field(validation_alias="memberships")


# --- molecular databases ---


class MolDBOut(Schema):
    """A database usable in submissions: ``id`` is the bundled name or the custom database's id."""

    id: str
    name: str
    bundled: bool
    n_molecules: int
    n_formulas: int
    targeted: bool | None = None
    description: str = ""


# --- uploads ---


class UploadFileSpec(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    size: int = Field(ge=1)
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")


class UploadCreate(BaseModel):
    """The files of one dataset: an ``.imzML`` and its ``.ibd``."""

    files: list[UploadFileSpec] = Field(min_length=2, max_length=2)


class UploadFileOut(UploadFileSpec):
    received: int


class UploadOut(Schema):
    id: str
    files: list[UploadFileOut]
    committed: bool
    created_at: datetime


# --- datasets ---


class DatasetMetadata(BaseModel):
    """Sample and instrument description; the annotation defaults follow from it."""

    organism: str = Field("", max_length=200)
    organism_part: str = Field("", max_length=200)
    condition: str = Field("", max_length=200)
    polarity: Literal["positive", "negative"] = "positive"
    ionisation_source: str = Field("", max_length=100)
    analyzer: str = Field("", max_length=100)
    resolving_power: float | None = Field(None, gt=0)
    resolving_power_mz: float = Field(200.0, gt=0)
    matrix: str = Field("", max_length=200)
    pixel_size_um: tuple[float, float] | None = None


class AnnotationSettings(BaseModel):
    """Annotation settings; anything left out takes METASPACE's default for the metadata."""

    databases: list[str] = Field(default_factory=lambda: ["core_metabolome"], min_length=1, max_length=20)
    adducts: list[str] | None = None
    neutral_losses: list[str] = Field(default_factory=list)
    chem_mods: list[str] = Field(default_factory=list)
    ppm: float = 3.0
    n_peaks: int = 4
    decoy_sample_size: int = 20
    isocalc_sigma: float | None = Field(None, description="isotope peak width; default from resolving power")
    instrument: Literal["TOF", "Orbitrap", "FTICR"] | None = Field(
        None, description="isotope peak shape; default from the analyzer"
    )


class DatasetCreate(BaseModel):
    upload_id: str
    name: str = Field(min_length=1, max_length=300)
    metadata: DatasetMetadata = Field(default_factory=DatasetMetadata)
    settings: AnnotationSettings = Field(default_factory=AnnotationSettings)
    visibility: Visibility = "private"
    group_id: str | None = None


class DatasetUpdate(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=300)
    visibility: Visibility | None = None
    group_id: str | None = None
    metadata: DatasetMetadata | None = None


class StageProgress(BaseModel):
    done: int
    total: int


class JobOut(Schema):
    id: int
    status: str
    attempts: int
    progress: dict[str, StageProgress]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None = Field(None, description="why the job failed (shown to the dataset's owner only)")


class DatasetOut(Schema):
    id: str
    name: str
    owner: UserRef
    visibility: Visibility
    group_id: str | None
    status: str
    metadata: DatasetMetadata
    config: dict[str, Any]
    databases: list[str]
    n_annotations: int = Field(description="annotations at FDR <= 10 %, all databases")
    annotation_counts: list[dict[str, Any]]
    created_at: datetime
    finished_at: datetime | None
    job: JobOut | None
    can_edit: bool


# --- annotations ---


class Molecule(BaseModel):
    id: str
    name: str


class AnnotationOut(Schema):
    id: int
    database: str
    formula: str
    adduct: str
    chem_mod: str
    neutral_loss: str
    ion: str
    ion_formula: str
    mz: float
    msm: float
    fdr: float | None
    molecules: list[Molecule]


class IsotopePeak(BaseModel):
    theo_mz: float
    theo_int: float
    observed_mz: float | None
    observed_int: float = Field(description="total intensity of the peak's image, scaled like theo_int")


class AnnotationDetail(AnnotationOut):
    chaos: float
    spatial: float
    spectral: float
    mz_err_abs: float | None
    mz_err_rel: float | None
    peaks: list[IsotopePeak]


# --- projects ---


class ProjectCreate(BaseModel):
    name: str = Field(min_length=1, max_length=300)
    description: str = Field("", max_length=20000)
    visibility: Literal["private", "public"] = "private"


class ProjectUpdate(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=300)
    description: str | None = Field(None, max_length=20000)
    visibility: Literal["private", "public"] | None = None


class PublishRequest(BaseModel):
    doi: str | None = Field(None, max_length=300)
    paper_url: str | None = Field(None, max_length=1000)


class ProjectOut(Schema):
    id: str
    name: str
    description: str
    owner: UserRef
    visibility: str
    published_at: datetime | None
    doi: str | None
    paper_url: str | None
    created_at: datetime
    has_review_link: bool
    n_datasets: int
    can_edit: bool


class ReviewLink(BaseModel):
    """Give ``token`` to reviewers: as ``?review_token=`` or the ``X-Review-Token`` header."""

    token: str
    project_id: str
