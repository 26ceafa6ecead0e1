"""Display names of the codes stored in the database (platforms, sources, roles).

Marked with N_ so extraction finds them; translated when shown.
"""

from __future__ import annotations


def N_(message: str) -> str:  # the name gettext tools look for
    return message


PLATFORMS = {
    "taobao": N_("Taobao"),
    "jd": N_("JD"),
    "douyin": N_("Douyin"),
    "pdd": N_("Pinduoduo"),
    "youzan": N_("Youzan"),
    "kuaishou": N_("Kuaishou"),
    "wechat_shop": N_("WeChat Shop"),
    "wechat_mini": N_("WeChat Mini Program"),
    "wecom": N_("WeCom"),
    "offline": N_("Offline store"),
    "api": N_("API"),
    "manual": N_("Added by hand"),
    "import": N_("Import"),
    # The member list's importer: contacts that came from it have no shop of their own.
    "contacts_csv": N_("Customer list"),
    "": N_("Unknown"),
}

ROLES = {
    "admin": N_("Administrator"),
    "operator": N_("Operator"),
    "staff": N_("Sales staff"),
    "viewer": N_("Viewer"),
}

LIFECYCLE_STAGES = {
    "visitor": N_("Visitor"),
    "lead": N_("Lead"),
    "new_customer": N_("New customer"),
    "repeat": N_("Repeat customer"),
    "loyal": N_("Loyal customer"),
    "at_risk": N_("At risk of leaving"),
    "churned": N_("Churned"),
}
# RFM segments (siyu.analytics.rfm); the zh_CN names are in rfm.po.
RFM_SEGMENTS = {
    "champions": N_("Champions"),
    "potential_loyalist": N_("Potential Loyalist"),
    "loyal_customers": N_("Loyal Customers"),
    "promising": N_("Promising"),
    "new_customers": N_("New Customers"),
    "cant_lose_them": N_("Can't Lose Them"),
    "at_risk": N_("At Risk"),
    "need_attention": N_("Need Attention"),
    "about_to_sleep": N_("About To Sleep"),
    "lost": N_("Lost"),
    "others": N_("Others"),
}
