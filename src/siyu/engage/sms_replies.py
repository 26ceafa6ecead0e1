"""SMS replies (上行短信): a customer answering a marketing text with TD, 退订, STOP … withdraws
SMS consent at once, as Chinese rules for marketing texts ask and the text itself promises.

The providers push replies to /hooks/sms/aliyun and /hooks/sms/tencent (engage/public.py); this
module reads their formats and acts on each reply.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.contacts.models import ContactIdentity
from siyu.engage.unsubscribe import withdraw
from siyu.errors import SiyuError
from siyu.kit.normalize import normalise_phone

log = logging.getLogger(__name__)

KEYWORDS = ("TD", "T", "N", "退订", "取消", "退", "STOP", "UNSUBSCRIBE")
# After punctuation and spaces are gone, a reply that is nothing but keywords: "TD", "td。",
# "【退订】", "退订TD", and "回复TD退订" copied from the message's own footer.
_ONLY_KEYWORDS = re.compile(
    "^(?:回复)?(?:" + "|".join(sorted(map(re.escape, KEYWORDS), key=len, reverse=True)) + ")+$"
)


class MalformedReply(SiyuError):
    status = 400
    title = "Malformed reply"


@dataclass(frozen=True)
class Reply:
    provider: str
    phone: str  # as the provider wrote it
    text: str
    sign: str = ""


def is_unsubscribe(text: str) -> bool:
    """Whether a reply asks to stop: keywords only, whatever the case, spaces and punctuation."""
    folded = unicodedata.normalize("NFKC", text or "")  # full-width ＴＤ is TD
    kept = "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")
    return bool(kept) and _ONLY_KEYWORDS.match(kept.upper()) is not None


def _field(item: dict[str, Any], name: str, provider: str) -> str:
    value = item.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise MalformedReply(f"{provider} reply without a text field {name!r}")
    return value


def _items(body: Any, provider: str) -> list[dict[str, Any]]:
    items = body if isinstance(body, list) else [body]
    if not items or not all(isinstance(item, dict) for item in items):
        raise MalformedReply(f"a {provider} reply push is a JSON object or an array of objects")
    return items


def parse_aliyun(body: Any) -> list[Reply]:
    """Aliyun SmsUp HTTP push: an array of {phone_number, content, sign_name, send_time,
    dest_code, sequence_id}."""
    return [
        Reply(
            "aliyun",
            _field(item, "phone_number", "aliyun"),
            _field(item, "content", "aliyun"),
            str(item.get("sign_name") or ""),
        )
        for item in _items(body, "aliyun")
    ]


def parse_tencent(body: Any) -> list[Reply]:
    """Tencent Cloud SMS reply callback: {mobile, nationcode, text, sign, time, extend}, one
    object or an array of them."""
    replies = []
    for item in _items(body, "tencent"):
        mobile = _field(item, "mobile", "tencent")
        code = str(item.get("nationcode") or "86").strip().lstrip("+")
        text, sign = _field(item, "text", "tencent"), str(item.get("sign") or "")
        mobile = mobile.strip()
        phone = mobile if mobile.startswith("+") else f"+{code}{mobile}"
        replies.append(Reply("tencent", phone, text, sign))
    return replies


def _masked(phone: str) -> str:
    return phone[:-4] + "****" if len(phone) > 6 else "****"


def handle(session: Session, reply: Reply) -> int:
    """Act on one reply; returns how many contacts' SMS consent it withdrew."""
    phone = normalise_phone(reply.phone).e164
    stop = is_unsubscribe(reply.text)
    holders: list[int] = []
    if stop and phone is not None:
        holders = sorted(
            set(
                session.execute(
                    select(ContactIdentity.contact_id).where(
                        ContactIdentity.kind == "phone", ContactIdentity.value == phone
                    )
                ).scalars()
            )
        )
    withdrawn = sum(
        withdraw(session, contact_id=contact_id, channel="sms", source="sms_reply")
        for contact_id in holders
    )
    if not stop:
        outcome = "not an unsubscribe: ignored"
    elif not holders:
        outcome = "unsubscribe from a number no contact holds: ignored"
    else:
        outcome = f"unsubscribe: sms consent withdrawn for {withdrawn} of {len(holders)} contact(s)"
    # The number is masked: the log is read by more people than the database.
    log.info("sms reply via %s from %s, %s", reply.provider, _masked(phone or reply.phone), outcome)
    return withdrawn
