"""Three journeys an operator can start from with one click: a welcome series for new leads,
a win-back for customers at risk, and a reminder to reorder at each buyer's own pace.

Each is made as a draft on the channel the operator picks, so it can be read and changed
before it is switched on. The segments they start from are made when first needed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.engage.journeys import service
from siyu.engage.journeys.models import EngageJourney
from siyu.engage.models import EngageChannel
from siyu.errors import NotFound
from siyu.kit.actor import Actor
from siyu.segments import service as segments_service
from siyu.segments.models import Segment

# The greeting every body starts with: the contact's name where it is known.
HELLO = "{{ contact.name or '亲爱的顾客' }}"


@dataclass(frozen=True)
class Ready:
    key: str
    name: str
    description: str
    build: Callable[[Session, Actor, int], dict[str, Any]]


def _segment(session: Session, actor: Actor, name: str, query: str, description: str) -> int:
    found = session.scalar(select(Segment.id).where(Segment.name == name))
    if found is not None:
        return int(found)
    segment = segments_service.create_segment(
        session, actor=actor, name=name, query=query, description=description
    )
    return segment.id


def _welcome(session: Session, actor: Actor, channel_id: int) -> dict[str, Any]:
    leads = _segment(
        session, actor, "新线索", 'stage = "lead"', "留下联系方式、还没有下单的客户（旅程用）"
    )
    return {
        "trigger": {"type": "segment_entered", "segment_id": leads},
        "re_entry": "never",
        "steps": [
            {
                "id": "welcome",
                "type": "send",
                "title": "欢迎语",
                "channel_id": channel_id,
                "subject": "欢迎加入，送你一份新人礼",
                "body": f"{HELLO}，欢迎加入！我们为你准备了新人专享礼，下单即可使用。"
                "有任何问题，直接回复这条消息就能找到我们。",
            },
            {"id": "wait_2d", "type": "wait", "title": "等两天", "duration": "2d"},
            {
                "id": "has_ordered",
                "type": "branch",
                "title": "已经下单了吗？",
                "condition": "order_count >= 1",
                "yes": [{"id": "ordered", "type": "exit", "reason": "已下单"}],
                "no": [
                    {
                        "id": "second",
                        "type": "send",
                        "title": "第二封：新人礼提醒",
                        "channel_id": channel_id,
                        "subject": "你的新人礼还在等你",
                        "body": f"{HELLO}，你的新人专享礼还没有使用，过几天就要到期啦。"
                        "挑一件喜欢的，我们马上为你发货。",
                    }
                ],
            },
        ],
    }


def _win_back(session: Session, actor: Actor, channel_id: int) -> dict[str, Any]:
    at_risk = _segment(
        session, actor, "流失预警", 'stage = "at_risk"', "超过平时复购间隔还没有再下单的客户"
    )
    return {
        "trigger": {"type": "segment_entered", "segment_id": at_risk},
        "re_entry": {"after_days": 90},
        # Placing any order is the win: the journey ends for that customer at once.
        "goal_new_order": True,
        "steps": [
            {
                "id": "miss_you",
                "type": "send",
                "title": "好久不见",
                "channel_id": channel_id,
                "subject": "好久不见，想你了",
                "body": f"{HELLO}，好久不见！最近上了不少新品，"
                "{% if contact.city %}{{ contact.city }}{% endif %}的老朋友回来看看吧。",
            },
            {"id": "wait_3d", "type": "wait", "title": "等三天", "duration": "3d"},
            {
                "id": "offer",
                "type": "send",
                "title": "回归优惠",
                "channel_id": channel_id,
                "subject": "为你留了一张回归优惠券",
                "body": f"{HELLO}，我们为你留了一张老客回归优惠券，7 天内有效，下单自动抵扣。",
            },
            {"id": "wait_7d", "type": "wait", "title": "等七天", "duration": "7d"},
            {
                "id": "last_call",
                "type": "send",
                "title": "最后提醒",
                "channel_id": channel_id,
                "subject": "优惠券今天到期",
                "body": f"{HELLO}，你的回归优惠券今天到期，别错过哦。",
            },
        ],
    }


def _repurchase(session: Session, actor: Actor, channel_id: int) -> dict[str, Any]:
    return {
        "trigger": {"type": "order_placed"},
        # Every order starts the next reminder; a new order ends the one under way.
        "re_entry": "always",
        "goal_new_order": True,
        "steps": [
            {
                "id": "until_due",
                "type": "wait_until",
                "title": "平时复购间隔前三天",
                "field": "last_order_at",
                "plus_usual_gap": True,
                "offset": "-3d",
                "time": "10:00",
            },
            {
                "id": "reminder",
                "type": "send",
                "title": "复购提醒",
                "channel_id": channel_id,
                "subject": "该补货啦",
                "body": f"{HELLO}，算算日子，上次买的差不多快用完了。现在下单，我们尽快为你发货。",
            },
            {"id": "wait_5d", "type": "wait", "title": "等五天", "duration": "5d"},
            {
                "id": "second_reminder",
                "type": "send",
                "title": "再次提醒",
                "channel_id": channel_id,
                "subject": "别忘了补货",
                "body": f"{HELLO}，还没来得及补货吗？老客下单有专属优惠。",
            },
        ],
    }


READY = {
    ready.key: ready
    for ready in (
        Ready(
            "welcome",
            "新线索欢迎旅程",
            "新线索进来时发欢迎语，两天后没下单再提醒一次。",
            _welcome,
        ),
        Ready(
            "win_back",
            "流失预警唤回",
            "客户超过平时的复购间隔没下单时，三封信把他请回来；一下单就停。",
            _win_back,
        ),
        Ready(
            "repurchase",
            "复购提醒",
            "每次下单后，按这位客户自己的复购间隔，在快用完前提醒补货。",
            _repurchase,
        ),
    )
}


def create_ready(
    session: Session, *, actor: Actor, key: str, channel_id: int, name: str | None = None
) -> EngageJourney:
    """Make one of the ready journeys as a draft on the given channel."""
    ready = READY.get(key)
    if ready is None:
        raise NotFound(f"no ready journey {key!r}; there are {', '.join(READY)}")
    if session.get(EngageChannel, channel_id) is None:
        raise NotFound(f"there is no channel {channel_id}")
    service.require_editor(actor)
    return service.create_journey(
        session,
        actor=actor,
        name=name or ready.name,
        description=ready.description,
        definition=ready.build(session, actor, channel_id),
    )
