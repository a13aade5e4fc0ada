"""The keys of the Mail Queue, in the order its footer shows them (``[] Pages``
must fit in 80 columns; Hold all and Delete all show only with a filter)."""

from __future__ import annotations

from textual.binding import Binding, BindingType


def message_keys(scope: str) -> list[Binding]:
    """r, h and delete act on one message, alike on the Mail Queue (the row under
    the cursor) and on a message's own screen; ``scope`` prefixes their ids."""
    return [
        Binding("r", "retry", "Retry", id=f"{scope}.retry", tooltip="Retry this message now"),
        Binding("h", "hold", "Hold", id=f"{scope}.hold", tooltip="Hold this message (not delivered) or release it"),
        Binding(
            "delete",
            "delete",
            "Delete",
            key_display="del",
            id=f"{scope}.delete",
            tooltip="Delete this message (asks first)",
        ),
    ]


BINDINGS: list[BindingType] = [
    # `?` is the App's too; bound here first so the footer shows it before the rest
    Binding("question_mark", "app.help", "Help", id="queue.help", tooltip="List every key of this screen"),
    Binding("escape", "back", "Back", id="queue.back", tooltip="Clear the filter, or go back to Mail Settings"),
    # p as on every screen, out of this footer so that "[] Pages" fits in 80 columns
    Binding(
        "p", "app.toggle_worker", "Pause/Resume", show=False, id="queue.pause", tooltip="Pause or resume the worker"
    ),
    Binding(
        "q", "back", "Back", show=False, id="queue.back_q", tooltip="Clear the filter, or go back to Mail Settings"
    ),
    Binding(
        "slash",
        "filter",
        "Filter",
        key_display="/",
        id="queue.filter",
        tooltip="Filter: words in the receiver or subject, #id, domain:D, mta:M",
    ),
    Binding(
        "s", "cycle_status", "Status", id="queue.status", tooltip="Show unsent, failed, held, sent or all messages"
    ),
    *message_keys("queue"),
    Binding(
        "R",
        "retry_all",
        "Retry all",
        key_display="R",
        id="queue.retry_all",
        tooltip="Retry every failed message now (with a filter: every message it matches)",
    ),
    Binding("Q", "open('shape')", "Shape", show=False, id="queue.shape", tooltip="Queue shape: where mail waits"),
    Binding("l", "open('log')", "Log", show=False, id="queue.log", tooltip="The live delivery log"),
    Binding(
        "right_square_bracket",
        "page(1)",
        "Pages",
        key_display="[]",
        id="queue.next_page",
        tooltip="Show the next page",
    ),
    Binding(
        "left_square_bracket",
        "page(-1)",
        "Previous page",
        key_display="[",
        show=False,
        id="queue.prev_page",
        tooltip="Show the previous page",
    ),
    # after [] Pages, which must fit in 80 columns; shown only with a filter
    Binding("H", "bulk('hold')", "Hold all", id="queue.hold_all", tooltip="Hold every message the filter matches"),
    Binding(
        "D",
        "bulk('delete')",
        "Delete all",
        id="queue.delete_all",
        tooltip="Delete every message the filter matches",
    ),
]
