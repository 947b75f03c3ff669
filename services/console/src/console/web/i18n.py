"""Chinese first, English on request: the ``lang`` cookie (``zh`` when absent or unknown) picks the language.

Texts live in catalogs keyed by a dotted name, each entry ``(中文, English)``. The frame's texts are below; a page
module adds its own with ``messages({...})`` at import, under its own prefix (``"accounts.title"``). In a template,
``t("key")`` is the text in the person's language, ``pick(zh, en)`` chooses between two given inline, and
``label(pair)`` picks from a ``(zh, en)`` tuple (the domain's role and audit labels).
"""

from __future__ import annotations

from collections.abc import Mapping

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
LANG_COOKIE = "lang"

_CATALOG: dict[str, tuple[str, str]] = {}


def messages(entries: Mapping[str, tuple[str, str]]) -> None:
    """Add ``entries`` to the catalog; a key already there with other words is a programming error."""
    for key, pair in entries.items():
        known = _CATALOG.get(key)
        if known is not None and known != pair:
            raise ValueError(f"message {key!r} is defined twice with different words")
        _CATALOG[key] = pair


def language_of(cookie: str | None) -> str:
    return cookie if cookie in LANGUAGES else DEFAULT_LANGUAGE


def pick(lang: str, zh: str, en: str) -> str:
    return en if lang == "en" else zh


def translate(lang: str, key: str) -> str:
    """The text of ``key``; the key itself when no catalog has it (visible in the page, so it gets fixed)."""
    pair = _CATALOG.get(key)
    if pair is None:
        return key
    return pick(lang, *pair)


messages({
    "app.name": ("平安综合管理平台", "Pingan console"),
    "app.skip": ("跳到正文", "Skip to content"),
    "frame.menu": ("菜单", "Menu"),
    "frame.signout": ("退出登录", "Sign out"),
    "frame.role": ("角色", "Role"),
    "frame.scope": ("范围", "Scope"),
    "frame.citywide": ("全市", "city-wide"),
    "frame.language": ("English", "中文"),
    "frame.session_until": ("会话有效至", "Session until"),
    "section.home": ("首页", "Home"),
    "section.roster": ("排班与队员", "Rosters and members"),
    "section.patrol": ("巡逻", "Patrols"),
    "section.inspection": ("211 暗访督查", "211 inspection"),
    "section.alerts": ("预警督办", "Alerts"),
    "section.admin": ("系统管理", "Administration"),
    "form.errors": ("请修改以下问题后重新提交", "Please correct the following and submit again"),
    "form.save": ("保存", "Save"),
    "form.required": ("必填", "required"),
    "table.filter": ("筛选", "Filter"),
    "table.clear": ("清除", "Clear"),
    "table.empty": ("暂无数据", "Nothing to show"),
    "table.next": ("下一页", "Next page"),
    "table.first": ("第一页", "First page"),
    "table.csv": ("导出 CSV", "Export CSV"),
    "table.all": ("全部", "All"),
    "error.title": ("出错了", "Something went wrong"),
    "error.back": ("返回首页", "Back to the home page"),
    "error.403": ("您没有权限查看此页面", "You may not open this page"),
    "error.404": ("页面不存在", "No such page"),
    "error.405": ("不支持此操作", "This action is not supported here"),
    "error.400": ("请求有误", "The request is not valid"),
    "error.503": ("服务暂不可用", "A service is unavailable"),
    "error.503.retry": ("请稍后重试。若持续出现，请联系系统管理员。",
                        "Please try again shortly. If it persists, tell the administrator."),
    "error.database": ("控制台数据库暂不可用，未保存任何内容",
                       "The console's database is unavailable; nothing was saved"),
    "error.csrf": ("请求未通过安全校验，请刷新页面后重试",
                   "The request failed its security check; reload the page and try again"),
    "error.cross_site": ("拒绝来自其他网站的请求", "A request from another site was refused"),
})
