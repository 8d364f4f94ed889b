"""Sign up, log in, log out, and API keys for scripts."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

from fastapi import APIRouter, HTTPException, Response, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ionscape.service.api.deps import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    AuthDep,
    CurrentUser,
    SessionDep,
    SettingsDep,
)
from ionscape.service.config import Settings
from ionscape.service.models import ApiKey, BrowserSession, User, utcnow
from ionscape.service.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    LogIn,
    Message,
    SessionOut,
    SignUp,
    UserOut,
)
from ionscape.service.security import hash_password, new_api_key, new_token, token_hash, verify_password

router = APIRouter(prefix="/auth", tags=["auth"])


@cache
def _dummy_hash() -> str:
    """Checked against when the e-mail is unknown, so that both cases cost one scrypt."""
    return hash_password(new_token())


@router.post("/signup", status_code=status.HTTP_201_CREATED)
def sign_up(body: SignUp, session: SessionDep, settings: SettingsDep, response: Response) -> SessionOut:
    """Create an account and sign in (sets the session cookie)."""
    user = User(email=body.email, name=body.name, password_hash=hash_password(body.password))
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        raise HTTPException(status.HTTP_409_CONFLICT, f"{body.email} already has an account") from None
    return _start_session(session, settings, user, response)


@router.post("/login")
def log_in(body: LogIn, session: SessionDep, settings: SettingsDep, response: Response) -> SessionOut:
    """Sign in with e-mail and password (sets the session cookie)."""
    user = session.scalar(select(User).where(User.email == body.email))
    valid = verify_password(body.password, user.password_hash if user else _dummy_hash())
    if user is None or not valid:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong e-mail or password")
    return _start_session(session, settings, user, response)


def _start_session(session: SessionDep, settings: Settings, user: User, response: Response) -> SessionOut:
    token, csrf = new_token(), new_token()
    expires = utcnow() + timedelta(days=settings.session_days)
    session.add(
        BrowserSession(
            id=token_hash(token, settings.secret_key), user_id=user.id, csrf_token=csrf, expires_at=expires
        )
    )
    session.commit()
    max_age = settings.session_days * 86400
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    response.set_cookie(CSRF_COOKIE, csrf, max_age=max_age, samesite="lax", secure=settings.secure_cookies)
    return SessionOut(user=UserOut.model_validate(user), csrf_token=csrf)


@router.post("/logout")
def log_out(auth: AuthDep, session: SessionDep, response: Response) -> Message:
    """End the browser session."""
    if auth.browser_session is not None:
        session.delete(auth.browser_session)
        session.commit()
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)
    return Message(detail="logged out")


@router.get("/me")
def me(user: CurrentUser) -> UserOut:
    """The signed-in user."""
    return UserOut.model_validate(user)


@router.post("/api-keys", status_code=status.HTTP_201_CREATED)
def create_api_key(
    body: ApiKeyCreate, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> ApiKeyCreated:
    """A new API key; send it as the ``X-API-Key`` header. The key is shown only in this response."""
    key = new_api_key()
    api_key = ApiKey(user_id=user.id, name=body.name, secret_hash=token_hash(key, settings.secret_key))
    session.add(api_key)
    session.commit()
    return ApiKeyCreated(id=api_key.id, name=api_key.name, created_at=api_key.created_at, key=key)


@router.get("/api-keys")
def list_api_keys(user: CurrentUser, session: SessionDep) -> list[ApiKeyOut]:
    """The user's API keys (names and dates, never the keys)."""
    keys = session.scalars(select(ApiKey).where(ApiKey.user_id == user.id).order_by(ApiKey.created_at))
    return [ApiKeyOut.model_validate(k) for k in keys]


@router.delete("/api-keys/{key_id}")
def delete_api_key(key_id: str, user: CurrentUser, session: SessionDep) -> Message:
    """Revoke an API key."""
    api_key = session.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == user.id))
    if api_key is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"API key {key_id} not found")
    session.delete(api_key)
    session.commit()
    return Message(detail="API key revoked")
