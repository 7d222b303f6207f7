"""The user's open action items on the officers' work list (registered in MeetingsConfig.ready)."""

from cases.selectors_staff import WorkItem
from meetings import selectors


def action_item_work(user) -> list[WorkItem]:
    return [
        WorkItem(
            kind="action_item",
            title=str(action_item.title),
            url=action_item.get_absolute_url(),
            due_on=getattr(action_item, "due_on", None),
            item=action_item,
        )
        for action_item in selectors.open_action_items_for_user(user) or []
    ]
