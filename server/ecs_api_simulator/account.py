"""The one simulated Alibaba Cloud account, and how RAM names the simulated actions.

Scenarios write RAM denials with plain API action names (``RunCommand``), as they always have.
The product-qualified RAM spellings are accepted too and mean the same action:
``ecs:RunCommand``, ``actiontrail:LookupEvents``, ``cms:DescribeMetricList`` and
``cms:QueryMetricList``. The last one is what RAM really calls CloudMonitor's DescribeMetricList
(CloudMonitor read APIs authorize under its older ``cms:Query*`` action codes).
"""

from __future__ import annotations

ACCOUNT_ID = "1234567890123456"
"""The simulated account (``AuthPrincipalOwnerId``, ActionTrail ``accountId``, CMS ``userId``)."""

RAM_PRODUCT_PREFIXES = ("ecs", "cms", "actiontrail")
RAM_ACTION_ALIASES: dict[str, str] = {"cms:querymetriclist": "DescribeMetricList"}
"""RAM action names that differ from the API action they authorize (lower-case keys)."""


def api_action_of(name: str) -> str:
    """The API action a scenario's denial names: ``cms:QueryMetricList`` -> DescribeMetricList."""
    text = name.strip()
    alias = RAM_ACTION_ALIASES.get(text.lower())
    if alias is not None:
        return alias
    product, sep, action = text.partition(":")
    if sep and product.lower() in RAM_PRODUCT_PREFIXES and action:
        return action
    return text
