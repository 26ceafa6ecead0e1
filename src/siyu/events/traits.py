"""Which identify traits name a person: mapped onto contact identities and profile fields."""

from __future__ import annotations

from typing import Any

from siyu.contacts.identity import normalise_identity
from siyu.contacts.models import IDENTITY_KINDS
from siyu.errors import Invalid


def _squash(key: str) -> str:
    # wechatUnionId, wechat_unionid and WECHAT-UNIONID all name the same trait.
    return key.lower().replace("_", "").replace("-", "")


# Kinds an event may never claim through a trait: `receiver` is a shop's weak key, and
# external_id / anonymous_id come from userId / anonymousId only.
_NOT_TRAITS = {"receiver", "external_id", "anonymous_id"}
TRAIT_KINDS: dict[str, str] = {
    _squash(kind): kind for kind in IDENTITY_KINDS if kind not in _NOT_TRAITS
} | {
    "mobile": "phone",
    "phonenumber": "phone",
    "mobilephone": "phone",
    "unionid": "wechat_unionid",
    "openid": "wechat_openid",
    "externaluserid": "wecom_external_userid",
}


def identities_from(traits: dict[str, Any]) -> list[tuple[str, str]]:
    """The identities traits carry, normalised; values that cannot link anybody are skipped."""
    found: list[tuple[str, str]] = []
    for key, value in traits.items():
        kind = TRAIT_KINDS.get(_squash(key))
        if kind is None or isinstance(value, bool) or not isinstance(value, str | int):
            continue
        try:
            identity = normalise_identity(kind, str(value))
        except Invalid:
            continue
        if identity and identity not in found:
            found.append(identity)
    return found


def profile_from(traits: dict[str, Any]) -> dict[str, Any]:
    """Profile fields for a contact that has none yet: name, city, province."""
    profile: dict[str, Any] = {}
    name = traits.get("name")
    if not isinstance(name, str) or not name.strip():
        first, last = (traits.get(k) for k in ("firstName", "lastName"))
        parts = [p.strip() for p in (first, last) if isinstance(p, str) and p.strip()]
        # Chinese names put the family name first, without a space; Latin ones the other way.
        name = " ".join(parts) if all(p.isascii() for p in parts) else "".join(reversed(parts))
    if name and name.strip():
        profile["name"] = name.strip()[:200]
    address = traits.get("address")
    if isinstance(address, dict):
        for field, keys in (("city", ("city",)), ("province", ("state", "province"))):
            for key in keys:
                value = address.get(key)
                if isinstance(value, str) and value.strip():
                    profile[field] = value.strip()[:64]
                    break
    return profile
