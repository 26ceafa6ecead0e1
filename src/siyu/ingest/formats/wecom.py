"""WeCom (企业微信) customer list export (客户联系 → 客户列表 → 导出): one row per customer
and the staff member who added them.

Tags come as one column per tag group, named 标签组1(学员等级), several tags in a cell joined
with 、; some exports have one 标签 column instead. The staff member who added the customer
goes into traits, not the owner: an unknown staff login would reject the whole row.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from siyu.ingest.formats.base import (
    Header,
    PlatformFormat,
    Row,
    email_identity,
    phone_identity,
    receiver_identity,
)
from siyu.ingest.records import ContactRecord, RowError
from siyu.kit.normalize import clean_cell
from siyu.kit.timeutil import isoformat

_TAG_GROUP = re.compile(r"^\s*标签组\s*\d*\s*(?:[(（](?P<name>[^)）]*)[)）])?\s*$")
_SEPARATORS = re.compile(r"[、,，;；|\n]+")
# Trait key → column field: who added the customer and how, kept as facts about the contact.
_TRAITS = {
    "wecom_added_by": "added_by",
    "wecom_added_by_account": "added_by_account",
    "wecom_added_by_department": "department",
    "wecom_source": "source",
    "wecom_customer_type": "customer_type",
    "gender": "gender",
    "company": "company",
    "position": "position",
    "address": "address",
}


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in _SEPARATORS.split(text or "") if part.strip()]


class WecomCustomers(PlatformFormat):
    name: ClassVar[str] = "wecom"
    label: ClassVar[str] = "WeCom customer list (企业微信客户列表)"
    platform: ClassVar[str] = "wecom"
    kind = "contacts"
    required_any = (
        ("客户名称", "客户昵称", "客户"),
        ("添加人", "添加人账号", "所属员工"),
        ("添加时间",),
    )
    columns: ClassVar[dict[str, tuple[str, ...]]] = {
        "name": ("客户名称", "客户昵称", "客户"),
        "remark_name": ("备注名", "备注"),
        "description": ("描述",),
        "added_by": ("添加人", "所属员工"),
        "added_by_account": ("添加人账号", "员工账号"),
        "department": ("添加人所属部门",),
        "added_at": ("添加时间",),
        "source": ("来源", "添加渠道"),
        "phone": ("手机", "备注手机号", "手机号"),
        "telephone": ("电话",),
        "company": ("企业", "备注企业", "客户企业"),
        "email": ("邮箱",),
        "address": ("地址",),
        "position": ("职务",),
        "gender": ("性别",),
        "customer_type": ("客户类型",),
        "tags": ("标签", "企业标签"),
        "external_userid": (
            "external_userid",
            "外部联系人id",
            "客户id",
            "企业微信加密id",
            "企业微信客户id",
        ),
        "unionid": ("unionid",),
    }

    def bind(self, header: Header) -> None:
        super().bind(header)
        # 标签组N(组名) columns: their number and names differ per company.
        self._tag_groups: list[tuple[str, int]] = []
        for index, raw in enumerate(header.names):
            match = _TAG_GROUP.match(raw.replace("\ufeff", ""))
            if match:
                self._tag_groups.append(((match["name"] or "").strip()[:64], index))

    def parse(self, row: Row) -> ContactRecord:
        identities: list[tuple[str, str]] = []
        external = row.text("external_userid")
        if external:
            identities.append(("wecom_external_userid", external))
        unionid = row.text("unionid")
        if unionid:
            identities.append(("wechat_unionid", unionid))
        hint = None
        for phone in _split(row.text("phone")) + _split(row.text("telephone")):
            phones, phone_hint = phone_identity(phone)
            identities += [p for p in phones if p not in identities]
            hint = hint or phone_hint
        for email in _split(row.text("email")):
            identities += email_identity(email)
        name = row.text("name")
        added_by = row.text("added_by_account") or row.text("added_by")
        if not identities:
            if not (name and added_by):
                raise RowError("客户名称 and 添加人 are empty and there is no id, phone or email")
            # Without an id or phone, the customer as seen by the staff member who added them.
            identities = receiver_identity("wecom", name, added_by)

        traits: dict[str, Any] = {}
        for key, field in _TRAITS.items():
            value = row.text(field)
            if value:
                traits[key] = value
        added_at = row.time("added_at")
        if added_at:
            traits["wecom_added_at"] = isoformat(added_at)

        tags: list[tuple[str, str]] = []
        for group, index in self._tag_groups:
            cell = clean_cell(row.cells[index]) if index < len(row.cells) else None
            tags += [(group, tag[:64]) for tag in _split(cell)]
        for text in _split(row.text("tags")):
            group, sep, tag = text.replace("：", ":").partition(":")
            tags.append((group.strip()[:64], tag.strip()[:64]) if sep else ("", text[:64]))
        notes = [n for n in (row.text("remark_name"), row.text("description")) if n]
        return ContactRecord(
            line=row.line,
            identities=identities,
            profile={"name": name or row.text("remark_name"), "phone_hint": hint},
            tags=list(dict.fromkeys(t for t in tags if t[1])),
            note="\n".join(notes) or None,
            traits=traits,
        )
