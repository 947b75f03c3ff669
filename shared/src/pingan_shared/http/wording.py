"""Chinese first, everywhere a person reads an answer: ``中文 (English)``, as every service's own refusals say it.

What is said here is what no service writes itself: pydantic's validation messages, the framework's own answers
(404 for a path no route serves, 405, a body that is not JSON), authentication and roles. A reason that already
carries Chinese (a rule's own words) is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_CJK = re.compile(r"[\u3400-\u9fff]")

# pydantic's error types (https://docs.pydantic.dev/latest/errors/validation_errors/) in the words of a form.
PYDANTIC_REASONS: Mapping[str, str] = {
    "missing": "缺少必填项",
    "extra_forbidden": "不认识的字段",
    "string_type": "须为字符串",
    "string_too_short": "太短",
    "string_too_long": "太长",
    "string_pattern_mismatch": "格式不符",
    "int_type": "须为整数",
    "int_parsing": "须为整数",
    "int_from_float": "须为整数",
    "float_type": "须为数字",
    "float_parsing": "须为数字",
    "finite_number": "须为有限的数",
    "bool_type": "须为 true 或 false",
    "bool_parsing": "须为 true 或 false",
    "greater_than": "太小",
    "greater_than_equal": "太小",
    "less_than": "太大",
    "less_than_equal": "太大",
    "too_short": "项数太少",
    "too_long": "项数太多",
    "list_type": "须为数组",
    "dict_type": "须为对象",
    "model_type": "须为对象",
    "model_attributes_type": "须为对象",
    "enum": "不是允许的取值",
    "literal_error": "不是允许的取值",
    "date_type": "须为日期",
    "date_parsing": "须为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "须为日期（YYYY-MM-DD）",
    "date_from_datetime_inexact": "须为日期（YYYY-MM-DD）",
    "datetime_type": "须为时间",
    "datetime_parsing": "须为带时区的时间（如 2026-03-01T10:00:00+08:00）",
    "datetime_from_date_parsing": "须为带时区的时间（如 2026-03-01T10:00:00+08:00）",
    "timezone_aware": "须带时区",
    "time_parsing": "须为时刻（HH:MM）",
    "time_type": "须为时刻（HH:MM）",
    "uuid_parsing": "须为 UUID",
    "uuid_type": "须为 UUID",
    "url_parsing": "须为网址",
    "url_scheme": "网址协议不符",
    "json_invalid": "不是合法的 JSON",
    "json_type": "须为 JSON",
    "value_error": "取值无效",
    "assertion_error": "取值无效",
    "union_tag_invalid": "类型不符",
    "union_tag_not_found": "缺少类型字段",
    "frozen_field": "不可修改",
    "none_required": "须为空",
}

# The framework's own answers, by status.
STATUS_WORDS: Mapping[int, str] = {
    400: "请求有误", 401: "未登录或令牌无效", 403: "无权操作", 404: "不存在", 405: "不支持该请求方法",
    406: "无法给出所要的格式", 413: "请求体过大", 415: "不支持的内容类型", 422: "请求无效", 429: "请求过于频繁",
    500: "服务内部错误", 503: "暂不可用",
}

REQUEST_INVALID = "请求无效 (request is invalid)"
BODY_NOT_JSON = "请求体不是合法的 JSON (body is not valid JSON"
# uvicorn's parser refuses a request line with raw non-ASCII bytes or spaces before any app sees it
UNPARSABLE_REQUEST = ("请求无法解析：网址中的中文和空格须经百分号编码（如 塘 写作 %E5%A1%98） "
                      "(the request could not be parsed: non-ASCII characters and spaces in the URL must be "
                      "percent-encoded)")


def chinese(text: str) -> bool:
    return bool(_CJK.search(text))


def bilingual(zh: str, en: str) -> str:
    return en if chinese(en) else f"{zh} ({en})"


def validation_reason(error: Mapping[str, Any]) -> str:
    """A pydantic error's reason, Chinese first: its own words if they are Chinese already."""
    message = str(error.get("msg", "invalid"))
    if chinese(message):
        return message
    zh = PYDANTIC_REASONS.get(str(error.get("type", "")))
    return f"{zh} ({message})" if zh else message


def status_detail(status: int, detail: object) -> str:
    """The framework's own detail for ``status`` (``Not Found``, ``Method Not Allowed`` …) with its Chinese."""
    text = str(detail)
    zh = STATUS_WORDS.get(status)
    return bilingual(zh, text) if zh else text
